"""Random-access byte sources a dump is read from: a plain file, or a reassembled stream.

Readers never hold a dump in memory: they ask a source for `size` bytes at `offset` and get
exactly that or an error. Reads past the end raise `DumpTruncated`, so a header promising more
than the file holds becomes a clear error instead of silently short data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from vmcore_parsers.errors import DumpCorrupt, DumpTruncated, NotAFile

# One read never asks for more than this: a header field claiming gigabytes is corrupt.
MAX_READ = 256 << 20


class ByteSource(Protocol):
    """Bytes addressed by offset, with a known total size."""

    size: int

    def read(self, offset: int, size: int) -> bytes:
        """Exactly `size` bytes at `offset`; raise `DumpTruncated` past the end."""
        ...

    def close(self) -> None:
        """Release the underlying file."""
        ...


def check_span(offset: int, size: int, total: int, what: str) -> None:
    """Raise unless [offset, offset+size) is a sane span inside `total` bytes."""
    if offset < 0 or size < 0 or size > MAX_READ:
        raise DumpCorrupt(f"the dump is corrupt: {what} at offset {offset} of size {size}")
    if offset + size > total:
        raise DumpTruncated(
            f"the dump is truncated: {what} needs bytes up to {offset + size}, the dump has "
            f"only {total}"
        )


class FileSource:
    """A dump file read with positional reads (no shared file position, no mmap)."""

    def __init__(self, path: Path) -> None:
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise NotAFile(f"{path}: cannot read ({exc.strerror})") from None
        self.size = os.fstat(self._fd).st_size
        self.path = path

    def read(self, offset: int, size: int) -> bytes:
        """Exactly `size` bytes at `offset`; raise `DumpTruncated` past the end."""
        check_span(offset, size, self.size, "a read")
        data = os.pread(self._fd, size, offset)
        if len(data) != size:
            raise DumpTruncated(f"short read at offset {offset}: the file shrank while reading")
        return data

    def close(self) -> None:
        """Close the file descriptor."""
        os.close(self._fd)
