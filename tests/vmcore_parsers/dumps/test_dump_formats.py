"""Every dump format, read from dumps laid out byte for byte from the documented structures."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from dumpfactory import (
    PAGE,
    FakeKernel,
    build_log_buf_kernel,
    build_prb_kernel,
    lzo_available,
    write_elf,
    write_flattened,
    write_kdump,
)
from panicdata import EXPECTED_PANIC_TEXT, PANIC_RECORDS

from vmcore_parsers.dumps.dmesg import read_dump_dmesg
from vmcore_parsers.errors import (
    DumpCorrupt,
    UnsupportedArchitecture,
    VmcoreinfoMissing,
)

Write = Callable[..., Path]


def test_elf_core_gives_the_makedumpfile_text(panic_kernel: FakeKernel, write: Write) -> None:
    result = read_dump_dmesg(write(write_elf(panic_kernel)))
    assert result.text == EXPECTED_PANIC_TEXT
    assert result.format == "elf"
    assert result.kernel_release == "6.1.0-99-cloud-amd64"
    assert result.build_id == "0123456789abcdef0123456789abcdef01234567"
    assert result.records == len(PANIC_RECORDS)
    assert result.warnings == ()


def test_qemu_7_2_elf_header_quirks_are_accepted(panic_kernel: FakeKernel, write: Write) -> None:
    data = write_elf(panic_kernel, qemu_quirks=True)
    assert struct.unpack_from("<H", data, 52)[0] == 8  # e_ehsize as QEMU 7.2 writes it
    assert read_dump_dmesg(write(data)).text == EXPECTED_PANIC_TEXT


def test_pn_xnum_program_header_count_comes_from_section_zero(
    panic_kernel: FakeKernel, write: Write
) -> None:
    data = bytearray(write_elf(panic_kernel, qemu_quirks=True))
    struct.pack_into("<H", data, 56, 0xFFFF)  # e_phnum = PN_XNUM; sh_info of section 0 = 2
    assert read_dump_dmesg(write(bytes(data))).text == EXPECTED_PANIC_TEXT


def test_elf_with_many_segments_and_holes(panic_kernel: FakeKernel, write: Write) -> None:
    size = len(panic_kernel.memory)
    # Leave a hole where nothing of the log lives, split the rest into page runs.
    spans = [
        (0, 0x180000),
        *((start, start + 4 * PAGE) for start in range(0x200000, size, 4 * PAGE)),
    ]
    assert read_dump_dmesg(write(write_elf(panic_kernel, ranges=spans))).text == (
        EXPECTED_PANIC_TEXT
    )


METHODS = ["zlib", "lzo", "snappy", "zstd", "none"]


@pytest.mark.parametrize("method", METHODS)
def test_kdump_compressed_pages(method: str, panic_kernel: FakeKernel, write: Write) -> None:
    if method == "lzo" and not lzo_available():
        pytest.skip("liblzo2 is not installed, so no LZO test pages can be made")
    result = read_dump_dmesg(write(write_kdump(panic_kernel, method=method)))
    assert result.text == EXPECTED_PANIC_TEXT
    assert result.format == "kdump-compressed"


def test_filtered_kdump_keeps_only_the_kernel_pages(panic_kernel: FakeKernel, write: Write) -> None:
    every = set(range(len(panic_kernel.memory) // PAGE))
    excluded = every - panic_kernel.log_pages  # what -d 31 leaves: the kernel's own pages
    result = read_dump_dmesg(write(write_kdump(panic_kernel, excluded=excluded)))
    assert result.text == EXPECTED_PANIC_TEXT


def test_missing_ring_pages_fail_clearly(panic_kernel: FakeKernel, write: Write) -> None:
    every = set(range(len(panic_kernel.memory) // PAGE))
    tables = {1, 2, 3, 4, 5}
    with pytest.raises(DumpCorrupt, match=r"cannot be reached|missing"):
        read_dump_dmesg(write(write_kdump(panic_kernel, excluded=every - tables)))


def test_a_missing_text_page_is_a_warning_not_a_failure(write: Write) -> None:
    records = [(index * 1000, b"record %03d " % index + b"x" * 200) for index in range(40)]
    kernel = build_prb_kernel(records, count_bits=6, size_bits=14)
    text_pages = sorted(kernel.log_pages)[-4:]  # the data ring is allocated last
    result = read_dump_dmesg(write(write_kdump(kernel, excluded={text_pages[1]})))
    assert any("missing from the dump" in warning for warning in result.warnings)
    assert "record 000" in result.text
    assert "record 039" in result.text
    assert result.records < 40


def test_qemu_kdump_header_values_lose_to_vmcoreinfo(write: Write) -> None:
    # QEMU 7.2 reads VMCOREINFO's decimal phys_base as hex and leaves utsname empty.
    kernel = build_prb_kernel(PANIC_RECORDS, phys_base=0x200000)
    data = write_kdump(kernel, header_phys_base=0x2097152, release="")
    result = read_dump_dmesg(write(data))
    assert result.text == EXPECTED_PANIC_TEXT
    assert result.kernel_release == "6.1.0-99-cloud-amd64"


def test_negative_phys_base_wraps_like_the_kernel(write: Write) -> None:
    # KASLR put the kernel below its link address: NUMBER(phys_base) is a negative decimal.
    kernel = build_prb_kernel(PANIC_RECORDS, phys_base=-0x31400000 & 0xFFFFFFFFFFFFFFFF)
    kernel.vmcoreinfo = kernel.vmcoreinfo.replace(
        f"NUMBER(phys_base)={kernel.phys_base}", f"NUMBER(phys_base)={-0x31400000}"
    )
    assert "NUMBER(phys_base)=-826277888" in kernel.vmcoreinfo
    assert read_dump_dmesg(write(write_elf(kernel))).text == EXPECTED_PANIC_TEXT


def test_ring_buffer_in_the_direct_map_is_found_through_the_page_tables(write: Write) -> None:
    kernel = build_prb_kernel(PANIC_RECORDS, data_in_direct_map=True)
    assert read_dump_dmesg(write(write_elf(kernel))).text == EXPECTED_PANIC_TEXT


@pytest.mark.parametrize("inner", ["kdump", "elf"])
def test_flattened_stream_out_of_order_with_rewritten_blocks(
    inner: str, panic_kernel: FakeKernel, write: Write
) -> None:
    dump = write_kdump(panic_kernel) if inner == "kdump" else write_elf(panic_kernel)
    result = read_dump_dmesg(write(write_flattened(dump, record_size=3000)))
    assert result.text == EXPECTED_PANIC_TEXT
    assert result.format == "makedumpfile-flattened"
    assert result.warnings == ()


def test_flattened_stream_without_end_marker_warns(panic_kernel: FakeKernel, write: Write) -> None:
    stream = write_flattened(write_kdump(panic_kernel), shuffle=False)[:-16]
    result = read_dump_dmesg(write(stream))
    assert result.text == EXPECTED_PANIC_TEXT
    assert any("end marker" in warning for warning in result.warnings)


def test_vmcoreinfo_recovered_from_memory_when_the_note_is_absent(
    panic_kernel: FakeKernel, write: Write
) -> None:
    result = read_dump_dmesg(write(write_elf(panic_kernel, with_vmcoreinfo=False)))
    assert result.text == EXPECTED_PANIC_TEXT
    assert any("recovered" in warning for warning in result.warnings)


def test_no_vmcoreinfo_anywhere_names_what_is_missing(write: Write) -> None:
    kernel = build_prb_kernel(PANIC_RECORDS)
    kernel.memory[:] = kernel.memory.replace(b"OSRELEASE=", b"XSRELEASE=")
    with pytest.raises(VmcoreinfoMissing, match=r"kernel release.*printk symbols"):
        read_dump_dmesg(write(write_elf(kernel, with_vmcoreinfo=False)))


def test_log_buf_records_before_linux_5_10(write: Write) -> None:
    records = [(index * 1_000_000, b"old-style record %d" % index) for index in range(60)]
    result = read_dump_dmesg(write(write_elf(build_log_buf_kernel(records, buf_len=1024))))
    lines = result.text.splitlines()
    # The 1 KiB buffer wrapped: only the newest records survive, in order, ending with the last.
    assert lines[-1] == "[    0.059000] old-style record 59"
    numbers = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert numbers == list(range(numbers[0], 60))
    assert 20 < len(numbers) < 60
    assert result.kernel_release == "5.4.0-99-generic"


@pytest.mark.parametrize("direct_map", [False, True])
def test_arm64_kernel_image_and_linear_map(direct_map: bool, write: Write) -> None:
    kernel = build_prb_kernel(PANIC_RECORDS, arm64=True, data_in_direct_map=direct_map)
    result = read_dump_dmesg(write(write_elf(kernel)))
    assert result.text == EXPECTED_PANIC_TEXT
    assert result.architecture == "arm64"


def test_arm64_without_its_layout_names_what_is_missing(
    panic_kernel: FakeKernel, write: Write
) -> None:
    data = bytearray(write_elf(panic_kernel))  # x86_64 VMCOREINFO in an arm64 core
    struct.pack_into("<H", data, 18, 183)  # EM_AARCH64
    with pytest.raises(VmcoreinfoMissing, match=r"NUMBER\(VA_BITS\)"):
        read_dump_dmesg(write(bytes(data)))


def test_other_architectures_are_refused(panic_kernel: FakeKernel, write: Write) -> None:
    data = bytearray(write_elf(panic_kernel))
    struct.pack_into("<H", data, 18, 243)  # EM_RISCV
    with pytest.raises(UnsupportedArchitecture, match="x86_64 and arm64"):
        read_dump_dmesg(write(bytes(data)))


def test_32_bit_elf_is_refused_by_architecture(write: Write) -> None:
    with pytest.raises(UnsupportedArchitecture, match="32-bit"):
        read_dump_dmesg(write(b"\x7fELF\x01\x01\x01" + bytes(100)))


def _without_phys_base(kernel: FakeKernel) -> FakeKernel:
    kept = [line for line in kernel.vmcoreinfo.splitlines() if "phys_base" not in line]
    return FakeKernel(kernel.memory, "\n".join(kept) + "\n", kernel.phys_base)


def test_kdump_header_phys_base_when_vmcoreinfo_has_none(write: Write) -> None:
    kernel = _without_phys_base(build_prb_kernel(PANIC_RECORDS, phys_base=0x200000))
    assert read_dump_dmesg(write(write_kdump(kernel))).text == EXPECTED_PANIC_TEXT


def test_phys_base_found_by_the_release_in_init_uts_ns(write: Write) -> None:
    kernel = _without_phys_base(build_prb_kernel(PANIC_RECORDS, phys_base=0x200000))
    result = read_dump_dmesg(write(write_elf(kernel)))
    assert result.text == EXPECTED_PANIC_TEXT
    assert any("kernel image was found at 0x200000" in w for w in result.warnings)


def test_kdump_rewritten_as_elf_reads_the_same(panic_kernel: FakeKernel, write: Write) -> None:
    from vmcore_parsers.dumps.elf_writer import write_elf as rewrite_as_elf
    from vmcore_parsers.dumps.kdump import KdumpCompressed
    from vmcore_parsers.dumps.source import FileSource

    every = set(range(len(panic_kernel.memory) // PAGE))
    keep = panic_kernel.log_pages | set(range(0x300, 0x310))  # two runs, a gap between
    source = FileSource(write(write_kdump(panic_kernel, excluded=every - keep), "kdump"))
    try:
        image = KdumpCompressed(source)
        target = write(b"", "rewritten")
        rewrite_as_elf(image, panic_kernel.vmcoreinfo, target)
    finally:
        source.close()
    result = read_dump_dmesg(target)
    assert result.text == EXPECTED_PANIC_TEXT
    assert result.format == "elf"
    assert target.stat().st_size < len(panic_kernel.memory) // 2  # only dumped pages written
