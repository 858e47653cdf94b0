"""`/v1/root-causes`: the knowledge base the running diagnoser uses (the same for every tenant)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from service.api.deps import ContextDep, ReaderDep
from service.api.errors import invalid_request, not_found
from service.api.schemas import RootCauseList, RootCauseSummary

router = APIRouter(prefix="/v1/root-causes", tags=["root causes"])


@router.get("", response_model=RootCauseList)
def list_root_causes(
    ctx: ContextDep,
    caller: ReaderDep,
    category: Annotated[str | None, Query(description="Only this taxonomy category.")] = None,
) -> RootCauseList:
    """Every knowledge-base entry (deprecated ones too, marked by status), sorted by id."""
    kb = ctx.diagnoser.kb
    if category is not None and category not in ctx.categories:
        raise invalid_request(
            f"unknown category {category!r}; known: {', '.join(sorted(ctx.categories))}"
        )
    entries = sorted(kb.entries.values(), key=lambda e: e.id)
    return RootCauseList(
        items=[
            RootCauseSummary(
                id=e.id,
                title=e.title,
                category=e.category,
                status="deprecated" if e.deprecated else e.status.value,
                summary=e.summary,
                generic=e.generic,
            )
            for e in entries
            if category is None or e.category == category
        ]
    )


@router.get("/{root_cause_id}")
def get_root_cause(ctx: ContextDep, caller: ReaderDep, root_cause_id: str) -> dict[str, Any]:
    """The full knowledge-base entry: signatures, applicability, remediation, references."""
    entry = ctx.diagnoser.kb.entries.get(root_cause_id)
    if entry is None:
        raise not_found("root cause")
    return entry.model_dump(mode="json")
