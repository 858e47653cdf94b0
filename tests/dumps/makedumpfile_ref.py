"""Run makedumpfile: the dump forms it writes, and the reference kernel log (`--dump-dmesg`).

makedumpfile is the reference the readers are held to: `panicdx dmesg` must print what
`makedumpfile --dump-dmesg` prints, line for line.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

MAKEDUMPFILE_TIMEOUT_S = 600


@dataclass(frozen=True)
class MakedumpfileResult:
    """One makedumpfile run: whether it worked and what it said."""

    ok: bool
    messages: str  # stdout and stderr together, as makedumpfile interleaves them


# The dump forms made from the (header-repaired) ELF dump: form name -> makedumpfile options.
# Dump level 31 drops zero, cache, user and free pages, as most kdump set-ups do. Debian's
# makedumpfile 1.7.2 is built with lzo but without snappy and zstd (-p and -z silently write
# uncompressed pages), so those two are not made.
MAKEDUMPFILE_FORMS: dict[str, tuple[str, ...]] = {
    "makedumpfile-c-d31": ("-c", "-d", "31"),  # kdump-compressed, zlib pages
    "makedumpfile-l-d31": ("-l", "-d", "31"),  # kdump-compressed, lzo pages
    "makedumpfile-E-d31": ("-E", "-d", "31"),  # filtered ELF, written by makedumpfile
    "makedumpfile-F-c-d31": ("-F", "-c", "-d", "31"),  # flattened stream (kdump over ssh)
}
# Forms makedumpfile --dump-dmesg can read back directly (a flattened stream needs -R first).
MAKEDUMPFILE_READABLE: frozenset[str] = frozenset(
    form for form, options in MAKEDUMPFILE_FORMS.items() if "-F" not in options
)


def _run(
    makedumpfile: Path, arguments: list[str], stdout_to: Path | None = None
) -> MakedumpfileResult:
    # --message-level 6: common and error messages, without the progress bar.
    command = [str(makedumpfile), "--message-level", "6", *arguments]
    if stdout_to is None:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=MAKEDUMPFILE_TIMEOUT_S,
            check=False,
        )
        messages = (completed.stdout + completed.stderr).strip()
    else:
        with stdout_to.open("wb") as out:
            completed = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                timeout=MAKEDUMPFILE_TIMEOUT_S,
                check=False,
            )
        messages = (completed.stderr or "").strip()
    return MakedumpfileResult(completed.returncode == 0, messages)


def convert(makedumpfile: Path, elf_dump: Path, output: Path, form: str) -> MakedumpfileResult:
    """Write `output` as makedumpfile's `form` (a MAKEDUMPFILE_FORMS key) of `elf_dump`."""
    options = list(MAKEDUMPFILE_FORMS[form])
    output.unlink(missing_ok=True)
    if "-F" in options:
        # A flattened stream goes to standard output, as `makedumpfile -F ... | ssh ...` does.
        return _run(makedumpfile, [*options, str(elf_dump)], stdout_to=output)
    return _run(makedumpfile, [*options, str(elf_dump), str(output)])


def dump_dmesg(makedumpfile: Path, dump: Path, output: Path) -> MakedumpfileResult:
    """Write the kernel log in `dump` to `output` with `makedumpfile --dump-dmesg`."""
    output.unlink(missing_ok=True)
    return _run(makedumpfile, ["--dump-dmesg", str(dump), str(output)])


def rearrange_flattened(makedumpfile: Path, flattened: Path, output: Path) -> MakedumpfileResult:
    """Turn a flattened stream into a kdump-compressed file (`makedumpfile -R output < in`)."""
    output.unlink(missing_ok=True)
    with flattened.open("rb") as stream:
        completed = subprocess.run(
            [str(makedumpfile), "--message-level", "6", "-R", str(output)],
            stdin=stream,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=MAKEDUMPFILE_TIMEOUT_S,
            check=False,
        )
    return MakedumpfileResult(
        completed.returncode == 0, (completed.stdout + completed.stderr).strip()
    )
