"""ELF core dumps: `/proc/vmcore` copies, `makedumpfile -E`, QEMU `dump-guest-memory`, virsh.

Only the program headers matter: PT_LOAD segments map physical ranges to file offsets and
PT_NOTE segments hold the notes (VMCOREINFO, per-CPU registers). The ELF header is read by its
field offsets, never trusting `e_ehsize`: QEMU 7.2 writes 8 there and puts the section headers
before the program headers. When `e_phnum` is PN_XNUM (0xffff, more than 65534 segments) the
real count is in section header 0's `sh_info`, as the ELF specification says.
"""

from __future__ import annotations

import bisect
import struct
from array import array

from vmcore_parsers.dumps.memory import PageMissing
from vmcore_parsers.dumps.notes import Note, parse_notes
from vmcore_parsers.dumps.source import ByteSource
from vmcore_parsers.errors import DumpCorrupt, UnsupportedArchitecture, UnsupportedFormat

ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_CORE = 4
PT_LOAD = 1
PT_NOTE = 4
PN_XNUM = 0xFFFF
PHDR_SIZE = 56
SHDR_SIZE = 64
MACHINES = {62: "x86_64", 183: "arm64"}
# Far beyond any real machine (one segment per RAM range, or per page run after filtering).
MAX_SEGMENTS = 4_000_000
MAX_NOTES_BYTES = 64 << 20


# Segments are kept as rows of machine integers in one array (not one object each): a
# filtered dump may hold millions of them and memory must not grow with the dump.
_FIELDS = 6  # start, filesz (declared), stored (present in the file), memsz, offset, vaddr
START_KERNEL_MAP = 0xFFFFFFFF80000000


