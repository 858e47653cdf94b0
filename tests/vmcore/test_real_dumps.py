"""End to end on real crash dumps: a Debian kernel crashed under QEMU, dumped three ways.

For every crash kind and every dump form (QEMU's ELF, QEMU's kdump-zlib flattened stream,
makedumpfile -c -d 31, and makedumpfile's lzo, ELF and flattened forms):
- `panicdx dmesg FILE` prints exactly what `makedumpfile --dump-dmesg` prints, line for line;
- `panicdx diagnose --json FILE` names the kind's category and says the source was a vmcore.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dumps.cache import DMESG_REFERENCE, DUMP_FORMS, read_meta
from tests.dumps.kinds import KINDS_BY_NAME, foreign_failures
from tests.dumps.panicdx_cli import run_panicdx
from tests.dumps.selection import kinds_under_test

TESTED_KINDS = kinds_under_test()
CASES = [(kind, form) for kind in TESTED_KINDS for form in DUMP_FORMS]


def first_difference(expected: list[str], actual: list[str]) -> str:
    """A short description of where two line lists first differ."""
    for number, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        if want != got:
            return f"line {number}:\n  makedumpfile: {want!r}\n  panicdx:      {got!r}"
    return f"{len(expected)} reference lines, {len(actual)} from panicdx"


@pytest.fixture(scope="module")
def diagnoses(real_dumps: dict[str, Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """One `panicdx diagnose --json` run over every dump; (kind, form) -> its JSON record."""
    files = [str(real_dumps[kind] / DUMP_FORMS[form]) for kind, form in CASES]
    result = run_panicdx("diagnose", "--json", *files)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(records) == len(files), (
        f"expected one JSON line per dump ({len(files)}), got {len(records)}; "
        f"exit {result.returncode}, stderr:\n{result.stderr[-2000:]}"
    )
    return dict(zip(CASES, records, strict=True))


@pytest.mark.parametrize(("kind", "form"), CASES, ids=[f"{k}-{f}" for k, f in CASES])
def test_dmesg_equals_makedumpfile(real_dumps: dict[str, Path], kind: str, form: str) -> None:
    directory = real_dumps[kind]
    reference = (directory / DMESG_REFERENCE).read_text(errors="replace").splitlines()
    result = run_panicdx("dmesg", str(directory / DUMP_FORMS[form]))
    assert result.returncode == 0, f"panicdx dmesg failed: {result.stderr[-2000:]}"
    printed = result.stdout.splitlines()
    assert printed == reference, first_difference(reference, printed)


@pytest.mark.parametrize(("kind", "form"), CASES, ids=[f"{k}-{f}" for k, f in CASES])
def test_diagnose_names_the_category(
    diagnoses: dict[tuple[str, str], dict[str, Any]], kind: str, form: str
) -> None:
    record = diagnoses[(kind, form)]
    assert "error" not in record, f"panicdx could not read the dump: {record['error']}"
    assert record["source"]["kind"] == "vmcore"
    assert record["category"] == KINDS_BY_NAME[kind].category, (
        f"diagnosed {record['category']} ({record.get('root_cause')}), "
        f"warnings: {record.get('warnings')}"
    )


@pytest.mark.parametrize("kind", TESTED_KINDS)
def test_fixture_panicked_for_the_intended_reason(real_dumps: dict[str, Path], kind: str) -> None:
    """The reference log proves the guest crashed as asked (else every other check is moot)."""
    directory = real_dumps[kind]
    log = (directory / DMESG_REFERENCE).read_text(errors="replace")
    meta = read_meta(directory)
    assert meta is not None
    assert meta["kind"] == kind
    assert meta["elf_has_vmcoreinfo_note"] is True
    assert KINDS_BY_NAME[kind].log_evidence in log
    assert foreign_failures(KINDS_BY_NAME[kind], log) == []
    assert "Kernel panic - not syncing" in log
    # Every makedumpfile conversion kept the whole kernel log (checked with makedumpfile).
    assert meta["dmesg_equals_reference"]
    assert all(meta["dmesg_equals_reference"].values()), meta["dmesg_equals_reference"]
