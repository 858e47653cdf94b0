"""`python -m vmcore_parsers.debuginfo DUMP [--debuginfo PATH] [--json]`: the tier on its own.

Prints the evidence as kernel-log-like sections (or, with --json, `DebuginfoEvidence.to_dict()`)
on stdout and the warnings on stderr. Exit status 0 when debug info added evidence, 1 when it
could not (the warnings say why), 2 on bad arguments. For trying the tier by hand and as a
child-process entry point; the CLI's `panicdx dmesg --debuginfo` is the user's way in.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vmcore_parsers.debuginfo.collect import collect_debuginfo_evidence


def main(argv: list[str] | None = None) -> int:
    """Run the tier on one dump; see the module docstring for output and exit status."""
    parser = argparse.ArgumentParser(prog="python -m vmcore_parsers.debuginfo")
    parser.add_argument("dump", type=Path, help="an uncompressed crash dump")
    parser.add_argument("--debuginfo", type=Path, help="a vmlinux with DWARF or a directory")
    parser.add_argument("--json", action="store_true", help="print the evidence as JSON")
    parser.add_argument("--no-crash", action="store_true", help="never fall back to crash")
    args = parser.parse_args(argv)
    if not args.dump.is_file():
        parser.error(f"{args.dump}: no such file")
    evidence = collect_debuginfo_evidence(
        args.dump, debuginfo=args.debuginfo, use_crash=not args.no_crash
    )
    for warning in evidence.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    sys.stdout.write(json.dumps(evidence.to_dict()) if args.json else evidence.text())
    sys.stdout.write("\n")
    return 0 if evidence.found_anything else 1


if __name__ == "__main__":
    sys.exit(main())
