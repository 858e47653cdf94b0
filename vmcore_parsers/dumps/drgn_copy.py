"""A copy of a dump that drgn (libkdumpfile) can open, for the forms it refuses as they are.

drgn reads ELF cores and seekable kdump-compressed files. A makedumpfile flattened stream is
reassembled into a plain file; a kdump-compressed dump (reassembled or not) is rewritten as an
ELF core, which sidesteps the header fields QEMU 7.2 gets wrong (phys_base under KASLR, an
empty utsname). Both are streamed into a scratch directory the caller owns.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vmcore_parsers.dumps.dmesg import find_vmcoreinfo, source_format
from vmcore_parsers.dumps.elf_writer import write_elf
from vmcore_parsers.dumps.flattened import FlattenedSource
from vmcore_parsers.dumps.kdump import KdumpCompressed
from vmcore_parsers.dumps.source import ByteSource, FileSource
from vmcore_parsers.errors import DumpCorrupt, InputTooLarge

# Bytes copied per read when reassembling a flattened stream.
_CHUNK = 8 << 20


def convert_for_drgn(path: Path, scratch: Path) -> Path:
    """The path of a copy of the dump at `path` that drgn can open, written into `scratch`.

    A flattened stream is reassembled; a kdump-compressed dump (reassembled or not) is
    rewritten as an ELF core. Raises `DumpCorrupt` when the dump is neither (an ELF dump has
    nothing to convert), `InputTooLarge` when `scratch` has no room for the copy, and the
    readers' other `InputError`s when the dump cannot be read.
    """
    source: ByteSource = FileSource(path)
    try:
        name = source_format(source)
        flattened = name == "makedumpfile-flattened"
        if flattened:
            source = FlattenedSource(source)
            name = source_format(source)
        if name == "kdump-compressed":
            image = KdumpCompressed(source)
            info = find_vmcoreinfo(image, [])
            return write_elf(image, info.text, scratch / "for-drgn.elf")
        if flattened:
            return _copy(source, scratch / "reassembled.vmcore")
        raise DumpCorrupt("drgn cannot open this ELF dump and there is nothing to convert")
    finally:
        source.close()


def _copy(source: ByteSource, target: Path) -> Path:
    if source.size > shutil.disk_usage(target.parent).free:
        raise InputTooLarge("no room to reassemble the flattened dump for drgn")
    with target.open("wb") as out:
        for offset in range(0, source.size, _CHUNK):
            out.write(source.read(offset, min(_CHUNK, source.size - offset)))
    return target
