"""Read a tar(.gz) of a kdump crash directory (`/var/crash/<stamp>/`).

Such a directory holds `vmcore` (the dump), `vmcore-dmesg.txt` (the log kdump decoded at crash
time) and `kexec-dmesg.log` (the capture kernel's own log). The vmcore is used when it can be
read; otherwise `vmcore-dmesg.txt`; the failure to read the vmcore becomes a warning.

The archive is streamed once. Members are never extracted under their own names: each useful
member is copied to a file named by this module inside the caller's scratch directory, so no
member can land outside it. Path traversal, absolute names, links, devices and absurd member
sizes are refused outright: an archive holding them was not made by kdump.
"""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vmcore_parsers.dumps.detect import SNIFF_BYTES, dump_format, looks_like_text
from vmcore_parsers.dumps.wrappers import DEFAULT_MAX_DUMP_BYTES
from vmcore_parsers.errors import InputError, InputTooLarge, UnsafeArchive, UnsupportedFormat
from vmcore_parsers.intake import decode_log_bytes

MAX_MEMBERS = 10_000
_CHUNK = 1 << 20
# Which text member is the crashed kernel's log, best first. kexec-dmesg.log is the capture
# kernel's log: it explains a failed capture but holds no trace of the panic itself.
_LOG_NAMES = ("vmcore-dmesg.txt", "dmesg.txt", "dmesg", "kexec-dmesg.log")


@dataclass
class CrashDirectoryLog:
    """The log chosen from a crash directory, with its tier and warnings."""

    text: str
    kind: Literal["log", "vmcore"]
    tier: Literal["log", "vmcore-dmesg"]
    warnings: tuple[str, ...] = ()
    kernel_release: str | None = None


@dataclass
class _Members:
    dumps: list[tuple[str, Path]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)


def extract_crash_directory(
    path: Path,
    scratch: Path,
    max_log_bytes: int,
    max_dump_bytes: int = DEFAULT_MAX_DUMP_BYTES,
) -> CrashDirectoryLog:
    """The kernel log of a crash-directory archive; raise `InputError` subclasses if unusable."""
    members = _copy_members(path, scratch, max_log_bytes, max_dump_bytes)
    problems: list[str] = []
    for name, dump_path in members.dumps:
        from vmcore_parsers.dumps.dmesg import read_dump_dmesg

        try:
            dump = read_dump_dmesg(dump_path)
        except InputError as exc:
            problems.append(f"{name} could not be read ({exc.code}: {exc.message})")
            continue
        return CrashDirectoryLog(
            text=dump.text,
            kind="vmcore",
            tier="vmcore-dmesg",
            warnings=(f"read from {name} in the crash directory", *dump.warnings),
            kernel_release=dump.kernel_release,
        )
    for wanted in _LOG_NAMES:
        log_path = members.logs.get(wanted)
        if log_path is None:
            continue
        log = decode_log_bytes(log_path.read_bytes(), max_log_bytes)
        warnings = [*problems]
        if not members.dumps:
            warnings.append("the crash directory holds no vmcore")
        if wanted == "kexec-dmesg.log":
            warnings.append(
                "only kexec-dmesg.log was usable: it is the capture kernel's log, not the "
                "crashed kernel's"
            )
        return CrashDirectoryLog(
            text=log.text, kind="log", tier="log", warnings=(f"read {wanted}", *warnings)
        )
    detail = "; ".join(problems) if problems else "no vmcore and no vmcore-dmesg.txt in it"
    raise UnsupportedFormat(f"tar archive is not a usable kdump crash directory: {detail}")


def _copy_members(path: Path, scratch: Path, max_log_bytes: int, max_dump_bytes: int) -> _Members:
    members = _Members()
    count = 0
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                count += 1
                if count > MAX_MEMBERS:
                    raise UnsafeArchive(f"archive has more than {MAX_MEMBERS} members")
                _check_member(member, max_dump_bytes)
                if not member.isfile():
                    continue  # directories are fine, their names were checked
                reader = archive.extractfile(member)
                if reader is None:
                    continue
                head = reader.read(SNIFF_BYTES)
                base = posixpath.basename(member.name)
                if dump_format(head):
                    target = scratch / f"member-{count}.dump"
                    members.dumps.append((base, target))
                elif base in _LOG_NAMES and looks_like_text(head):
                    if member.size > max_log_bytes:
                        raise InputTooLarge(f"{base} in the archive is over the log size limit")
                    target = scratch / f"member-{count}.log"
                    members.logs.setdefault(base, target)
                else:
                    continue
                with target.open("wb") as out:
                    out.write(head)
                    while chunk := reader.read(_CHUNK):
                        out.write(chunk)
    except tarfile.TarError as exc:
        raise UnsupportedFormat(f"tar archive is damaged: {exc}") from None
    except (OSError, EOFError) as exc:
        raise UnsupportedFormat(f"tar archive is damaged or truncated: {exc}") from None
    return members


def _check_member(member: tarfile.TarInfo, max_dump_bytes: int) -> None:
    name = member.name
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise UnsafeArchive(f"archive member {name!r} points outside the archive")
    if member.issym() or member.islnk():
        raise UnsafeArchive(f"archive member {name!r} is a link")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchive(f"archive member {name!r} is a device, FIFO or other special file")
    if member.size < 0 or member.size > max_dump_bytes:
        raise UnsafeArchive(f"archive member {name!r} claims an absurd size ({member.size} bytes)")
