"""Unwrap gzip, xz, bzip2 and zstd inputs into a bounded temporary file.

A compressed dump cannot be read at random offsets, so it is decompressed once, streamed, into
a scratch directory the caller owns. Output size is capped twice: an absolute limit and a
ratio to the compressed size (a few kilobytes expanding to gigabytes is a bomb, not a dump).
A compressed text log keeps the tighter limits of `vmcore_parsers.intake`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from vmcore_parsers.dumps.detect import SNIFF_BYTES, looks_like_text, sniff_kind
from vmcore_parsers.errors import InputTooLarge, UnsupportedFormat
from vmcore_parsers.intake import MAX_DECOMPRESSION_RATIO

# A whole guest's memory, compressed, may shrink a lot (untouched pages are zeros), so dumps
# get a far larger ratio than logs; a bomb still trips it long before the disk fills.
MAX_DUMP_DECOMPRESSION_RATIO = 20_000
DEFAULT_MAX_DUMP_BYTES = int(os.environ.get("PANICDX_MAX_DUMP_BYTES", str(64 << 30)))
_CHUNK = 1 << 20


def _open_zstd(handle: IO[bytes]) -> Any:
    return zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)


_OPENERS: dict[str, Callable[[IO[bytes]], Any]] = {
    "gzip": lambda handle: gzip.GzipFile(fileobj=handle),
    "xz": lzma.LZMAFile,
    "bzip2": bz2.BZ2File,
    "zstd": _open_zstd,
}
_ERRORS = (OSError, EOFError, lzma.LZMAError, zstandard.ZstdError, ValueError)


@dataclass(frozen=True)
class InnerFile:
    """A decompressed file in the scratch directory; `is_log` is True when it reads as text."""

    path: Path
    is_log: bool


def peek_decompressed(path: Path, compression: str, size: int) -> bytes | None:
    """The first `size` decompressed bytes of `path`, or None when they cannot be read."""
    opener = _OPENERS.get(compression)
    if opener is None:
        return None
    try:
        with path.open("rb") as raw, opener(raw) as reader:
            return bytes(reader.read(size))
    except _ERRORS:
        return None


def decompress_to_file(
    path: Path,
    compression: str,
    scratch: Path,
    max_log_bytes: int,
    max_dump_bytes: int = DEFAULT_MAX_DUMP_BYTES,
) -> InnerFile:
    """Decompress `path` into `scratch`, bounded; raise `InputTooLarge` past the limits.

    The limits depend on what the first decompressed bytes are: a text log gets
    `max_log_bytes` and the log ratio, anything else `max_dump_bytes` and the dump ratio.
    """
    opener = _OPENERS.get(compression)
    if opener is None:
        raise UnsupportedFormat(f"unknown compression {compression!r}")
    compressed_size = max(path.stat().st_size, 1)
    target = scratch / f"decompressed-{len(list(scratch.iterdir()))}"
    try:
        with path.open("rb") as raw, opener(raw) as reader, target.open("wb") as out:
            head = bytes(reader.read(SNIFF_BYTES))
            is_log = sniff_kind(head) == "log" or (bool(head) and looks_like_text(head))
            if is_log:
                limit = min(max_log_bytes, compressed_size * MAX_DECOMPRESSION_RATIO)
            else:
                free = shutil.disk_usage(scratch).free
                limit = min(max_dump_bytes, compressed_size * MAX_DUMP_DECOMPRESSION_RATIO, free)
            written = len(head)
            out.write(head)
            while chunk := reader.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    what = "log" if is_log else "dump"
                    raise InputTooLarge(
                        f"{compression} input expands past {limit} bytes, the limit for a "
                        f"compressed {what} (size, ratio or free disk space)"
                    )
                out.write(chunk)
    except _ERRORS as exc:
        raise UnsupportedFormat(f"{compression} input is damaged: {exc}") from None
    return InnerFile(path=target, is_log=is_log)
