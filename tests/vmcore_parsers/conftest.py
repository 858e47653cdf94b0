"""Shared fixtures and options for the parser tests.

`--update-golden` rewrites the expectation headers of the golden files from the parser's
output (run `pytest tests/vmcore_parsers --update-golden`, then review the diff): the headers
are the contract, and the diff is what a reviewer reads. `PANICDX_UPDATE_GOLDEN=1` does the
same where the option cannot be registered (pytest only reads `pytest_addoption` from
conftest files it loads at start-up).
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden-file headers (TITLE, TYPE, FRAME, ...) from the parser output",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the golden headers should be rewritten instead of compared."""
    try:
        option = bool(request.config.getoption("--update-golden"))
    except ValueError:
        option = False
    return option or os.environ.get("PANICDX_UPDATE_GOLDEN") == "1"
