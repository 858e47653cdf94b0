"""The "vmcore-debuginfo" tier as `extract_file(..., deep=True)` uses it.

Locating debug info (`vmcore_parsers.debuginfo.locate`) in temporary trees, the warnings the
deep tier adds when it falls short, and what it adds on a real dump. The drgn tests need a real
dump (built or reused with `ensure_dumps`, as tests/vmcore does) and its kernel's debug info
tree (filled by scripts/install-debuginfo.sh, or `python -m tests.dumps.build_dumps
--debuginfo`); they skip without them unless PANICDX_REQUIRE_DEBUGINFO=1 demands them, in
which case their absence fails. The locate and evidence details are tested in
tests/vmcore/test_debuginfo.py.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
from dumpfactory import FakeKernel, write_elf
from panicdata import EXPECTED_PANIC_TEXT

from tests.dumps.build_dumps import ensure_dumps
from tests.dumps.buildid_elf import debug_elf
from tests.dumps.cache import KDUMP_ZLIB_DUMP, MAKEDUMPFILE_DUMP
from tests.dumps.debuginfo import debuginfo_root, is_complete
from tests.dumps.selection import env_flag
from tests.dumps.toolchain import ToolchainMissing
from vmcore_parsers.debuginfo import collect
from vmcore_parsers.debuginfo.locate import configured_store, locate_debuginfo
from vmcore_parsers.extract import extract_file

Write = Callable[..., Path]
RELEASE = "6.1.0-56-cloud-amd64"
BUILD_ID = "3b43fad5034874490492495d552c0af6a5fab235"
# The build id in the fake kernel's VMCOREINFO (dumpfactory.build_prb_kernel).
FAKE_BUILD_ID = "0123456789abcdef0123456789abcdef01234567"
OTHER_ID = "00112233445566778899aabbccddeeff00112233"


@pytest.fixture
def no_configured_debuginfo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither a debug-info store nor debuginfod: only explicit paths and / are searched."""
    monkeypatch.delenv("PANICDX_DEBUGINFO_DIR", raising=False)
    monkeypatch.delenv("DEBUGINFOD_URLS", raising=False)


def test_distribution_layout_under_an_explicit_directory(tmp_path: Path) -> None:
    explicit = tmp_path / "debug"
    vmlinux = debug_elf(explicit / "usr/lib/debug/boot" / f"vmlinux-{RELEASE}", BUILD_ID)
    module = debug_elf(explicit / "usr/lib/debug/lib/modules" / RELEASE / "kernel/fs/ext4.ko", None)
    found = locate_debuginfo(RELEASE, BUILD_ID, explicit=explicit, root=tmp_path / "root")
    assert found.files is not None
    assert (found.files.vmlinux, found.files.origin) == (vmlinux, "explicit")
    assert found.files.modules == (module,)
    assert found.warnings == ()


def test_store_with_one_directory_per_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    vmlinux = debug_elf(store / RELEASE / "usr/lib/debug/boot" / f"vmlinux-{RELEASE}", BUILD_ID)
    debug_elf(store / "5.10.0-1-amd64" / "usr/lib/debug/boot/vmlinux-5.10.0-1-amd64", OTHER_ID)
    monkeypatch.setenv("PANICDX_DEBUGINFO_DIR", str(store))
    found = locate_debuginfo(RELEASE, BUILD_ID, store=configured_store(), root=tmp_path / "root")
    assert found.files is not None
    assert (found.files.vmlinux, found.files.origin) == (vmlinux, "store")


def test_explicit_vmlinux_file(tmp_path: Path) -> None:
    vmlinux = debug_elf(tmp_path / "vmlinux", BUILD_ID)
    found = locate_debuginfo(RELEASE, BUILD_ID, explicit=vmlinux, root=tmp_path / "root")
    assert found.files is not None
    assert (found.files.vmlinux, found.files.build_id) == (vmlinux, BUILD_ID)
    assert found.warnings == ()
    # A dump that states neither release nor build id still takes an explicit file, warned.
    found = locate_debuginfo(None, None, explicit=vmlinux, root=tmp_path / "root")
    assert found.files is not None and found.files.vmlinux == vmlinux
    assert any("release only" in warning for warning in found.warnings)


def test_nothing_found(tmp_path: Path) -> None:
    debug_elf(tmp_path / "5.10.0-1-amd64" / "vmlinux", OTHER_ID)
    assert locate_debuginfo("0.0.0-none", None, explicit=tmp_path, root=tmp_path).files is None
    assert locate_debuginfo(None, None, explicit=tmp_path, root=tmp_path).files is None


@pytest.mark.usefixtures("no_configured_debuginfo")
def test_missing_debuginfo_is_a_warning(
    panic_kernel: FakeKernel, write: Write, tmp_path: Path
) -> None:
    result = extract_file(write(write_elf(panic_kernel)), deep=True, debuginfo=tmp_path)
    assert result.text == EXPECTED_PANIC_TEXT
    assert (result.tier, result.debug_report) == ("vmcore-dmesg", None)
    assert any(
        f"no debug info for kernel 6.1.0-99-cloud-amd64 build id {FAKE_BUILD_ID}" in warning
        for warning in result.warnings
    )


