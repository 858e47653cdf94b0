"""Decode the kernel log out of the printk ring buffer, formatted as `makedumpfile --dump-dmesg`.

Two layouts, both described entirely by VMCOREINFO (no debuginfo):
- the lockless ring buffer `prb` (Linux 5.10 and later, kernel/printk/printk_ringbuffer.h): a
  descriptor ring (`prb_desc` with a state word and the text block's logical positions, and a
  parallel array of `printk_info` with sequence, timestamp and text length) and a text data
  ring of blocks that start with their descriptor id and wrap to the ring's start;
- the variable-length record buffer `log_buf` (Linux 3.5 to 5.9): `struct printk_log` records
  from `log_first_idx` to `log_next_idx`, where a record of length 0 means "wrap to 0".

Each record is printed as makedumpfile prints it (printk.c `dump_record`, makedumpfile.c
`dump_log_entry`): `[%5lld.%06ld] ` then the text, where a newline is followed by an indent as
wide as the prefix, printable bytes and white space are kept, and any other byte becomes
`\\xNN` (a byte of 0x80 or more prints sign-extended, `\\xffffffNN`, because makedumpfile formats
a signed `char`). Caller ids and device info are not printed, as makedumpfile does not.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from vmcore_parsers.dumps.memory import PageMissing
from vmcore_parsers.dumps.vmcoreinfo import Vmcoreinfo
from vmcore_parsers.errors import DumpCorrupt, UnsupportedFormat, VmcoreinfoMissing

DESC_STATE_SHIFT = 62
DESC_ID_MASK = (1 << 62) - 1
DESC_COMMITTED = 1
DESC_FINALIZED = 2
MAX_COUNT_BITS = 24  # 16 M descriptors; the kernel's largest ring is far smaller
MAX_DATA_BITS = 31  # 2 GiB of text
MAX_LOG_BUF_LEN = 1 << 31
_PAGE = 4096
_CACHE_PAGES = 512


def _escape_table() -> list[str]:
    table = []
    for byte in range(256):
        if 0x20 <= byte <= 0x7E or byte in (0x09, 0x0B, 0x0C, 0x0D, 0x20):
            table.append(chr(byte))
        elif byte >= 0x80:
            table.append(f"\\x{0xFFFFFF00 | byte:08x}")
        else:
            table.append(f"\\x{byte:02x}")
    return table


_ESCAPES = _escape_table()


def format_record(ts_nsec: int, text: bytes) -> str:
    """One record as makedumpfile prints it, ending with a newline."""
    prefix = f"[{ts_nsec // 1_000_000_000:5d}.{ts_nsec % 1_000_000_000 // 1000:06d}] "
    newline = "\n" + " " * len(prefix)
    body = "".join(newline if byte == 0x0A else _ESCAPES[byte] for byte in text)
    return prefix + body + "\n"


ReadVirtual = Callable[[int, int], bytes]


class CachedReader:
    """Small reads of kernel virtual memory, served from an LRU of whole pages."""

    def __init__(self, read: ReadVirtual) -> None:
        self._read = read
        self._pages: OrderedDict[int, bytes] = OrderedDict()

    def read(self, address: int, size: int) -> bytes:
        """Exactly `size` bytes at virtual `address`; raise `PageMissing` for holes."""
        out = bytearray()
        while size > 0:
            base = address & ~(_PAGE - 1)
            page = self._pages.get(base)
            if page is None:
                page = self._read(base, _PAGE)
                self._pages[base] = page
                if len(self._pages) > _CACHE_PAGES:
                    self._pages.popitem(last=False)
            else:
                self._pages.move_to_end(base)
            inside = address - base
            take = min(size, _PAGE - inside)
            out += page[inside : inside + take]
            address += take
            size -= take
        return bytes(out)

    def uint(self, address: int, size: int) -> int:
        """The little-endian unsigned integer of `size` bytes at `address`."""
        return int.from_bytes(self.read(address, size), "little")


@dataclass
class DecodedLog:
    """The formatted log and what went wrong on the way."""

    text: str
    records: int
    warnings: list[str]


def decode_log(reader: CachedReader, info: Vmcoreinfo) -> DecodedLog:
    """Decode whichever ring buffer VMCOREINFO describes; raise if it describes none."""
    if "prb" in info.symbols:
        return decode_prb(reader, info)
    if "log_buf" in info.symbols and ("log_first_idx" in info.symbols):
        return decode_log_buf(reader, info)
    if "log_buf" in info.symbols:
        raise UnsupportedFormat(
            "this kernel keeps its log in the flat buffer of Linux before 3.5, which panicdx "
            "does not decode"
        )
    raise VmcoreinfoMissing("VMCOREINFO names neither SYMBOL(prb) nor SYMBOL(log_buf)")


def decode_prb(reader: CachedReader, info: Vmcoreinfo) -> DecodedLog:
    """Decode the lockless ring buffer (Linux 5.10+)."""
    offset = info.offsets.get
    need = info.require
    counter = offset("atomic_long_t.counter", 0)
    rb = reader.uint(need("SYMBOL", "prb"), 8)
    desc_ring = rb + need("OFFSET", "printk_ringbuffer.desc_ring")
    data_ring = rb + need("OFFSET", "printk_ringbuffer.text_data_ring")
    count_bits = reader.uint(desc_ring + need("OFFSET", "prb_desc_ring.count_bits"), 4)
    size_bits = reader.uint(data_ring + need("OFFSET", "prb_data_ring.size_bits"), 4)
    if count_bits > MAX_COUNT_BITS or size_bits > MAX_DATA_BITS:
        raise DumpCorrupt(
            f"printk ring buffer sizes are absurd (2^{count_bits} records, 2^{size_bits} bytes)"
        )
    count = 1 << count_bits
    ring_size = 1 << size_bits
    descs = reader.uint(desc_ring + need("OFFSET", "prb_desc_ring.descs"), 8)
    infos = reader.uint(desc_ring + need("OFFSET", "prb_desc_ring.infos"), 8)
    data = reader.uint(data_ring + need("OFFSET", "prb_data_ring.data"), 8)
    head_id = reader.uint(desc_ring + need("OFFSET", "prb_desc_ring.head_id") + counter, 8)
    tail_id = reader.uint(desc_ring + need("OFFSET", "prb_desc_ring.tail_id") + counter, 8)
    desc_size = need("SIZE", "prb_desc")
    info_size = need("SIZE", "printk_info")
    state_at = need("OFFSET", "prb_desc.state_var") + counter
    lpos_at = need("OFFSET", "prb_desc.text_blk_lpos")
    begin_at = lpos_at + need("OFFSET", "prb_data_blk_lpos.begin")
    next_at = lpos_at + need("OFFSET", "prb_data_blk_lpos.next")
    ts_at = need("OFFSET", "printk_info.ts_nsec")
    len_at = need("OFFSET", "printk_info.text_len")

    warnings: list[str] = []
    span = (head_id - tail_id) & DESC_ID_MASK
    if span >= count:
        warnings.append(
            f"the printk ring's head and tail are {span} records apart in a ring of {count}: "
            "only the last ring's worth is read"
        )
        tail_id = (head_id - count + 1) & DESC_ID_MASK
        span = count - 1
    lines: list[str] = []
    unreadable = 0
    ident = tail_id
    for _ in range(span + 1):
        slot = ident % count
        try:
            desc = reader.read(descs + slot * desc_size, desc_size)
            state_var = int.from_bytes(desc[state_at : state_at + 8], "little")
            if state_var & DESC_ID_MASK != ident or (state_var >> DESC_STATE_SHIFT) not in (
                DESC_COMMITTED,
                DESC_FINALIZED,
            ):
                ident = (ident + 1) & DESC_ID_MASK
                continue
            begin = int.from_bytes(desc[begin_at : begin_at + 8], "little") % ring_size
            end = int.from_bytes(desc[next_at : next_at + 8], "little") % ring_size
            if begin != end:
                record = reader.read(infos + slot * info_size, info_size)
                text_len = int.from_bytes(record[len_at : len_at + 2], "little")
                ts_nsec = int.from_bytes(record[ts_at : ts_at + 8], "little")
                if begin > end:  # the block wrapped: its data sits at the ring's start
                    begin = 0
                begin += 8  # skip the descriptor id that heads every data block
                if end >= begin and end - begin < text_len:
                    text_len = end - begin  # a truncated message
                text_len = max(0, min(text_len, ring_size - begin))
                lines.append(format_record(ts_nsec, reader.read(data + begin, text_len)))
        except PageMissing:
            unreadable += 1
        ident = (ident + 1) & DESC_ID_MASK
    if unreadable:
        warnings.append(f"{unreadable} printk record(s) sit in pages missing from the dump")
    if not lines and unreadable:
        raise DumpCorrupt("no printk record could be read: the ring buffer's pages are missing")
    return DecodedLog(text="".join(lines), records=len(lines), warnings=warnings)


def decode_log_buf(reader: CachedReader, info: Vmcoreinfo) -> DecodedLog:
    """Decode the variable-length record buffer (Linux 3.5 to 5.9)."""
    need = info.require
    # The structure was named `struct log` before Linux 3.11 (commit 62e32ac3505a).
    struct_name = "printk_log" if "printk_log" in info.sizes else "log"
    record_size = need("SIZE", struct_name)
    ts_at = need("OFFSET", f"{struct_name}.ts_nsec")
    len_at = need("OFFSET", f"{struct_name}.len")
    text_len_at = need("OFFSET", f"{struct_name}.text_len")
    log_buf = reader.uint(need("SYMBOL", "log_buf"), 8)
    log_buf_len = reader.uint(need("SYMBOL", "log_buf_len"), 4)
    first = reader.uint(need("SYMBOL", "log_first_idx"), 4)
    last = reader.uint(need("SYMBOL", "log_next_idx"), 4)
    if not 0 < log_buf_len <= MAX_LOG_BUF_LEN or first >= log_buf_len or last >= log_buf_len:
        raise DumpCorrupt(
            f"log_buf indexes are impossible (length {log_buf_len}, first {first}, next {last})"
        )

    def length_at(index: int) -> int:
        return reader.uint(log_buf + index + len_at, 2)

    lines: list[str] = []
    warnings: list[str] = []
    index = first
    # Each record is at least a header long: more steps than that means a loop.
    for _ in range(log_buf_len // max(record_size, 1) + 2):
        if index == last:
            break
        try:
            length = length_at(index)
            if length == 0:  # a wrap marker: the record is at the buffer's start
                index = 0
                length = length_at(0)
                if length == 0:
                    raise DumpCorrupt("log_buf wraps to an empty record")
            header = reader.read(log_buf + index, record_size)
            ts_nsec = int.from_bytes(header[ts_at : ts_at + 8], "little")
            text_len = int.from_bytes(header[text_len_at : text_len_at + 2], "little")
            text_len = min(text_len, log_buf_len - index - record_size)
            lines.append(
                format_record(ts_nsec, reader.read(log_buf + index + record_size, text_len))
            )
        except PageMissing as exc:
            warnings.append(f"the log buffer is cut by a page missing from the dump ({exc})")
            break
        index += length
        if index >= log_buf_len:
            raise DumpCorrupt(f"log_buf record runs past the buffer (index {index})")
    else:
        raise DumpCorrupt("log_buf records loop without reaching log_next_idx")
    return DecodedLog(text="".join(lines), records=len(lines), warnings=warnings)
