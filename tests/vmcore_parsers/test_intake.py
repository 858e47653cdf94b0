"""Reading input files: compression, size limits and refusal of things that are not logs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path

import pytest
import zstandard

from vmcore_parsers.errors import EmptyInput, InputTooLarge, NotAFile, UnsupportedFormat
from vmcore_parsers.intake import (
    MAX_DECOMPRESSION_RATIO,
    decode_log_bytes,
    read_log_file,
    read_log_stream,
)

LOG = (
    b"[    0.000000] Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)\n"
    b"[   12.345678] sysrq: Trigger a crash\n"
    b"[   12.345700] Kernel panic - not syncing: sysrq triggered crash\n"
)

COMPRESSORS = {
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_compressed_logs_are_decompressed(name: str) -> None:
    result = decode_log_bytes(COMPRESSORS[name](LOG))
    assert result.compression == name
    assert result.text == LOG.decode()


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_decompression_bomb_is_refused(name: str) -> None:
    bomb = COMPRESSORS[name](b"A" * (MAX_DECOMPRESSION_RATIO * 4096))
    with pytest.raises(InputTooLarge):
        decode_log_bytes(bomb, max_bytes=10 * 1024 * 1024)


def test_damaged_compressed_input_is_a_clear_error() -> None:
    damaged = gzip.compress(LOG)[:-12] + b"\x00" * 12
    with pytest.raises(UnsupportedFormat, match="damaged"):
        decode_log_bytes(damaged)


@pytest.mark.parametrize(
    "magic", [b"\x7fELF\x02\x01\x01", b"KDUMP   \x01\x00", b"makedumpfile\x00\x00"]
)
def test_crash_dumps_in_a_log_stream_point_to_the_dump_readers(magic: bytes) -> None:
    # Dumps need random access and a sandbox: the log reader refuses them and says where
    # they are read (vmcore_parsers.extract, `panicdx dmesg FILE`).
    with pytest.raises(UnsupportedFormat, match="crash dumps are read from a file"):
        decode_log_bytes(magic + bytes(range(256)) * 10)


def test_compressed_dump_in_a_log_stream_is_named_a_dump() -> None:
    with pytest.raises(UnsupportedFormat, match="kdump-compressed dump"):
        decode_log_bytes(gzip.compress(b"KDUMP   \x06\x00" + bytes(range(256)) * 10))


def test_binary_garbage_is_refused() -> None:
    with pytest.raises(UnsupportedFormat, match="binary"):
        decode_log_bytes(bytes(range(256)) * 100)


def test_serial_noise_is_still_a_log() -> None:
    noisy = LOG.replace(b"\n", b"\r\n") + b"\x1b[0;32m  OK  \x1b[0m\x00\r\n" + LOG
    assert "sysrq triggered crash" in decode_log_bytes(noisy).text


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n"])
def test_empty_input_is_refused(content: bytes) -> None:
    with pytest.raises(EmptyInput):
        decode_log_bytes(content)


def test_directory_and_missing_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotAFile, match="directory"):
        read_log_file(tmp_path)
    with pytest.raises(NotAFile, match="no such file"):
        read_log_file(tmp_path / "absent.log")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.log"
    with huge.open("wb") as handle:  # sparse: 1 GiB without writing 1 GiB
        handle.truncate(1 << 30)
    with pytest.raises(InputTooLarge, match="limit"):
        read_log_file(huge)


def test_oversized_stream_is_refused() -> None:
    with pytest.raises(InputTooLarge):
        read_log_stream(io.BytesIO(LOG * 100), max_bytes=len(LOG) * 10)


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "latin1.log"
    path.write_bytes(LOG + "[   13.0] caf\xe9 \xff\n".encode("latin-1"))
    assert "\ufffd" in read_log_file(path).text


@pytest.mark.parametrize(
    "encoded",
    [
        LOG.decode().encode("utf-16"),  # with a byte-order mark (little-endian here)
        b"\xfe\xff" + LOG.decode().encode("utf-16-be"),
        LOG.decode().encode("utf-16-le"),  # no mark: some Windows tools
    ],
    ids=["bom", "big-endian-bom", "little-endian-no-bom"],
)
def test_utf16_logs_are_read_as_text(encoded: bytes) -> None:
    """Logs saved by Windows tools are UTF-16; they decode to the same text."""
    assert decode_log_bytes(encoded).text.lstrip("\ufeff") == LOG.decode()


def test_nul_filled_input_is_still_binary() -> None:
    """Every other byte NUL is UTF-16's mark only when the other bytes are text."""
    with pytest.raises(UnsupportedFormat):
        decode_log_bytes(bytes(100_000))


def test_lines_ended_by_bare_carriage_returns_become_lines() -> None:
    """A capture whose lines end in CR alone keeps every line (nothing was overwritten)."""
    assert decode_log_bytes(LOG.replace(b"\n", b"\r")).text == LOG.decode()
