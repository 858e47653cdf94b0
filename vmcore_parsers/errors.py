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
