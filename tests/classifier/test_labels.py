"""Labelled panics: import formats, validation errors with line numbers, dedup, new causes."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from classifier.labels import (
    KnownCauses,
    LabelImportError,
    dedupe,
    make_label,
    read_label_import,
    summarize,
    write_jsonl,
)
from tests.classifier.conftest import read_log

NFS = "hung-task-nfs-server-not-responding"


@pytest.fixture(scope="module")
def known() -> KnownCauses:
    """The project's knowledge base and taxonomy."""
    return KnownCauses.from_knowledge_base()


def _write_logs(directory: Path) -> None:
    (directory / "nfs.log").write_text(read_log("nfs-hung"), encoding="utf-8")
    (directory / "oom.log.gz").write_bytes(gzip.compress(read_log("oom-panic").encode()))


def test_jsonl_with_inline_text_and_relative_paths(tmp_path: Path, known: KnownCauses) -> None:
    _write_logs(tmp_path)
    lines = [
        {"path": "nfs.log", "root_cause": NFS, "note": "seen on filer02"},
        {"path": "oom.log.gz", "root_cause": "oom-panic-on-oom-system-wide"},
        {
            "log": read_log("softlockup-vm"),
            "root_cause": "noisy neighbour",
            "category": "soft-lockup",
        },
    ]
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    labels = read_label_import(path, known, author="alice")
    assert [label.root_cause for label in labels] == [NFS, "oom-panic-on-oom-system-wide", None]
    assert labels[0].category == "hung-task" and labels[0].note == "seen on filer02"
    assert labels[2].new_cause == "noisy neighbour" and labels[2].category == "soft-lockup"
    assert all(label.author == "alice" for label in labels)
    assert all(label.signature for label in labels)
    assert labels[2].training_label(known) == known.generic["soft-lockup"]


def test_directory_with_csv(tmp_path: Path, known: KnownCauses) -> None:
    _write_logs(tmp_path)
    (tmp_path / "labels.csv").write_text(
        f"file,root_cause,note\nnfs.log,{NFS},first\noom.log.gz,oom-panic-on-oom-system-wide,\n",
        encoding="utf-8",
    )
    labels = read_label_import(tmp_path, known)
    assert [label.origin.rsplit(":", 1)[1] for label in labels] == ["2", "3"]
    assert labels[0].note == "first" and labels[1].note is None


def test_directory_with_yaml_mapping(tmp_path: Path, known: KnownCauses) -> None:
    _write_logs(tmp_path)
    (tmp_path / "labels.yaml").write_text(
        f"nfs.log: {NFS}\noom.log.gz:\n  root_cause: oom-panic-on-oom-system-wide\n"
        "  note: from ticket 42\n",
        encoding="utf-8",
    )
    labels = read_label_import(tmp_path, known)
    assert labels[0].root_cause == NFS
    assert labels[1].note == "from ticket 42"


def test_every_problem_is_reported_with_its_line(tmp_path: Path, known: KnownCauses) -> None:
    _write_logs(tmp_path)
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"path": "nfs.log", "root_cause": NFS}),
                "{not json",
                json.dumps({"path": "missing.log", "root_cause": NFS}),
                json.dumps({"path": "nfs.log", "root_cause": NFS, "category": "oom"}),
                json.dumps({"path": "nfs.log"}),
                json.dumps({"log": "x", "path": "nfs.log", "root_cause": NFS}),
                json.dumps({"path": "nfs.log", "root_cause": "new", "category": "no-such"}),
                json.dumps({"path": "nfs.log", "root_cause": NFS, "colour": "red"}),
            ]
        ),
        encoding="utf-8",
    )
    with pytest.raises(LabelImportError) as caught:
        read_label_import(path, known)
    problems = caught.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6", "7", "8"]
    assert "not valid JSON" in problems[0]
    assert "no such file" in problems[1]
    assert "contradicts" in problems[2]
    assert "'root_cause' is required" in problems[3]
    assert "exactly one of 'log'" in problems[4]
    assert "unknown category 'no-such'" in problems[5]
    assert "unknown key(s) colour" in problems[6]


def test_csv_header_and_directory_errors(tmp_path: Path, known: KnownCauses) -> None:
    (tmp_path / "labels.csv").write_text("name,cause\na,b\n", encoding="utf-8")
    with pytest.raises(LabelImportError, match=r"labels.csv:1: the header needs column"):
        read_label_import(tmp_path, known)
    (tmp_path / "labels.yaml").write_text("a: b\n", encoding="utf-8")
    with pytest.raises(LabelImportError, match="more than one labels file"):
        read_label_import(tmp_path, known)
    with pytest.raises(LabelImportError, match="unknown import format"):
        read_label_import(_touch(tmp_path / "x.txt"), known)


def _touch(path: Path) -> Path:
    path.write_text("x", encoding="utf-8")
    return path


def test_empty_import_is_an_error(tmp_path: Path, known: KnownCauses) -> None:
    path = _touch(tmp_path / "empty.jsonl")
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(LabelImportError, match="no labels"):
        read_label_import(path, known)


def test_dedup_counts_one_per_signature_and_label(known: KnownCauses) -> None:
    text = read_log("nfs-hung")
    # The same bug pasted many times with different surrounding noise: same signature.
    copies = [make_label(text + f"\nnoise {i}\n", NFS, known=known) for i in range(50)]
    other = make_label(text, "generic-hung-task", known=known)
    unique = dedupe([*copies, other])
    assert len(unique) == 2
    assert unique[0].count == 50 and unique[1].count == 1
    summary = summarize([*copies, other])
    assert (summary.labels, summary.unique, summary.duplicates) == (51, 2, 49)


def test_logs_without_a_crash_dedup_by_text(known: KnownCauses) -> None:
    a = make_label("just a boot log line\n", "unknown thing", known=known)
    b = make_label("another boot log line\n", "unknown thing", known=known)
    assert a.signature == "" and len(dedupe([a, a, b])) == 2


def test_unknown_causes_are_kept_as_candidates(known: KnownCauses) -> None:
    labels = [
        make_label(read_log("oom-panic"), "cgroup v1 leak in agent X", known=known),
        make_label(read_log("oom-panic"), "cgroup v1 leak in agent X", known=known),
        make_label(read_log("nfs-hung"), NFS, known=known),
    ]
    summary = summarize(labels)
    assert summary.new_causes == {"cgroup v1 leak in agent X": 2}
    # Without a category a new cause cannot be trained on, but it is kept.
    assert labels[0].training_label(known) is None


def test_export_imports_back_unchanged(tmp_path: Path, known: KnownCauses) -> None:
    labels = [
        make_label(read_log("nfs-hung"), NFS, known=known, note="n", author="bob"),
        make_label(read_log("oom-panic"), "new cause", known=known, category="oom"),
    ]
    buffer = io.StringIO()
    assert write_jsonl(labels, buffer) == 2
    path = tmp_path / "export.jsonl"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    again = read_label_import(path, known)
    fields = ("text", "root_cause", "new_cause", "category", "note", "author", "signature")
    for before, after in zip(labels, again, strict=True):
        assert [getattr(before, f) for f in fields] == [getattr(after, f) for f in fields]
        assert before.created_at.replace(microsecond=0) == after.created_at
