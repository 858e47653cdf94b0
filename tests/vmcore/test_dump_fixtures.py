"""The dump-fixture builder's own parts, without booting anything."""

from __future__ import annotations

import gzip
import json
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.dumps import cache
from tests.dumps.build_dumps import parse_kinds
from tests.dumps.elf_fixup import ElfFixupError, makedumpfile_readable_copy, repaired_header
from tests.dumps.initramfs import Entry, module_dependencies, newc_archive
from tests.dumps.kinds import ALL_KINDS, DEFAULT_KINDS, KINDS, foreign_failures, kernel_cmdline

TAXONOMY = Path(__file__).resolve().parents[2] / "knowledge_base" / "taxonomy.yaml"


def qemu72_style_elf(phnum: int = 3, shnum: int = 2) -> bytes:
    """An ELF64 core header laid out as QEMU 7.2 writes it: e_ehsize 8, sections first."""
    shoff = 64
    phoff = shoff + 64 * shnum
    header = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + bytes(9),
        4,  # ET_CORE
        62,  # EM_X86_64
        1,
        0,
        phoff,
        shoff,
        0,
        8,  # e_ehsize as QEMU 7.2 writes it
        56,
        phnum,
        64,
        shnum,
        shnum - 1,
    )
    sections = b"".join(bytes([0x50 + i]) * 64 for i in range(shnum))
    programs = b"".join(bytes([0x10 + i]) * 56 for i in range(phnum))
    return header + sections + programs + b"notes and memory"


def test_elf_repair_moves_program_headers_after_the_elf_header(tmp_path: Path) -> None:
    original = qemu72_style_elf()
    source = tmp_path / "vmcore.elf"
    source.write_bytes(original)
    copy = makedumpfile_readable_copy(source, tmp_path / "copy.elf")

    assert source.read_bytes() == original  # the fixture keeps QEMU's bytes
    fixed = copy.read_bytes()
    phoff, shoff = struct.unpack_from("<QQ", fixed, 32)
    (ehsize,) = struct.unpack_from("<H", fixed, 52)
    assert (ehsize, phoff, shoff) == (64, 64, 64 + 3 * 56)
    assert fixed[64 : 64 + 56] == bytes([0x10]) * 56
    assert fixed[shoff : shoff + 64] == bytes([0x50]) * 64
    assert fixed[len(original) - 16 :] == b"notes and memory"
    assert len(fixed) == len(original)
    assert repaired_header(copy) is None  # already readable: nothing more to do


def test_elf_repair_refuses_layouts_it_does_not_know(tmp_path: Path) -> None:
    odd = bytearray(qemu72_style_elf())
    struct.pack_into("<Q", odd, 32, 4096)  # program headers somewhere else entirely
    path = tmp_path / "odd.elf"
    path.write_bytes(bytes(odd))
    with pytest.raises(ElfFixupError, match="unexpected ELF table layout"):
        repaired_header(path)
    path.write_bytes(b"not an ELF file at all, but long enough to hold a header" * 2)
    with pytest.raises(ElfFixupError, match="not an ELF file"):
        repaired_header(path)


