"""The panic categories: the coarse, stable label set every diagnosis carries.

The project keeps its own copy of the shared taxonomy next to this module
(`knowledge_base/taxonomy.yaml`) so an installed package does not depend on the source tree.
Category ids are a public contract: they are never renamed, only added.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")


class TaxonomyError(ValueError):
    """The taxonomy file is missing, not YAML, or not the expected shape."""


@dataclass(frozen=True, slots=True)
class Category:
    """One panic category: stable `id`, display `name`, what it `covers`, `typical` messages."""

    id: str
    name: str
    covers: str
    typical: tuple[str, ...] = ()


def _parse(data: Any, path: Path) -> list[Category]:
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise TaxonomyError(f"{path}: expected a mapping with a 'categories' list")
    result: list[Category] = []
    seen: set[str] = set()
    for index, item in enumerate(data["categories"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise TaxonomyError(f"{path}: category #{index} has no string 'id'")
        cid = item["id"]
        if cid in seen:
            raise TaxonomyError(f"{path}: category id {cid!r} appears twice")
        seen.add(cid)
        typical = item.get("typical") or []
        result.append(
            Category(
                id=cid,
                name=str(item.get("name", cid)),
                covers=str(item.get("covers", "")),
                typical=tuple(str(t) for t in typical),
            )
        )
    return result


def read_taxonomy(path: Path) -> list[Category]:
    """Read a taxonomy file (the project copy or the shared one); raise TaxonomyError if bad."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"{path}: cannot read taxonomy: {exc}") from exc
    return _parse(data, path)


@functools.cache
def _load_default() -> tuple[Category, ...]:
    return tuple(read_taxonomy(TAXONOMY_PATH))


def load_taxonomy() -> list[Category]:
    """The project's categories in file order (cached; the list is a fresh copy each call)."""
    return list(_load_default())


def category_ids() -> list[str]:
    """The category ids in file order, `unknown` included."""
    return [category.id for category in _load_default()]
