"""The `panicdx` command as a user runs it: real processes, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base.examples import iter_examples

PANICDX = Path(sys.executable).with_name("panicdx")
POSITIVES = sorted(
    (e for e in iter_examples() if e.kind == "positive" and e.root_cause != "unknown"),
    key=lambda e: str(e.path),
)


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PANICDX), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two real example logs plus inputs that are not logs."""
    directory = tmp_path_factory.mktemp("inputs")
    files = {}
    for name, example in (("first", POSITIVES[0]), ("second", POSITIVES[-1])):
        files[name] = directory / f"{name}.log"
        files[name].write_text(example.text)
    files["empty"] = directory / "empty.log"
    files["empty"].write_bytes(b"")
    files["binary"] = directory / "random.bin"
    files["binary"].write_bytes(bytes(range(256)) * 64)
    files["dir"] = directory / "subdir"
    files["dir"].mkdir()
    return files


def test_json_lines_in_order_and_bad_files_do_not_stop_the_batch(logs: dict[str, Path]) -> None:
    result = run(
        "diagnose",
        "--json",
        str(logs["first"]),
        str(logs["binary"]),
        str(logs["dir"]),
        str(logs["empty"]),
        str(logs["second"]),
    )
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in records] == [
        str(logs[k]) for k in ("first", "binary", "dir", "empty", "second")
    ]
    assert [r.get("error", {}).get("code") for r in records] == [
        None,
        "unsupported_format",
        "not_a_file",
        "empty_input",
        None,
    ]
    for record, example in ((records[0], POSITIVES[0]), (records[4], POSITIVES[-1])):
        assert record["root_cause"]["id"] == example.root_cause
        assert record["category"] == example.category
        for key in (
            "confidence",
            "decided_by",
            "alternatives",
            "evidence",
            "remediation",
            "fixed_in",
            "references",
            "report",
            "signature",
            "source",
            "model",
            "warnings",
        ):
            assert key in record, key
        assert record["evidence"], "an answer must show the lines that support it"
        assert record["source"] == {
            "kind": "log",
            "format": record["source"]["format"],
            "tier": "log",
            "name": record["file"],
            "compression": None,
        }
    assert "Traceback" not in result.stderr
    assert result.stderr.count("panicdx:") == 3


def test_stdin_and_human_card(logs: dict[str, Path]) -> None:
    result = run("diagnose", "-", stdin=logs["first"].read_bytes())
    assert result.returncode == 0, result.stderr
    assert "Root cause:" in result.stdout
    assert POSITIVES[0].root_cause in result.stdout
    assert "What to do" in result.stdout


def test_a_log_without_a_crash_is_an_honest_unknown(tmp_path: Path) -> None:
    boring = tmp_path / "boot.log"
    boring.write_text(
        "[    0.000000] Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)\n"
        "[    1.234567] EXT4-fs (vda1): mounted filesystem with ordered data mode.\n"
    )
    record = json.loads(run("diagnose", "--json", str(boring)).stdout)
    assert record["category"] == "unknown"
    assert record["root_cause"] is None
    assert record["decided_by"] == "none"
    assert any("no kernel panic" in w for w in record["warnings"])


def test_oversized_file_is_refused_quickly(tmp_path: Path) -> None:
    huge = tmp_path / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)
    result = run("diagnose", str(huge))
    assert result.returncode == 1
    assert "limit" in result.stderr and "Traceback" not in result.stderr


def test_kb_validate_passes_on_the_shipped_knowledge_base() -> None:
    result = run("kb", "validate")
    assert result.returncode == 0, result.stdout
    assert "0 error(s)" in result.stdout


def test_kb_list_json_names_every_category_generic_entry() -> None:
    entries = json.loads(run("kb", "list", "--json").stdout)
    generic_categories = {e["category"] for e in entries if e["generic"]}
    assert len(generic_categories) == 21
    assert len(entries) >= 60
