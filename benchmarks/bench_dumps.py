"""Benchmark reading crash dumps: `panicdx dmesg` and `panicdx diagnose` against makedumpfile.

Run: `.venv/bin/python benchmarks/bench_dumps.py [--dumps DIR ...] [--repeat N]`

For every dump file under the dump directories (default: the fixture cache the real-dump
builder fills, $PANICDX_DUMP_CACHE or ~/.cache/panicdx/dumps; files are recognised by their
content, not their names), each command runs as its own process, as a user runs it, and the
script reports the median wall time and the peak RSS of that process (from wait4):

- `panicdx dmesg FILE`: the kernel log out of the dump (the "first answer", no debuginfo);
- `extract`: the same extraction timed inside one warm process (interpreter start-up and
  imports excluded), i.e. what the reading itself costs;
- `panicdx diagnose --json FILE`: extraction in the sandbox, then parse, KB and model;
- with `--debuginfo DIR`, `panicdx dmesg --debuginfo DIR FILE`: the log plus drgn's report
  (tier "vmcore-debuginfo"), i.e. the time to the full answer;
- `makedumpfile --dump-dmesg FILE OUT`: the reference tool on the same file ("fails" when it
  cannot read that form, with its reason), and its time divided by `panicdx dmesg`'s.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PANICDX = Path(sys.executable).with_name("panicdx")
_EXTRACT_TIMER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from vmcore_parsers.extract import extract_file\n"
    "import vmcore_parsers.dumps.dmesg, vmcore_parsers.dumps.crashdir\n"
    "started = time.perf_counter()\n"
    "extract_file(Path(sys.argv[1]))\n"
    "print(time.perf_counter() - started)\n"
)


@dataclass
class Run:
    """One command's median wall time (s), peak RSS (MiB), and why it failed (None: it worked)."""

    seconds: float
    peak_mib: float
    failure: str | None = None


def measure(
    command: list[str],
    repeat: int,
    self_timed: bool = False,
    before: Callable[[], object] | None = None,
) -> Run:
    """Median wall time and largest peak RSS of `repeat` runs; wait4 gives the child's RSS.

    `self_timed` commands print their own time as their last line, which replaces the wall
    time.
    """
    times: list[float] = []
    peaks: list[float] = []
    for _ in range(repeat):
        if before is not None:
            before()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            pid = os.posix_spawn(
                command[0],
                command,
                dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                    (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
                ],
            )
            _, status, usage = os.wait4(pid, 0)
            elapsed = time.perf_counter() - started
            code = os.waitstatus_to_exitcode(status)
            peak = usage.ru_maxrss / 1024
            if code != 0:
                err.seek(0)
                lines = err.read().decode("utf-8", "replace").strip().splitlines()
                return Run(elapsed, peak, lines[-1] if lines else f"exit {code}")
            if self_timed:
                out.seek(0)
                elapsed = float(out.read().decode().strip().splitlines()[-1])
        times.append(elapsed)
        peaks.append(peak)
    return Run(statistics.median(times), max(peaks))


def find_dumps(roots: list[Path]) -> list[Path]:
    """Every file under `roots` whose (decompressed) first bytes are a crash dump."""
    from vmcore_parsers.dumps.detect import compression_of, dump_format
    from vmcore_parsers.dumps.wrappers import peek_decompressed

    found = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                with path.open("rb") as handle:
                    head = handle.read(64)
                wrapper = compression_of(head)
                if wrapper:  # a compressed dump counts too: what is inside decides
                    head = peek_decompressed(path, wrapper, 64) or b""
                # An ELF file is a dump only when it is a core (e_type 4), not an object.
                is_core = not head.startswith(b"\x7fELF") or head[16:18] == b"\x04\x00"
                if dump_format(head) and is_core:
                    found.append(path)
    return found


def default_roots() -> list[Path]:
    """The fixture cache of real dumps."""
    override = os.environ.get("PANICDX_DUMP_CACHE")
    return [Path(override) if override else Path.home() / ".cache" / "panicdx" / "dumps"]


def _cell(run: Run) -> str:
    if run.failure:
        return f"fails ({run.failure[:60]})"
    return f"{run.seconds:.2f} s / {run.peak_mib:.0f} MB"


def main() -> None:
    """Measure every dump and print one Markdown table row per dump file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dumps", type=Path, action="append", help="directory of dumps")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median)")
    parser.add_argument("--no-diagnose", action="store_true", help="skip `panicdx diagnose`")
    parser.add_argument(
        "--debuginfo",
        type=Path,
        help="debug-info directory: also time `panicdx dmesg --deep` (drgn, full answer)",
    )
    args = parser.parse_args()
    dumps = find_dumps(args.dumps or default_roots())
    if not dumps:
        sys.exit("no dumps found: build them with `python -m tests.dumps.build_dumps`")
    makedumpfile = shutil.which("makedumpfile")
    deep_column = " panicdx dmesg --deep |" if args.debuginfo else ""
    print(
        "| dump | size | panicdx dmesg | extract (warm) | panicdx diagnose |"
        f"{deep_column} makedumpfile --dump-dmesg | panicdx / makedumpfile |"
    )
    print("|---|---|---|---|---|" + ("---|" if args.debuginfo else "") + "---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for path in dumps:
            if not path.is_file():  # a fixture rebuild replaced it while this ran
                print(f"| {path} | vanished while measuring | | | | | |", flush=True)
                continue
            dmesg = measure([str(PANICDX), "dmesg", str(path)], args.repeat)
            warm = measure(
                [sys.executable, "-c", _EXTRACT_TIMER, str(path)], args.repeat, self_timed=True
            )
            diagnose = (
                Run(0.0, 0.0, "skipped")
                if args.no_diagnose
                else measure([str(PANICDX), "diagnose", "--json", str(path)], args.repeat)
            )
            deep_cell = ""
            if args.debuginfo:
                deep = measure(
                    [str(PANICDX), "dmesg", "--debuginfo", str(args.debuginfo), str(path)],
                    args.repeat,
                )
                deep_cell = f" {_cell(deep)} |"
            if makedumpfile:
                out = Path(scratch) / "dmesg.txt"
                reference = measure(
                    [makedumpfile, "--dump-dmesg", str(path), str(out)],
                    args.repeat,
                    before=functools.partial(out.unlink, missing_ok=True),  # no overwriting
                )
            else:
                reference = Run(0.0, 0.0, "makedumpfile is not installed")
            ratio = (
                f"{dmesg.seconds / reference.seconds:.0f}x"
                if not (reference.failure or dmesg.failure)
                else "-"
            )
            name = f"{path.parent.name}/{path.name}"
            size = f"{path.stat().st_size / (1 << 20):,.0f} MiB"
            print(
                f"| {name} | {size} | {_cell(dmesg)} | {warm.seconds * 1000:.0f} ms "
                f"| {_cell(diagnose)} |{deep_cell} {_cell(reference)} | {ratio} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
