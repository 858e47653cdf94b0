"""kdump-compressed dumps (makedumpfile `-c`/`-l`/`-p`/`-z`, QEMU `kdump-*`; "KDUMP" and
"DISKDUMP" signatures).

Layout, in blocks of `block_size` bytes (makedumpfile's diskdump_mod.h):
  block 0                 disk_dump_header
  block 1..sub_hdr_size   kdump_sub_header (phys_base, VMCOREINFO and ELF-note locations)
  next bitmap_blocks      1st bitmap (pages that exist) then 2nd bitmap (pages dumped)
  then                    one 24-byte page_desc per set bit of the 2nd bitmap, in pfn order
  then                    the page data, each page raw or compressed (zlib, lzo, snappy, zstd)
A page is found by counting the 2nd bitmap's set bits before its pfn; the counts per bitmap
block are computed once, streamed, so memory stays small for any dump size.
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from vmcore_parsers.dumps import lzo
from vmcore_parsers.dumps.memory import PageMissing
from vmcore_parsers.dumps.notes import Note, parse_notes
from vmcore_parsers.dumps.source import ByteSource
from vmcore_parsers.errors import DumpCorrupt, UnsupportedArchitecture, UnsupportedFormat

DUMP_DH_COMPRESSED_ZLIB = 0x1
DUMP_DH_COMPRESSED_LZO = 0x2
DUMP_DH_COMPRESSED_SNAPPY = 0x4
DUMP_DH_COMPRESSED_INCOMPLETE = 0x8
DUMP_DH_EXCLUDED = 0x10
DUMP_DH_COMPRESSED_ZSTD = 0x20
PAGE_DESC = struct.Struct("<qIIQ")
_UTSNAME_FIELD = 65
_RANK_BLOCK = 4096  # bitmap bytes per precomputed set-bit count
_PAGE_CACHE = 64
MAX_VMCOREINFO = 1 << 20
MAX_NOTES = 64 << 20


@dataclass(frozen=True)
class KdumpHeader:
    """The fields of disk_dump_header and kdump_sub_header panicdx uses."""

    header_version: int
    machine: str
    release: str
    block_size: int
    sub_hdr_size: int
    bitmap_blocks: int
    max_mapnr: int
    phys_base: int
    dump_level: int
    offset_vmcoreinfo: int
    size_vmcoreinfo: int
    offset_note: int
    size_note: int


def _cstring(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace")


def read_header(source: ByteSource) -> KdumpHeader:
    """Parse and sanity-check the two headers; raise `DumpCorrupt` on nonsense."""
    head = source.read(0, 464)
    if head[:8] not in (b"KDUMP   ", b"DISKDUMP"):
        raise UnsupportedFormat("not a kdump-compressed file")
    header_version = struct.unpack_from("<i", head, 8)[0]
    uts = 12
    release = _cstring(head[uts + 2 * _UTSNAME_FIELD : uts + 3 * _UTSNAME_FIELD])
    machine = _cstring(head[uts + 4 * _UTSNAME_FIELD : uts + 5 * _UTSNAME_FIELD])
    # utsname ends at 402; timeval (8-byte aligned) at 408; then 32-bit fields from 424.
    (_status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr) = struct.unpack_from(
        "<IiiII", head, 424
    )
    if block_size < 512 or block_size > (1 << 20) or block_size & (block_size - 1):
        raise DumpCorrupt(f"kdump block size {block_size} is not a power of two page size")
    if sub_hdr_size < 0 or bitmap_blocks <= 0:
        raise DumpCorrupt("kdump header has an impossible sub-header or bitmap size")
    sub = source.read(block_size, min(104, max(sub_hdr_size, 1) * block_size))
    sub = sub.ljust(104, b"\x00")
    phys_base, dump_level = struct.unpack_from("<Qi", sub, 0)
    offset_vmcoreinfo = size_vmcoreinfo = offset_note = size_note = 0
    if header_version >= 3:
        offset_vmcoreinfo, size_vmcoreinfo = struct.unpack_from("<qQ", sub, 32)
    if header_version >= 4:
        offset_note, size_note = struct.unpack_from("<qQ", sub, 48)
    if header_version >= 6:
        max_mapnr_64 = struct.unpack_from("<Q", sub, 96)[0]
        if max_mapnr_64:
            max_mapnr = max_mapnr_64
    return KdumpHeader(
        header_version=header_version,
        machine=machine,
        release=release,
        block_size=block_size,
        sub_hdr_size=sub_hdr_size,
        bitmap_blocks=bitmap_blocks,
        max_mapnr=max_mapnr,
        phys_base=phys_base,
        dump_level=dump_level,
        offset_vmcoreinfo=offset_vmcoreinfo,
        size_vmcoreinfo=size_vmcoreinfo,
        offset_note=offset_note,
        size_note=size_note,
    )


class KdumpCompressed:
    """A kdump-compressed dump as physical memory plus its VMCOREINFO and notes."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.header = header = read_header(source)
        self.warnings: list[str] = []
        machine = header.machine or "x86_64"
        if machine not in ("x86_64", "aarch64", "arm64"):
            raise UnsupportedArchitecture(
                f"kdump of a {machine} machine is not supported (x86_64 and arm64 are)"
            )
        self.machine = "arm64" if machine in ("aarch64", "arm64") else "x86_64"
        size = header.block_size
        self.page_size = size
        bitmap_start = size * (1 + header.sub_hdr_size)
        bitmap_bytes = size * header.bitmap_blocks
        half = bitmap_bytes // 2
        if (header.max_mapnr + 7) // 8 > half:
            # Some writers size the bitmap to the dumped range only; pfns past it are absent.
            self.warnings.append("the dump's page bitmap is shorter than its page count")
        self._bitmap2 = bitmap_start + half
        self._bitmap2_bytes = half
        self._descs = bitmap_start + bitmap_bytes
        if self._descs > source.size:
            raise DumpCorrupt("kdump bitmap extends past the end of the file")
        self._ranks = self._count_bits()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self.vmcoreinfo_text = self._read_vmcoreinfo()
        self.notes = self._read_notes()

    def _count_bits(self) -> list[int]:
        """Set bits of the 2nd bitmap before each `_RANK_BLOCK` of it (streamed once)."""
        ranks = [0]
        total = 0
        chunk = 1 << 20
        for start in range(0, self._bitmap2_bytes, chunk):
            data = self.source.read(self._bitmap2 + start, min(chunk, self._bitmap2_bytes - start))
            for offset in range(0, len(data), _RANK_BLOCK):
                total += int.from_bytes(data[offset : offset + _RANK_BLOCK], "little").bit_count()
                ranks.append(total)
        return ranks

    def _read_vmcoreinfo(self) -> str | None:
        header = self.header
        if header.offset_vmcoreinfo <= 0 or header.size_vmcoreinfo == 0:
            return None
        if header.size_vmcoreinfo > MAX_VMCOREINFO:
            raise DumpCorrupt(f"VMCOREINFO of {header.size_vmcoreinfo} bytes is absurd")
        raw = self.source.read(header.offset_vmcoreinfo, header.size_vmcoreinfo)
        return raw.split(b"\x00", 1)[0].decode("ascii", "replace")

    def _read_notes(self) -> list[Note]:
        header = self.header
        if header.offset_note <= 0 or header.size_note == 0:
            return []
        if header.size_note > MAX_NOTES:
            raise DumpCorrupt(f"note area of {header.size_note} bytes is absurd")
        return parse_notes(self.source.read(header.offset_note, header.size_note))

    def _dumped_index(self, pfn: int) -> int | None:
        """The page descriptor index of `pfn`, or None when the page was not dumped."""
        byte = pfn >> 3
        if pfn < 0 or pfn >= self.header.max_mapnr or byte >= self._bitmap2_bytes:
            return None
        block = byte // _RANK_BLOCK
        block_start = block * _RANK_BLOCK
        data = self.source.read(self._bitmap2 + block_start, byte - block_start + 1)
        if not (data[-1] >> (pfn & 7)) & 1:
            return None
        before = int.from_bytes(data[:-1], "little").bit_count()
        before += (data[-1] & ((1 << (pfn & 7)) - 1)).bit_count()
        return self._ranks[block] + before

    def dumped_pfns(self) -> Iterator[int]:
        """Every page frame number the dump holds, ascending (the 2nd bitmap, streamed)."""
        chunk = 1 << 16
        for start in range(0, self._bitmap2_bytes, chunk):
            data = self.source.read(self._bitmap2 + start, min(chunk, self._bitmap2_bytes - start))
            for index, byte in enumerate(data):
                if byte:
                    base = (start + index) * 8
                    for bit in range(8):
                        if byte >> bit & 1 and base + bit < self.header.max_mapnr:
                            yield base + bit

    def dumped_pages(self) -> Iterator[tuple[int, bytes | None]]:
        """Every dumped (pfn, page) in order; the page is None when marked excluded.

        Walks the descriptors in step with the bitmap, so each page costs one decompression
        and no bitmap counting: this is the path for rewriting a whole dump.
        """
        batch = 1024
        descriptors = b""
        for index, pfn in enumerate(self.dumped_pfns()):
            slot = index % batch
            if slot == 0:
                descriptors = self.source.read(
                    self._descs + index * PAGE_DESC.size,
                    min(batch * PAGE_DESC.size, self.source.size - self._descs - index * 24),
                )
            if (slot + 1) * PAGE_DESC.size > len(descriptors):
                raise DumpCorrupt("page descriptors end before the bitmap's pages do")
            offset, size, flags, _page_flags = PAGE_DESC.unpack_from(
                descriptors, slot * PAGE_DESC.size
            )
            if flags & (DUMP_DH_EXCLUDED | DUMP_DH_COMPRESSED_INCOMPLETE):
                yield pfn, None
                continue
            if size <= 0 or size > 2 * self.page_size or offset <= 0:
                raise DumpCorrupt(f"page descriptor of pfn {pfn:#x} is impossible")
            yield pfn, decompress_page(self.source.read(offset, size), flags, self.page_size, pfn)

    def read_page(self, pfn: int) -> bytes:
        """The page frame `pfn`, decompressed; raise `PageMissing` when it was not dumped."""
        cached = self._cache.get(pfn)
        if cached is not None:
            self._cache.move_to_end(pfn)
            return cached
        index = self._dumped_index(pfn)
        if index is None:
            raise PageMissing(pfn * self.page_size, "page excluded from the dump")
        offset, size, flags, _page_flags = PAGE_DESC.unpack(
            self.source.read(self._descs + index * PAGE_DESC.size, PAGE_DESC.size)
        )
        if flags & (DUMP_DH_EXCLUDED | DUMP_DH_COMPRESSED_INCOMPLETE):
            raise PageMissing(pfn * self.page_size, "page marked excluded or incomplete")
        if size <= 0 or size > 2 * self.page_size or offset <= 0:
            raise DumpCorrupt(f"page descriptor of pfn {pfn:#x} is impossible")
        page = decompress_page(self.source.read(offset, size), flags, self.page_size, pfn)
        self._cache[pfn] = page
        if len(self._cache) > _PAGE_CACHE:
            self._cache.popitem(last=False)
        return page

    def read_physical(self, address: int, size: int) -> bytes:
        """Exactly `size` bytes at physical `address`; raise `PageMissing` for a hole."""
        out = bytearray()
        while size > 0:
            pfn, inside = divmod(address, self.page_size)
            take = min(size, self.page_size - inside)
            out += self.read_page(pfn)[inside : inside + take]
            address += take
            size -= take
        return bytes(out)

    def ranges(self) -> list[tuple[int, int]]:
        """One range covering every page frame the header counts."""
        return [(0, self.header.max_mapnr * self.page_size)]


