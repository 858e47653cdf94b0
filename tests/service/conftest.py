"""Shared fixtures: one loaded Diagnoser for the whole session (the model loads once)."""

from __future__ import annotations

import pytest

from service.diagnoser import Diagnoser


@pytest.fixture(scope="session")
def diagnoser() -> Diagnoser:
    """The default knowledge base and model; the test command builds the model first."""
    return Diagnoser.load(require_model=True)
