"""Real dumps as operators hand them over: compressed, inside a crash-directory tarball, or cut
short by a full disk or an interrupted copy.

One kind is enough here (the first under test); the per-kind checks are in test_real_dumps.py.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.dumps.cache import DMESG_REFERENCE, DUMP_FORMS, MAKEDUMPFILE_DUMP
from tests.dumps.kinds import KINDS_BY_NAME
from tests.dumps.panicdx_cli import run_panicdx
from tests.dumps.selection import kinds_under_test

KIND = kinds_under_test()[0]
TRUNCATED_BYTES = 1_000_000


@pytest.fixture(scope="module")
def dump_dir(real_dumps: dict[str, Path]) -> Path:
    return real_dumps[KIND]


def test_gzipped_kdump_file_gives_the_same_log(dump_dir: Path, tmp_path: Path) -> None:
    wrapped = tmp_path / "vmcore.gz"
    with (dump_dir / MAKEDUMPFILE_DUMP).open("rb") as source, gzip.open(wrapped, "wb", 1) as out:
        shutil.copyfileobj(source, out, 1 << 20)
    result = run_panicdx("dmesg", str(wrapped))
    assert result.returncode == 0, result.stderr
    reference = (dump_dir / DMESG_REFERENCE).read_text(errors="replace").splitlines()
    assert result.stdout.splitlines() == reference


def test_crash_directory_tarball_is_diagnosed_from_its_vmcore(
    dump_dir: Path, tmp_path: Path
) -> None:
    """A /var/crash/<stamp>/ directory as kdump leaves it, with only the vmcore (no text log)."""
    archive = tmp_path / "crash.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(dump_dir / MAKEDUMPFILE_DUMP, arcname="127.0.0.1-2026-11-23-13:00:00/vmcore")
    result = run_panicdx("diagnose", "--json", str(archive))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["source"]["kind"] == "vmcore"
    assert record["category"] == KINDS_BY_NAME[KIND].category


@pytest.mark.parametrize("form", list(DUMP_FORMS))
def test_truncated_dump_is_a_clear_error(dump_dir: Path, tmp_path: Path, form: str) -> None:
    """The first megabyte of a dump: headers intact, the kernel log's pages missing."""
    truncated = tmp_path / f"truncated-{form}"
    with (dump_dir / DUMP_FORMS[form]).open("rb") as source:
        truncated.write_bytes(source.read(TRUNCATED_BYTES))
    result = run_panicdx("dmesg", str(truncated))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert re.fullmatch(r"panicdx: .+ \[dump_(truncated|corrupt)\]", message), message
