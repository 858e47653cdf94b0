"""The notebooks run headlessly against the shipped data, and are committed without outputs.

Needs the `dev` extra (nbclient, nbformat, ipykernel, pandas); without it the test skips,
unless PANICDX_REQUIRE_NOTEBOOKS=1 demands it (then a missing package fails).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUIRED = os.environ.get("PANICDX_REQUIRE_NOTEBOOKS") == "1"


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if REQUIRED:
            raise
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")


def test_both_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == ["explore_panics.ipynb", "model_evaluation.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    _require("nbformat")
    import nbformat

    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_shipped_data(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("nbclient", "nbformat", "ipykernel", "pandas"):
        _require(module)
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("PANICDX_DATA_DIR", raising=False)  # the shipped data, not a service's
    book = nbformat.read(path, as_version=4)
    # Raises CellExecutionError with the cell and its traceback when any cell fails.
    NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert all(cell.outputs for cell in code), "every cell shows something"
