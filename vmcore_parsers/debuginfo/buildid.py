"""GNU build ids: of an ELF file on disk (vmlinux, .ko, .debug) and of a dump's kernel.

A file's build id is its `NT_GNU_BUILD_ID` note, read from the section headers (separate debug
files keep them) or else the program headers. Only headers and notes are read, never the file
whole: a vmlinux with DWARF is about 600 MB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vmcore_parsers.dumps.dmesg import find_vmcoreinfo, open_image, source_format
from vmcore_parsers.dumps.flattened import FlattenedSource
from vmcore_parsers.dumps.notes import parse_notes
from vmcore_parsers.dumps.source import ByteSource, FileSource

NT_GNU_BUILD_ID = 3
_SHT_NOTE = 7
_PT_NOTE = 4
_MAX_NOTE_BYTES = 1 << 20  # notes are tiny; a larger one is a damaged file
_MAX_HEADERS = 1 << 16


def file_build_id(path: Path) -> str | None:
    """The build id of the ELF file at `path` as lowercase hex.

    None when the file cannot be read, is not a 64-bit little-endian ELF file or has no build id
    note.
    """
    try:
        with path.open("rb") as handle:
            return _build_id(handle)
    except (OSError, struct.error, ValueError):
        return None


def _build_id(stream: BinaryIO) -> str | None:
    ident = stream.read(64)
    # 64-bit little-endian only: the kernels panicdx reads (x86_64, arm64) are both.
    if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
        return None
    e_phoff, e_shoff = struct.unpack_from("<QQ", ident, 32)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", ident, 54)
    regions: list[tuple[int, int]] = []
    if e_shoff and e_shentsize >= 64 and 0 < e_shnum < _MAX_HEADERS:
        stream.seek(e_shoff)
        table = stream.read(e_shentsize * e_shnum)
        for index in range(len(table) // e_shentsize):
            base = index * e_shentsize
            (sh_type,) = struct.unpack_from("<I", table, base + 4)
            sh_offset, sh_size = struct.unpack_from("<QQ", table, base + 24)
            if sh_type == _SHT_NOTE:
                regions.append((sh_offset, sh_size))
    if not regions and e_phoff and e_phentsize >= 56 and 0 < e_phnum < _MAX_HEADERS:
        stream.seek(e_phoff)
        table = stream.read(e_phentsize * e_phnum)
        for index in range(len(table) // e_phentsize):
            base = index * e_phentsize
            (p_type,) = struct.unpack_from("<I", table, base)
            p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<QQQQ", table, base + 8)
            if p_type == _PT_NOTE:
                regions.append((p_offset, p_filesz))
    for offset, size in regions:
        if size > _MAX_NOTE_BYTES:
            continue
        stream.seek(offset)
        for note in parse_notes(stream.read(size)):
            if note.name == "GNU" and note.type == NT_GNU_BUILD_ID and note.desc:
                return note.desc.hex()
    return None


@dataclass(frozen=True)
class DumpIdentity:
    """Which kernel a dump holds, from its VMCOREINFO; a field is None when not stated."""

    release: str | None
    build_id: str | None
    warnings: tuple[str, ...] = ()


def dump_identity(path: Path) -> DumpIdentity:
    """The kernel release and build id of the dump at `path`, read from VMCOREINFO.

    Uses the dump readers of the "vmcore-dmesg" tier (no debug info needed). Raises an
    `InputError` subclass when the file is not a dump they can open.
    """
    source: ByteSource = FileSource(path)
    warnings: list[str] = []
    try:
        if source_format(source) == "makedumpfile-flattened":
            source = FlattenedSource(source)
        info = find_vmcoreinfo(open_image(source), warnings)
        build_id = info.build_id.strip().lower() if info.build_id else None
        return DumpIdentity(info.osrelease, build_id, tuple(warnings))
    finally:
        source.close()
