"""ELF note parsing (used by ELF cores and by the kdump sub-header's note area)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

NOTE_TYPE_PRSTATUS = 1


@dataclass(frozen=True)
class Note:
    """One ELF note: its name (without the NUL), type and descriptor bytes."""

    name: str
    type: int
    desc: bytes


def _align4(value: int) -> int:
    return (value + 3) & ~3


def parse_notes(data: bytes) -> list[Note]:
    """All well-formed notes in `data`; parsing stops at the first malformed one."""
    notes: list[Note] = []
    position = 0
    while position + 12 <= len(data):
        namesz, descsz, note_type = struct.unpack_from("<III", data, position)
        name_start = position + 12
        desc_start = name_start + _align4(namesz)
        end = desc_start + _align4(descsz)
        if desc_start + descsz > len(data) or (namesz == 0 and descsz == 0 and note_type == 0):
            break
        name = data[name_start : name_start + namesz].split(b"\x00", 1)[0]
        notes.append(
            Note(name.decode("ascii", "replace"), note_type, data[desc_start : desc_start + descsz])
        )
        position = end
    return notes
