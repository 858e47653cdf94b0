"""Repair the header of a COPY of a QEMU 7.2 ELF dump so that makedumpfile can read it.

Fixture preparation only: panicdx's own readers must accept QEMU's original bytes, which the
fixtures keep as `vmcore.elf`. Two defects of QEMU 7.2's `dump-guest-memory` ELF output stop
makedumpfile 1.7 ("get_elf_info: Can't get the number of PT_LOAD"):

1. `e_ehsize` is 8 instead of 64 (sizeof(Elf64_Ehdr)).
2. The section header table sits right after the ELF header and the program header table after
   it, while makedumpfile reads program header i at `sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr)`
   and ignores `e_phoff`.

The fix rewrites the two tables in the space they already share, program headers first, and
updates `e_phoff`, `e_shoff` and `e_ehsize`. No segment, note or memory byte moves.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

ELF64_EHDR_SIZE = 64
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")


class ElfFixupError(ValueError):
    """The file is not an ELF64 dump whose header this helper knows how to repair."""


@dataclass(frozen=True)
class ElfLayout:
    """The header fields the repair reads and writes."""

    phoff: int
    shoff: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int

    @property
    def readable_by_makedumpfile(self) -> bool:
        """True when makedumpfile's fixed-offset program header reads would be right."""
        return self.ehsize == ELF64_EHDR_SIZE and self.phoff == ELF64_EHDR_SIZE


def read_layout(header: bytes) -> ElfLayout:
    """The table layout from the first 64 bytes of an ELF64 little-endian file."""
    if len(header) < ELF64_EHDR_SIZE or header[:4] != b"\x7fELF":
        raise ElfFixupError("not an ELF file")
    if header[4] != 2 or header[5] != 1:
        raise ElfFixupError("not a little-endian ELF64 file")
    fields = _EHDR.unpack_from(header)
    phoff, shoff = fields[5], fields[6]
    ehsize, phentsize, phnum, shentsize, shnum = fields[8:13]
    return ElfLayout(phoff, shoff, ehsize, phentsize, phnum, shentsize, shnum)


def repaired_header(path: Path) -> bytes | None:
    """The repaired bytes for the start of `path`, or None when it needs no repair.

    Raises ElfFixupError when the tables are not laid out as QEMU 7.2 writes them (section
    headers directly after the ELF header, program headers directly after those).
    """
    with path.open("rb") as handle:
        header = handle.read(ELF64_EHDR_SIZE)
        layout = read_layout(header)
        if layout.readable_by_makedumpfile:
            return None
        phsize = layout.phentsize * layout.phnum
        shsize = layout.shentsize * layout.shnum
        expected_shoff = ELF64_EHDR_SIZE
        if layout.shoff != expected_shoff or layout.phoff != expected_shoff + shsize:
            raise ElfFixupError(
                f"unexpected ELF table layout (e_phoff={layout.phoff}, e_shoff={layout.shoff}); "
                "only QEMU 7.2's layout is repaired"
            )
        handle.seek(layout.phoff)
        program_headers = handle.read(phsize)
        handle.seek(layout.shoff)
        section_headers = handle.read(shsize)
    fixed = bytearray(header)
    struct.pack_into("<QQ", fixed, 32, ELF64_EHDR_SIZE, ELF64_EHDR_SIZE + phsize)
    struct.pack_into("<H", fixed, 52, ELF64_EHDR_SIZE)
    return bytes(fixed) + program_headers + section_headers


def makedumpfile_readable_copy(source: Path, destination: Path) -> Path:
    """Copy `source` to `destination` and repair the copy's header; `source` is untouched."""
    fixed = repaired_header(source)
    shutil.copyfile(source, destination)
    destination.chmod(0o644)
    if fixed is not None:
        with destination.open("r+b") as handle:
            handle.write(fixed)
    return destination
