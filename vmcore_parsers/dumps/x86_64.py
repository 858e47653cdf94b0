"""x86_64 kernel virtual addresses to physical ones, from VMCOREINFO alone.

Kernel-image addresses (at and above __START_KERNEL_map) translate by the kernel's own
`__pa_symbol` rule: `vaddr - __START_KERNEL_map + phys_base`; VMCOREINFO's symbols are runtime
addresses, so the KASLR offset is already in them. Every other address (the direct map, where
a `log_buf_len=` buffer lives, vmalloc) is translated by walking the kernel's page tables from
`init_top_pgt` (`init_level4_pgt` before Linux 4.13), with 4 or 5 levels and 1 GiB / 2 MiB
pages, as makedumpfile's `vtop4_x86_64` does.
"""

from __future__ import annotations

import struct

from vmcore_parsers.dumps.memory import PageMissing, PhysicalMemory
from vmcore_parsers.dumps.vmcoreinfo import Vmcoreinfo
from vmcore_parsers.errors import VmcoreinfoMissing

START_KERNEL_MAP = 0xFFFFFFFF80000000
PRESENT = 0x1
PAGE_SIZE_BIT = 0x80  # PSE: this entry maps a large page
PHYSICAL_MASK = 0x000FFFFFFFFFF000
ADDRESS_MASK = 0xFFFFFFFFFFFFFFFF


class X86_64Translator:
    """Translate kernel virtual addresses of one dump; raise `PageMissing` when unmapped."""

    def __init__(self, memory: PhysicalMemory, info: Vmcoreinfo, phys_base: int) -> None:
        self.memory = memory
        self.phys_base = phys_base
        self.levels = 5 if info.numbers.get("pgtable_l5_enabled", 0) else 4
        # SME/SEV keep an encryption bit inside page-table entries; it is not address.
        self.entry_mask = PHYSICAL_MASK & ~info.numbers.get("sme_mask", 0)
        root = info.symbols.get("init_top_pgt") or info.symbols.get("init_level4_pgt")
        self.root: int | None = self._kernel_image(root) if root else None
        self._tables: dict[int, bytes] = {}
        # Past the kernel image come the modules, which only the page tables map.
        default_image = (1 << 30) if info.kernel_offset else (512 << 20)
        self.image_end = START_KERNEL_MAP + info.numbers.get("KERNEL_IMAGE_SIZE", default_image)

    def _kernel_image(self, vaddr: int) -> int:
        # phys_base is negative when KASLR loaded the kernel below its link address (VMCOREINFO
        # prints it as a signed decimal): the kernel's unsigned arithmetic wraps modulo 2^64.
        return (vaddr - START_KERNEL_MAP + self.phys_base) & ADDRESS_MASK

    def to_physical(self, vaddr: int) -> int:
        """The physical address of kernel virtual address `vaddr`."""
        vaddr &= 0xFFFFFFFFFFFFFFFF
        if START_KERNEL_MAP <= vaddr < self.image_end:
            return self._kernel_image(vaddr)
        if self.root is None:
            raise VmcoreinfoMissing(
                "VMCOREINFO names no page table root (SYMBOL(init_top_pgt)), so the address "
                f"{vaddr:#x} outside the kernel image cannot be translated"
            )
        table = self.root
        shifts = (48, 39, 30, 21, 12) if self.levels == 5 else (39, 30, 21, 12)
        for depth, shift in enumerate(shifts):
            index = (vaddr >> shift) & 0x1FF
            entry = int(struct.unpack_from("<Q", self._table(table), index * 8)[0])
            if not entry & PRESENT:
                raise PageMissing(vaddr, "virtual address not mapped")
            frame = entry & self.entry_mask
            # Large pages: 1 GiB at the PUD level, 2 MiB at the PMD level.
            if shift in (30, 21) and entry & PAGE_SIZE_BIT and depth > 0:
                size = 1 << shift
                return (frame & ~(size - 1)) | (vaddr & (size - 1))
            table = frame
        return table | (vaddr & 0xFFF)

    def _table(self, address: int) -> bytes:
        table = self._tables.get(address)
        if table is None:
            table = self.memory.read_physical(address, 4096)
            if len(self._tables) > 4096:  # bounded: a hostile dump may point anywhere
                self._tables.clear()
            self._tables[address] = table
        return table
