"""Stand-in debug files for the debug-info locating tests: tiny ELF files with a chosen build id.

A located vmlinux or module is checked by its GNU build id only, so an ELF header, one PT_NOTE
program header and the NT_GNU_BUILD_ID note are all a test tree needs.
"""

from __future__ import annotations

import struct
from pathlib import Path

NT_GNU_BUILD_ID = 3


def debug_elf(path: Path, build_id: str | None) -> Path:
    """Write a minimal ELF64 file at `path` whose only content is a GNU build id note.

    `build_id` is hex; None writes an empty PT_NOTE (a file with no build id). Missing parent
    directories are created. Returns `path`.
    """
    note = b""
    if build_id is not None:
        desc = bytes.fromhex(build_id)
        note = struct.pack("<III", 4, len(desc), NT_GNU_BUILD_ID) + b"GNU\0" + desc
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HHI", header, 16, 2, 62, 1)  # ET_EXEC, x86_64, version 1
    struct.pack_into("<QQ", header, 32, 64, 0)  # e_phoff, e_shoff
    struct.pack_into("<HHHHHH", header, 52, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 4, 4, 120, 0, 0, len(note), len(note), 4)  # PT_NOTE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(header) + phdr + note)
    return path
