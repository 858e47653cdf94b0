"""Tenants and API keys on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from dbtesting import make_tenant
from sqlalchemy import select

from service.db import repo
from service.db.errors import ConflictError, NotFoundError
from service.db.models import ApiKey, Role, Tenant
from service.db.session import Database


def test_create_tenant_refuses_a_taken_name(db: Database) -> None:
    with db.write_session() as session:
        repo.create_tenant(session, "acme")
        with pytest.raises(ConflictError):
            repo.create_tenant(session, "acme")
        with pytest.raises(ValueError, match="empty"):
            repo.create_tenant(session, "  ")
        session.commit()
        assert repo.count_tenants(session) == 1


def test_get_or_create_tenant_returns_the_same_row(db: Database) -> None:
    with db.write_session() as session:
        first = repo.get_or_create_tenant(session, "acme")
        again = repo.get_or_create_tenant(session, "acme")
        other = repo.get_or_create_tenant(session, "globex")
        session.commit()
    assert first.id == again.id != other.id
    with db.session() as session:
        assert repo.get_tenant_by_name(session, "acme") is not None
        assert repo.get_tenant_by_name(session, "nobody") is None


def test_keys_are_stored_hashed_and_authenticate(db: Database) -> None:
    with db.write_session() as session:
        key, plaintext = repo.create_api_key(session, "acme", Role.SUBMITTER, label="ci")
        session.commit()
    assert plaintext.startswith("pdx_") and len(plaintext) >= 4 + 43
    assert key.prefix == plaintext[:16]
    with db.session() as session:
        stored = session.scalars(select(ApiKey)).one()
        assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        row_text = " ".join(str(v) for v in vars(stored).values())
        assert plaintext not in row_text  # the secret is not stored anywhere
    with db.session() as session:
        found = repo.authenticate_key(session, plaintext)
        session.commit()
        assert found is not None and found.role is Role.SUBMITTER and found.label == "ci"
        tenant = session.get(Tenant, found.tenant_id)
        assert tenant is not None and tenant.name == "acme"
    with db.session() as session:
        assert session.get(ApiKey, key.id).last_used_at is not None  # type: ignore[union-attr]


def test_authenticate_without_recording_use(db: Database) -> None:
    with db.write_session() as session:
        key, plaintext = repo.create_api_key(session, "acme", "reader")
        session.commit()
    with db.session() as session:
        assert repo.authenticate_key(session, plaintext, record_use=False) is not None
        session.commit()
    with db.session() as session:
        stored = session.get(ApiKey, key.id)
        assert stored is not None and stored.last_used_at is None


def test_wrong_keys_do_not_authenticate(db: Database) -> None:
    with db.write_session() as session:
        _, plaintext = repo.create_api_key(session, "acme", "reader")
        session.commit()
    # Same public prefix, different secret part: the hash comparison must reject it.
    forged = plaintext[:16] + ("A" if plaintext[16] != "A" else "B") + plaintext[17:]
    with db.session() as session:
        for attempt in (forged, plaintext[:-1], "", "pdx_", "Bearer " + plaintext, "x" * 60):
            assert repo.authenticate_key(session, attempt) is None


def test_revoked_keys_stop_working_by_prefix_or_id(db: Database) -> None:
    with db.write_session() as session:
        first, first_text = repo.create_api_key(session, "acme", "admin")
        second, second_text = repo.create_api_key(session, "acme", "reader")
        session.commit()
    with db.write_session() as session:
        repo.revoke_api_key(session, first.prefix)
        repo.revoke_api_key(session, second.id)
        repo.revoke_api_key(session, second.id)  # idempotent
        session.commit()
    with db.session() as session:
        assert repo.authenticate_key(session, first_text) is None
        assert repo.authenticate_key(session, second_text) is None
    with db.write_session() as session, pytest.raises(NotFoundError):
        repo.revoke_api_key(session, "pdx_doesnotexist")


def test_list_api_keys_by_tenant(db: Database) -> None:
    make_tenant(db, "empty")
    with db.write_session() as session:
        repo.create_api_key(session, "acme", "admin")
        repo.create_api_key(session, "globex", "reader")
        session.commit()
    with db.session() as session:
        everything = repo.list_api_keys(session)
        acme = repo.list_api_keys(session, "acme")
        assert repo.list_api_keys(session, "empty") == []
    assert sorted(name for _, name in everything) == ["acme", "globex"]
    assert [(key.role, name) for key, name in acme] == [(Role.ADMIN, "acme")]


def test_unknown_role_is_refused(db: Database) -> None:
    with db.write_session() as session, pytest.raises(ValueError):
        repo.create_api_key(session, "acme", "root")


def test_identify_key_names_the_holder_and_refuses_revoked_keys(db: Database) -> None:
    from service.db.repo import identify_key

    with db.write_session() as session:
        key, plaintext = repo.create_api_key(session, "holder", "reader")
        session.commit()
    with db.session() as session:
        holder = identify_key(session, plaintext)
        assert identify_key(session, plaintext[:-2] + "xx") is None
        assert identify_key(session, "pdx_short") is None
    assert holder is not None
    assert (holder.key_id, holder.tenant_name, holder.role) == (key.id, "holder", "reader")
    assert plaintext.startswith(holder.key_prefix)
    with db.write_session() as session:
        repo.revoke_api_key(session, key.id)
        session.commit()
    with db.session() as session:
        assert identify_key(session, plaintext) is None
