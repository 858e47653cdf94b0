"""arm64 kernel virtual addresses to physical ones, from VMCOREINFO alone.

Two regions hold everything the printk decoders read, and both translate by arithmetic, as
the kernel's own `__pa()` does (arch/arm64/include/asm/memory.h):
- the kernel image: `paddr = vaddr - kimage_voffset` (`__kimg_to_phys`);
- the linear map: `paddr = (vaddr - PAGE_OFFSET) + PHYS_OFFSET` (`__lm_to_phys`). Since Linux
  5.4 (commit 14c127c957c1, "arm64: mm: Flip kernel VA space") the linear map is the lower half
  of the kernel's address space, `[-(1 << VA_BITS), -(1 << (VA_BITS - 1)))`; before it was the
  upper half, with `PAGE_OFFSET = -(1 << (VA_BITS - 1))`.
Anything else (vmalloc, modules) needs a page-table walk, which panicdx does not do on arm64:
reading it is reported as a page missing from the dump.
"""

from __future__ import annotations

import re

from vmcore_parsers.dumps.memory import PageMissing
from vmcore_parsers.dumps.vmcoreinfo import Vmcoreinfo
from vmcore_parsers.errors import VmcoreinfoMissing

ADDRESS_MASK = (1 << 64) - 1


def _flipped_layout(release: str | None) -> bool:
    """True for Linux 5.4 and later (or when the release cannot be read: today's kernels)."""
    match = re.match(r"(\d+)\.(\d+)", release or "")
    if match is None:
        return True
    return (int(match.group(1)), int(match.group(2))) >= (5, 4)


class Arm64Translator:
    """Translate kernel-image and linear-map addresses of one arm64 dump."""

    def __init__(self, info: Vmcoreinfo) -> None:
        missing = [
            name
            for name in ("VA_BITS", "kimage_voffset", "PHYS_OFFSET")
            if name not in info.numbers
        ]
        if missing:
            raise VmcoreinfoMissing(
                "VMCOREINFO lacks the arm64 layout: " + ", ".join(f"NUMBER({m})" for m in missing)
            )
        va_bits = info.numbers["VA_BITS"]
        if not 36 <= va_bits <= 52:
            raise VmcoreinfoMissing(f"VMCOREINFO's NUMBER(VA_BITS)={va_bits} is impossible")
        self.kimage_voffset = info.numbers["kimage_voffset"] & ADDRESS_MASK
        self.phys_offset = info.numbers["PHYS_OFFSET"] & ADDRESS_MASK
        if _flipped_layout(info.osrelease):
            self.linear_start = (-(1 << va_bits)) & ADDRESS_MASK
            self.linear_end = (-(1 << (va_bits - 1))) & ADDRESS_MASK
        else:
            self.linear_start = (-(1 << (va_bits - 1))) & ADDRESS_MASK
            self.linear_end = 1 << 64
        self.page_offset = self.linear_start

    def to_physical(self, vaddr: int) -> int:
        """The physical address of kernel virtual address `vaddr`."""
        vaddr &= ADDRESS_MASK
        if self.linear_start <= vaddr < self.linear_end:
            return vaddr - self.page_offset + self.phys_offset
        physical = (vaddr - self.kimage_voffset) & ADDRESS_MASK
        if physical >= 1 << 52:  # not in the kernel image either (vmalloc, modules)
            raise PageMissing(vaddr, "arm64 address outside the kernel image and linear map")
        return physical
