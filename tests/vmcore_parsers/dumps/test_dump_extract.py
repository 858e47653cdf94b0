"""`extract_file` and its sandbox: every input kind, wrappers, crash directories, limits."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from dumpfactory import FakeKernel, write_elf, write_flattened, write_kdump
from panicdata import EXPECTED_PANIC_TEXT

from vmcore_parsers.dumps import wrappers
from vmcore_parsers.errors import (
    DumpCorrupt,
    ExtractionOutOfMemory,
    ExtractionTimeout,
    InputTooLarge,
    NotAFile,
    UnsafeArchive,
    UnsupportedFormat,
)
from vmcore_parsers.extract import ExtractedLog, extract_file, sniff_file, sniff_kind
from vmcore_parsers.sandbox import SandboxLimits, run_sandboxed

Write = Callable[..., Path]
LOG = b"[   12.345700] Kernel panic - not syncing: sysrq triggered crash\n"
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def test_sniff_kind_by_content() -> None:
    assert sniff_kind(b"\x7fELF\x02\x01") == "vmcore"
    assert sniff_kind(b"KDUMP   \x06\x00") == "vmcore"
    assert sniff_kind(b"DISKDUMP") == "vmcore"
    assert sniff_kind(b"makedumpfile\x00\x00\x00\x00") == "vmcore"
    assert sniff_kind(gzip.compress(b"x")) == "compressed"
    assert sniff_kind(LOG) == "log"
    assert sniff_kind(bytes(range(256))) == "unknown"
    header = tarfile.TarInfo("vmcore-dmesg.txt").tobuf()
    assert sniff_kind(header) == "archive"


def test_sniff_file_looks_inside_compression(panic_kernel: FakeKernel, write: Write) -> None:
    assert sniff_file(write(gzip.compress(LOG), "a")) == "log"
    assert sniff_file(write(gzip.compress(write_elf(panic_kernel)[:4096]), "b")) == "vmcore"


def test_a_log_is_tier_log(write: Write) -> None:
    result = extract_file(write(LOG, "dump.vmcore"))  # the name does not matter
    assert result == ExtractedLog(text=LOG.decode(), kind="log", format="log", tier="log")


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_compressed_log(name: str, write: Write) -> None:
    result = extract_file(write(COMPRESSORS[name](LOG)))
    assert (result.text, result.kind, result.compression) == (LOG.decode(), "log", name)


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_compressed_dump(name: str, panic_kernel: FakeKernel, write: Write) -> None:
    result = extract_file(write(COMPRESSORS[name](write_kdump(panic_kernel)), "kern.log"))
    assert result.text == EXPECTED_PANIC_TEXT
    assert (result.kind, result.format, result.tier) == (
        "vmcore",
        "kdump-compressed",
        "vmcore-dmesg",
    )
    assert result.compression == name
    assert result.kernel_release == "6.1.0-99-cloud-amd64"


def test_dump_decompression_bomb_is_refused(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wrappers, "MAX_DUMP_DECOMPRESSION_RATIO", 50)
    bomb = gzip.compress(b"\x7fELF\x02\x01\x01" + bytes(20 << 20))
    with pytest.raises(InputTooLarge, match="expands past"):
        extract_file(write(bomb))


def test_damaged_compressed_dump(panic_kernel: FakeKernel, write: Write) -> None:
    packed = gzip.compress(write_elf(panic_kernel))
    with pytest.raises(UnsupportedFormat, match="damaged"):
        extract_file(write(packed[: len(packed) // 2]))


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


def test_crash_directory_uses_the_vmcore(panic_kernel: FakeKernel, write: Write) -> None:
    archive = _tar(
        [
            (_member("127.0.0.1-2026-11-23-09:12:01"), None),
            (_member("127.0.0.1-2026-11-23-09:12:01/vmcore"), write_kdump(panic_kernel)),
            (_member("127.0.0.1-2026-11-23-09:12:01/vmcore-dmesg.txt"), b"[ 1.0] stale copy\n"),
            (_member("127.0.0.1-2026-11-23-09:12:01/kexec-dmesg.log"), b"[ 0.1] kdump\n"),
        ]
    )
    archive_members = _member("127.0.0.1-2026-11-23-09:12:01", tarfile.DIRTYPE)
    assert archive_members.isdir()
    result = extract_file(write(archive))
    assert result.text == EXPECTED_PANIC_TEXT
    assert (result.kind, result.format, result.tier) == (
        "vmcore",
        "crash-directory",
        "vmcore-dmesg",
    )
    assert result.compression == "gzip"


def test_crash_directory_falls_back_to_vmcore_dmesg(panic_kernel: FakeKernel, write: Write) -> None:
    broken = write_kdump(panic_kernel)[:5000]
    archive = _tar(
        [
            (_member("stamp/vmcore"), broken),
            (_member("stamp/vmcore-dmesg.txt"), LOG),
        ],
        compress=False,
    )
    result = extract_file(write(archive))
    assert result.text == LOG.decode()
    assert (result.kind, result.tier, result.compression) == ("log", "log", None)
    assert any("vmcore could not be read (dump_" in warning for warning in result.warnings)


def test_crash_directory_without_anything_useful(write: Write) -> None:
    archive = _tar([(_member("stamp/notes.md"), b"hello\n")])
    with pytest.raises(UnsupportedFormat, match="crash directory"):
        extract_file(write(archive))


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_member("../../etc/passwd"), "outside"),
        (_member("/etc/cron.d/evil"), "outside"),
        (_member("stamp/vmcore", tarfile.SYMTYPE), "link"),
        (_member("stamp/vmcore", tarfile.LNKTYPE), "link"),
        (_member("stamp/null", tarfile.CHRTYPE), "device"),
        (_member("stamp/fifo", tarfile.FIFOTYPE), "device"),
    ],
)
def test_unsafe_archives_are_refused(
    member: tarfile.TarInfo, message: str, write: Write, tmp_path: Path
) -> None:
    if member.issym() or member.islnk():
        member.linkname = "/etc/shadow"
    data = b"x" if member.isfile() else None
    archive = _tar([(member, data), (_member("stamp/vmcore-dmesg.txt"), LOG)])
    with pytest.raises(UnsafeArchive, match=message):
        extract_file(write(archive, "crash.tgz"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crash.tgz"]  # nothing extracted


def test_archive_member_with_absurd_size(write: Write) -> None:
    header = bytearray(_member("stamp/vmcore").tobuf())
    size_field = f"{(1 << 40):011o}".encode() + b"\x00"  # 1 TiB claimed, little stored
    header[124:136] = size_field
    header[148:156] = b" " * 8
    header[148:155] = f"{sum(header):06o}\x00".encode()
    archive = bytes(header) + b"\x7fELF" + bytes(1020)
    with pytest.raises((UnsafeArchive, UnsupportedFormat)):
        extract_file(write(archive), max_log_bytes=1 << 20)


def test_directories_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(NotAFile, match="directory"):
        extract_file(tmp_path)
    with pytest.raises(NotAFile, match="no such file"):
        extract_file(tmp_path / "absent")


def test_sandbox_returns_the_same_answer(panic_kernel: FakeKernel, write: Write) -> None:
    path = write(write_flattened(write_kdump(panic_kernel)))
    assert run_sandboxed(path) == extract_file(path)


def test_sandbox_reports_the_childs_error_code(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_kdump(panic_kernel))
    data[428:432] = b"\x39\x30\x00\x00"  # block size 12345
    with pytest.raises(DumpCorrupt, match="block size"):
        run_sandboxed(write(bytes(data)))


def test_sandbox_wall_clock_limit(panic_kernel: FakeKernel, write: Write) -> None:
    path = write(write_elf(panic_kernel))
    with pytest.raises(ExtractionTimeout, match="longer than"):
        run_sandboxed(path, SandboxLimits(wall_seconds=0.01))


def test_sandbox_memory_limit(panic_kernel: FakeKernel, write: Write) -> None:
    # Unwrapping streams 1 MiB chunks: with no room left above the imported readers, the
    # first chunk cannot be allocated.
    path = write(gzip.compress(write_elf(panic_kernel)))
    with pytest.raises(ExtractionOutOfMemory, match="MiB"):
        run_sandboxed(path, SandboxLimits(memory_bytes=1 << 20))
