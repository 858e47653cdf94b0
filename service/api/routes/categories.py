"""`/v1/categories`: the panic taxonomy (stable ids and display names), for feedback forms."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import ReaderDep
from service.api.schemas import CategoryList, CategoryOut

router = APIRouter(prefix="/v1/categories", tags=["root causes"])


@router.get("", response_model=CategoryList)
def list_categories(caller: ReaderDep) -> CategoryList:
    """Every taxonomy category in the taxonomy's order, `unknown` included."""
    from knowledge_base.taxonomy import load_taxonomy

    return CategoryList(
        items=[CategoryOut(id=c.id, name=c.name, covers=c.covers) for c in load_taxonomy()]
    )
