"""Rewrite a kdump-compressed dump as an ELF core, for tools that cannot read the original.

QEMU 7.2's kdump forms carry a wrong phys_base and an empty utsname in their headers, which
libkdumpfile (and so drgn) refuses. An ELF core needs neither: readers take the KASLR layout
from the VMCOREINFO note. The pages the dump holds are written out decompressed, as PT_LOAD
segments over runs of dumped page frames (short gaps filled with zeros, so the segment count
stays small); everything is streamed page by page.
"""

from __future__ import annotations

import struct
from pathlib import Path

from vmcore_parsers.dumps.kdump import KdumpCompressed
from vmcore_parsers.dumps.notes import Note

EM_X86_64 = 62
EM_AARCH64 = 183
# Gaps of up to this many missing pages are written as zeros instead of ending a segment.
MERGE_GAP_PAGES = 64
MAX_SEGMENTS = 60_000


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def encode_note(note: Note) -> bytes:
    """One ELF note with its name and descriptor padded to 4 bytes."""
    name = note.name.encode() + b"\x00"
    return (
        struct.pack("<III", len(name), len(note.desc), note.type) + _pad4(name) + _pad4(note.desc)
    )


def dumped_runs(image: KdumpCompressed) -> list[tuple[int, int]]:
    """(first pfn, page count) runs of the pages the dump holds, short gaps merged."""
    runs: list[tuple[int, int]] = []
    start = previous = -1
    for pfn in image.dumped_pfns():
        if start >= 0 and pfn - previous <= MERGE_GAP_PAGES:
            previous = pfn
            continue
        if start >= 0:
            runs.append((start, previous - start + 1))
        start = previous = pfn
    if start >= 0:
        runs.append((start, previous - start + 1))
    while len(runs) > MAX_SEGMENTS:  # merge the closest neighbours until it fits
        runs = _merge_pairs(runs)
    return runs


def _merge_pairs(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged = []
    for index in range(0, len(runs) - 1, 2):
        (first, _), (second, count) = runs[index], runs[index + 1]
        merged.append((first, second + count - first))
    if len(runs) % 2:
        merged.append(runs[-1])
    return merged


def write_elf(image: KdumpCompressed, vmcoreinfo: str, target: Path) -> Path:
    """Write `image` as an ELF core at `target` (VMCOREINFO and the dump's notes first)."""
    notes = b"".join(encode_note(note) for note in image.notes if note.name != "VMCOREINFO")
    notes += encode_note(Note("VMCOREINFO", 0, vmcoreinfo.encode()))
    runs = dumped_runs(image)
    page = image.page_size
    phnum = 1 + len(runs)
    notes_offset = 64 + 56 * phnum
    data_offset = (notes_offset + len(notes) + page - 1) // page * page
    machine = EM_AARCH64 if image.machine == "arm64" else EM_X86_64
    with target.open("wb") as out:
        out.write(b"\x7fELF\x02\x01\x01" + bytes(9))
        out.write(
            struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
        )
        out.write(struct.pack("<IIQQQQQQ", 4, 0, notes_offset, 0, 0, len(notes), 0, 0))
        offset = data_offset
        for first, count in runs:
            size = count * page
            out.write(struct.pack("<IIQQQQQQ", 1, 7, offset, 0, first * page, size, size, 0))
            offset += size
        out.write(notes)
        out.write(bytes(data_offset - notes_offset - len(notes)))
        zero = bytes(page)
        pages = image.dumped_pages()
        pending = next(pages, None)
        for first, count in runs:
            for pfn in range(first, first + count):
                data: bytes | None = None
                if pending is not None and pending[0] == pfn:
                    data = pending[1]
                    pending = next(pages, None)
                if data is None or data == zero:
                    # Zero pages (QEMU's dumps point them all at one shared zero page) and
                    # merged gaps become holes of a sparse file: nothing is written.
                    out.seek(page, 1)
                else:
                    out.write(data)
        out.truncate(out.tell())  # a trailing hole still counts towards the file's length
    return target
