"""Each validator catches its problem kind, on small knowledge bases built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from kb_helpers import entry_dict, fake_parse, write_entry, write_example

from knowledge_base import validators
from knowledge_base.examples import ExampleError, iter_examples
from knowledge_base.loader import KnowledgeBaseError, load_knowledge_base
from knowledge_base.validators import Problem, errors, validate_all

TAXONOMY = ["null-deref", "soft-lockup", "unknown"]

NULL_LOG = """BUG: kernel NULL pointer dereference, address: 0000000000000010
RIP: 0010:frobnicate+0x10/0x40 [frob]
Kernel panic - not syncing: Fatal exception
"""
OTHER_NULL_LOG = """BUG: kernel NULL pointer dereference, address: 0000000000000010
RIP: 0010:widget_poll+0x10/0x40 [widget]
Kernel panic - not syncing: Fatal exception
"""
LOCKUP_LOG = """watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:1:99]
RIP: 0010:frobnicate+0x10/0x40 [frob]
Kernel panic - not syncing: softlockup: hung tasks
"""


def _good_kb(root: Path) -> None:
    """A clean KB: three generics and one specific entry with its examples."""
    for cat in TAXONOMY:
        sigs = [] if cat == "unknown" else [{"crash_type": [cat]}]
        write_entry(root, entry_dict(f"generic-{cat}", cat, generic=True, signatures=sigs))
    write_entry(
        root,
        entry_dict(
            "frob-null",
            signatures=[{"crash_type": ["null-deref"], "text": r"RIP: 0010:frobnicate"}],
        ),
    )
    write_example(root, "frob-null", "positive", 1, "frob-null", "null-deref", NULL_LOG)
    write_example(
        root, "frob-null", "near-miss", 1, "generic-soft-lockup", "soft-lockup", LOCKUP_LOG
    )
    for cat in TAXONOMY:
        if cat != "unknown":
            write_example(
                root,
                f"generic-{cat}",
                "positive",
                1,
                f"generic-{cat}",
                cat,
                OTHER_NULL_LOG
                if cat == "null-deref"
                else LOCKUP_LOG.replace("frobnicate", "spin_loop"),
            )


def _run(root: Path) -> list[Problem]:
    return validate_all(root, taxonomy=TAXONOMY, parse=fake_parse)


def _codes(problems: list[Problem], severity: str = "error") -> set[str]:
    return {p.code for p in problems if p.severity == severity}


def test_clean_kb_has_no_errors(tmp_path: Path) -> None:
    _good_kb(tmp_path)
    problems = _run(tmp_path)
    assert errors(problems) == [], "\n".join(map(str, problems))


def _write(root: Path, entry_id: str, category: str = "null-deref", **fields: object) -> Path:
    return write_entry(root, entry_dict(entry_id, category, **fields))


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda r: _write(r, "bad-cat", "no-such-category"), "bad-category"),
        (lambda r: write_entry(r, entry_dict("named-wrong"), name="other-name"), "id-mismatch"),
        (lambda r: write_entry(r, entry_dict("frob-null"), name="frob-null-copy"), "duplicate-id"),
        (lambda r: _write(r, "no-sigs", signatures=[]), "no-signatures"),
        (lambda r: _write(r, "no-refs", status="stable", references=[]), "missing-references"),
        (
            lambda r: _write(r, "dangling", deprecated=True, replaced_by="nothing-here"),
            "dangling-replaced-by",
        ),
        (
            lambda r: (
                _write(r, "old-a", deprecated=True, replaced_by="old-b"),
                _write(r, "old-b", deprecated=True),
            ),
            "replaced-by-deprecated",
        ),
        (lambda r: _write(r, "generic-null-deref-2", generic=True), "duplicate-generic"),
        (
            lambda r: (r / "entries" / "unknown" / "generic-unknown.yaml").unlink(),
            "missing-generic",
        ),
        (
            lambda r: (r / "entries" / "null-deref" / "x.yaml").write_text("id: [", "utf-8"),
            "schema",
        ),
        (lambda r: _write(r, "extra-key", colour="blue"), "schema"),
        (
            lambda r: _write(
                r,
                "empty-range",
                applicability={
                    "affected": [{"stream": "mainline", "introduced": "6.2", "fixed": "6.1"}]
                },
            ),
            "empty-range",
        ),
        (lambda r: _write(r, "lonely", signatures=[{"text": "lonely"}]), "missing-positive"),
        (lambda r: _write(r, "lonely", signatures=[{"text": "lonely"}]), "missing-near-miss"),
        (
            lambda r: write_example(r, "nobody", "positive", 1, "nobody", "null-deref", NULL_LOG),
            "orphan-example",
        ),
        (
            lambda r: write_example(r, "frob-null", "near-miss", 2, "ghost", "null-deref", "x\n"),
            "unknown-root-cause",
        ),
        (
            lambda r: write_example(
                r, "frob-null", "near-miss", 2, "generic-null-deref", "soft-lockup", "x\n"
            ),
            "category-mismatch",
        ),
        (
            lambda r: write_example(
                r, "frob-null", "positive", 2, "generic-null-deref", "null-deref", NULL_LOG
            ),
            "positive-root-cause",
        ),
        (
            lambda r: write_example(
                r, "frob-null", "near-miss", 2, "frob-null", "null-deref", NULL_LOG
            ),
            "near-miss-root-cause",
        ),
        (
            lambda r: (r / "examples" / "frob-null" / "positive-2.log").write_text(
                "KIND: positive\n\nlog\n", "utf-8"
            ),
            "bad-example",
        ),
        (
            lambda r: write_example(
                r, "frob-null", "positive", 2, "frob-null", "null-deref", OTHER_NULL_LOG
            ),
            "positive-not-matched",
        ),
        (
            lambda r: write_example(
                r, "frob-null", "near-miss", 2, "generic-null-deref", "null-deref", NULL_LOG
            ),
            "own-near-miss",
        ),
        (
            lambda r: (
                _write(r, "greedy-null", signatures=[{"crash_type": ["null-deref"]}]),
                write_example(
                    r, "greedy-null", "positive", 1, "greedy-null", "null-deref", NULL_LOG
                ),
                write_example(
                    r,
                    "greedy-null",
                    "near-miss",
                    1,
                    "generic-soft-lockup",
                    "soft-lockup",
                    LOCKUP_LOG,
                ),
            ),
            "cross-match",
        ),
    ],
)
def test_validator_catches(tmp_path: Path, mutate: object, code: str) -> None:
    _good_kb(tmp_path)
    mutate(tmp_path)  # type: ignore[operator]
    problems = _run(tmp_path)
    assert code in _codes(problems), "\n".join(map(str, problems))
    assert all(p.message for p in problems)


def test_missing_references_is_a_warning_for_non_stable(tmp_path: Path) -> None:
    _good_kb(tmp_path)
    _write(
        tmp_path,
        "frob-null",
        status="test",
        references=[],
        signatures=[{"crash_type": ["null-deref"], "text": r"RIP: 0010:frobnicate"}],
    )
    problems = _run(tmp_path)
    assert "missing-references" in _codes(problems, "warning")
    assert "missing-references" not in _codes(problems)


def test_unknown_stream_is_a_warning(tmp_path: Path) -> None:
    _good_kb(tmp_path)
    _write(
        tmp_path,
        "frob-null",
        signatures=[{"crash_type": ["null-deref"], "text": "frobnicate"}],
        applicability={"fixed_in": [{"stream": "solaris-11", "version": "1.0"}]},
    )
    assert "unknown-stream" in _codes(_run(tmp_path), "warning")


def test_missing_parser_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    _good_kb(tmp_path)
    monkeypatch.setattr(validators, "_default_parser", lambda: None)
    problems = validate_all(tmp_path, taxonomy=TAXONOMY)
    assert "no-parser" in _codes(problems, "warning")


def test_loader_rejects_bad_entries(tmp_path: Path) -> None:
    path = _write(tmp_path, "extra-key", colour="blue")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(tmp_path)
    assert str(path) in str(info.value)
    assert "colour" in str(info.value)


def test_loader_rejects_duplicates_and_misnamed(tmp_path: Path) -> None:
    _write(tmp_path, "one")
    write_entry(tmp_path, entry_dict("one"), name="two")
    with pytest.raises(KnowledgeBaseError, match="file name must be the entry id"):
        load_knowledge_base(tmp_path)


def test_loader_version_is_a_content_hash(tmp_path: Path) -> None:
    _good_kb(tmp_path)
    first = load_knowledge_base(tmp_path)
    assert first.version.startswith("kb-") and len(first.version) == 15
    assert load_knowledge_base(tmp_path / "entries").version == first.version
    _write(tmp_path, "frob-null", title="A changed title here")
    assert load_knowledge_base(tmp_path).version != first.version
    assert first.generic_for("null-deref").id == "generic-null-deref"
    assert first.generic_for("no-such-category").id == "generic-unknown"
    assert [e.id for e in first.by_category("null-deref")] == ["frob-null", "generic-null-deref"]


def test_iter_examples_strict_and_lenient(tmp_path: Path) -> None:
    _good_kb(tmp_path)
    found = list(iter_examples(tmp_path))
    assert {e.name for e in found} >= {"frob-null/positive-1.log", "frob-null/near-miss-1.log"}
    bad = tmp_path / "examples" / "frob-null" / "positive-9.log"
    bad.write_text("KIND: positive\nROOT_CAUSE: frob-null\n\nlog\n", "utf-8")
    with pytest.raises(ExampleError, match="CATEGORY"):
        list(iter_examples(tmp_path))
    assert len(list(iter_examples(tmp_path, strict=False))) == len(found)
