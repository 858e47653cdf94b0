"""Benchmark the "vmcore-debuginfo" tier: time to the full answer with debug info present.

Run: `.venv/bin/python benchmarks/bench_debuginfo.py [--debuginfo DIR] [--kinds sysrq,sysrq-4G]
[--forms vmcore.elf,...] [--repeat N]`

For each dump, one fresh process (interpreter start-up and imports included, as a user
experiences it) does the whole job: the kernel log without debug info
(`vmcore_parsers.extract.extract_file`), the debug-info evidence with drgn
(`collect_debuginfo_evidence`: VMCOREINFO, locating and checking vmlinux, opening the dump,
loading DWARF, reading every field), and the parse of log plus evidence text. The script prints
the median wall time of that process, the evidence step alone (timed inside it), and the peak
RSS of the process (from wait4). Goal (issue 3 §6): under 10 s per dump.

Debug info: `--debuginfo DIR` (a vmlinux or directory), default the dump fixtures' tree
(`<dump cache>/<release>/debuginfo`, filled by `python -m tests.dumps.build_dumps --debuginfo`)
or the store scripts/install-debuginfo.sh fills.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RELEASE = "6.1.0-56-cloud-amd64"
DEFAULT_KINDS = ("sysrq", "hung-task", "sysrq-4G")
DEFAULT_FORMS = ("vmcore.elf", "vmcore.kdump-zlib", "vmcore.makedumpfile-c-d31")
_CHILD = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from vmcore_parsers.debuginfo import collect_debuginfo_evidence
from vmcore_parsers.extract import extract_file
from vmcore_parsers.parse import parse_log
dump, debuginfo = Path(sys.argv[1]), Path(sys.argv[2])
log = extract_file(dump)
before = time.perf_counter()
evidence = collect_debuginfo_evidence(dump, debuginfo=debuginfo, use_crash=False)
after = time.perf_counter()
report = parse_log(log.text + "\\n" + evidence.text())
print(json.dumps({
    "evidence_s": after - before,
    "inside_s": time.perf_counter() - started,
    "source": evidence.source,
    "fields": [title for title, _ in evidence.text_sections()],
    "title": report.title if report else None,
}))
"""


def default_debuginfo(cache: Path) -> Path:
    """The fixtures' debug tree when present, else the install-debuginfo.sh store."""
    fixtures = cache / RELEASE / "debuginfo"
    if (fixtures / "usr/lib/debug/boot" / f"vmlinux-{RELEASE}").is_file():
        return fixtures
    store = os.environ.get("PANICDX_DEBUGINFO_DIR") or str(Path.home() / ".cache/panicdx/debuginfo")
    return Path(store)


def run_once(dump: Path, debuginfo: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, peak RSS in MiB and the child's own figures for one full answer."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(dump), str(debuginfo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # libkdumpfile's notes about flattened files
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{dump}: the benchmark child failed ({process.returncode})")
    return wall, usage.ru_maxrss / 1024, json.loads(output)


def main() -> int:
    """Print one line per dump: full-answer time, evidence step time, peak RSS, fields read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("PANICDX_DUMP_CACHE") or Path.home() / ".cache/panicdx/dumps")
    parser.add_argument("--debuginfo", type=Path, default=None)
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS))
    parser.add_argument("--forms", default=",".join(DEFAULT_FORMS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    debuginfo = args.debuginfo or default_debuginfo(cache)
    print(f"debuginfo: {debuginfo}   load average: {os.getloadavg()[0]:.1f}")
    header = f"{'dump':44} {'full answer s':>13} {'evidence s':>10} {'peak MiB':>8}  fields"
    print(header)
    for kind in args.kinds.split(","):
        for form in args.forms.split(","):
            dump = cache / RELEASE / kind / form
            if not dump.is_file():
                print(f"{kind}/{form:38} missing")
                continue
            runs = [run_once(dump, debuginfo) for _ in range(args.repeat)]
            wall = statistics.median(run[0] for run in runs)
            peak = max(run[1] for run in runs)
            evidence = statistics.median(float(run[2]["evidence_s"]) for run in runs)
            info = runs[-1][2]
            fields = ",".join(str(field) for field in info["fields"])
            size = dump.stat().st_size / (1 << 20)
            name = f"{kind}/{form} ({size:,.0f} MB)"
            print(
                f"{name:44} {wall:13.2f} {evidence:10.2f} {peak:8.0f}  {info['source']}: {fields}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
