"""The "vmcore-debuginfo" tier (vmcore_parsers.debuginfo).

Unit tests (always run): locating debug info in temporary trees of small ELF files with chosen
build ids, reading crash's batch output, rendering evidence for the log parser.

Real tests: the cached QEMU dumps (tests/dumps) opened with drgn and the Debian kernel's debug
info. They skip with the reason when drgn, the dumps or the debug info are missing; with
PANICDX_REQUIRE_DEBUGINFO=1 a missing prerequisite fails instead. The debug info is taken from
the dump fixtures' tree (vmlinux, guest modules, crash module: scripts/install-debuginfo.sh
fills it, as does `python -m tests.dumps.build_dumps --debuginfo`), else from the store's bare
vmlinux, with which the tests that need the crash module's frames skip or fail; these tests
never download it. The `crash` utility test skips when crash is not installed unless
PANICDX_REQUIRE_CRASH=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.dumps.buildid_elf import debug_elf
from tests.dumps.cache import ELF_DUMP
from tests.dumps.debuginfo import debuginfo_root, is_complete
from tests.dumps.initramfs import CRASH_MODULE_NAME
from tests.dumps.selection import env_flag
from vmcore_parsers.debuginfo import DebuginfoEvidence, collect_debuginfo_evidence
from vmcore_parsers.debuginfo.buildid import dump_identity, file_build_id
from vmcore_parsers.debuginfo.crash_tool import crash_binary, fill_from_crash_output, run_crash
from vmcore_parsers.debuginfo.evidence import Frame, ModuleInfo, TaskStack
from vmcore_parsers.debuginfo.locate import candidates, locate_debuginfo, module_files
from vmcore_parsers.parse import parse_log

RELEASE = "6.1.0-56-cloud-amd64"
BUILD_ID = "3b43fad5034874490492495d552c0af6a5fab235"
OTHER_ID = "00112233445566778899aabbccddeeff00112233"


# --- unit tests: locating debug info ---


def test_file_build_id_reads_the_gnu_note(tmp_path: Path) -> None:
    assert file_build_id(debug_elf(tmp_path / "vmlinux", BUILD_ID)) == BUILD_ID
    assert file_build_id(debug_elf(tmp_path / "bare", None)) is None
    (tmp_path / "text").write_text("not an ELF file\n")
    assert file_build_id(tmp_path / "text") is None
    assert file_build_id(tmp_path / "absent") is None


def test_build_id_tree_in_the_store_is_found(tmp_path: Path) -> None:
    store = tmp_path / "store"
    debug = debug_elf(store / ".build-id" / BUILD_ID[:2] / f"{BUILD_ID[2:]}.debug", BUILD_ID)
    found = locate_debuginfo(RELEASE, BUILD_ID, store=store, root=tmp_path / "root")
    assert found.files is not None
    assert (found.files.vmlinux, found.files.origin) == (debug, "store")
    assert found.warnings == ()


def test_release_layout_in_the_store_with_modules(tmp_path: Path) -> None:
    store = tmp_path / "store"
    vmlinux = debug_elf(store / RELEASE / "vmlinux", BUILD_ID)
    module = debug_elf(store / RELEASE / "kernel" / "drivers" / "pvpanic.ko", OTHER_ID)
    found = locate_debuginfo(RELEASE, BUILD_ID, store=store, root=tmp_path / "root")
    assert found.files is not None
    assert found.files.vmlinux == vmlinux
    assert found.files.modules == (module,)


def test_distribution_paths_under_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    vmlinux = debug_elf(root / "usr/lib/debug/boot" / f"vmlinux-{RELEASE}", BUILD_ID)
    ko = debug_elf(root / f"usr/lib/debug/lib/modules/{RELEASE}/extra/panicdx_crash.ko", None)
    found = locate_debuginfo(RELEASE, BUILD_ID, root=root)
    assert found.files is not None
    assert (found.files.vmlinux, found.files.origin) == (vmlinux, "distribution")
    assert found.files.modules == (ko,)


def test_mismatched_build_id_is_a_warning_and_the_next_candidate_wins(tmp_path: Path) -> None:
    explicit = debug_elf(tmp_path / "wrong" / "vmlinux", OTHER_ID)
    root = tmp_path / "root"
    right = debug_elf(root / f"usr/lib/debug/lib/modules/{RELEASE}/vmlinux", BUILD_ID)
    found = locate_debuginfo(RELEASE, BUILD_ID, explicit=explicit, root=root)
    assert found.files is not None and found.files.vmlinux == right
    assert any(str(explicit) in w and "not used" in w and OTHER_ID in w for w in found.warnings)


def test_only_a_mismatch_finds_nothing(tmp_path: Path) -> None:
    explicit = debug_elf(tmp_path / "vmlinux", OTHER_ID)
    found = locate_debuginfo(RELEASE, BUILD_ID, explicit=explicit, root=tmp_path)
    assert found.files is None
    assert explicit in found.searched
    assert any("not used" in w for w in found.warnings)


def test_explicit_path_comes_first_and_a_missing_one_is_a_warning(tmp_path: Path) -> None:
    explicit = tmp_path / "mine"
    store = tmp_path / "store"
    order = candidates(RELEASE, BUILD_ID, explicit=explicit, store=store, root=tmp_path)
    assert order[0] == (explicit, "explicit")  # not a directory: taken as the vmlinux itself
    explicit.mkdir()
    order = candidates(RELEASE, BUILD_ID, explicit=explicit, store=store, root=tmp_path)
    origins = [origin for _, origin in order]
    assert origins == sorted(origins, key=["explicit", "store", "distribution"].index)
    found = locate_debuginfo(RELEASE, BUILD_ID, explicit=tmp_path / "absent", root=tmp_path)
    assert found.files is None
    assert any("no such file" in w for w in found.warnings)


def test_no_build_id_on_either_side_matches_by_release_with_a_warning(tmp_path: Path) -> None:
    store = tmp_path / "store"
    vmlinux = debug_elf(store / RELEASE / "vmlinux", None)
    found = locate_debuginfo(RELEASE, BUILD_ID, store=store, root=tmp_path)
    assert found.files is not None and found.files.vmlinux == vmlinux
    assert any("release only" in w for w in found.warnings)
    debug_elf(vmlinux, BUILD_ID)
    found = locate_debuginfo(RELEASE, None, store=store, root=tmp_path)
    assert found.files is not None
    assert any("no build id" in w for w in found.warnings)


def test_module_files_keeps_only_module_debug_files(tmp_path: Path) -> None:
    debug_elf(tmp_path / "a" / "x.ko", None)
    debug_elf(tmp_path / "a" / "y.ko.debug", None)
    (tmp_path / "a" / "z.ko.xz").write_bytes(b"")
    (tmp_path / "a" / "modules.dep").write_text("")
    names = sorted(p.name for p in module_files([tmp_path / "a", tmp_path / "absent"]))
    assert names == ["x.ko", "y.ko.debug"]


def test_a_file_that_is_not_a_dump_is_a_warning(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    log.write_text("Kernel panic - not syncing: Fatal exception\n")
    evidence = collect_debuginfo_evidence(log, use_crash=False)
    assert evidence.source == "none" and not evidence.found_anything
    assert evidence.warnings == ["debug info not used: the file is not a crash dump panicdx reads"]


# --- unit tests: crash output and rendering ---

CRASH_OUTPUT = """\
      KERNEL: /store/6.1.0-56-cloud-amd64/vmlinux
    DUMPFILE: vmcore  [PARTIAL DUMP]
     RELEASE: 6.1.0-56-cloud-amd64
       PANIC: "Kernel panic - not syncing: Fatal exception"
