"""Shared inputs for the dump reader tests: fake kernels and the dumps built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dumpfactory import FakeKernel, build_prb_kernel
from panicdata import PANIC_RECORDS


@pytest.fixture(scope="session")
def panic_kernel() -> FakeKernel:
    """A fake 6.1 kernel whose prb holds PANIC_RECORDS."""
    return build_prb_kernel(PANIC_RECORDS)


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write bytes to a fresh file in the test's directory and return its path."""

    def _write(data: bytes, name: str = "dump") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write
