"""The debug-info tier's entry point: from a dump path to `DebuginfoEvidence`, never raising.

Steps: read the dump's kernel release and build id (VMCOREINFO, via the dump readers), locate
matching debug info, read the evidence with drgn; when drgn is missing or cannot read the
dump, fall back to the `crash` utility if it is installed. Every way this falls short is a
warning in the result, so a caller can always attach what it got.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from vmcore_parsers.debuginfo.buildid import DumpIdentity, dump_identity
from vmcore_parsers.debuginfo.crash_tool import DEFAULT_TIMEOUT, crash_binary, run_crash
from vmcore_parsers.debuginfo.evidence import DebuginfoEvidence
from vmcore_parsers.debuginfo.locate import (
    DebuginfoFiles,
    configured_store,
    debuginfod_configured,
    locate_debuginfo,
)
from vmcore_parsers.errors import InputError


def collect_debuginfo_evidence(
    dump: Path,
    *,
    debuginfo: Path | None = None,
    identity: DumpIdentity | None = None,
    scratch: Path | None = None,
    use_crash: bool = True,
    crash_timeout: float = DEFAULT_TIMEOUT,
) -> DebuginfoEvidence:
    """What debug info adds for the dump at `dump` (an uncompressed dump file).

    `debuginfo` is an explicit vmlinux or directory (`--debuginfo`); the store in
    $PANICDX_DEBUGINFO_DIR, the distribution paths and debuginfod ($DEBUGINFOD_URLS) are
    searched too. `identity` saves re-reading VMCOREINFO when the caller already has it.
    `scratch` is a directory for a converted copy of the dump when drgn cannot open its form
    (default: a temporary directory removed on return). `source` of the result is "drgn",
    "crash", or "none" when nothing could be read (see `warnings`).
    """
    if identity is None:
        try:
            identity = dump_identity(dump)
        except InputError as exc:
            return _nothing(None, f"debug info not used: {exc.message}")
    found = locate_debuginfo(
        identity.release, identity.build_id, explicit=debuginfo, store=configured_store()
    )
    warnings = list(found.warnings)
    if found.files is None and not debuginfod_configured():
        release = identity.release or "(unknown release)"
        build = f" build id {identity.build_id}" if identity.build_id else ""
        warnings.append(
            f"no debug info for kernel {release}{build}: pass --debuginfo, set "
            "PANICDX_DEBUGINFO_DIR or DEBUGINFOD_URLS, or install the kernel's -dbg package"
        )
        return _nothing(identity, *warnings)
    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="panicdx-debuginfo-") as temporary:
            evidence = _with_drgn(dump, found.files, identity, Path(temporary), warnings)
    else:
        evidence = _with_drgn(dump, found.files, identity, scratch, warnings)
    if evidence.source == "none" and use_crash and found.files is not None and crash_binary():
        fallback = run_crash(found.files.vmlinux, dump, timeout=crash_timeout)
        fallback.kernel_release, fallback.build_id = identity.release, identity.build_id
        fallback.warnings[:0] = evidence.warnings
        return fallback
    return evidence


def _with_drgn(
    dump: Path,
    files: DebuginfoFiles | None,
    identity: DumpIdentity,
    scratch: Path,
    warnings: list[str],
) -> DebuginfoEvidence:
    try:
        import drgn  # noqa: F401
    except ImportError:
        return _nothing(
            identity, *warnings, "drgn is not installed (pip install 'panicdx[debuginfo]')"
        )
    from vmcore_parsers.debuginfo.drgn_reader import (
        DrgnUnavailable,
        load_debug_info,
        open_program,
        read_fields,
    )

    try:
        prog = open_program(dump, scratch, warnings)
        vmlinux = load_debug_info(prog, files, warnings)
    except DrgnUnavailable as exc:
        return _nothing(identity, *warnings, f"debug info not used: {exc}")
    evidence = DebuginfoEvidence(
        source="drgn",
        vmlinux=vmlinux,
        kernel_release=identity.release,
        build_id=identity.build_id,
        warnings=warnings,
    )
    read_fields(prog, evidence)
    return evidence


def _nothing(identity: DumpIdentity | None, *warnings: str) -> DebuginfoEvidence:
    return DebuginfoEvidence(
        source="none",
        kernel_release=identity.release if identity else None,
        build_id=identity.build_id if identity else None,
        warnings=list(warnings),
    )
