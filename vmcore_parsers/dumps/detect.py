"""Tell what a file is from its first bytes: a text log, a crash dump, a wrapper or an archive.

The bytes decide, never the file name. Only the head of the file is looked at, so this is cheap
enough to run on every input before choosing a reader.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["log", "vmcore", "archive", "compressed", "unknown"]

# Bytes needed to recognise every format below (tar's magic sits at offset 257).
SNIFF_BYTES = 512

MAGIC_ELF = b"\x7fELF"
MAGIC_KDUMP = b"KDUMP   "
MAGIC_DISKDUMP = b"DISKDUMP"
MAGIC_FLATTENED = b"makedumpfile\x00"

COMPRESSION_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

DUMP_FORMATS: tuple[tuple[bytes, str], ...] = (
    (MAGIC_ELF, "elf"),
    (MAGIC_KDUMP, "kdump-compressed"),
    (MAGIC_DISKDUMP, "kdump-compressed"),
    (MAGIC_FLATTENED, "makedumpfile-flattened"),
)


def dump_format(head: bytes) -> str | None:
    """The dump format name for these first bytes, or None when they are not a dump."""
    for magic, name in DUMP_FORMATS:
        if head.startswith(magic):
            return name
    return None


def compression_of(head: bytes) -> str | None:
    """The wrapper compression ("gzip", "xz", "bzip2", "zstd"), or None when not compressed."""
    for magic, name in COMPRESSION_MAGICS:
        if head.startswith(magic):
            return name
    return None


def is_tar(head: bytes) -> bool:
    """True when the head is a POSIX/GNU tar header (magic "ustar" at offset 257)."""
    return len(head) >= 262 and head[257:262] == b"ustar"


def utf16_encoding(head: bytes) -> str | None:
    """ "utf-16" for UTF-16 text with a byte-order mark, "utf-16-le" for little-endian text
    without one (every other byte NUL: how Windows tools, PowerShell's `>` among them, save a
    log), else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 64 and sample[1::2].count(0) >= 0.9 * (len(sample) // 2):
        return "utf-16-le"
    return None


def looks_like_text(head: bytes) -> bool:
    """True when the head reads as text (control bytes other than white space are rare).

    UTF-16 text counts: it is judged on its decoded characters.
    """
    if not head:
        return False
    encoding = utf16_encoding(head)
    if encoding is not None:
        # An odd-length head cuts the last character in half; it is not evidence of binary.
        head = head[: len(head) - len(head) % 2].decode(encoding, errors="replace").encode()
    # Control bytes other than tab, LF, CR, ESC (ANSI colour) and backspace.
    allowed = {9, 10, 13, 27, 8}
    bad = sum(1 for byte in head if byte < 32 and byte not in allowed)
    if bad / len(head) > 0.05:
        return False
    # Invalid UTF-8 everywhere is binary; a few bad bytes are line noise.
    decoded = head.decode("utf-8", errors="replace")
    return decoded.count("\ufffd") / max(len(decoded), 1) <= 0.10


def sniff_kind(head: bytes) -> Kind:
    """Classify a file by its first bytes (at least SNIFF_BYTES of them when available).

    "log" is text, "vmcore" a crash dump, "archive" a tar, "compressed" a gzip/xz/bzip2/zstd
    wrapper whose content is not known yet, "unknown" anything else (binary or empty).
    """
    if dump_format(head):
        return "vmcore"
    if compression_of(head):
        return "compressed"
    if is_tar(head):
        return "archive"
    if looks_like_text(head):
        return "log"
    return "unknown"