@pytest.mark.usefixtures("no_configured_debuginfo")
def test_debuginfo_of_another_build_is_a_warning(
    panic_kernel: FakeKernel, write: Write, tmp_path: Path
) -> None:
    wrong = debug_elf(tmp_path / "vmlinux", OTHER_ID)
    result = extract_file(write(write_elf(panic_kernel)), deep=True, debuginfo=wrong)
    assert (result.tier, result.debug_report) == ("vmcore-dmesg", None)
    assert result.text == EXPECTED_PANIC_TEXT
    assert any(str(wrong) in w and OTHER_ID in w and "not used" in w for w in result.warnings)


@pytest.mark.usefixtures("no_configured_debuginfo")
def test_missing_drgn_is_a_warning(
    panic_kernel: FakeKernel, write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debug info of the dump's own build is found, so only drgn's absence stops the tier.
    vmlinux = debug_elf(tmp_path / "vmlinux", FAKE_BUILD_ID)
    real_import = builtins.__import__

    def no_drgn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "drgn" or name.startswith("drgn."):
            raise ImportError("No module named 'drgn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_drgn)
    monkeypatch.setattr(collect, "crash_binary", lambda: None)  # no crash fallback either
    result = extract_file(write(write_elf(panic_kernel)), deep=True, debuginfo=vmlinux)
    assert (result.tier, result.debug_report) == ("vmcore-dmesg", None)
    assert result.text == EXPECTED_PANIC_TEXT
    assert any("drgn is not installed" in warning for warning in result.warnings)


def _real_dump_with_debuginfo(form: str = MAKEDUMPFILE_DUMP) -> tuple[Path, Path]:
    """The real hung-task dump in `form` (built or reused) and its kernel's debug info tree.

    The dump comes from `ensure_dumps`, which waits for a build another worker is running (and
    brings the tree's crash module up to date); the tree itself is filled beforehand by
    scripts/install-debuginfo.sh. Skips the test when the dump tools, the tree or drgn are
    missing; PANICDX_REQUIRE_DEBUGINFO=1 (or PANICDX_REQUIRE_DUMPS=1 for the tools) fails it.
    """
    try:
        (hung_task,) = ensure_dumps(["hung-task"])
    except ToolchainMissing as missing:
        _absent(f"real dumps cannot be built: {missing}", dumps=True)
    release = hung_task.directory.parent.name
    debuginfo = debuginfo_root(hung_task.directory.parent.parent, release)
    if not is_complete(debuginfo, release):
        _absent(f"no debug info tree in {debuginfo}: run scripts/install-debuginfo.sh {release}")
    if not _has_drgn():
        _absent("drgn is not installed (pip install '.[debuginfo]')")
    return hung_task.directory / form, debuginfo


def _absent(reason: str, *, dumps: bool = False) -> NoReturn:
    """Skip for `reason`, or fail when a PANICDX_REQUIRE_* flag demands what is absent."""
    flags = ["PANICDX_REQUIRE_DEBUGINFO", *(["PANICDX_REQUIRE_DUMPS"] if dumps else [])]
    for flag in flags:
        if env_flag(flag):
            pytest.fail(f"{flag}=1 but {reason}")
    pytest.skip(reason)


# makedumpfile's kdump-compressed form opens as it is; QEMU's flattened kdump-zlib form is
# refused by libkdumpfile (wrong phys_base, empty utsname) and goes through the ELF rewrite.
@pytest.mark.parametrize("form", [MAKEDUMPFILE_DUMP, KDUMP_ZLIB_DUMP])
def test_drgn_report_on_a_real_hung_task_dump(form: str) -> None:
    dump, debuginfo = _real_dump_with_debuginfo(form)
    result = extract_file(dump, deep=True, debuginfo=debuginfo)
    assert result.tier == "vmcore-debuginfo"
    report = result.debug_report or ""
    assert "==== panic message ====\nKernel panic - not syncing: hung_task: blocked tasks" in report
    assert "check_hung_uninterruptible_tasks (kernel/hung_task.c:" in report
    assert "==== blocked tasks ====\ntask:" in report
    assert "task:panicdx_hung    state:D pid:" in report
    assert "__mutex_lock" in report  # the blocked task waits on the module's mutex
    assert "Modules linked in: " in report and "panicdx_crash(OE)" in report


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
    dump = write(write_elf(panic_kernel))
    (record,) = _diagnose("--debuginfo", str(tmp_path), str(dump))
    assert record["source"]["tier"] == "vmcore-dmesg"
    assert record["category"] == "manual-crash"
    assert any("no debug info for kernel" in warning for warning in record["warnings"])


def test_diagnose_with_debuginfo_names_the_tier_on_a_real_dump() -> None:
    dump, debuginfo = _real_dump_with_debuginfo()
    (record,) = _diagnose("--debuginfo", str(debuginfo), str(dump))
    assert record["source"]["tier"] == "vmcore-debuginfo"
    assert record["category"] == "hung-task"
