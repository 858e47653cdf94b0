"""The "vmcore-debuginfo" tier: finding debug info, and what drgn adds when it is there.

The drgn test needs a real dump and its kernel's debug info (built by
`python -m tests.dumps.build_dumps` with its debug-info step); it skips without them unless
PANICDX_REQUIRE_DEBUGINFO=1 demands them, in which case their absence fails.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import EXPECTED_PANIC_TEXT
from dumpfactory import FakeKernel, write_elf

from vmcore_parsers.dumps.debuginfo import find_debuginfo
from vmcore_parsers.extract import extract_file

Write = Callable[..., Path]
RELEASE = "6.1.0-56-cloud-amd64"


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF")
    return path


def test_distribution_layout_under_an_explicit_directory(tmp_path: Path) -> None:
    vmlinux = _touch(tmp_path / "usr/lib/debug/boot" / f"vmlinux-{RELEASE}")
    module = _touch(tmp_path / "usr/lib/debug/lib/modules" / RELEASE / "kernel/fs/ext4.ko")
    found = find_debuginfo(RELEASE, tmp_path)
    assert found is not None
    assert (found.vmlinux, found.modules) == (vmlinux, (module,))


def test_store_with_one_directory_per_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vmlinux = _touch(tmp_path / RELEASE / "usr/lib/debug/boot" / f"vmlinux-{RELEASE}")
    _touch(tmp_path / "5.10.0-1-amd64" / "usr/lib/debug/boot/vmlinux-5.10.0-1-amd64")
    monkeypatch.setenv("PANICDX_DEBUGINFO_DIR", str(tmp_path))
    found = find_debuginfo(RELEASE)
    assert found is not None and found.vmlinux == vmlinux


def test_explicit_vmlinux_file(tmp_path: Path) -> None:
    vmlinux = _touch(tmp_path / "vmlinux")
    found = find_debuginfo(None, vmlinux)
    assert found is not None and found.vmlinux == vmlinux


def test_nothing_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PANICDX_DEBUGINFO_DIR", raising=False)
    assert find_debuginfo("0.0.0-none", tmp_path) is None
    assert find_debuginfo(None, tmp_path) is None


def test_missing_debuginfo_is_a_warning(
    panic_kernel: FakeKernel, write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("drgn")
    monkeypatch.delenv("PANICDX_DEBUGINFO_DIR", raising=False)
    result = extract_file(write(write_elf(panic_kernel)), deep=True, debuginfo=tmp_path)
    assert result.text == EXPECTED_PANIC_TEXT
    assert (result.tier, result.debug_report) == ("vmcore-dmesg", None)
    assert any("no debug info for kernel 6.1.0-99-cloud-amd64" in w for w in result.warnings)


def test_missing_drgn_is_a_warning(
    panic_kernel: FakeKernel, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_drgn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "drgn" or name.startswith("drgn."):
            raise ImportError("No module named 'drgn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_drgn)
    result = extract_file(write(write_elf(panic_kernel)), deep=True)
    assert result.tier == "vmcore-dmesg"
    assert any("drgn is not installed" in w for w in result.warnings)


def _real_dump_with_debuginfo(
    form: str = "vmcore.makedumpfile-c-d31",
) -> tuple[Path, Path] | None:
    root = Path(os.environ.get("PANICDX_DUMP_CACHE", Path.home() / ".cache/panicdx/dumps"))
    dump = root / RELEASE / "hung-task" / form
    debuginfo = root / RELEASE / "debuginfo"
    if dump.is_file() and (debuginfo / ".complete").is_file():
        return dump, debuginfo
    return None


# makedumpfile's kdump-compressed form opens as it is; QEMU's flattened kdump-zlib form is
# refused by libkdumpfile (wrong phys_base, empty utsname) and goes through the ELF rewrite.
@pytest.mark.parametrize("form", ["vmcore.makedumpfile-c-d31", "vmcore.kdump-zlib"])
def test_drgn_report_on_a_real_hung_task_dump(form: str) -> None:
    found = _real_dump_with_debuginfo(form)
    if found is None or not _has_drgn():
        if os.environ.get("PANICDX_REQUIRE_DEBUGINFO") == "1":
            pytest.fail(
                "PANICDX_REQUIRE_DEBUGINFO=1 but the dump, its debug info or drgn is absent"
            )
        pytest.skip("needs the real hung-task dump, its debug info and drgn")
    dump, debuginfo = found
    result = extract_file(dump, deep=True, debuginfo=debuginfo)
    assert result.tier == "vmcore-debuginfo"
    report = result.debug_report or ""
    assert "== Panic message ==\nKernel panic - not syncing: hung_task: blocked tasks" in report
    assert "check_hung_uninterruptible_tasks (kernel/hung_task.c:" in report
    assert "== Tasks blocked in D state ==\nPID: " in report
    assert "__mutex_lock" in report  # the blocked task waits on the module's mutex
    assert "panicdx_crash (OE)" in report


def _has_drgn() -> bool:
    try:
        import drgn  # noqa: F401
    except ImportError:
        return False
    return True


def _diagnose(*args: str) -> list[dict[str, Any]]:
    import json
    import subprocess
    import sys

    panicdx = Path(sys.executable).with_name("panicdx")
    completed = subprocess.run(
        [str(panicdx), "diagnose", "--json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return [json.loads(line) for line in completed.stdout.splitlines()]


def test_diagnose_without_matching_debuginfo_stays_at_the_dmesg_tier(
    panic_kernel: FakeKernel, write: Write, tmp_path: Path
) -> None:
    pytest.importorskip("drgn")
    dump = write(write_elf(panic_kernel))
    (record,) = _diagnose("--debuginfo", str(tmp_path), str(dump))
    assert record["source"]["tier"] == "vmcore-dmesg"
    assert record["category"] == "manual-crash"
    assert any("no debug info for kernel" in warning for warning in record["warnings"])


def test_diagnose_with_debuginfo_names_the_tier_on_a_real_dump() -> None:
    found = _real_dump_with_debuginfo()
    if found is None or not _has_drgn():
        if os.environ.get("PANICDX_REQUIRE_DEBUGINFO") == "1":
            pytest.fail(
                "PANICDX_REQUIRE_DEBUGINFO=1 but the dump, its debug info or drgn is absent"
            )
        pytest.skip("needs the real hung-task dump, its debug info and drgn")
    dump, debuginfo = found
    (record,) = _diagnose("--debuginfo", str(debuginfo), str(dump))
    assert record["source"]["tier"] == "vmcore-debuginfo"
    assert record["category"] == "hung-task"
