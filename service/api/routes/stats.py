"""`/v1/stats`: the fleet view of the caller's own tenant (never anyone else's rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import ReaderDep, SessionDep
from service.api.params import time_range
from service.api.schemas import StatsOut

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get("", response_model=StatsOut)
def get_stats(
    session: SessionDep,
    caller: ReaderDep,
    since: Annotated[datetime | None, Query(description="ISO 8601; inclusive.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; exclusive.")] = None,
    bucket: Annotated[Literal["day", "hour"], Query(description="over_time granularity")] = "day",
) -> StatsOut:
    """Diagnoses by category, by root cause, over time, top signatures and hosts affected."""
    from service.db.repo import fleet_stats

    since, until = time_range(since, until)
    return StatsOut.model_validate(fleet_stats(session, caller.tenant_id, since, until, bucket))