def decompress_page(data: bytes, flags: int, page_size: int, pfn: int) -> bytes:
    """One page's bytes from its stored form; raise `DumpCorrupt` when they do not decode."""
    try:
        if flags & DUMP_DH_COMPRESSED_ZLIB:
            inflater = zlib.decompressobj()
            page = inflater.decompress(data, page_size)
        elif flags & DUMP_DH_COMPRESSED_LZO:
            page = lzo.decompress(data, page_size)
        elif flags & DUMP_DH_COMPRESSED_SNAPPY:
            import cramjam

            # The stream states its length first: refuse before allocating a bomb.
            if cramjam.snappy.decompress_raw_len(data) > page_size:
                raise DumpCorrupt(f"page {pfn:#x} claims more than one page of data")
            page = bytes(cramjam.snappy.decompress_raw(data))
        elif flags & DUMP_DH_COMPRESSED_ZSTD:
            import zstandard

            page = zstandard.ZstdDecompressor().decompress(data, max_output_size=page_size)
        else:
            page = data
    except DumpCorrupt:
        raise
    except Exception as exc:  # each codec has its own error types (zlib, cramjam, zstd, lzo)
        raise DumpCorrupt(f"page {pfn:#x} does not decompress: {exc}") from None
    if len(page) != page_size:
        raise DumpCorrupt(f"page {pfn:#x} decompresses to {len(page)} bytes, not {page_size}")
    return page