PID: 85       TASK: ffff8906829ee000  CPU: 0    COMMAND: "insmod"
 #0 [ffffce95805abb68] panic at ffffffffa3fcd0a8
    debian/build/build_amd64_none_cloud-amd64/kernel/panic.c: 208
 #1 [ffffce95805abc88] exc_page_fault at ffffffffa4006ef0
    debian/build/build_amd64_none_cloud-amd64/arch/x86/include/asm/paravirt.h: 699
    [exception RIP: panicdx_null_deref+12]
    RIP: ffffffffc0546040  RSP: ffffce95805abd68  RFLAGS: 00000246
    RAX: 0000000000000000  RBX: ffff89068298a370  RCX: c0000000ffffefff
 #2 [ffffce95805abd68] _MODULE_INIT_START_panicdx_crash at ffffffffc054b038 [panicdx_crash]
 #3 [ffffce95805abd78] do_one_initcall at ffffffffa36024b9
    debian/build/build_amd64_none_cloud-amd64/init/main.c: 1271
    RIP: 000000000047fbe9  RSP: 00007ffd07b73ef8  RFLAGS: 00000246
      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM
>      85       1   0  ffff8906829ee000  RU   0.0     2260       60  insmod
"""


def test_crash_output_fills_message_and_stack() -> None:
    evidence = DebuginfoEvidence(source="crash")
    fill_from_crash_output(evidence, CRASH_OUTPUT)
    assert evidence.panic_message == "Kernel panic - not syncing: Fatal exception"
    thread = evidence.crashed_thread
    assert thread is not None
    assert (thread.pid, thread.comm, thread.cpu) == (85, "insmod", 0)
    names = [frame.function for frame in thread.frames]
    assert names == [
        "panic",
        "exc_page_fault",
        "panicdx_null_deref",
        "_MODULE_INIT_START_panicdx_crash",
        "do_one_initcall",
    ]
    first, trapped, module, last = (
        thread.frames[0],
        thread.frames[2],
        thread.frames[3],
        thread.frames[4],
    )
    assert (first.file, first.line) == (
        "debian/build/build_amd64_none_cloud-amd64/kernel/panic.c",
        208,
    )
    assert (trapped.address, trapped.offset) == (0xFFFFFFFFC0546040, 12)
    assert module.module == "panicdx_crash" and module.file is None
    assert last.line == 1271
    assert evidence.raw_text is not None and "PARTIAL DUMP" in evidence.raw_text


def test_crash_missing_is_a_warning(tmp_path: Path) -> None:
    evidence = run_crash(tmp_path / "vmlinux", tmp_path / "vmcore", binary=tmp_path / "nope")
    assert evidence.crashed_thread is None
    assert evidence.warnings and "crash could not run" in evidence.warnings[0]


def test_rendered_crashed_thread_parses_as_a_call_trace() -> None:
    frames = (
        Frame(0xFFFFFFFFC04EA230, "pvpanic_send_event", file="pvpanic.c", line=48, module="pv"),
        Frame(0xFFFFFFFF81000000, "panic", 0x10, 0x200),
        Frame(0xFFFFFFFF81000100, "sysrq_handle_crash", file="drivers/tty/sysrq.c", line=155),
        Frame(0x47B7A0),
    )
    evidence = DebuginfoEvidence(
        source="drgn",
        kernel_release=RELEASE,
        panic_message="Kernel panic - not syncing: sysrq triggered crash",
        taint="G           OE",
        crashed_thread=TaskStack(1, "init", "R", frames, cpu=0),
        modules=(ModuleInfo("panicdx_crash", "OE"), ModuleInfo("pvpanic", "")),
    )
    titles = [title for title, _ in evidence.text_sections()]
    assert titles == ["panic message", "crashed thread", "modules"]
    report = parse_log(evidence.text())
    assert report is not None
    functions = [frame.function for frame in report.call_trace]
    assert functions[:3] == ["pvpanic_send_event", "panic", "sysrq_handle_crash"]
    assert report.comm == "init" and report.pid == 1
    assert "Modules linked in: panicdx_crash(OE) pvpanic" in evidence.text()
    assert DebuginfoEvidence.from_dict(json.loads(json.dumps(evidence.to_dict()))) == evidence
    assert not DebuginfoEvidence(source="none").found_anything


# --- real dumps with real debug info ---


def _debuginfo_required() -> bool:
    return env_flag("PANICDX_REQUIRE_DEBUGINFO")


def _missing(reason: str) -> None:
    if _debuginfo_required():
        pytest.fail(f"PANICDX_REQUIRE_DEBUGINFO=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def debuginfo_dir(real_dumps: dict[str, Path]) -> Path:
    """A directory holding the dumps' kernel debug info (the fixtures' tree or the store)."""
    try:
        import drgn  # noqa: F401
    except ImportError:
        _missing("drgn is not installed (pip install '.[debuginfo]')")
    release = next(iter(real_dumps.values())).parent.name
    fixtures = debuginfo_root(next(iter(real_dumps.values())).parent.parent, release)
    if is_complete(fixtures, release):
        return fixtures
    store = Path(os.environ.get("PANICDX_DEBUGINFO_DIR") or "~/.cache/panicdx/debuginfo")
    if (store.expanduser() / release / "vmlinux").is_file():
        return store.expanduser()  # the kernel's frames only: no crash module debug file
    _missing(
        f"no debug info for {release}: run scripts/install-debuginfo.sh {release} or "
        "python -m tests.dumps.build_dumps --debuginfo"
    )
    raise AssertionError("unreachable")


def _needs_crash_module_debuginfo(debuginfo: Path) -> None:
    """Skip (or fail) a test that resolves the crash module's frames without its debug file."""
    if not any(debuginfo.rglob(f"{CRASH_MODULE_NAME}.ko")):
        _missing(
            f"{debuginfo} has no debug file for {CRASH_MODULE_NAME}: run "
            "scripts/install-debuginfo.sh, which fills the dump fixtures' debug info tree"
        )


