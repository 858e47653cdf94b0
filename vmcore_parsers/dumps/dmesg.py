"""The "vmcore-dmesg" tier: a crash dump's kernel log, from VMCOREINFO alone.

Opens the dump by its content (ELF core, kdump-compressed, or a flattened stream of either),
finds VMCOREINFO (note, kdump header, or a scan of memory), works out where the kernel sits
in physical memory, and decodes the printk ring buffer. Values from VMCOREINFO win over the
dump headers' copies: QEMU 7.2's kdump sub-header holds a wrong phys_base under KASLR and an
empty utsname.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vmcore_parsers.dumps.arm64 import Arm64Translator
from vmcore_parsers.dumps.detect import dump_format
from vmcore_parsers.dumps.elf import ElfCore
from vmcore_parsers.dumps.flattened import FlattenedSource
from vmcore_parsers.dumps.kdump import KdumpCompressed
from vmcore_parsers.dumps.memory import PageMissing
from vmcore_parsers.dumps.printk import CachedReader, decode_log
from vmcore_parsers.dumps.source import ByteSource, FileSource
from vmcore_parsers.dumps.virtual import Translator, VirtualMemory
from vmcore_parsers.dumps.vmcoreinfo import (
    Vmcoreinfo,
    parse_vmcoreinfo,
    scan_memory,
    text_from_note,
)
from vmcore_parsers.dumps.x86_64 import START_KERNEL_MAP, X86_64Translator
from vmcore_parsers.errors import (
    DumpCorrupt,
    DumpTruncated,
    UnsupportedArchitecture,
    UnsupportedFormat,
    VmcoreinfoMissing,
)

# How far apart (in 2 MiB steps) to look for the kernel when no phys_base is known at all.
_PHYS_ALIGN = 2 << 20


@dataclass(frozen=True)
class DumpDmesg:
    """The kernel log of a dump; `kernel_release`/`build_id` are None when not stated."""

    text: str
    format: str
    warnings: tuple[str, ...]
    kernel_release: str | None
    build_id: str | None
    architecture: str
    records: int


def read_dump_dmesg(path: Path) -> DumpDmesg:
    """Decode the kernel log of the dump at `path`; raise an `InputError` subclass if unusable."""
    source: ByteSource = FileSource(path)
    try:
        return _read(source)
    finally:
        source.close()


def _read(source: ByteSource) -> DumpDmesg:
    warnings: list[str] = []
    container = source_format(source)
    if container != "makedumpfile-flattened":
        return _read_image(source, container, warnings)
    flat = FlattenedSource(source)
    warnings += flat.warnings
    if not flat.truncated:
        return _read_image(flat, container, warnings)
    try:
        return _read_image(flat, container, warnings)
    except (DumpCorrupt, UnsupportedFormat, VmcoreinfoMissing) as exc:
        # Ranges the stream never reached read as zeros (or as a stale header the writer
        # meant to rewrite at the end): what looks corrupt is what did not arrive.
        raise DumpTruncated(
            f"the dump is truncated: the flattened stream ends at byte {source.size} before "
            f"its end marker, and the part that arrived is not enough ({exc.message})"
        ) from None


def _read_image(source: ByteSource, container: str | None, warnings: list[str]) -> DumpDmesg:
    """The log of the ELF or kdump-compressed dump in `source` (a flattened one reassembled)."""
    image = open_image(source)
    warnings += image.warnings
    info = find_vmcoreinfo(image, warnings)
    translator: Translator
    if image.machine == "x86_64":
        translator = X86_64Translator(image, info, _phys_base(image, info, warnings))
    elif image.machine == "arm64":
        translator = Arm64Translator(info)
    else:
        raise UnsupportedArchitecture(
            f"reading the kernel log of {image.machine} dumps is not supported (x86_64 and "
            "arm64 are)"
        )
    reader = CachedReader(VirtualMemory(image, translator).read)
    try:
        log = decode_log(reader, info)
    except PageMissing as exc:
        raise DumpCorrupt(
            f"the printk ring buffer cannot be reached: {exc} (wrong phys_base or the page was "
            "filtered out of the dump)"
        ) from None
    warnings += log.warnings
    if not log.text.strip():
        warnings.append("the printk ring buffer holds no records")
    release = info.osrelease or (
        image.header.release if isinstance(image, KdumpCompressed) else None
    )
    return DumpDmesg(
        text=log.text,
        format=container or "unknown",
        warnings=tuple(warnings),
        kernel_release=release or None,
        build_id=info.build_id,
        architecture=image.machine,
        records=log.records,
    )


def source_format(source: ByteSource) -> str | None:
    """The dump format named by the first bytes of `source` (`dump_format`); None: not a dump."""
    return dump_format(source.read(0, min(source.size, 64)))


def open_image(source: ByteSource) -> ElfCore | KdumpCompressed:
    """The reader for the ELF core or kdump-compressed dump in `source`.

    A flattened stream must be reassembled first (`FlattenedSource`); raises `UnsupportedFormat`
    when `source` holds neither format.
    """
    name = source_format(source)
    if name == "elf":
        return ElfCore(source)
    if name == "kdump-compressed":
        return KdumpCompressed(source)
    raise UnsupportedFormat("the file is not a crash dump panicdx reads")


def find_vmcoreinfo(image: ElfCore | KdumpCompressed, warnings: list[str]) -> Vmcoreinfo:
    """VMCOREINFO from the kdump header, an ELF note, or (noted in `warnings`) memory."""
    text = image.vmcoreinfo_text if isinstance(image, KdumpCompressed) else None
    if not text:
        for note in image.notes:
            if note.name == "VMCOREINFO":
                text = text_from_note(note.desc)
                break
    if text:
        info = parse_vmcoreinfo(text)
        if info.osrelease and ("prb" in info.symbols or "log_buf" in info.symbols):
            return info
        warnings.append("the dump's VMCOREINFO is incomplete; looking for the kernel's copy")
    info = scan_memory(image)  # raises VmcoreinfoMissing, naming what is unknown
    warnings.append(
        "the dump has no VMCOREINFO note: it was recovered from the kernel's copy in memory"
    )
    return info


def _phys_base(image: ElfCore | KdumpCompressed, info: Vmcoreinfo, warnings: list[str]) -> int:
    """Where the kernel image sits physically, most trustworthy source first."""
    if "phys_base" in info.numbers:
        return info.numbers["phys_base"] & 0xFFFFFFFFFFFFFFFF
    if isinstance(image, ElfCore):
        from_segments = image.kernel_text_phys_base()  # /proc/vmcore maps the kernel text
        if from_segments is not None:
            return from_segments
    elif image.header.phys_base:
        return image.header.phys_base
    found = _search_phys_base(image, info)
    if found is None:
        raise VmcoreinfoMissing(
            "VMCOREINFO has no NUMBER(phys_base) and the kernel image could not be located "
            "in the dump's memory"
        )
    warnings.append(f"phys_base was not stated; the kernel image was found at {found:#x}")
    return found


def _search_phys_base(image: ElfCore | KdumpCompressed, info: Vmcoreinfo) -> int | None:
    """Find phys_base by checking where init_uts_ns holds the release VMCOREINFO names."""
    uts = info.symbols.get("init_uts_ns")
    release = (info.osrelease or "").encode()
    if uts is None or not release:
        return None
    top = max(end for _, end in image.ranges())
    # struct uts_namespace starts with a kref before Linux 5.11, with the utsname after it.
    for base in range(0, top, _PHYS_ALIGN):
        physical = uts - START_KERNEL_MAP + base
        for skip in (0, 4, 8):
            try:
                field = image.read_physical(physical + skip + 2 * 65, 65)
            except PageMissing:
                break
            if field.split(b"\x00", 1)[0] == release:
                return base
    return None