@pytest.mark.skipif(shutil.which("cpio") is None, reason="cpio is not installed")
def test_newc_archive_is_read_back_by_cpio(tmp_path: Path) -> None:
    entries = [
        Entry("bin", stat.S_IFDIR | 0o755),
        Entry("bin/tool", stat.S_IFREG | 0o755, b"#!/bin/sh\necho odd-length\n"),
        Entry("bin/link", stat.S_IFLNK | 0o777, b"tool"),
        Entry("dev", stat.S_IFDIR | 0o755),
        Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
    ]
    archive = tmp_path / "initramfs.cpio"
    archive.write_bytes(gzip.decompress(gzip.compress(newc_archive(entries))))
    listing = subprocess.run(
        ["cpio", "-itv", "--quiet"],
        stdin=archive.open("rb"),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert [line.split()[-1] if "->" not in line else line.split()[-3] for line in listing] == [
        "bin",
        "bin/tool",
        "bin/link",
        "dev",
        "dev/console",
    ]
    assert listing[4].startswith("crw-------")
    assert "5," in listing[4]
    extracted = tmp_path / "out"
    extracted.mkdir()
    subprocess.run(
        ["cpio", "-id", "--quiet", "--no-absolute-filenames", "bin/tool"],
        stdin=archive.open("rb"),
        cwd=extracted,
        check=True,
        timeout=60,
    )
    assert (extracted / "bin" / "tool").read_bytes() == b"#!/bin/sh\necho odd-length\n"


def test_module_dependencies_come_from_modinfo() -> None:
    modinfo = b"\x7fELF...\x00license=GPL\x00depends=pvpanic,other\x00intree=Y\x00"
    assert module_dependencies(modinfo) == ["pvpanic", "other"]
    assert module_dependencies(b"\x00depends=\x00name=x\x00") == []
    assert module_dependencies(b"no modinfo here") == []


def test_every_kind_expects_a_real_taxonomy_category() -> None:
    categories = {entry["id"] for entry in yaml.safe_load(TAXONOMY.read_text())["categories"]}
    for kind in KINDS:
        assert kind.category in categories, kind.name
        assert kind.category != "unknown"
    assert len(DEFAULT_KINDS) >= 5


def test_each_kind_boots_with_the_settings_that_make_it_panic() -> None:
    words = {kind.name: kernel_cmdline(kind).split() for kind in KINDS}
    assert "sysctl.vm.panic_on_oom=1" in words["oom"]
    assert "sysctl.kernel.hung_task_panic=1" in words["hung-task"]
    assert "panic_on_warn=1" in words["warning"]
    assert "softlockup_panic=1" in words["soft-lockup"]
    for name, cmdline in words.items():
        assert "oops=panic" in cmdline
        assert f"panicdx_kind={name}" in cmdline


def test_kind_selection() -> None:
    assert parse_kinds("default") == list(DEFAULT_KINDS)
    assert parse_kinds("all") == list(ALL_KINDS)
    assert parse_kinds(" oom , sysrq") == ["oom", "sysrq"]
    with pytest.raises(ValueError, match="unknown crash kind"):
        parse_kinds("sysrq,no-such-kind")
    with pytest.raises(ValueError, match="none given"):
        parse_kinds(",")


def test_cached_build_is_current_only_with_its_key_and_every_file(tmp_path: Path) -> None:
    directory = cache.kind_dir(tmp_path, "6.1.0-1-cloud-amd64", "sysrq", cache.DEFAULT_MEMORY)
    assert directory == tmp_path / "6.1.0-1-cloud-amd64" / "sysrq"
    assert cache.kind_dir(tmp_path, "r", "oom", "4G").name == "oom-4G"
    directory.mkdir(parents=True)
    assert not cache.is_current(directory, "abc")
    (directory / cache.META).write_text(json.dumps({"cache_key": "abc"}))
    assert not cache.is_current(directory, "abc")  # dumps missing
    for name in [*cache.DUMP_FORMS.values(), cache.DMESG_REFERENCE, cache.CONSOLE_LOG]:
        (directory / name).write_bytes(b"x")
    assert cache.is_current(directory, "abc")
    assert not cache.is_current(directory, "other-key")
    (directory / cache.META).write_text("{not json")
    assert not cache.is_current(directory, "abc")


def test_every_builder_file_is_classified_for_the_cache_key() -> None:
    """A new source file must be put in DUMP_SOURCES or NOT_DUMP_SOURCES on purpose."""
    files = {
        path.relative_to(cache.PACKAGE_DIR).as_posix()
        for path in cache.PACKAGE_DIR.rglob("*")
        if path.suffix in {".py", ".c", ".h"} or path.name in {"Kbuild", "Makefile"}
    }
    assert files == set(cache.DUMP_SOURCES) | set(cache.NOT_DUMP_SOURCES)


def test_foreign_failures_flag_other_failures_but_not_the_kinds_own() -> None:
    by_name = {kind.name: kind for kind in KINDS}
    stalled = "rcu: INFO: rcu_preempt self-detected stall on CPU\nBUG: kernel NULL pointer"
    assert foreign_failures(by_name["null-deref"], stalled) == ["self-detected stall"]
    hung = "INFO: task panicdx_hung:86 blocked for more than 10 seconds."
    assert foreign_failures(by_name["hung-task"], hung) == []
    assert foreign_failures(by_name["sysrq"], hung) == ["blocked for more than"]
    assert foreign_failures(by_name["sysrq"], "sysrq: Trigger a crash") == []
