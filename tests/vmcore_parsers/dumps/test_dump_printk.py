"""The printk ring buffer decoders and makedumpfile's record formatting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dumpfactory import START_KERNEL_MAP, FakeKernel, build_prb_kernel, write_elf

from vmcore_parsers.dumps.dmesg import read_dump_dmesg
from vmcore_parsers.dumps.printk import format_record

Write = Callable[..., Path]


@pytest.mark.parametrize(
    ("ts_nsec", "text", "expected"),
    [
        (0, b"hello", "[    0.000000] hello\n"),
        (123_456_789_012_345, b"big", "[123456.789012] big\n"),
        (5_000_999_999, b"rounds down", "[    5.000999] rounds down\n"),
        (1, b"a\nb", "[    0.000000] a\n               b\n"),
        (0, b"tab\tcr\rvt\x0bff\x0c", "[    0.000000] tab\tcr\rvt\x0bff\x0c\n"),
        (0, b"nul\x00del\x7f", "[    0.000000] nul\\x00del\\x7f\n"),
        (0, "é".encode(), "[    0.000000] \\xffffffc3\\xffffffa9\n"),
        (0, b"", "[    0.000000] \n"),
    ],
)
def test_records_are_formatted_as_makedumpfile_does(
    ts_nsec: int, text: bytes, expected: str
) -> None:
    assert format_record(ts_nsec, text) == expected


def test_descriptor_ring_wrap_keeps_the_newest_records(write: Write) -> None:
    records = [(index, b"r%04d" % index) for index in range(200)]
    kernel = build_prb_kernel(records, count_bits=4, size_bits=12)  # 16 descriptors
    lines = read_dump_dmesg(write(write_elf(kernel))).text.splitlines()
    assert [line.split()[-1] for line in lines] == [b"r%04d".decode() % i for i in range(184, 200)]


def test_text_ring_wrap_moves_blocks_to_the_start(write: Write) -> None:
    # Long records in a small text ring: blocks that do not fit at the end go to the start.
    records = [(index, (b"%03d:" % index) + b"y" * (90 + index % 37)) for index in range(80)]
    kernel = build_prb_kernel(records, count_bits=8, size_bits=10)
    lines = read_dump_dmesg(write(write_elf(kernel))).text.splitlines()
    numbers = [int(line.split()[-1][:3]) for line in lines]
    assert numbers[-1] == 79
    assert numbers == list(range(numbers[0], 80))
    for line in lines:  # every record intact, none spliced across the wrap
        body = line.split()[-1]
        assert body[4:] == "y" * (90 + int(body[:3]) % 37)


def test_uncommitted_and_reused_descriptors_are_skipped(write: Write) -> None:
    records = [(index, b"msg %d" % index) for index in range(6)]
    kernel = build_prb_kernel(records)
    info = dict(line.split("=", 1) for line in kernel.vmcoreinfo.splitlines())
    prb_pointer = _phys(kernel, int(info["SYMBOL(prb)"], 16))
    rb = _phys(kernel, int.from_bytes(kernel.memory[prb_pointer : prb_pointer + 8], "little"))
    descs = _phys(kernel, int.from_bytes(kernel.memory[rb + 8 : rb + 16], "little"))
    # Descriptor 2 still reserved by a writer (state 0), descriptor 4 reusable (state 3).
    kernel.memory[descs + 2 * 24 + 7] = 0x00
    kernel.memory[descs + 4 * 24 + 7] = 0xC0
    text = read_dump_dmesg(write(write_elf(kernel))).text
    assert [line.split()[-1] for line in text.splitlines()] == ["0", "1", "3", "5"]


def _phys(kernel: FakeKernel, vaddr: int) -> int:
    return vaddr - START_KERNEL_MAP + kernel.phys_base
