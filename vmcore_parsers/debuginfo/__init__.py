"""The "vmcore-debuginfo" evidence tier: what a dump says once the kernel's debug info is found.

`locate` finds vmlinux and module debug files by build id or release and checks the build id;
`drgn_reader` opens the dump with drgn and reads the evidence field by field; `crash_tool` is the
alternative source when the `crash` utility is installed; `evidence` holds the result and renders
it as kernel-log-like text the pure parser reads; `collect` ties them together.
"""

from vmcore_parsers.debuginfo.collect import collect_debuginfo_evidence
from vmcore_parsers.debuginfo.evidence import DebuginfoEvidence

__all__ = ["DebuginfoEvidence", "collect_debuginfo_evidence"]
