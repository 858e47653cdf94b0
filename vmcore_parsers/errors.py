"""The project's own exception types for inputs that cannot be used at all.

Parsing a damaged log never raises (it returns a report marked corrupted); these are for inputs
that are not logs or dumps panicdx can read. Each carries a stable machine-readable `code`.
"""

from __future__ import annotations


class InputError(Exception):
    """An input panicdx cannot use; `code` is stable and machine-readable."""

    code = "invalid_input"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyInput(InputError):
    """The input holds no bytes (or only white space)."""

    code = "empty_input"


class InputTooLarge(InputError):
    """The input is larger than the configured limit."""

    code = "input_too_large"


class UnsupportedFormat(InputError):
    """The input is neither a text log nor a dump format panicdx reads."""

    code = "unsupported_format"


class NotAFile(InputError):
    """The path names a directory, a device or nothing at all."""

    code = "not_a_file"


class DumpCorrupt(InputError):
    """A crash dump whose structures contradict themselves (bad offsets, loops, absurd sizes)."""

    code = "dump_corrupt"


class DumpTruncated(InputError):
    """A crash dump that ends before the data its headers promise."""

    code = "dump_truncated"


class VmcoreinfoMissing(InputError):
    """A crash dump from which the VMCOREINFO facts needed to find the kernel log are absent."""

    code = "vmcoreinfo_missing"


class UnsupportedArchitecture(InputError):
    """A crash dump of an architecture whose page tables panicdx cannot walk."""

    code = "unsupported_architecture"


class UnsafeArchive(InputError):
    """An archive with members that escape its directory, links, devices or absurd sizes."""

    code = "unsafe_archive"


class ExtractionTimeout(InputError):
    """Reading the dump took longer than its CPU or wall-clock limit."""

    code = "extraction_timeout"


class ExtractionOutOfMemory(InputError):
    """Reading the dump needed more memory than its limit."""

    code = "extraction_out_of_memory"


class ExtractionFailed(InputError):
    """The extraction subprocess died without saying why (a bug, not a property of the input)."""

    code = "extraction_failed"
