"""Fixtures for the job tests: the persistence tests' database fixtures (both backends) and
the session's real Diagnoser (tests/service/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# The shared database fixtures live beside the persistence tests.
_DB_TESTS = str(Path(__file__).resolve().parent.parent / "db")
if _DB_TESTS not in sys.path:
    sys.path.insert(0, _DB_TESTS)

from dbtesting import blobs, database_url, db, postgres_url  # noqa: E402

__all__ = ["blobs", "database_url", "db", "postgres_url"]
