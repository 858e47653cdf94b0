"""Build small, real-layout crash dumps for the reader tests.

A fake x86_64 kernel is laid out in a few MiB of "physical memory": its printk ring buffer
(the lockless `prb` of Linux 5.10+ or the `log_buf` records of 3.5-5.9) at kernel-image
addresses, page tables mapping a direct-map window with a 2 MiB page, and VMCOREINFO text
describing it all with the offsets a real 6.1 x86_64 kernel reports. Writers then wrap that
memory in each dump format from its documented layout: ELF core (with the QEMU 7.2 header
quirks on request), kdump-compressed (zlib, lzo, snappy, zstd, raw; with excluded pages) and
makedumpfile's flattened stream.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import cramjam
import zstandard

START_KERNEL_MAP = 0xFFFFFFFF80000000
PAGE_OFFSET = 0xFFFF888000000000
PAGE = 4096
# An arm64 machine (Linux 5.4+ layout, 48-bit VA): RAM at 1 GiB, kernel image mapped by KASLR.
ARM64_PHYS_OFFSET = 0x40000000
ARM64_KIMAGE_VOFFSET = 0xFFFF7FFFC7E00000
ARM64_PAGE_OFFSET = 0xFFFF000000000000

# Layout of the lockless ring buffer on x86_64 (Linux 6.1, kernel/printk/printk_ringbuffer.h).
PRB_INFO = {
    "SIZE(printk_ringbuffer)": 88,
    "OFFSET(printk_ringbuffer.desc_ring)": 0,
    "OFFSET(printk_ringbuffer.text_data_ring)": 48,
    "OFFSET(printk_ringbuffer.fail)": 80,
    "SIZE(prb_desc_ring)": 48,
    "OFFSET(prb_desc_ring.count_bits)": 0,
    "OFFSET(prb_desc_ring.descs)": 8,
    "OFFSET(prb_desc_ring.infos)": 16,
    "OFFSET(prb_desc_ring.head_id)": 24,
    "OFFSET(prb_desc_ring.tail_id)": 32,
    "SIZE(prb_desc)": 24,
    "OFFSET(prb_desc.state_var)": 0,
    "OFFSET(prb_desc.text_blk_lpos)": 8,
    "SIZE(prb_data_blk_lpos)": 16,
    "OFFSET(prb_data_blk_lpos.begin)": 0,
    "OFFSET(prb_data_blk_lpos.next)": 8,
    "SIZE(printk_info)": 88,
    "OFFSET(printk_info.seq)": 0,
    "OFFSET(printk_info.ts_nsec)": 8,
    "OFFSET(printk_info.text_len)": 16,
    "OFFSET(printk_info.caller_id)": 20,
    "OFFSET(printk_info.dev_info)": 24,
    "SIZE(dev_printk_info)": 64,
    "OFFSET(dev_printk_info.subsystem)": 0,
    "LENGTH(printk_info_subsystem)": 16,
    "OFFSET(dev_printk_info.device)": 16,
    "LENGTH(printk_info_device)": 48,
    "SIZE(prb_data_ring)": 32,
    "OFFSET(prb_data_ring.size_bits)": 0,
    "OFFSET(prb_data_ring.data)": 8,
    "OFFSET(atomic_long_t.counter)": 0,
}
LOG_BUF_INFO = {
    "SIZE(printk_log)": 16,
    "OFFSET(printk_log.ts_nsec)": 0,
    "OFFSET(printk_log.len)": 8,
    "OFFSET(printk_log.text_len)": 10,
    "OFFSET(printk_log.dict_len)": 12,
}


@dataclass
class FakeKernel:
    """A few MiB of physical memory holding a fake kernel's data, and its VMCOREINFO."""

    memory: bytearray
    vmcoreinfo: str
    phys_base: int
    release: str = "6.1.0-99-cloud-amd64"
    # Where `memory` starts in physical address space, and the ELF machine number.
    phys_start: int = 0
    machine: int = 62
    # The physical pages that hold the ring buffer (a filtered dump must keep them).
    log_pages: set[int] = field(default_factory=set)

    def kernel_vaddr(self, physical: int) -> int:
        """The kernel-image virtual address of a physical address."""
        return physical + START_KERNEL_MAP - self.phys_base


