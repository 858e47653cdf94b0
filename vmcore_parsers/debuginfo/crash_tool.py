"""The `crash` utility as an alternative source: one batch run of `sys`, `bt -l`, `log`, `ps`.

Used when drgn is missing or cannot read the dump and `crash` (Debian package `crash`) is
installed. The command line is an argument list built from paths only (never a shell), the
commands go in on stdin, and the run is bounded by a timeout. What crash prints is kept as text;
the panic message and the crashed task's `bt` are also read into fields, so the evidence has
the same shape whichever source produced it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from vmcore_parsers.debuginfo.evidence import DebuginfoEvidence, Frame, TaskStack

CRASH_COMMANDS = ("sys", "bt -l", "log", "ps", "quit")  # bt -l: each frame's file and line
DEFAULT_TIMEOUT = 60.0
MAX_OUTPUT_CHARS = 4 << 20

_PANIC = re.compile(r'^\s*PANIC: "(?P<message>.*)"\s*$', re.MULTILINE)
_BT_HEADER = re.compile(
    r'^PID: (?P<pid>\d+)\s+TASK: [0-9a-f]+\s+CPU: (?P<cpu>\d+)\s+COMMAND: "(?P<comm>[^"]*)"',
    re.MULTILINE,
)
_BT_FRAME = re.compile(
    r"^\s*#\d+ \[[0-9a-f]+\] (?P<func>[\w.$]+) at (?P<addr>[0-9a-f]+)(?: \[(?P<mod>[\w-]+)\])?"
)
_TAINT = re.compile(r"Tainted: (?P<flags>[A-Z ]+?)\s+\d", re.MULTILINE)
_BT_SOURCE = re.compile(r"^\s+(?P<file>\S+): (?P<line>\d+)\s*$")
_BT_EXCEPTION = re.compile(r"^\s+\[exception RIP: (?P<func>[\w.$]+)(?:\+(?P<off>\d+))?\]")
_BT_RIP = re.compile(r"^\s+RIP: (?P<addr>[0-9a-f]+)\s")
_PS_HEADER = re.compile(r"^\s+PID\s+PPID\s")


def crash_binary() -> Path | None:
    """The `crash` executable on PATH, or None when it is not installed."""
    found = shutil.which("crash")
    return Path(found) if found else None


def run_crash(
    vmlinux: Path, dump: Path, timeout: float = DEFAULT_TIMEOUT, binary: Path | None = None
) -> DebuginfoEvidence:
    """Evidence from one batch run of crash on `dump` with `vmlinux`.

    Never raises: crash missing, failing or running past `timeout` seconds gives an evidence
    with no fields and a warning saying which.
    """
    evidence = DebuginfoEvidence(source="crash", vmlinux=vmlinux)
    binary = binary or crash_binary()
    if binary is None:
        evidence.warnings.append("the crash utility is not installed (Debian package crash)")
        return evidence
    script = "".join(f"{command}\n" for command in CRASH_COMMANDS)
    try:
        done = subprocess.run(
            [str(binary), "-s", "--no_scroll", str(vmlinux), str(dump)],
            input=script,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        evidence.warnings.append(f"crash did not finish within {timeout:g} s")
        return evidence
    except OSError as exc:
        evidence.warnings.append(f"crash could not run: {exc.strerror}")
        return evidence
    output = done.stdout[:MAX_OUTPUT_CHARS]
    if not _PANIC.search(output) and not _BT_HEADER.search(output):
        last = done.stderr.strip() or output.strip() or f"exit status {done.returncode}"
        evidence.warnings.append(f"crash could not read the dump: {last.splitlines()[-1]}")
        return evidence
    fill_from_crash_output(evidence, output)
    return evidence


def fill_from_crash_output(evidence: DebuginfoEvidence, output: str) -> None:
    """Read the panic message, taint and crashed task's stack out of crash's batch output.

    A piece that is not in the output stays None; the whole output is kept in `raw_text`.
    """
    evidence.raw_text = output.strip()
    panic = _PANIC.search(output)
    if panic:
        evidence.panic_message = panic["message"]
    taint = _TAINT.search(output)
    if taint:
        evidence.taint = taint["flags"].strip()
    header = _BT_HEADER.search(output)
    if header is None:
        evidence.warnings.append("crash printed no backtrace")
        return
    evidence.crashed_thread = TaskStack(
        pid=int(header["pid"]),
        comm=header["comm"],
        state=None,
        frames=_bt_frames(output[header.end() :].splitlines()[1:]),
        cpu=int(header["cpu"]),
    )


def _bt_frames(lines: list[str]) -> tuple[Frame, ...]:
    """The frames of one `bt -l` listing: frame lines, each optionally followed by its source
    line, and `[exception RIP: func+off]` blocks for the code that trapped."""
    frames: list[Frame] = []
    exception: re.Match[str] | None = None
    for line in lines:
        listing = line[:1].isspace() or line.startswith("#")
        if not line.strip() or not listing or _PS_HEADER.match(line):
            break  # the end of the listing: the next command's output begins
        if match := _BT_FRAME.match(line):
            frames.append(Frame(int(match["addr"], 16), match["func"], module=match["mod"]))
        elif (match := _BT_SOURCE.match(line)) and frames:
            last = frames[-1]
            frames[-1] = Frame(
                last.address,
                last.function,
                file=match["file"],
                line=int(match["line"]),
                module=last.module,
            )
        elif match := _BT_EXCEPTION.match(line):
            exception = match
        elif (match := _BT_RIP.match(line)) and exception is not None:
            offset = int(exception["off"]) if exception["off"] else None
            frames.append(Frame(int(match["addr"], 16), exception["func"], offset=offset))
            exception = None
    return tuple(frames)
