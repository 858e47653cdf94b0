"""Typed dependencies: the service context, a database session, and the authenticated caller.

Every /v1 route names the role it needs (`ReaderDep`, `SubmitterDep`, `AdminDep`); the key is
checked first (401), then the role (403). Tenant scoping is the caller's `tenant_id`, passed to
every data function, so another tenant's ids are simply not found (404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.api.context import ServiceContext
from service.api.errors import forbidden, unauthorized
from service.db.models import Role, utcnow

# `last_used_at` is refreshed at most this often per key (it says "in use lately", not
# "every request").
LAST_USED_RESOLUTION = timedelta(seconds=60)

# Roles are a ladder: each includes everything the ones below it may do.
_RANK = {Role.READER: 0, Role.SUBMITTER: 1, Role.ADMIN: 2}

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `panicdx apikey create` (or the one `panicdx serve` printed).",
)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in a
# worker thread, a hop that costs more than the dependency itself.


async def get_context(request: Request) -> ServiceContext:
    """The context the lifespan stored on the app."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """A session for one request, closed afterwards (routes commit their own writes)."""
    with ctx.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Caller:
    """The authenticated key: its tenant, role and public prefix (used as feedback author)."""

    tenant_id: str
    tenant_name: str
    role: Role
    key_id: str
    key_prefix: str

    def may(self, role: Role) -> bool:
        """True when this key's role includes `role`."""
        return _RANK[self.role] >= _RANK[role]


def authenticate(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of a /v1 route; 401 when the key is missing, unknown or revoked.

    Checked against the database on every request (one read-only query), so a revoked key
    stops working at once, whichever process revoked it.
    """
    from service.db.repo import authenticate_key, identify_key

    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthorized("send an API key as 'Authorization: Bearer KEY'")
    plaintext = credentials.credentials
    # A read-only check: recording every use would make each request a write transaction,
    # which on SQLite queues all requests behind one lock. `last_used_at` is refreshed below
    # at most once per LAST_USED_RESOLUTION.
    with ctx.db.session() as session:
        holder = identify_key(session, plaintext)
    if holder is None:
        raise unauthorized("the API key is unknown or revoked")
    last_used = holder.last_used_at
    if last_used is None or utcnow() - last_used > LAST_USED_RESOLUTION:
        with ctx.db.write_session() as session:
            authenticate_key(session, plaintext)
            session.commit()
    return Caller(
        tenant_id=holder.tenant_id,
        tenant_name=holder.tenant_name,
        role=holder.role,
        key_id=holder.key_id,
        key_prefix=holder.key_prefix,
    )


CallerDep = Annotated[Caller, Depends(authenticate)]


def _require(role: Role) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(caller: CallerDep) -> Caller:
        if not caller.may(role):
            raise forbidden(
                f"this call needs a {role.value} key; this key is a {caller.role.value}"
            )
        return caller

    check.__doc__ = f"The caller, if its role includes {role.value} (403 otherwise)."
    return check


ReaderDep = Annotated[Caller, Depends(_require(Role.READER))]
SubmitterDep = Annotated[Caller, Depends(_require(Role.SUBMITTER))]
AdminDep = Annotated[Caller, Depends(_require(Role.ADMIN))]
