"""Read an input file (or stdin) into log text, deciding what it is by its bytes.

Text logs may arrive compressed (`kern.log.2.gz`, a `.xz` or `.zst` from a support bundle);
decompression is bounded in output size and ratio so that a small bomb cannot exhaust memory.
This module reads logs only: crash dumps (ELF cores, kdump-compressed and flattened files)
are recognised by their bytes and refused here, because they need random access and a
sandbox; `vmcore_parsers.extract` reads them.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from vmcore_parsers.dumps.detect import compression_of, looks_like_text, utf16_encoding
from vmcore_parsers.errors import EmptyInput, InputTooLarge, NotAFile, UnsupportedFormat

DEFAULT_MAX_LOG_BYTES = 50 * 1024 * 1024
# A compressed log rarely expands more than ~20x; anything far beyond is a bomb, not a log.
MAX_DECOMPRESSION_RATIO = 200
_CHUNK = 1024 * 1024
# Bytes of a log looked at to tell text from binary data.
_TEXT_SAMPLE_BYTES = 65536


def _open_gzip(stream: io.BytesIO) -> Any:
    return gzip.GzipFile(fileobj=stream)


def _open_zstd(stream: io.BytesIO) -> Any:
    return zstandard.ZstdDecompressor().stream_reader(stream)


# Decompressors by the names `compression_of` gives (the magic bytes live there).
_OPENERS: dict[str, Callable[[io.BytesIO], Any]] = {
    "gzip": _open_gzip,
    "xz": lzma.LZMAFile,
    "bzip2": bz2.BZ2File,
    "zstd": _open_zstd,
}
_DUMP_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "ELF core file"),
    (b"KDUMP   ", "kdump-compressed dump"),
    (b"DISKDUMP", "diskdump file"),
    (b"makedumpfile", "makedumpfile flattened dump"),
)


@dataclass(frozen=True)
class LogInput:
    """Decoded log text plus what the bytes turned out to be."""

    text: str
    size: int  # bytes of the (decompressed) log
    compression: str | None  # "gzip", "xz", "bzip2", "zstd" or None


def read_log_file(path: Path, max_bytes: int = DEFAULT_MAX_LOG_BYTES) -> LogInput:
    """Read a log file (`-` means stdin); raise an `InputError` subclass if unusable."""
    if str(path) == "-":
        return read_log_stream(sys.stdin.buffer, max_bytes)
    with file_errors(path):
        info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise NotAFile(f"{path}: is a directory, not a log file")
    if not stat.S_ISREG(info.st_mode) and not stat.S_ISFIFO(info.st_mode):
        raise NotAFile(f"{path}: not a regular file")
    if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
        # Checked before reading: a 1 GB file must fail at once, not after filling memory.
        raise InputTooLarge(
            f"{path}: {info.st_size} bytes is over the {max_bytes}-byte limit for a log"
        )
    try:
        with path.open("rb") as handle:
            return read_log_stream(handle, max_bytes)
    except OSError as exc:
        raise NotAFile(f"{path}: cannot read ({exc.strerror})") from None


@contextmanager
def file_errors(path: Path) -> Iterator[None]:
    """Raise an `OSError` from the block as `NotAFile` saying `path` is missing or unreadable."""
    try:
        yield
    except FileNotFoundError:
        raise NotAFile(f"{path}: no such file") from None
    except OSError as exc:
        raise NotAFile(f"{path}: cannot read ({exc.strerror})") from None


def read_log_stream(stream: BinaryIO, max_bytes: int = DEFAULT_MAX_LOG_BYTES) -> LogInput:
    """Read at most `max_bytes` of log from a binary stream and decode it to text."""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InputTooLarge(f"input is over the {max_bytes}-byte limit for a log")
    return decode_log_bytes(raw, max_bytes)


def decode_log_bytes(raw: bytes, max_bytes: int = DEFAULT_MAX_LOG_BYTES) -> LogInput:
    """Decompress (bounded) and decode log bytes; raise if they are not a text log."""
    _refuse_dump(raw)
    compression = compression_of(raw)
    if compression is not None:
        with _OPENERS[compression](io.BytesIO(raw)) as reader:
            raw = _bounded_decompress(reader, len(raw), max_bytes)
        _refuse_dump(raw)  # a compressed dump is still a dump
    encoding = utf16_encoding(raw[:_TEXT_SAMPLE_BYTES])
    if encoding is not None:
        # Windows tools save logs as UTF-16; everything after this reads UTF-8.
        raw = raw.decode(encoding, errors="replace").encode("utf-8")
    if b"\n" not in raw and raw.count(b"\r") > 1:
        # Lines ended by a bare CR (a terminal capture saved untranslated, classic Mac text):
        # made LF lines here, so the stored log and every line number agree on them.
        raw = raw.replace(b"\r", b"\n")
    if not raw.strip():
        raise EmptyInput("input is empty")
    # Serial noise is tolerated: only a sample with many bytes no log would hold is binary.
    if not looks_like_text(raw[:_TEXT_SAMPLE_BYTES]):
        raise UnsupportedFormat(
            "input is binary data, not a kernel log (expected text such as dmesg, "
            "journalctl -k, a serial console capture or vmcore-dmesg.txt)"
        )
    text = raw.decode("utf-8", errors="replace")
    return LogInput(text=text, size=len(raw), compression=compression)


def _refuse_dump(raw: bytes) -> None:
    for magic, name in _DUMP_MAGICS:
        if raw.startswith(magic):
            raise UnsupportedFormat(
                f"this is a {name}: crash dumps are read from a file by "
                "`vmcore_parsers.extract` (`panicdx dmesg FILE`, `panicdx diagnose FILE`), not "
                "from a stream; save it to a file and pass its path"
            )


def _bounded_decompress(reader: Any, compressed_size: int, max_bytes: int) -> bytes:
    limit = min(max_bytes, max(compressed_size, 1) * MAX_DECOMPRESSION_RATIO)
    out = bytearray()
    try:
        while chunk := reader.read(_CHUNK):
            out += chunk
            if len(out) > limit:
                raise InputTooLarge(
                    f"compressed input expands past {limit} bytes "
                    f"(limit {max_bytes} bytes, ratio {MAX_DECOMPRESSION_RATIO}:1)"
                )
    except (OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as exc:
        raise UnsupportedFormat(f"compressed input is damaged: {exc}") from None
    return bytes(out)
