"""Persistence: the ORM models, engine and sessions, Alembic migrations and data functions."""
