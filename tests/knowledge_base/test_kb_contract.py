"""The shipped knowledge base: it loads, validates, covers the taxonomy, and its examples
behave at the signature stage.

`test_validate_all_has_no_errors` is the contract for content writers: it fails until every
entry has its examples and no signatures collide.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest
import yaml

from knowledge_base.examples import Example, iter_examples
from knowledge_base.loader import KnowledgeBase, load_knowledge_base
from knowledge_base.matcher import match_entries
from knowledge_base.taxonomy import category_ids, load_taxonomy
from knowledge_base.validators import errors, validate_all

SHARED_TAXONOMY = Path(__file__).parents[2].parent / "shared" / "taxonomy.yaml"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_every_entry_loads_and_ids_are_unique(kb: KnowledgeBase) -> None:
    assert kb.entries, "the knowledge base is empty"
    assert kb.version.startswith("kb-")
    assert len(set(kb.paths.values())) == len(kb.entries)


def test_every_category_has_one_generic_entry(kb: KnowledgeBase) -> None:
    for category in category_ids():
        entry = kb.generic_for(category)
        assert entry.category == category, f"no generic entry for {category}"
        assert entry.id == f"generic-{category}"


def test_validate_all_has_no_errors() -> None:
    problems = errors(validate_all())
    assert problems == [], "\n".join(map(str, problems))


def test_taxonomy_copy_covers_shared_taxonomy() -> None:
    if not SHARED_TAXONOMY.exists():
        if os.environ.get("PANICDX_REQUIRE_SHARED") == "1":
            pytest.fail(f"{SHARED_TAXONOMY} is missing and PANICDX_REQUIRE_SHARED=1")
        pytest.skip(f"{SHARED_TAXONOMY} not found (set PANICDX_REQUIRE_SHARED=1 to require it)")
    shared = yaml.safe_load(SHARED_TAXONOMY.read_text(encoding="utf-8"))
    shared_ids = [c["id"] for c in shared["categories"]]
    missing = sorted(set(shared_ids) - set(category_ids()))
    assert not missing, f"knowledge_base/taxonomy.yaml lacks {missing}: copy the shared file"
    assert category_ids()[-1] == "unknown" or "unknown" in category_ids()
    assert all(c.name and c.covers for c in load_taxonomy())


def _example_params() -> list[object]:
    params: list[object] = []
    for example in iter_examples(strict=False):
        marks = []
        if example.kind == "known-miss":
            marks.append(pytest.mark.xfail(strict=True, reason=example.note or "known miss"))
        params.append(pytest.param(example, id=example.name, marks=marks))
    return params


def _parse_log() -> object:
    try:
        module = importlib.import_module("vmcore_parsers.parse")
    except ImportError:
        pytest.skip("vmcore_parsers.parse.parse_log is not available yet")
    return module.parse_log


@pytest.mark.parametrize("example", _example_params())
def test_example_at_signature_stage(example: Example, kb: KnowledgeBase) -> None:
    """Positives (and known misses) must be matched by their entry; near-misses must not."""
    parse_log = _parse_log()
    entry = kb.entries[example.entry_id]
    report = parse_log(example.text)  # type: ignore[operator]
    matched = {m.entry_id for m in match_entries(report, kb)} if report is not None else set()
    if example.kind == "near-miss":
        assert entry.id not in matched, f"{entry.id} fires on its own near-miss"
        return
    if entry.generic:
        # Nothing specific may claim a generic positive: that is why it is generic.
        specific = {i for i in matched if not kb.entries[i].generic}
        assert not specific, f"specific entries {sorted(specific)} fire on a generic positive"
        if entry.signatures:
            assert entry.id in matched, f"{entry.id} does not fire on its positive"
        return
    assert report is not None, "the parser finds no crash in this example"
    assert entry.id in matched, (
        f"{entry.id} does not fire (crash type {report.crash_type}, title {report.title!r})"
    )