def _evidence(dump: Path, debuginfo: Path) -> DebuginfoEvidence:
    evidence = collect_debuginfo_evidence(dump, debuginfo=debuginfo, use_crash=False)
    assert evidence.source == "drgn", evidence.warnings
    return evidence


def _functions(stack: TaskStack | None) -> list[str]:
    assert stack is not None
    return [frame.function for frame in stack.frames if frame.function]


@pytest.mark.parametrize("form", [ELF_DUMP, "vmcore.kdump-zlib", "vmcore.makedumpfile-c-d31"])
def test_sysrq_crashed_thread_in_every_form(
    real_dumps: dict[str, Path], debuginfo_dir: Path, form: str
) -> None:
    evidence = _evidence(real_dumps["sysrq"] / form, debuginfo_dir)
    functions = _functions(evidence.crashed_thread)
    assert "sysrq_handle_crash" in functions
    assert functions.index("panic") < functions.index("sysrq_handle_crash")
    assert evidence.crashed_thread is not None
    frames = evidence.crashed_thread.frames
    frame = next(f for f in frames if f.function == "sysrq_handle_crash")
    assert frame.file == "drivers/tty/sysrq.c" and frame.line is not None
    assert evidence.panic_message == "Kernel panic - not syncing: sysrq triggered crash"
    assert evidence.cpus is not None and evidence.cpus[0].cpu == 0
    assert evidence.build_id == BUILD_ID
    if form == "vmcore.kdump-zlib":  # QEMU's kdump form: libkdumpfile refuses it
        assert any("converted ELF copy" in w for w in evidence.warnings)


