"""`/v1/me`: which tenant and role the presented key has."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import ReaderDep
from service.api.schemas import MeOut

router = APIRouter(prefix="/v1", tags=["keys"])


@router.get("/me", response_model=MeOut)
def whoami(caller: ReaderDep) -> MeOut:
    """The key's tenant name, role and public prefix."""
    return MeOut(tenant=caller.tenant_name, role=caller.role.value, key_prefix=caller.key_prefix)
