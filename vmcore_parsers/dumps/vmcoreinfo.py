"""VMCOREINFO: the facts the kernel prepares for dump readers, as `KEY=VALUE` lines.

Symbols are hexadecimal runtime addresses (KASLR already applied), sizes, offsets, lengths and
numbers are decimal, `KERNELOFFSET` is hexadecimal. When the dump has no VMCOREINFO note (a QEMU
guest without `qemu_fw_cfg`), the text is still in the guest's memory, where the kernel wrote
it at boot: `scan_memory` looks for it with a bounded, streamed pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vmcore_parsers.dumps.memory import PageMissing, PhysicalMemory
from vmcore_parsers.errors import VmcoreinfoMissing

MAX_TEXT = 64 * 1024  # the kernel's buffer is one page; allow for large pages
_LINE = re.compile(r"^([A-Z0-9_\-]+(?:\([^)=\n]*\))?)=(.*)$")
_KEYED = re.compile(r"^(SYMBOL|SIZE|OFFSET|LENGTH|NUMBER)\((.+)\)$")


@dataclass
class Vmcoreinfo:
    """Parsed VMCOREINFO; missing entries are absent from the dicts (never guessed)."""

    text: str
    values: dict[str, str] = field(default_factory=dict)
    symbols: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    recovered: bool = False  # True when scanned out of memory rather than read from a note

    @property
    def osrelease(self) -> str | None:
        """The kernel release (uname -r), or None when not stated."""
        return self.values.get("OSRELEASE") or None

    @property
    def build_id(self) -> str | None:
        """The kernel's GNU build id (hex), or None when not stated (kernels before 5.9)."""
        return self.values.get("BUILD-ID") or None

    @property
    def page_size(self) -> int | None:
        """PAGESIZE, or None when not stated."""
        return _int(self.values.get("PAGESIZE"), 10)

    @property
    def kernel_offset(self) -> int | None:
        """The KASLR offset of the kernel text (KERNELOFFSET), or None when not stated."""
        return _int(self.values.get("KERNELOFFSET"), 16)

    def require(self, table: str, key: str) -> int:
        """An entry of SYMBOL/SIZE/OFFSET/LENGTH/NUMBER; raise `VmcoreinfoMissing` if absent."""
        values = {
            "SYMBOL": self.symbols,
            "SIZE": self.sizes,
            "OFFSET": self.offsets,
            "LENGTH": self.lengths,
            "NUMBER": self.numbers,
        }[table]
        if key not in values:
            raise VmcoreinfoMissing(f"VMCOREINFO has no {table}({key})")
        return values[key]


def _int(value: str | None, base: int) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip(), base)
    except ValueError:
        return None


def parse_vmcoreinfo(text: str, recovered: bool = False) -> Vmcoreinfo:
    """Parse VMCOREINFO text; unparsable lines are skipped."""
    info = Vmcoreinfo(text=text, recovered=recovered)
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        keyed = _KEYED.match(key)
        if keyed is None:
            info.values.setdefault(key, value)
            continue
        table, name = keyed.groups()
        # NUMBER()s are decimal, except those arm64 prints as "0x..." (kimage_voffset, ...).
        hexadecimal = table == "SYMBOL" or value.lstrip("-").lower().startswith("0x")
        number = _int(value, 16 if hexadecimal else 10)
        if number is None:
            continue
        {
            "SYMBOL": info.symbols,
            "SIZE": info.sizes,
            "OFFSET": info.offsets,
            "LENGTH": info.lengths,
            "NUMBER": info.numbers,
        }[table].setdefault(name, number)
    return info


def text_from_note(desc: bytes) -> str:
    """The VMCOREINFO text in a note descriptor (up to the first NUL)."""
    return desc.split(b"\x00", 1)[0].decode("ascii", "replace")


def scan_memory(
    memory: PhysicalMemory, budget_bytes: int = 8 << 30, chunk: int = 4 << 20
) -> Vmcoreinfo:
    """Find the VMCOREINFO text the kernel wrote in memory; raise `VmcoreinfoMissing` if absent.

    Reads at most `budget_bytes` of physical memory, `chunk` bytes at a time. The kernel keeps
    two copies (the text buffer and the ELF note built from it); the longest candidate that
    names a release and the printk symbols wins.
    """
    best: Vmcoreinfo | None = None
    scanned = 0
    marker = b"OSRELEASE="
    for start, end in memory.ranges():
        position = start
        while position < end and scanned < budget_bytes:
            size = min(chunk, end - position)
            try:
                data = memory.read_physical(position, size)
            except PageMissing:
                data = _read_present_pages(memory, position, size)
            scanned += size
            found = data.find(marker)
            while found != -1:
                text = _candidate_text(memory, position + found)
                info = parse_vmcoreinfo(text, recovered=True)
                if _plausible(info) and (best is None or len(info.text) > len(best.text)):
                    best = info
                found = data.find(marker, found + 1)
            position += size
    if best is None:
        raise VmcoreinfoMissing(
            "the dump has no VMCOREINFO note and no VMCOREINFO text was found in its memory: "
            "the kernel release, page size, KASLR offset and printk symbols are unknown "
            "(for QEMU guests, load qemu_fw_cfg and add -device vmcoreinfo)"
        )
    return best


def _read_present_pages(memory: PhysicalMemory, position: int, size: int) -> bytes:
    """The chunk with missing pages as zeros (filtered dumps have holes everywhere)."""
    page = 4096
    out = bytearray()
    for offset in range(0, size, page):
        take = min(page, size - offset)
        try:
            out += memory.read_physical(position + offset, take)
        except PageMissing:
            out += bytes(take)
    return bytes(out)


def _candidate_text(memory: PhysicalMemory, address: int) -> str:
    try:
        raw = memory.read_physical(address, MAX_TEXT)
    except PageMissing:
        raw = _read_present_pages(memory, address, MAX_TEXT)
    raw = raw.split(b"\x00", 1)[0]
    return raw.decode("ascii", "replace")


def _plausible(info: Vmcoreinfo) -> bool:
    return (
        bool(info.osrelease)
        and ("prb" in info.symbols or "log_buf" in info.symbols)
        and info.page_size is not None
    )
