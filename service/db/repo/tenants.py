"""Tenants and API keys: creation, authentication, revocation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.errors import ConflictError, NotFoundError
from service.db.models import ApiKey, Role, Tenant, utcnow

# Keys look like `pdx_<43 urlsafe characters>` (32 random bytes). The prefix shown in lists is
# `pdx_` + the first 12 characters: enough to tell keys apart (72 bits), useless to an attacker.
KEY_MARKER = "pdx_"
KEY_RANDOM_BYTES = 32
PREFIX_CHARS = 12


def hash_key(plaintext: str) -> str:
    """The stored form of a key: sha256 hex of the whole key text."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def key_prefix(plaintext: str) -> str:
    """The public, listable part of a key."""
    return plaintext[: len(KEY_MARKER) + PREFIX_CHARS]


def create_tenant(session: Session, name: str) -> Tenant:
    """Create a tenant; `ConflictError` when the name is taken."""
    name = name.strip()
    if not name:
        raise ValueError("a tenant name cannot be empty")
    tenant = Tenant(name=name)
    try:
        with session.begin_nested():
            session.add(tenant)
    except IntegrityError:
        raise ConflictError(f"tenant {name!r} already exists") from None
    return tenant


def get_tenant_by_name(session: Session, name: str) -> Tenant | None:
    """The tenant called `name`, or None when there is none."""
    return session.scalars(select(Tenant).where(Tenant.name == name)).one_or_none()


def get_or_create_tenant(session: Session, name: str) -> Tenant:
    """The tenant called `name`, created if missing (safe against a concurrent creation)."""
    existing = get_tenant_by_name(session, name)
    if existing is not None:
        return existing
    try:
        return create_tenant(session, name)
    except ConflictError:
        # Another transaction created it between our read and our insert.
        tenant = get_tenant_by_name(session, name)
        if tenant is None:  # pragma: no cover - the conflict proves it exists
            raise
        return tenant


def count_tenants(session: Session) -> int:
    """How many tenants exist (`panicdx serve` creates `default` when there are none)."""
    return session.scalar(select(func.count()).select_from(Tenant)) or 0


def create_api_key(
    session: Session, tenant_name: str, role: Role | str, label: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key for the tenant (created if missing); returns the row and the plaintext.

    The plaintext is returned once and never stored: only its sha256 is.
    """
    role = Role(role)
    tenant = get_or_create_tenant(session, tenant_name)
    plaintext = KEY_MARKER + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    key = ApiKey(
        tenant_id=tenant.id,
        prefix=key_prefix(plaintext),
        key_hash=hash_key(plaintext),
        role=role,
        label=label,
    )
    session.add(key)
    session.flush()
    return key, plaintext


def authenticate_key(
    session: Session, plaintext: str, now: datetime | None = None, *, record_use: bool = True
) -> ApiKey | None:
    """The live key matching `plaintext`, or None for unknown/revoked. Sets `last_used_at`
    unless `record_use` is False (a read-only check, which keeps SQLite free of a write).

    Looked up by its public prefix, then compared by hash in constant time, so the database
    index never sees the secret part and timing reveals nothing about it.
    """
    if not plaintext.startswith(KEY_MARKER) or len(plaintext) < len(KEY_MARKER) + PREFIX_CHARS:
        return None
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == key_prefix(plaintext))).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, hash_key(plaintext)):
        return None
    if record_use:
        key.last_used_at = now or utcnow()
    return key


@dataclass(frozen=True)
class KeyHolder:
    """Who a live key belongs to, as one request needs it (see `identify_key`)."""

    key_id: str
    key_prefix: str
    role: Role
    tenant_id: str
    tenant_name: str
    last_used_at: datetime | None


# Built once: this runs on every request, and building the statement (and its cache key,
# which SQLAlchemy memoizes per statement object) cost about as much as running it.
_IDENTIFY = (
    select(
        ApiKey.id,
        ApiKey.key_hash,
        ApiKey.role,
        ApiKey.last_used_at,
        Tenant.id,
        Tenant.name,
    )
    .join(Tenant, Tenant.id == ApiKey.tenant_id)
    .where(ApiKey.prefix == bindparam("prefix"), ApiKey.revoked_at.is_(None))
    .limit(1)
)


def identify_key(session: Session, plaintext: str) -> KeyHolder | None:
    """The live key matching `plaintext` with its tenant, or None for an unknown or revoked
    key (or one whose tenant is gone). Read-only, one query, no ORM objects: the per-request
    check. Same lookup rules as `authenticate_key` (prefix, then constant-time hash compare).
    """
    if not plaintext.startswith(KEY_MARKER) or len(plaintext) < len(KEY_MARKER) + PREFIX_CHARS:
        return None
    row = session.execute(_IDENTIFY, {"prefix": key_prefix(plaintext)}).first()
    if row is None or not hmac.compare_digest(row[1], hash_key(plaintext)):
        return None
    return KeyHolder(
        key_id=row[0],
        key_prefix=key_prefix(plaintext),
        role=Role(row[2]),
        tenant_id=row[4],
        tenant_name=row[5],
        last_used_at=row[3],
    )


def get_api_key(session: Session, key_id_or_prefix: str) -> ApiKey | None:
    """The key with this id or this public prefix, or None when there is none."""
    return session.scalars(
        select(ApiKey).where((ApiKey.id == key_id_or_prefix) | (ApiKey.prefix == key_id_or_prefix))
    ).first()


def revoke_api_key(session: Session, key_id_or_prefix: str, now: datetime | None = None) -> ApiKey:
    """Revoke a key by id or prefix (idempotent); `NotFoundError` when no key matches."""
    key = get_api_key(session, key_id_or_prefix)
    if key is None:
        raise NotFoundError(f"no API key with id or prefix {key_id_or_prefix!r}")
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
    return key


def list_api_keys(session: Session, tenant_name: str | None = None) -> list[tuple[ApiKey, str]]:
    """Every key with its tenant's name, oldest first; only one tenant's when it is named."""
    query = select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id)
    if tenant_name is not None:
        query = query.where(Tenant.name == tenant_name)
    rows = session.execute(query.order_by(ApiKey.created_at, ApiKey.id)).all()
    return [(key, name) for key, name in rows]
