"""Fixtures for the persistence tests (defined in dbtesting.py, shared with tests/service/jobs)."""

from dbtesting import blobs, database_url, db, postgres_url

__all__ = ["blobs", "database_url", "db", "postgres_url"]