class _Layout:
    def __init__(self, size: int, phys_base: int, kernel_offset: int) -> None:
        self.memory = bytearray(size)
        self.phys_base = phys_base
        self.kernel_offset = kernel_offset
        self.cursor = 0x200000  # allocations start above the page tables
        self.lines: list[str] = []
        self.log_pages: set[int] = set()
        self.arm64 = False

    def alloc(self, size: int, align: int = 64, log: bool = True) -> int:
        self.cursor = (self.cursor + align - 1) & ~(align - 1)
        address = self.cursor
        self.cursor += size
        if self.cursor > len(self.memory):
            raise ValueError("fake kernel does not fit")
        if log:
            self.log_pages.update(range(address // PAGE, (self.cursor + PAGE - 1) // PAGE))
        return address

    def vaddr(self, physical: int) -> int:
        if self.arm64:
            return physical + ARM64_PHYS_OFFSET + ARM64_KIMAGE_VOFFSET
        return physical + START_KERNEL_MAP - self.phys_base

    def put(self, physical: int, data: bytes) -> None:
        self.memory[physical : physical + len(data)] = data

    def u64(self, physical: int, value: int) -> None:
        self.put(physical, struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))

    def u32(self, physical: int, value: int) -> None:
        self.put(physical, struct.pack("<I", value))

    def utsname(self, release: str) -> int:
        """init_uts_ns with its utsname first (Linux 5.11+); returns its physical address."""
        uts = self.alloc(6 * 65 + 64, log=False)
        for index, value in enumerate(("Linux", "fake", release, "#1 SMP", "x86_64", "")):
            self.put(uts + index * 65, value.encode())
        return uts

    def page_tables(self) -> int:
        """init_top_pgt mapping PAGE_OFFSET -> physical 0 with 2 MiB pages; returns its paddr."""
        pgd, pud, pmd, text_pud, text_pmd = 0x1000, 0x2000, 0x3000, 0x4000, 0x5000
        self.u64(pgd + ((PAGE_OFFSET >> 39) & 0x1FF) * 8, pud | 0x63)
        self.u64(pud + ((PAGE_OFFSET >> 30) & 0x1FF) * 8, pmd | 0x63)
        for index in range(len(self.memory) >> 21):
            self.u64(pmd + index * 8, (index << 21) | 0xE3)  # present, rw, PSE
        # The kernel image: __START_KERNEL_map -> phys_base, also with 2 MiB pages.
        self.u64(pgd + ((START_KERNEL_MAP >> 39) & 0x1FF) * 8, text_pud | 0x63)
        self.u64(text_pud + ((START_KERNEL_MAP >> 30) & 0x1FF) * 8, text_pmd | 0x63)
        for index in range(len(self.memory) >> 21):
            self.u64(text_pmd + index * 8, (self.phys_base + (index << 21)) | 0xE3)
        self.log_pages.update({1, 2, 3, 4, 5})
        return pgd


def build_prb_kernel(
    records: Sequence[tuple[int, bytes]],
    *,
    memory_size: int = 8 << 20,
    phys_base: int = 0,
    kernel_offset: int = 0x1A000000,
    count_bits: int = 5,
    size_bits: int = 10,
    data_in_direct_map: bool = False,
    extra_info: str = "",
    arm64: bool = False,
) -> FakeKernel:
    """A fake 5.10+ kernel whose prb holds `records` (ts_nsec, text), oldest first.

    The records are written as the kernel writes them, wrapping the text ring (blocks that do
    not fit at the end go to the start) and the descriptor ring, so a small ring keeps only
    the newest records.
    """
    layout = _Layout(memory_size, phys_base, kernel_offset)
    layout.arm64 = arm64
    pgd = layout.page_tables()
    count = 1 << count_bits
    ring = 1 << size_bits
    uts = layout.utsname("6.1.0-99-cloud-amd64")
    prb_ptr = layout.alloc(8)
    rb = layout.alloc(88)
    descs = layout.alloc(24 * count)
    infos = layout.alloc(88 * count)
    data = layout.alloc(ring, align=PAGE)
    layout.u64(prb_ptr, layout.vaddr(rb))
    linear_base = ARM64_PAGE_OFFSET if arm64 else PAGE_OFFSET
    data_pointer = linear_base + data if data_in_direct_map else layout.vaddr(data)
    layout.u32(rb + 0, count_bits)
    layout.u64(rb + 8, layout.vaddr(descs))
    layout.u64(rb + 16, layout.vaddr(infos))
    layout.u32(rb + 48, size_bits)
    layout.u64(rb + 56, data_pointer)

    lpos = 0
    first_id = 0
    for ident, (ts_nsec, text) in enumerate(records):
        block = (8 + len(text) + 7) & ~7
        begin = lpos
        if begin % ring + block > ring:  # does not fit before the end: wrap to the start
            begin = lpos + (ring - lpos % ring)
        end = begin + block
        start_in_ring = begin % ring
        layout.u64(data + start_in_ring, ident)
        layout.put(data + start_in_ring + 8, text)
        slot = ident % count
        state = (2 << 62) | ident  # finalized
        layout.u64(descs + slot * 24, state)
        layout.u64(descs + slot * 24 + 8, lpos)
        layout.u64(descs + slot * 24 + 16, end)
        info = infos + slot * 88
        layout.u64(info, ident)
        layout.u64(info + 8, ts_nsec)
        layout.put(info + 16, struct.pack("<H", len(text)))
        lpos = end
        # The oldest records lose their descriptor or their data as the rings wrap.
        while (
            ident - first_id >= count or lpos - _desc_begin(layout, descs, first_id, count) > ring
        ):
            first_id += 1
    head = max(len(records) - 1, 0)
    layout.u64(rb + 24, head)
    layout.u64(rb + 32, first_id)
    lines = {
        "OSRELEASE": "6.1.0-99-cloud-amd64",
        "BUILD-ID": "0123456789abcdef0123456789abcdef01234567",
        "PAGESIZE": "4096",
        "SYMBOL(prb)": f"{layout.vaddr(prb_ptr):x}",
        "SYMBOL(init_top_pgt)": f"{layout.vaddr(pgd):x}",
        "SYMBOL(init_uts_ns)": f"{layout.vaddr(uts):x}",
        "OFFSET(uts_namespace.name)": "0",
        **{key: str(value) for key, value in PRB_INFO.items()},
        "NUMBER(phys_base)": str(phys_base),
        "NUMBER(pgtable_l5_enabled)": "0",
        "KERNELOFFSET": f"{kernel_offset:x}",
    }
    if arm64:
        del lines["SYMBOL(init_top_pgt)"], lines["NUMBER(phys_base)"]
        del lines["NUMBER(pgtable_l5_enabled)"]
        lines["NUMBER(VA_BITS)"] = "48"
        lines["NUMBER(kimage_voffset)"] = f"{ARM64_KIMAGE_VOFFSET:#x}"
        lines["NUMBER(PHYS_OFFSET)"] = f"{ARM64_PHYS_OFFSET:#x}"
    text = "".join(f"{key}={value}\n" for key, value in lines.items()) + extra_info
    # The kernel's own copy (vmcoreinfo_data), which survives when the dump has no note.
    copy = layout.alloc(PAGE, align=PAGE, log=False)
    layout.put(copy, text.encode() + b"CRASHTIME=1700000000\n")
    if arm64:
        return FakeKernel(
            layout.memory,
            text,
            phys_base,
            log_pages=layout.log_pages,
            phys_start=ARM64_PHYS_OFFSET,
            machine=183,
        )
    return FakeKernel(layout.memory, text, phys_base, log_pages=layout.log_pages)


def _desc_begin(layout: _Layout, descs: int, ident: int, count: int) -> int:
    return int(struct.unpack_from("<Q", layout.memory, descs + (ident % count) * 24 + 8)[0])


def build_log_buf_kernel(
    records: Sequence[tuple[int, bytes]], *, buf_len: int = 1024, phys_base: int = 0
) -> FakeKernel:
    """A fake 3.5-5.9 kernel whose log_buf holds `records`, wrapping with len-0 markers."""
    layout = _Layout(4 << 20, phys_base, 0)
    layout.page_tables()
    uts = layout.utsname("5.4.0-99-generic")
    pointer = layout.alloc(8)
    length = layout.alloc(4)
    first_idx = layout.alloc(4)
    next_idx = layout.alloc(4)
    buf = layout.alloc(buf_len, align=PAGE)
    layout.u64(pointer, layout.vaddr(buf))
    layout.u32(length, buf_len)
    starts: list[int] = []
    position = 0
    first = 0
    for ts_nsec, text in records:
        size = (16 + len(text) + 7) & ~7
        if position + size + 16 > buf_len:
            layout.put(buf + position, bytes(16))  # wrap marker: len 0
            position = 0
        # Drop the oldest records this one overwrites.
        starts.append(position)
        live = list(starts[first:-1])
        for index, start in enumerate(live, first):
            if position <= start < position + size + 16:
                first = index + 1
        layout.put(buf + position, struct.pack("<QHHHBB", ts_nsec, size, len(text), 0, 0, 0))
        layout.put(buf + position + 16, text)
        position += size
    layout.u32(first_idx, starts[first] if first < len(starts) else position)
    layout.u32(next_idx, position)
    lines = {
        "OSRELEASE": "5.4.0-99-generic",
        "PAGESIZE": "4096",
        "SYMBOL(init_uts_ns)": f"{layout.vaddr(uts):x}",
        "OFFSET(uts_namespace.name)": "0",
        "SYMBOL(log_buf)": f"{layout.vaddr(pointer):x}",
        "SYMBOL(log_buf_len)": f"{layout.vaddr(length):x}",
        "SYMBOL(log_first_idx)": f"{layout.vaddr(first_idx):x}",
        "SYMBOL(clear_idx)": f"{layout.vaddr(first_idx):x}",
        "SYMBOL(log_next_idx)": f"{layout.vaddr(next_idx):x}",
        **{key: str(value) for key, value in LOG_BUF_INFO.items()},
        "NUMBER(phys_base)": str(phys_base),
    }
    text = "".join(f"{key}={value}\n" for key, value in lines.items())
    return FakeKernel(
        layout.memory, text, phys_base, release="5.4.0-99-generic", log_pages=layout.log_pages
    )


def note(name: str, note_type: int, desc: bytes) -> bytes:
    """One ELF note, name and descriptor padded to 4 bytes."""
    raw_name = name.encode() + b"\x00"
    pad = lambda data: data + bytes(-len(data) % 4)  # noqa: E731
    return struct.pack("<III", len(raw_name), len(desc), note_type) + pad(raw_name) + pad(desc)


def write_elf(
    kernel: FakeKernel,
    *,
    with_vmcoreinfo: bool = True,
    qemu_quirks: bool = False,
    ranges: Sequence[tuple[int, int]] | None = None,
) -> bytes:
    """An ELF64 core of the fake kernel's memory (PT_NOTE first, then one PT_LOAD per range).

    `qemu_quirks` reproduces QEMU 7.2: e_ehsize 8 and section headers before the program
    headers.
    """
    notes = note("CORE", 1, bytes(336))
    if with_vmcoreinfo:
        notes += note("VMCOREINFO", 0, kernel.vmcoreinfo.encode())
    spans = list(ranges or [(0, len(kernel.memory))])
    phnum = 1 + len(spans)
    shoff = 64 if qemu_quirks else 0
    phoff = 64 + (64 if qemu_quirks else 0)
    notes_offset = phoff + 56 * phnum
    data_offset = (notes_offset + len(notes) + PAGE - 1) & ~(PAGE - 1)
    header = bytearray(b"\x7fELF\x02\x01\x01" + bytes(9))
    header += struct.pack(
        "<HHIQQQIHHHHHH",
        4,  # ET_CORE
        kernel.machine,  # EM_X86_64 or EM_AARCH64
        1,
        0,
        phoff,
        shoff,
        0,
        8 if qemu_quirks else 64,
        56,
        phnum,
        64 if qemu_quirks else 0,
        1 if qemu_quirks else 0,
        0,
    )
    out = bytearray(header)
    if qemu_quirks:
        out += struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, phnum, 0, 0)
    out += struct.pack("<IIQQQQQQ", 4, 0, notes_offset, 0, 0, len(notes), 0, 0)
    offset = data_offset
    for start, end in spans:
        physical = kernel.phys_start + start
        out += struct.pack("<IIQQQQQQ", 1, 7, offset, 0, physical, end - start, end - start, 0)
        offset += end - start
    out += notes
    out += bytes(data_offset - len(out))
    for start, end in spans:
        out += kernel.memory[start:end]
    return bytes(out)


