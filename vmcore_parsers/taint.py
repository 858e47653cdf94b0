"""Kernel taint flags: the letters after `Tainted:` and what they mean.

The table follows the kernel's `Documentation/admin-guide/tainted-kernels.rst`. `G` is not a
taint: it is printed in the first column when no proprietary module is loaded (the opposite of
`P`), so it is left out of decoded flags.
"""

from __future__ import annotations

TAINT_FLAGS: dict[str, str] = {
    "P": "proprietary module was loaded",
    "F": "module was force loaded",
    "S": "kernel running on an out of specification system",
    "R": "module was force unloaded",
    "M": "processor reported a Machine Check Exception (MCE)",
    "B": "bad page referenced or some unexpected page flags",
    "U": "taint requested by userspace application",
    "D": "kernel died recently, i.e. there was an OOPS or BUG",
    "A": "an ACPI table was overridden by user",
    "W": "kernel issued warning",
    "C": "staging driver was loaded",
    "I": "workaround for bug in platform firmware applied",
    "O": "externally-built (out-of-tree) module was loaded",
    "E": "unsigned module was loaded",
    "L": "soft lockup occurred",
    "K": "kernel has been live patched",
    "X": "auxiliary taint, defined for and used by distros",
    "T": "kernel was built with the struct randomization plugin",
    "N": "an in-kernel test has been run",
    "J": "userspace used a mutating debug operation in fs/debugfs",
}


def taint_letters(flags: str) -> list[str]:
    """The taint letters present in `flags` (e.g. `'G        W  OE'` -> `['W', 'O', 'E']`).

    Keeps the kernel's order, drops `G` (not a taint), blanks and anything that is not an
    upper-case letter, and lists each letter once.
    """
    seen: list[str] = []
    for char in flags:
        if "A" <= char <= "Z" and char != "G" and char not in seen:
            seen.append(char)
    return seen


def decode_taint(flags: str) -> list[str]:
    """Human names for the taint letters in `flags`: `'POE'` -> `['P: proprietary module ...',
    'O: externally-built ...', 'E: unsigned module was loaded']`.

    Accepts the raw field as printed (`'G        W  OE'`); letters the table does not know are
    reported as `'<letter>: unknown taint flag'` rather than dropped. An untainted kernel (`''`
    or `'G'`) gives an empty list.
    """
    return [f"{c}: {TAINT_FLAGS.get(c, 'unknown taint flag')}" for c in taint_letters(flags)]