@pytest.mark.parametrize(
    ("kind", "function"), [("null-deref", "panicdx_null_deref"), ("bug", "panicdx_bug")]
)
def test_crash_module_function_is_on_the_crashed_stack(
    real_dumps: dict[str, Path], debuginfo_dir: Path, kind: str, function: str
) -> None:
    _needs_crash_module_debuginfo(debuginfo_dir)
    evidence = _evidence(real_dumps[kind] / "vmcore.makedumpfile-c-d31", debuginfo_dir)
    stack = evidence.crashed_thread
    frame = next((f for f in stack.frames if f.function == function), None) if stack else None
    assert frame is not None, _functions(stack)
    assert frame.module == "panicdx_crash"
    assert frame.file is not None and frame.file.endswith("crashmod.c")  # module DWARF loaded
    assert evidence.taint is not None and "O" in evidence.taint
    assert evidence.modules is not None
    assert ModuleInfo("panicdx_crash", "OE") in evidence.modules
    report = parse_log(evidence.text())
    assert report is not None
    assert function in [frame.function for frame in report.call_trace]


def test_hung_task_blocked_in_d_state(real_dumps: dict[str, Path], debuginfo_dir: Path) -> None:
    _needs_crash_module_debuginfo(debuginfo_dir)
    evidence = _evidence(real_dumps["hung-task"] / ELF_DUMP, debuginfo_dir)
    assert evidence.blocked_tasks is not None
    hung = [task for task in evidence.blocked_tasks if task.comm == "panicdx_hung"]
    assert len(hung) == 1 and hung[0].state == "D"
    functions = _functions(hung[0])
    assert "panicdx_hung_thread" in functions
    assert any("mutex_lock" in name for name in functions)
    assert "check_hung_uninterruptible_tasks" in _functions(evidence.crashed_thread)
    assert "task:panicdx_hung    state:D pid:" in evidence.text()
    assert evidence.found_anything
    # What crosses the sandbox pipe comes back the same.
    assert DebuginfoEvidence.from_dict(json.loads(json.dumps(evidence.to_dict()))) == evidence


