"""x86_64 and arm64 address translation on hand-built page tables and layouts."""

from __future__ import annotations

import struct

import pytest

from vmcore_parsers.dumps.arm64 import Arm64Translator
from vmcore_parsers.dumps.memory import PageMissing
from vmcore_parsers.dumps.vmcoreinfo import parse_vmcoreinfo
from vmcore_parsers.dumps.x86_64 import START_KERNEL_MAP, X86_64Translator
from vmcore_parsers.errors import VmcoreinfoMissing

PRESENT_RW = 0x3
LARGE = 0x80


class PageMemory:
    """Physical memory made of the 4 KiB pages a test writes; everything else is a hole."""

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}

    def entry(self, table: int, index: int, value: int) -> None:
        page = self.pages.setdefault(table, bytearray(4096))
        struct.pack_into("<Q", page, index * 8, value)

    def read_physical(self, address: int, size: int) -> bytes:
        base, inside = divmod(address, 4096)
        if base * 4096 not in self.pages or inside + size > 4096:
            raise PageMissing(address)
        return bytes(self.pages[base * 4096][inside : inside + size])

    def ranges(self) -> list[tuple[int, int]]:
        return [(base, base + 4096) for base in sorted(self.pages)]


def _index(vaddr: int, shift: int) -> int:
    return (vaddr >> shift) & 0x1FF


def _translator(memory: PageMemory, root: int, levels: int, **extra: str) -> X86_64Translator:
    lines = {
        "SYMBOL(init_top_pgt)": f"{root + START_KERNEL_MAP:x}",  # phys_base 0
        "NUMBER(phys_base)": "0",
        "NUMBER(pgtable_l5_enabled)": "1" if levels == 5 else "0",
        **extra,
    }
    info = parse_vmcoreinfo("".join(f"{k}={v}\n" for k, v in lines.items()))
    return X86_64Translator(memory, info, 0)


def test_four_levels_down_to_a_4k_page() -> None:
    memory = PageMemory()
    vaddr = 0xFFFFC90000123456  # vmalloc
    memory.entry(0x1000, _index(vaddr, 39), 0x2000 | PRESENT_RW)
    memory.entry(0x2000, _index(vaddr, 30), 0x3000 | PRESENT_RW)
    memory.entry(0x3000, _index(vaddr, 21), 0x4000 | PRESENT_RW)
    memory.entry(0x4000, _index(vaddr, 12), 0x7654000 | PRESENT_RW | (1 << 63))  # NX bit
    assert _translator(memory, 0x1000, 4).to_physical(vaddr) == 0x7654456


def test_five_levels_with_a_1g_page() -> None:
    memory = PageMemory()
    vaddr = 0xFF11000040001234  # the 5-level direct map, 1 GiB in
    memory.entry(0x1000, _index(vaddr, 48), 0x2000 | PRESENT_RW)
    memory.entry(0x2000, _index(vaddr, 39), 0x3000 | PRESENT_RW)
    memory.entry(0x3000, _index(vaddr, 30), 0x80000000 | PRESENT_RW | LARGE)
    assert _translator(memory, 0x1000, 5).to_physical(vaddr) == 0x80001234


def test_2m_page_and_the_sme_bit_is_not_address() -> None:
    memory = PageMemory()
    vaddr = 0xFFFF888000345678
    sme = 1 << 47
    memory.entry(0x1000, _index(vaddr, 39), 0x2000 | PRESENT_RW | sme)
    memory.entry(0x2000, _index(vaddr, 30), 0x3000 | PRESENT_RW | sme)
    memory.entry(0x3000, _index(vaddr, 21), 0x600000 | PRESENT_RW | LARGE | sme)
    translator = _translator(memory, 0x1000, 4, **{"NUMBER(sme_mask)": str(sme)})
    assert translator.to_physical(vaddr) == 0x745678


def test_unmapped_address_is_a_missing_page() -> None:
    memory = PageMemory()
    memory.entry(0x1000, 0, 0)
    with pytest.raises(PageMissing, match="not mapped"):
        _translator(memory, 0x1000, 4).to_physical(0xFFFF888000000000)


def test_kernel_image_rule_wraps_a_negative_phys_base() -> None:
    info = parse_vmcoreinfo("NUMBER(phys_base)=-826277888\nKERNELOFFSET=3a000000\n")
    # phys_base arrives as the unsigned 64-bit value the kernel holds (2^64 - 826277888).
    translator = X86_64Translator(PageMemory(), info, -826277888 & 0xFFFFFFFFFFFFFFFF)
    assert translator.to_physical(0xFFFFFFFFBA000000) == 0x3A000000 - 826277888


def test_module_addresses_are_not_in_the_kernel_image() -> None:
    info = parse_vmcoreinfo("NUMBER(phys_base)=0\nNUMBER(KERNEL_IMAGE_SIZE)=1073741824\n")
    translator = X86_64Translator(PageMemory(), info, 0)
    with pytest.raises(VmcoreinfoMissing, match="init_top_pgt"):
        translator.to_physical(0xFFFFFFFFC0001000)  # modules start past a 1 GiB image


ARM64 = (
    "OSRELEASE={release}\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=0xffff7fffc7e00000\n"
    "NUMBER(PHYS_OFFSET)=0x40000000\n"
)


def test_arm64_image_and_flipped_linear_map() -> None:
    translator = Arm64Translator(parse_vmcoreinfo(ARM64.format(release="6.1.0-arm64")))
    assert translator.to_physical(0xFFFF800008010000) == 0xFFFF800008010000 - 0xFFFF7FFFC7E00000
    assert translator.to_physical(0xFFFF000000001000) == 0x40001000


def test_arm64_linear_map_before_linux_5_4() -> None:
    translator = Arm64Translator(parse_vmcoreinfo(ARM64.format(release="4.19.0-arm64")))
    assert translator.to_physical(0xFFFF800000002000) == 0x40002000
