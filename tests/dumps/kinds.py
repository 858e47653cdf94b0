"""The crash kinds the fixture guest can be told to perform, and what each should diagnose as.

One row per kind: how the guest's /init crashes the kernel (a shell action or the crash
module's `kind=` parameter), the kernel command-line settings that turn that failure into a
panic, and the taxonomy category (knowledge_base/taxonomy.yaml) a correct diagnosis names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What crashes the guest: /init writes c to /proc/sysrq-trigger ("sysrq"), fills a ramfs until
# the OOM killer runs ("oom"), loads the crash module with kind=<name> ("module"), or says it is
# ready and the host injects an NMI over QMP ("host-nmi").
Trigger = Literal["sysrq", "oom", "module", "host-nmi"]


@dataclass(frozen=True)
class CrashKind:
    """One way to crash the guest kernel."""

    name: str
    trigger: Trigger
    cmdline: tuple[str, ...]
    category: str
    in_default_set: bool
    description: str
    # Text the dumped kernel log must contain: proof the guest panicked for the intended reason.
    log_evidence: str


# Every boot gets these: oopses panic (an oops in process context would otherwise only kill
# the task), no reboot after the panic (QEMU pauses the guest on pvpanic anyway), and no RCU
# stall reports: an emulated vCPU starved by a busy host sees its clock jump and reports
# stalls that have nothing to do with the crash under test (seen on a loaded build machine).
COMMON_CMDLINE: tuple[str, ...] = ("oops=panic", "panic=0", "rcupdate.rcu_cpu_stall_suppress=1")

# Failure messages a fixture's log must not show unless its kind causes them (marker -> the
# kinds that may print it): another failure first would make the expected category wrong.
FAILURE_MARKERS: dict[str, frozenset[str]] = {
    "self-detected stall": frozenset(),
    "detected stalls on CPUs": frozenset(),
    "kthread starved for": frozenset(),
    "BUG: soft lockup": frozenset({"soft-lockup"}),
    "blocked for more than": frozenset({"hung-task"}),
    "invoked oom-killer": frozenset({"oom"}),
    "WARNING: CPU:": frozenset({"warning"}),
}

KINDS: tuple[CrashKind, ...] = (
    CrashKind(
        name="sysrq",
        trigger="sysrq",
        cmdline=(),
        category="manual-crash",
        in_default_set=True,
        description="echo c > /proc/sysrq-trigger",
        log_evidence="Kernel panic - not syncing: sysrq triggered crash",
    ),
    CrashKind(
        name="null-deref",
        trigger="module",
        cmdline=(),
        category="null-deref",
        in_default_set=True,
        description="a write through a NULL pointer in a module",
        log_evidence="BUG: kernel NULL pointer dereference",
    ),
    CrashKind(
        name="bug",
        trigger="module",
        cmdline=(),
        category="assertion",
        in_default_set=True,
        description="BUG() in a module",
        log_evidence="kernel BUG at ",
    ),
    CrashKind(
        name="oom",
        trigger="oom",
        cmdline=("sysctl.vm.panic_on_oom=1",),
        category="oom",
        in_default_set=True,
        description="a ramfs filled until the OOM killer runs, with vm.panic_on_oom=1",
        log_evidence="Kernel panic - not syncing: Out of memory",
    ),
    CrashKind(
        name="hung-task",
        trigger="module",
        cmdline=("sysctl.kernel.hung_task_panic=1", "sysctl.kernel.hung_task_timeout_secs=10"),
        category="hung-task",
        in_default_set=True,
        description="a kernel thread blocked forever in mutex_lock (D state)",
        log_evidence="INFO: task panicdx_hung:",
    ),
    CrashKind(
        name="warning",
        trigger="module",
        cmdline=("panic_on_warn=1",),
        category="warning",
        in_default_set=False,
        description="WARN() in a module, with panic_on_warn=1",
        log_evidence="WARNING: CPU: ",
    ),
    CrashKind(
        name="divide-error",
        trigger="module",
        cmdline=(),
        category="divide-error",
        in_default_set=False,
        description="an integer division by zero in a module",
        log_evidence="divide error: 0000",
    ),
    CrashKind(
        name="list-corruption",
        trigger="module",
        cmdline=(),
        category="memory-corruption",
        in_default_set=False,
        description="list_del() twice on one entry (Debian builds with CONFIG_DEBUG_LIST=y)",
        log_evidence="list_del corruption",
    ),
    CrashKind(
        name="bad-access",
        trigger="module",
        cmdline=(),
        category="bad-access",
        in_default_set=False,
        description="a write through a non-canonical pointer (general protection fault)",
        log_evidence="general protection fault",
    ),
    CrashKind(
        name="nmi",
        trigger="host-nmi",
        cmdline=("unknown_nmi_panic=1",),
        category="nmi",
        in_default_set=False,
        description="an NMI injected by the host (QMP inject-nmi), with unknown_nmi_panic=1",
        log_evidence="NMI received for unknown reason",
    ),
    CrashKind(
        name="soft-lockup",
        trigger="module",
        cmdline=("softlockup_panic=1", "watchdog_thresh=5"),
        category="soft-lockup",
        in_default_set=False,
        description="a kernel thread spinning with preemption disabled",
        log_evidence="BUG: soft lockup - CPU#0 stuck for",
    ),
)

KINDS_BY_NAME: dict[str, CrashKind] = {kind.name: kind for kind in KINDS}
DEFAULT_KINDS: tuple[str, ...] = tuple(kind.name for kind in KINDS if kind.in_default_set)
ALL_KINDS: tuple[str, ...] = tuple(KINDS_BY_NAME)


def kernel_cmdline(kind: CrashKind) -> str:
    """The whole guest kernel command line for `kind` (console on the first serial port)."""
    words = (
        "console=ttyS0",
        "rdinit=/init",
        *COMMON_CMDLINE,
        *kind.cmdline,
        # Undotted unknown parameters reach /init as environment variables.
        f"panicdx_trigger={kind.trigger}",
        f"panicdx_kind={kind.name}",
    )
    return " ".join(words)


def foreign_failures(kind: CrashKind, log: str) -> list[str]:
    """FAILURE_MARKERS found in `log` that `kind` does not cause ([] for a clean fixture)."""
    return [
        marker
        for marker, kinds in FAILURE_MARKERS.items()
        if kind.name not in kinds and marker in log
    ]
