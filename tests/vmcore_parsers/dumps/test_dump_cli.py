"""`panicdx dmesg` and `panicdx diagnose` on dumps, as a user runs them (real processes)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from dumpfactory import FakeKernel, write_elf, write_flattened, write_kdump
from panicdata import EXPECTED_PANIC_TEXT

PANICDX = Path(sys.executable).with_name("panicdx")
Write = Callable[..., Path]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PANICDX), *args], capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.parametrize("sandbox", [False, True])
def test_dmesg_prints_the_dumps_log(sandbox: bool, panic_kernel: FakeKernel, write: Write) -> None:
    path = write(write_flattened(write_kdump(panic_kernel)))
    result = run("dmesg", *(["--sandbox"] if sandbox else []), str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_PANIC_TEXT
    assert result.stderr == ""


def test_dmesg_prints_a_log_as_it_is(write: Write) -> None:
    log = "[    1.000000] hello\n[    2.000000] Kernel panic - not syncing: test\n"
    result = run("dmesg", str(write(gzip.compress(log.encode()), "kern.log.gz")))
    assert (result.returncode, result.stdout) == (0, log)


def test_dmesg_warns_on_stderr(panic_kernel: FakeKernel, write: Write) -> None:
    result = run("dmesg", str(write(write_elf(panic_kernel, with_vmcoreinfo=False))))
    assert result.returncode == 0
    assert result.stdout == EXPECTED_PANIC_TEXT
    assert "warning" in result.stderr
    assert "recovered" in result.stderr


def test_dmesg_bad_dump_is_one_line_and_exit_1(panic_kernel: FakeKernel, write: Write) -> None:
    result = run("dmesg", str(write(write_kdump(panic_kernel)[:300])))
    assert result.returncode == 1
    assert "[dump_truncated]" in result.stderr
    assert "Traceback" not in result.stderr


def test_diagnose_accepts_dumps_and_keeps_going_past_bad_ones(
    panic_kernel: FakeKernel, write: Write
) -> None:
    elf = write(write_elf(panic_kernel), "vmcore")
    broken = write(b"KDUMP   " + bytes(100), "broken")
    packed = write(gzip.compress(write_kdump(panic_kernel)), "vmcore.gz")
    log = write(EXPECTED_PANIC_TEXT.encode(), "vmcore-dmesg.txt")
    result = run("diagnose", "--json", str(elf), str(broken), str(packed), str(log))
    assert result.returncode == 1  # one input failed
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["file"] for record in records] == [str(elf), str(broken), str(packed), str(log)]
    assert records[1]["error"]["code"] == "dump_truncated"
    for record in (records[0], records[2]):
        assert record["category"] == "manual-crash"
        assert record["source"]["kind"] == "vmcore"
        assert record["source"]["tier"] == "vmcore-dmesg"
    assert records[0]["source"]["format"] == "elf"
    assert records[2]["source"]["format"] == "kdump-compressed"
    assert records[2]["source"]["compression"] == "gzip"
    assert records[3]["source"]["kind"] == "log"
    assert records[3]["source"]["tier"] == "log"
    assert records[3]["category"] == "manual-crash"


def test_diagnose_reports_extraction_warnings(panic_kernel: FakeKernel, write: Write) -> None:
    path = write(write_elf(panic_kernel, with_vmcoreinfo=False))
    result = run("diagnose", "--json", str(path))
    record = json.loads(result.stdout)
    assert any("recovered" in warning for warning in record["warnings"])