def test_oom_memory_summary(real_dumps: dict[str, Path], debuginfo_dir: Path) -> None:
    evidence = _evidence(real_dumps["oom"] / "vmcore.makedumpfile-c-d31", debuginfo_dir)
    memory = evidence.memory
    assert memory is not None and memory.total_bytes and memory.free_bytes is not None
    assert memory.free_bytes < memory.total_bytes // 4  # the guest ran out of memory
    assert memory.top_slabs and all(slab.bytes > 0 for slab in memory.top_slabs)
    assert "out of memory" in (evidence.panic_message or "").lower()


def test_build_id_mismatch_is_a_warning_not_an_error(
    real_dumps: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEBUGINFOD_URLS", raising=False)
    monkeypatch.setenv("PANICDX_DEBUGINFO_DIR", str(tmp_path / "empty-store"))
    dump = real_dumps["sysrq"] / ELF_DUMP
    if locate_debuginfo(RELEASE, BUILD_ID).files is not None:
        pytest.skip("this machine has the dump kernel's debug info under /usr/lib/debug")
    wrong = debug_elf(tmp_path / RELEASE / "vmlinux", OTHER_ID)
    evidence = collect_debuginfo_evidence(dump, debuginfo=tmp_path, use_crash=False)
    assert evidence.source == "none" and evidence.crashed_thread is None
    assert dump_identity(dump).build_id == BUILD_ID
    assert any(str(wrong) in w and "not used" in w for w in evidence.warnings)
    assert any("no debug info for kernel" in w for w in evidence.warnings)


def test_missing_debuginfo_is_a_warning_not_an_error(
    real_dumps: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEBUGINFOD_URLS", raising=False)
    monkeypatch.setenv("PANICDX_DEBUGINFO_DIR", str(tmp_path))
    if locate_debuginfo(RELEASE, BUILD_ID).files is not None:
        pytest.skip("this machine has the dump kernel's debug info under /usr/lib/debug")
    evidence = collect_debuginfo_evidence(real_dumps["sysrq"] / ELF_DUMP, use_crash=False)
    assert evidence.source == "none"
    assert evidence.kernel_release == RELEASE
    assert evidence.text_sections() == []
    assert any(RELEASE in w and "no debug info" in w for w in evidence.warnings)


def test_crash_utility_batch_run(real_dumps: dict[str, Path], debuginfo_dir: Path) -> None:
    if crash_binary() is None:
        if env_flag("PANICDX_REQUIRE_CRASH"):
            pytest.fail("PANICDX_REQUIRE_CRASH=1 but the crash utility is not installed")
        pytest.skip(
            "the crash utility is not installed (scripts/install-debuginfo.sh --with-crash)"
        )
    found = locate_debuginfo(RELEASE, BUILD_ID, explicit=debuginfo_dir)
    assert found.files is not None
    evidence = run_crash(found.files.vmlinux, real_dumps["sysrq"] / "vmcore.makedumpfile-c-d31")
    assert evidence.panic_message == "Kernel panic - not syncing: sysrq triggered crash"
    assert evidence.crashed_thread is not None
    frame = next(f for f in evidence.crashed_thread.frames if f.function == "sysrq_handle_crash")
    assert frame.file is not None and frame.file.endswith("drivers/tty/sysrq.c")
    # crash's stack, rendered, reads as a call trace (raw_text, crash's `log`, left out).
    sections = dict(evidence.text_sections())
    report = parse_log(sections["panic message"] + "\n" + sections["crashed thread"])
    assert report is not None
    assert "sysrq_handle_crash" in [f.function for f in report.call_trace]