def _lzo_compress(data: bytes) -> bytes | None:
    """LZO1X-1 compression through the system liblzo2, or None when it is not installed."""
    name = ctypes.util.find_library("lzo2")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    out = ctypes.create_string_buffer(len(data) + len(data) // 16 + 64 + 3)
    out_len = ctypes.c_size_t(0)
    work = ctypes.create_string_buffer(16384 * 8)
    result = lib.lzo1x_1_compress(data, len(data), out, ctypes.byref(out_len), work)
    if result != 0:
        raise RuntimeError(f"lzo1x_1_compress failed: {result}")
    return out.raw[: out_len.value]


def lzo_available() -> bool:
    """True when the system liblzo2 can compress test pages."""
    return _lzo_compress(b"x" * 64) is not None


COMPRESSION_FLAGS = {"zlib": 0x1, "lzo": 0x2, "snappy": 0x4, "zstd": 0x20, "none": 0}


def compress_page(page: bytes, method: str) -> bytes:
    """A page compressed as makedumpfile stores it."""
    if method == "zlib":
        return zlib.compress(page)
    if method == "lzo":
        packed = _lzo_compress(page)
        assert packed is not None
        return packed
    if method == "snappy":
        return bytes(cramjam.snappy.compress_raw(page))
    if method == "zstd":
        return zstandard.ZstdCompressor().compress(page)
    return page


def write_kdump(
    kernel: FakeKernel,
    *,
    method: str = "zlib",
    excluded: set[int] | None = None,
    with_vmcoreinfo: bool = True,
    header_phys_base: int | None = None,
    release: str = "",
    header_version: int = 6,
) -> bytes:
    """A kdump-compressed file ("KDUMP   ") of the fake kernel's memory.

    Pages in `excluded` are left out of the 2nd bitmap, as makedumpfile -d 31 does.
    """
    excluded = excluded or set()
    block = PAGE
    max_mapnr = len(kernel.memory) // PAGE
    bitmap_half = (max_mapnr + 7) // 8
    bitmap_half = (bitmap_half + block - 1) // block * block
    bitmap_blocks = 2 * bitmap_half // block
    sub_hdr_size = 1
    vmcoreinfo = kernel.vmcoreinfo.encode() if with_vmcoreinfo else b""
    header = bytearray(block)
    header[0:8] = b"KDUMP   "
    struct.pack_into("<i", header, 8, header_version)
    uts = 12
    header[uts + 130 : uts + 130 + len(release)] = release.encode()
    header[uts + 260 : uts + 266] = b"x86_64"
    struct.pack_into(
        "<IiiII", header, 424, 0, block, sub_hdr_size, bitmap_blocks, max_mapnr & 0xFFFFFFFF
    )
    vmcoreinfo_offset = block * 2
    sub = bytearray(block)
    struct.pack_into(
        "<Qii", sub, 0, kernel.phys_base if header_phys_base is None else header_phys_base, 31, 0
    )
    struct.pack_into("<qQ", sub, 32, vmcoreinfo_offset if vmcoreinfo else 0, len(vmcoreinfo))
    struct.pack_into("<QQQ", sub, 80, 0, max_mapnr, max_mapnr)
    bitmap1 = bytearray(bitmap_half)
    bitmap2 = bytearray(bitmap_half)
    dumped = [pfn for pfn in range(max_mapnr) if pfn not in excluded]
    for pfn in range(max_mapnr):
        bitmap1[pfn >> 3] |= 1 << (pfn & 7)
    for pfn in dumped:
        bitmap2[pfn >> 3] |= 1 << (pfn & 7)
    info_area = vmcoreinfo + bytes(-len(vmcoreinfo) % block) if vmcoreinfo else b""
    # Lay out: header, sub-header, vmcoreinfo blocks, bitmaps, descriptors, data.
    sub_hdr_size = 1 + len(info_area) // block
    struct.pack_into("<i", header, 432, sub_hdr_size)
    bitmap_offset = block * (1 + sub_hdr_size)
    desc_offset = bitmap_offset + 2 * bitmap_half
    data_offset = desc_offset + 24 * len(dumped)
    descs = bytearray()
    data = bytearray()
    for pfn in dumped:
        page = bytes(kernel.memory[pfn * PAGE : (pfn + 1) * PAGE])
        packed = compress_page(page, method)
        flags = COMPRESSION_FLAGS[method]
        if method == "none" or len(packed) >= PAGE:
            packed, flags = page, 0
        descs += struct.pack("<qIIQ", data_offset + len(data), len(packed), flags, 0)
        data += packed
    return bytes(header + sub + info_area + bitmap1 + bitmap2 + descs + data)


def write_flattened(dump: bytes, *, record_size: int = 5000, shuffle: bool = True) -> bytes:
    """The makedumpfile flattened stream of `dump`: header, (offset, size, data) records, end.

    With `shuffle`, records are emitted out of order and the first block is written twice
    (a stale copy first), as writers that rewrite their header at the end do.
    """
    header = bytearray(4096)
    header[0:12] = b"makedumpfile"
    struct.pack_into(">qq", header, 16, 1, 1)
    pieces = [
        (start, dump[start : start + record_size]) for start in range(0, len(dump), record_size)
    ]
    if shuffle:
        pieces = pieces[1::2] + pieces[0::2]
        pieces.insert(0, (0, b"\xee" * min(record_size, len(dump))))  # stale, overwritten later
    out = bytearray(header)
    for start, chunk in pieces:
        out += struct.pack(">qq", start, len(chunk)) + chunk
    out += struct.pack(">qq", -1, -1)
    return bytes(out)
