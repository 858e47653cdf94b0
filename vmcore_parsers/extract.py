"""Turn any supported input file into kernel-log text: the one entry point for every front door.

A text log is read as it is (tier "log"). A crash dump is opened by its content, its printk
ring buffer decoded without debuginfo (tier "vmcore-dmesg"). Wrappers (gzip, xz, bzip2, zstd)
and tar archives of a kdump crash directory are unwrapped first, into a temporary directory
this module owns and removes.

`extract_file` runs in the calling process (the CLI on a trusted file); the sandboxed variant in
`vmcore_parsers.sandbox` runs the same function in a child process with CPU, memory and
wall-clock limits, for uploads.
"""

from __future__ import annotations

import json
import stat
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vmcore_parsers.dumps.detect import SNIFF_BYTES, Kind, compression_of, sniff_kind
from vmcore_parsers.errors import NotAFile, UnsupportedFormat
from vmcore_parsers.intake import (
    DEFAULT_MAX_LOG_BYTES,
    decode_log_bytes,
    file_errors,
    read_log_file,
)

if TYPE_CHECKING:
    from vmcore_parsers.sandbox import SandboxLimits

__all__ = [
    "DEFAULT_MAX_LOG_BYTES",
    "ExtractedLog",
    "extract_file",
    "extract_file_sandboxed",
    "sniff_file",
    "sniff_kind",
]

Tier = Literal["log", "vmcore-dmesg", "vmcore-debuginfo"]
SourceKind = Literal["log", "vmcore"]


@dataclass(frozen=True)
class ExtractedLog:
    """The kernel log of one input and where it came from.

    `compression` is the wrapper the input arrived in (None when there was none);
    `kernel_release` is None when neither the dump nor the wrapper named it (logs leave it to
    the parser); `warnings` say what could not be read and why.
    """

    text: str
    kind: SourceKind
    format: str  # "dmesg", "journalctl", "elf", "kdump-compressed", "makedumpfile-flattened",
    # "crash-directory", ... (for logs: the container, the parser names the log dialect)
    tier: Tier
    compression: str | None = None
    warnings: tuple[str, ...] = ()
    kernel_release: str | None = None
    # What drgn read with debug info (tier "vmcore-debuginfo"); None when it was not asked
    # for or no debug info was found (the warnings say which).
    debug_report: str | None = None

    def to_json(self) -> str:
        """Serialise for the sandbox pipe."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExtractedLog:
        """Rebuild from `to_json` output (already parsed)."""
        return cls(
            text=str(data["text"]),
            kind=data["kind"],
            format=str(data["format"]),
            tier=data["tier"],
            compression=data.get("compression"),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            kernel_release=data.get("kernel_release"),
            debug_report=data.get("debug_report"),
        )


def sniff_file(path: Path) -> Kind:
    """What `path` holds, from its first bytes; a compressed file is looked inside.

    A compressed file is reported by its content ("log", "vmcore", "archive") when its first
    decompressed bytes tell; "compressed" when they cannot be read.
    """
    head = _read_head(path)
    kind = sniff_kind(head)
    if kind != "compressed":
        return kind
    from vmcore_parsers.dumps.wrappers import peek_decompressed

    inner = peek_decompressed(path, compression_of(head) or "", SNIFF_BYTES)
    if inner is None:
        return "compressed"
    inner_kind = sniff_kind(inner)
    return "compressed" if inner_kind == "compressed" else inner_kind


def extract_file(
    path: Path,
    *,
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
    deep: bool = False,
    debuginfo: Path | None = None,
) -> ExtractedLog:
    """Extract the kernel log of a log, dump, compressed file or crash-directory archive.

    With `deep`, a dump is also read with its kernel's debug info (`debuginfo`, a vmlinux or
    directory, else the store in $PANICDX_DEBUGINFO_DIR, the distribution paths and
    debuginfod; checked by build id) through drgn, or the `crash` utility when drgn cannot:
    the result's `debug_report` and tier "vmcore-debuginfo". Missing debug info or drgn is a
    warning, never an error. Raises an `InputError` subclass (with a stable `code`) when the
    input is unusable.
    """
    _check_regular_file(path)
    options = _DeepOptions(deep, debuginfo)
    with tempfile.TemporaryDirectory(prefix="panicdx-extract-") as scratch:
        return _extract(path, Path(scratch), max_log_bytes, None, options)


def extract_file_sandboxed(
    path: Path,
    limits: SandboxLimits | None = None,
    *,
    deep: bool = False,
    debuginfo: Path | None = None,
) -> ExtractedLog:
    """`extract_file` in a child process with CPU, memory and wall-clock limits.

    `limits` None means `SandboxLimits()`'s defaults (`SandboxLimits.for_debuginfo()` with
    `deep`: drgn maps the whole vmlinux). Raises `InputError` subclasses with stable codes
    (dump_corrupt, dump_truncated, extraction_timeout, ...).
    """
    from vmcore_parsers.sandbox import SandboxLimits, run_sandboxed

    if limits is None and deep:
        limits = SandboxLimits.for_debuginfo()
    return run_sandboxed(path, limits, deep=deep, debuginfo=debuginfo)


@dataclass(frozen=True)
class _DeepOptions:
    enabled: bool
    debuginfo: Path | None


def _extract(
    path: Path,
    scratch: Path,
    max_log_bytes: int,
    compression: str | None,
    options: _DeepOptions,
) -> ExtractedLog:
    head = _read_head(path)
    kind = sniff_kind(head)
    if kind == "vmcore":
        from vmcore_parsers.dumps.dmesg import read_dump_dmesg

        dump = read_dump_dmesg(path)
        result = ExtractedLog(
            text=dump.text,
            kind="vmcore",
            format=dump.format,
            tier="vmcore-dmesg",
            compression=compression,
            warnings=dump.warnings,
            kernel_release=dump.kernel_release,
        )
        if options.enabled:
            from vmcore_parsers.dumps.deep_tier import add_debuginfo_report

            result = add_debuginfo_report(result, path, scratch, options.debuginfo)
        return result
    if kind == "compressed":
        if compression is not None:
            raise UnsupportedFormat(f"{compression} input wraps another compressed file")
        from vmcore_parsers.dumps.wrappers import decompress_to_file

        name = compression_of(head) or ""
        inner = decompress_to_file(path, name, scratch, max_log_bytes)
        if inner.is_log is True:
            log = decode_log_bytes(inner.path.read_bytes(), max_log_bytes)
            return ExtractedLog(
                text=log.text, kind="log", format="log", tier="log", compression=name
            )
        return _extract(inner.path, scratch, max_log_bytes, name, options)
    if kind == "archive":
        from vmcore_parsers.dumps.crashdir import extract_crash_directory

        directory = extract_crash_directory(path, scratch, max_log_bytes)
        return ExtractedLog(
            text=directory.text,
            kind=directory.kind,
            format="crash-directory",
            tier=directory.tier,
            compression=compression,
            warnings=directory.warnings,
            kernel_release=directory.kernel_release,
        )
    log = read_log_file(path, max_log_bytes)
    return ExtractedLog(
        text=log.text, kind="log", format="log", tier="log", compression=compression
    )


def _read_head(path: Path) -> bytes:
    with file_errors(path), path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


def _check_regular_file(path: Path) -> None:
    with file_errors(path):
        info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise NotAFile(f"{path}: is a directory, not a log or dump file")
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(f"{path}: not a regular file")
