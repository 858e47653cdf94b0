"""Hostile and damaged dumps: each gives a clear error code, never a crash, hang or bomb."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dumpfactory import FakeKernel, build_log_buf_kernel, write_elf, write_flattened, write_kdump
from panicdata import PANIC_RECORDS

from vmcore_parsers.dumps import lzo
from vmcore_parsers.dumps.dmesg import read_dump_dmesg
from vmcore_parsers.errors import (
    DumpCorrupt,
    DumpTruncated,
    InputError,
    UnsupportedFormat,
)

Write = Callable[..., Path]


def test_truncated_elf_still_reads_what_it_holds(panic_kernel: FakeKernel, write: Write) -> None:
    data = write_elf(panic_kernel)
    # The log sits at 2 MiB: a cut at 3 MiB loses other memory, which is only a warning...
    result = read_dump_dmesg(write(data[: 3 << 20]))
    assert "sysrq triggered crash" in result.text
    assert any("truncated" in warning for warning in result.warnings)
    # ...while a cut at 1 MiB loses the log itself, which is an error.
    with pytest.raises(InputError) as caught:
        read_dump_dmesg(write(data[: 1 << 20]))
    assert caught.value.code == "dump_corrupt"
    assert "cannot be reached" in caught.value.message


def test_truncated_header_is_dump_truncated(panic_kernel: FakeKernel, write: Write) -> None:
    with pytest.raises(DumpTruncated):
        read_dump_dmesg(write(write_kdump(panic_kernel)[:300]))


def test_program_headers_pointing_past_the_end(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_elf(panic_kernel))
    struct.pack_into("<Q", data, 32, 1 << 40)  # e_phoff far beyond the file
    with pytest.raises(DumpTruncated):
        read_dump_dmesg(write(bytes(data)))


def test_absurd_segment_count(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_elf(panic_kernel, qemu_quirks=True))
    struct.pack_into("<H", data, 56, 0xFFFF)
    struct.pack_into("<I", data, 64 + 44, 0xFFFFFFF0)  # section 0's sh_info: 4 billion phdrs
    with pytest.raises(DumpCorrupt, match="number of segments"):
        read_dump_dmesg(write(bytes(data)))


def test_kdump_bad_block_size(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_kdump(panic_kernel))
    struct.pack_into("<i", data, 428, 12345)
    with pytest.raises(DumpCorrupt, match="block size"):
        read_dump_dmesg(write(bytes(data)))


def test_kdump_page_descriptor_with_absurd_size(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_kdump(panic_kernel))
    bitmap_blocks = struct.unpack_from("<I", data, 436)[0]
    sub_hdr_size = struct.unpack_from("<i", data, 432)[0]
    descs = 4096 * (1 + sub_hdr_size + bitmap_blocks)
    for index in range(len(panic_kernel.memory) // 4096):
        struct.pack_into("<I", data, descs + index * 24 + 8, 0x7FFFFFFF)
    with pytest.raises(DumpCorrupt, match="impossible"):
        read_dump_dmesg(write(bytes(data)))


def test_kdump_page_that_does_not_decompress(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_kdump(panic_kernel, method="zlib"))
    tail = len(data) - 200_000  # inside the compressed page data
    data[tail : tail + 150_000] = b"\x55" * 150_000
    # Either the ring's pages are hit (corrupt) or not (log still decodes); never a crash.
    try:
        read_dump_dmesg(write(bytes(data)))
    except InputError as exc:
        assert exc.code == "dump_corrupt"


def test_flattened_record_with_negative_size(panic_kernel: FakeKernel, write: Write) -> None:
    stream = bytearray(write_flattened(write_kdump(panic_kernel), shuffle=False))
    struct.pack_into(">qq", stream, 4096, 0, -5)
    with pytest.raises(DumpCorrupt, match="flattened record"):
        read_dump_dmesg(write(bytes(stream)))


# Cut points of a shuffled flattened kdump stream (odd records first, the header rewritten
# last) where what arrived is a stale header, or page descriptors still unwritten (zeros), or
# descriptors pointing at page data that never came.
@pytest.mark.parametrize("twentieths", [5, 11, 12, 14])
def test_flattened_stream_cut_short_is_dump_truncated(
    twentieths: int, panic_kernel: FakeKernel, write: Write
) -> None:
    stream = write_flattened(write_kdump(panic_kernel))
    cut = len(stream) * twentieths // 20
    with pytest.raises(DumpTruncated) as caught:
        read_dump_dmesg(write(stream[:cut]))
    message = caught.value.message
    assert message.startswith(
        f"the dump is truncated: the flattened stream ends at byte {cut} before its end marker"
    )
    assert "the part that arrived is not enough (" in message  # and what gave it away


def test_zero_page_descriptors_in_a_complete_stream_stay_corrupt(
    panic_kernel: FakeKernel, write: Write
) -> None:
    # The zeros a cut-short stream reads back, in a stream that has its end marker, are
    # damage, not truncation.
    dump = bytearray(write_kdump(panic_kernel))
    sub_header_blocks, bitmap_blocks = struct.unpack_from("<ii", dump, 432)
    descriptors = 4096 * (1 + sub_header_blocks + bitmap_blocks)
    dump[descriptors : descriptors + 24 * 1024] = bytes(24 * 1024)
    with pytest.raises(DumpCorrupt, match=r"page descriptor of pfn 0x[0-9a-f]+ is impossible"):
        read_dump_dmesg(write(write_flattened(bytes(dump))))


def test_flattened_stream_of_nothing(write: Write) -> None:
    header = bytearray(4096)
    header[:12] = b"makedumpfile"
    struct.pack_into(">qq", header, 16, 1, 1)
    with pytest.raises(DumpTruncated):
        read_dump_dmesg(write(bytes(header) + struct.pack(">qq", -1, -1)))


def test_flattened_stream_holding_garbage(write: Write) -> None:
    header = bytearray(4096)
    header[:12] = b"makedumpfile"
    struct.pack_into(">qq", header, 16, 1, 1)
    body = struct.pack(">qq", 0, 64) + b"\x42" * 64 + struct.pack(">qq", -1, -1)
    with pytest.raises(UnsupportedFormat):
        read_dump_dmesg(write(bytes(header) + body))


def test_log_buf_loop_is_detected_quickly(write: Write) -> None:
    kernel = build_log_buf_kernel([(index, b"rec %d" % index) for index in range(5)])
    # Make the first record's length point back at itself: an endless chain.
    info = dict(line.split("=", 1) for line in kernel.vmcoreinfo.splitlines())
    from dumpfactory import START_KERNEL_MAP

    pointer = int(info["SYMBOL(log_buf)"], 16) - START_KERNEL_MAP
    buf = int.from_bytes(kernel.memory[pointer : pointer + 8], "little") - START_KERNEL_MAP
    struct.pack_into("<H", kernel.memory, buf + 8, 0)  # record 0 says "wrap to 0" forever
    started = time.monotonic()
    with pytest.raises(DumpCorrupt):
        read_dump_dmesg(write(write_elf(kernel)))
    assert time.monotonic() - started < 5


def test_absurd_ring_sizes_are_refused(write: Write) -> None:
    from dumpfactory import build_prb_kernel

    kernel = build_prb_kernel(PANIC_RECORDS)
    kernel.vmcoreinfo = kernel.vmcoreinfo.replace(
        "OFFSET(prb_desc_ring.count_bits)=0", "OFFSET(prb_desc_ring.count_bits)=8"
    )  # count_bits now reads a pointer's low bytes: billions of descriptors
    with pytest.raises(DumpCorrupt, match="absurd"):
        read_dump_dmesg(write(write_elf(kernel)))


@pytest.mark.parametrize(
    "stream",
    [
        b"",
        b"\x00",
        b"\x16ab",  # a 5-byte literal run with 2 bytes left
        b"\x20\x00\x00\x00",  # match before the start of the output
        b"\x15abcd" + b"\x00" * 4,
    ],
)
def test_lzo_garbage_raises(stream: bytes) -> None:
    with pytest.raises(lzo.LzoError):
        lzo.decompress(stream, 4096)


def test_lzo_output_is_capped() -> None:
    # A literal run of 15+3+255*1000 bytes announced by zero-extended lengths.
    stream = b"\x00" + b"\x00" * 1000 + b"\x01" + b"a" * 300_000
    with pytest.raises(lzo.LzoError, match="overrun"):
        lzo.decompress(stream, 4096)


@pytest.mark.parametrize("form", ["elf", "kdump", "flattened", "log_buf"])
def test_random_damage_gives_a_result_or_an_input_error(form: str, write: Write) -> None:
    """Seeded random truncation and byte damage: never another exception, never a hang."""
    import random

    from dumpfactory import build_prb_kernel

    kernel = build_prb_kernel(PANIC_RECORDS, memory_size=4 << 20)
    base = {
        "elf": lambda: write_elf(kernel),
        "kdump": lambda: write_kdump(kernel),
        "flattened": lambda: write_flattened(write_kdump(kernel)),
        "log_buf": lambda: write_elf(
            build_log_buf_kernel([(index, b"r%d" % index) for index in range(50)])
        ),
    }[form]()
    rng = random.Random(form)
    outcomes: set[str] = set()
    started = time.monotonic()
    for _ in range(60):
        data = bytearray(base)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                zone = rng.random()
                if zone < 0.4:  # headers, notes, bitmaps, descriptors
                    position = rng.randrange(min(len(data), 20_000))
                elif zone < 0.6:
                    position = rng.randrange(len(data))
                else:  # around the ring buffer, at 2 MiB of memory
                    position = min(len(data) - 1, 0x201000 + rng.randrange(0x6000))
                data[position] = rng.randrange(256)
        try:
            read_dump_dmesg(write(bytes(data)))
        except InputError as exc:
            outcomes.add(exc.code)
        else:
            outcomes.add("read")
    assert time.monotonic() - started < 60
    assert "read" in outcomes  # some damage misses what matters
    assert outcomes - {"read"}  # and some is reported
