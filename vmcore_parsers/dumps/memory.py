"""The physical-memory view every dump format offers, and what a missing page is.

Filtered dumps (makedumpfile `-d 31`) leave out free, cache and user pages, and ELF dumps only
hold RAM ranges: reading a page that is not in the dump raises `PageMissing`. It is not an
input error, since the caller decides whether that page mattered (a warning, usually).
"""

from __future__ import annotations

from typing import Protocol


class PageMissing(Exception):
    """The dump does not hold the physical page at `address`."""

    def __init__(self, address: int, why: str = "not in the dump") -> None:
        super().__init__(f"physical address {address:#x}: {why}")
        self.address = address


class PhysicalMemory(Protocol):
    """Physical memory of the crashed machine, as far as the dump holds it."""

    def read_physical(self, address: int, size: int) -> bytes:
        """Exactly `size` bytes at physical `address`; raise `PageMissing` for a hole."""
        ...

    def ranges(self) -> list[tuple[int, int]]:
        """The (start, end) physical ranges the dump may hold, sorted, end exclusive."""
        ...