class ElfCore:
    """An ELF core dump as physical memory plus notes."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        header = source.read(0, 64)
        if header[:4] != b"\x7fELF":
            raise UnsupportedFormat("not an ELF file")
        if header[4] != ELFCLASS64:
            raise UnsupportedArchitecture("32-bit ELF dumps are not supported (x86_64, arm64)")
        if header[5] != ELFDATA2LSB:
            raise UnsupportedArchitecture("big-endian ELF dumps are not supported")
        e_type, e_machine = struct.unpack_from("<HH", header, 16)
        if e_type != ET_CORE:
            raise UnsupportedFormat(f"ELF file of type {e_type} is not a core dump")
        if e_machine not in MACHINES:
            raise UnsupportedArchitecture(
                f"ELF machine {e_machine} is not supported (x86_64 and arm64 are)"
            )
        self.machine = MACHINES[e_machine]
        e_phoff, e_shoff = struct.unpack_from("<QQ", header, 32)
        e_phentsize, e_phnum, _e_shentsize = struct.unpack_from("<HHH", header, 54)
        if e_phnum == PN_XNUM:
            if e_shoff == 0:
                raise DumpCorrupt("ELF e_phnum is PN_XNUM but there is no section header 0")
            e_phnum = struct.unpack_from("<I", source.read(e_shoff, SHDR_SIZE), 44)[0]
        if e_phentsize != PHDR_SIZE:
            raise DumpCorrupt(f"ELF program header size {e_phentsize} is not {PHDR_SIZE}")
        if e_phnum == 0 or e_phnum > MAX_SEGMENTS:
            raise DumpCorrupt(f"ELF core has an impossible number of segments ({e_phnum})")
        self.warnings: list[str] = []
        self.notes: list[Note] = []
        self._rows = array("q")
        self._read_program_headers(e_phoff, e_phnum)
        self._sort_rows()
        self._starts = self._rows[0::_FIELDS]

    def _read_program_headers(self, offset: int, count: int) -> None:
        # Read in chunks: a dump may hold millions of headers after page filtering.
        chunk = 4096
        truncated = 0
        for first in range(0, count, chunk):
            n = min(chunk, count - first)
            table = self.source.read(offset + first * PHDR_SIZE, n * PHDR_SIZE)
            for (
                p_type,
                _flags,
                p_offset,
                p_vaddr,
                p_paddr,
                p_filesz,
                p_memsz,
                _align,
            ) in struct.iter_unpack("<IIQQQQQQ", table):
                available = max(0, self.source.size - p_offset)
                if p_type == PT_LOAD:
                    if p_filesz > p_memsz:
                        raise DumpCorrupt("ELF segment stores more bytes than it maps")
                    if p_filesz > available:
                        truncated += 1
                    stored = min(p_filesz, available)
                    row = (p_paddr, p_filesz, stored, p_memsz, p_offset, p_vaddr)
                    self._rows.extend(_signed(value) for value in row)
                elif p_type == PT_NOTE:
                    if p_filesz > MAX_NOTES_BYTES:
                        raise DumpCorrupt(f"ELF note segment of {p_filesz} bytes")
                    if p_filesz > available:
                        self.warnings.append("an ELF note segment is cut short by truncation")
                    stored = min(p_filesz, available)
                    self.notes.extend(parse_notes(self.source.read(p_offset, stored)))
        if truncated:
            self.warnings.append(
                f"the dump is truncated: {truncated} memory segment(s) are missing bytes"
            )

    def _sort_rows(self) -> None:
        starts = self._rows[0::_FIELDS]
        if all(starts[i] <= starts[i + 1] for i in range(len(starts) - 1)):
            return  # the usual case: writers emit segments in address order
        order = sorted(range(len(starts)), key=starts.__getitem__)
        rows = array("q")
        for index in order:
            rows.extend(self._rows[index * _FIELDS : (index + 1) * _FIELDS])
        self._rows = rows

    def _row(self, index: int) -> tuple[int, ...]:
        base = index * _FIELDS
        return tuple(value & 0xFFFFFFFFFFFFFFFF for value in self._rows[base : base + _FIELDS])

    def read_physical(self, address: int, size: int) -> bytes:
        """Exactly `size` bytes at physical `address`; raise `PageMissing` for a hole."""
        out = bytearray()
        while size > 0:
            row = self._segment_for(address)
            if row is None:
                raise PageMissing(address)
            start, filesz, stored, memsz, offset, _vaddr = row
            inside = address - start
            take = min(size, memsz - inside)
            if inside >= filesz:
                out += bytes(take)  # beyond p_filesz a segment reads as zeros (ELF rule)
            elif inside >= stored:
                raise PageMissing(address, "cut off by the dump's truncation")
            else:
                take = min(take, filesz - inside, stored - inside)
                out += self.source.read(offset + inside, take)
            address += take
            size -= take
        return bytes(out)

    def _segment_for(self, address: int) -> tuple[int, ...] | None:
        index = bisect.bisect_right(self._starts, _signed(address)) - 1
        # Segments may overlap (/proc/vmcore maps the kernel text inside a RAM range), so a
        # short segment starting just below `address` may hide the long one covering it.
        for candidate in range(index, max(index - 8, -1), -1):
            row = self._row(candidate)
            if row[0] <= address < row[0] + row[3]:
                return row
        return None

    def kernel_text_phys_base(self) -> int | None:
        """phys_base from a segment mapping the kernel text (as /proc/vmcore has), or None."""
        for index in range(len(self._starts)):
            start, _filesz, _stored, _memsz, _offset, vaddr = self._row(index)
            if vaddr >= START_KERNEL_MAP:
                return (start - (vaddr - START_KERNEL_MAP)) & 0xFFFFFFFFFFFFFFFF
        return None

    def ranges(self) -> list[tuple[int, int]]:
        """The (start, end) physical ranges of the PT_LOAD segments, sorted."""
        rows = (self._row(index) for index in range(len(self._starts)))
        return [(row[0], row[0] + row[3]) for row in rows]


def _signed(value: int) -> int:
    """A 64-bit unsigned value as the signed integer an array("q") stores."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value
