"""Kernel virtual memory read through an architecture's address translator."""

from __future__ import annotations

from typing import Protocol

from vmcore_parsers.dumps.memory import PhysicalMemory


class Translator(Protocol):
    """Turns kernel virtual addresses into physical ones for one dump."""

    def to_physical(self, vaddr: int) -> int:
        """The physical address of `vaddr`; raise `PageMissing` when it is not mapped."""
        ...


class VirtualMemory:
    """Reads kernel virtual memory through a translator, page by page."""

    def __init__(self, memory: PhysicalMemory, translator: Translator) -> None:
        self.memory = memory
        self.translator = translator

    def read(self, vaddr: int, size: int) -> bytes:
        """Exactly `size` bytes at kernel virtual `vaddr`; raise `PageMissing` for holes."""
        out = bytearray()
        while size > 0:
            take = min(size, 4096 - (vaddr & 0xFFF))
            out += self.memory.read_physical(self.translator.to_physical(vaddr), take)
            vaddr += take
            size -= take
        return bytes(out)

    def u64(self, vaddr: int) -> int:
        """The little-endian 64-bit value at `vaddr`."""
        return int.from_bytes(self.read(vaddr, 8), "little")

    def u32(self, vaddr: int) -> int:
        """The little-endian 32-bit value at `vaddr`."""
        return int.from_bytes(self.read(vaddr, 4), "little")
