"""Realistic variations of one kernel log, deterministic from a seed.

A knowledge-base example is one capture of a crash; the same bug on another machine prints
the same crash lines with other incidental parts. `make_variant` produces such a capture:

* **incidental values change, consistently within the log**: kernel addresses (KASLR moves
  them), register values, PIDs, CPU numbers, sometimes the command name, the kernel release's
  build number (5.15.0-91-generic -> 5.15.0-97-generic), the printk timestamps;
* **the module list changes**: shuffled, trimmed, extended with common modules, but modules
  named anywhere else in the log (in a frame, a message) always stay;
* **the log shape changes**: raw dmesg, dmesg with printk caller ids, `<N>` level prefixes,
  journalctl short and short-iso, syslog, a serial console with CRLF and user-space noise, a
  pstore record, no prefix at all;
* **the surroundings change**: ordinary boot and runtime messages before the crash (and rarely
  a line from another CPU inside it), a duplicated line, the head cut off, the tail cut at a
  random point after the crash header.

What never changes: the text of the crash lines apart from the values above, their order,
and the crash header itself. Values that identify a bug are left alone on purpose: list and
slab poison values, NULL-plus-offset addresses, short numbers such as Xid codes or errnos.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from vmcore_parsers.logformat import normalize
from vmcore_parsers.parse import parse_log
from vmcore_parsers.report import LogLine

SHAPES: tuple[str, ...] = (
    "dmesg",
    "dmesg-caller",
    "level-prefix",
    "journalctl-short",
    "journalctl-short-iso",
    "syslog",
    "serial-console",
    "pstore",
    "plain",
)
# Raw dmesg is what people paste most; the other shapes share the rest.
_SHAPE_WEIGHTS = (4, 2, 1, 2, 1, 1, 2, 1, 1)

_HOSTS = ("db01", "web-7", "node-a12", "gpu-worker-3", "k8s-node-17", "build42", "localhost")
_COMMS = (
    "bash",
    "python3",
    "java",
    "postgres",
    "nginx",
    "containerd",
    "kubelet",
    "systemd-journal",
    "sshd",
    "rsync",
    "qemu-kvm",
    "dockerd",
)
_COMMON_MODULES = (
    "nf_tables",
    "nfnetlink",
    "ip_tables",
    "x_tables",
    "bridge",
    "stp",
    "llc",
    "overlay",
    "xt_conntrack",
    "nf_conntrack",
    "nf_defrag_ipv6",
    "nf_defrag_ipv4",
    "libcrc32c",
    "intel_rapl_msr",
    "intel_rapl_common",
    "kvm_intel",
    "kvm",
    "irqbypass",
    "crct10dif_pclmul",
    "crc32_pclmul",
    "ghash_clmulni_intel",
    "sha512_ssse3",
    "aesni_intel",
    "crypto_simd",
    "cryptd",
    "rapl",
    "joydev",
    "input_leds",
    "serio_raw",
    "mac_hid",
    "sch_fq_codel",
    "dm_multipath",
    "scsi_dh_rdac",
    "msr",
    "efi_pstore",
    "drm",
    "autofs4",
    "btrfs",
    "raid10",
    "raid456",
    "xor",
    "raid6_pq",
    "virtio_net",
    "net_failover",
    "failover",
    "virtio_blk",
    "psmouse",
    "i2c_piix4",
    "pata_acpi",
    "floppy",
    "sunrpc",
    "loop",
    "fuse",
    "configfs",
    "ahci",
    "libahci",
    "e1000e",
    "igb",
    "dca",
    "i2c_algo_bit",
)

# Machines a crash can happen on; a variant sometimes moves the crash to another machine of
# the same architecture, so the model does not learn "this bug happens on a Dell R730".
_HARDWARE_X86: tuple[str, ...] = (
    "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
    "QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-2.el9 04/01/2014",
    "Dell Inc. PowerEdge R740/0DY2X0, BIOS 2.12.2 07/09/2021",
    "Dell Inc. PowerEdge R650/0Y2G81, BIOS 1.10.2 02/16/2023",
    "HPE ProLiant DL380 Gen10/ProLiant DL380 Gen10, BIOS U30 02/16/2023",
    "Supermicro SYS-2029P-C1R/X11DPi-N, BIOS 3.8a 09/21/2022",
    "VMware, Inc. VMware Virtual Platform/440BX Desktop Reference Platform, BIOS 6.00 11/12/2020",
    "Microsoft Corporation Virtual Machine/Virtual Machine, BIOS Hyper-V UEFI Release v4.1 "
    "05/09/2022",
    "Amazon EC2 m5.2xlarge/, BIOS 1.0 10/16/2017",
    "Google Google Compute Engine/Google Compute Engine, BIOS Google 06/07/2023",
    "Lenovo ThinkSystem SR650 -[7X06CTO1WW]-/-[7X06CTO1WW]-, BIOS -[IVE164M-2.80]- 10/25/2021",
    "Xen HVM domU, BIOS 4.11.amazon 08/24/2006",
)
_HARDWARE_ARM64: tuple[str, ...] = (
    "linux,dummy-virt (DT)",
    "QEMU KVM Virtual Machine, BIOS 0.0.0 02/06/2015",
    "Amazon EC2 m6g.xlarge/, BIOS 1.0 11/1/2018",
    "Amazon EC2 c7g.2xlarge/, BIOS 1.0 11/1/2018",
    "WIWYNN Mt.Jade Server System B81.03001.0005/Mt.Jade Motherboard, BIOS 2.04.20220705 (SCP: "
    "2.04.20220705) 2022/07/05",
    "Raspberry Pi 4 Model B Rev 1.4 (DT)",
)
_HARDWARE = re.compile(r"^(\s*Hardware name: )(.+)$")
_ARM64_HINT = re.compile(r"^\s*(?:pc : |lr : |Internal error: |pstate: )")
# Share of variants whose machine changes: most keep it, since a few bugs are specific to
# one platform (a hypervisor, a server's watchdog) and the model must still see that.
_HARDWARE_SWAP = 0.35

# Ordinary kernel messages of a running machine. None of them is a crash, an error or a
# warning the parser treats as an event, so adding them cannot change the right answer.
# `{n}`, `{h}`, `{d}` are filled with a small number, a hex id and a device name.
NOISE_LINES: tuple[str, ...] = (
    "ACPI: PCI Interrupt Link [LNKC] enabled at IRQ {n}",
    "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: None",
    "EXT4-fs ({d}): mounted filesystem with ordered data mode. Quota mode: none.",
    "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
    "nvme nvme0: {n}/0/0 default/read/poll queues",
    "usb 1-{n}: new high-speed USB device number {n} using xhci_hcd",
    "usb 1-{n}: New USB device found, idVendor=0781, idProduct=5581, bcdDevice= 1.00",
    "Adding 8388604k swap on /dev/sda2.  Priority:-2 extents:1 across:8388604k SS",
    "random: crng init done",
    "systemd[1]: Started Journal Service.",
    "systemd[1]: Mounted Huge Pages File System.",
    'audit: type=1400 audit({n}.{n}:{n}): apparmor="STATUS" operation="profile_load"',
    "audit: type=1130 audit({n}.{n}:{n}): pid=1 uid=0 auid=4294967295 ses=4294967295 "
    "msg='unit=systemd-tmpfiles-setup comm=\"systemd\" res=success'",
    "br0: port {n}(veth{h}) entered forwarding state",
    "br0: port {n}(veth{h}) entered blocking state",
    "docker0: port {n}(veth{h}) entered disabled state",
    "device veth{h} entered promiscuous mode",
    "IPVS: Registered protocols (TCP, UDP, SCTP, AH, ESP)",
    "bpfilter: Loaded bpfilter_umh pid {n}",
    "NET: Registered PF_ALG protocol family",
    "Bluetooth: Core ver 2.22",
    "input: Power Button as /devices/LNXSYSTM:00/LNXPWRBN:00/input/input{n}",
    "sd 0:0:0:0: [{d}] Attached SCSI disk",
    "sd 0:0:0:0: [{d}] 4096-byte physical blocks",
    "XFS ({d}): Mounting V5 Filesystem",
    "XFS ({d}): Ending clean mount",
    "EXT4-fs ({d}): re-mounted. Quota mode: none.",
    "loop{n}: detected capacity change from 0 to {n}",
    "virtio_net virtio0 ens3: renamed from eth0",
    "mlx5_core 0000:3b:00.{n}: Port module event: module {n}, Cable plugged",
    "igb 0000:02:00.{n} eno{n}: igb: eno{n} NIC Link is Up 1000 Mbps Full Duplex",
    "perf: interrupt took too long ({n} > {n}), lowering kernel.perf_event_max_sample_rate",
    "TCP: request_sock_TCP: Possible SYN flooding on port {n}. Sending cookies.",
    "nf_conntrack: default automatic helper assignment has been turned off for security",
    "kauditd_printk_skb: {n} callbacks suppressed",
    "process '/usr/bin/fstype' started with executable stack",
    "Initializing XFRM netlink socket",
    "new mount options do not match the existing superblock, will be ignored",
    "clocksource: Switched to clocksource tsc",
    "tsc: Refined TSC clocksource calibration: 2394.{n} MHz",
    "fbcon: Taking over console",
    "NFSD: Using UMH upcall client tracking operations.",
    "RPC: Registered tcp transport module.",
    "cgroup: cgroup: disabling cgroup2 socket matching due to net_prio or net_cls activation",
    "overlayfs: upper fs does not support tmpfile.",
    "xt_addrtype: ipv6 does not support BROADCAST matching",
    "Bridge firewalling registered",
    "wireguard: WireGuard 1.0.0 loaded. See www.wireguard.com for information.",
    "ena 0000:00:05.0: Elastic Network Adapter (ENA) found at mem febf8000",
    "hv_balloon: Max. dynamic memory size: {n} MB",
)

# What user space prints on a serial console around kernel messages.
_CONSOLE_NOISE: tuple[str, ...] = (
    "[  OK  ] Started Daily apt download activities.",
    "[  OK  ] Reached target Multi-User System.",
    "[  OK  ] Started OpenBSD Secure Shell server.",
    "         Starting Update UTMP about System Runlevel Changes...",
    "Ubuntu 22.04.3 LTS {host} ttyS0",
    "{host} login: ",
    "root@{host}:~# ",
    "Debian GNU/Linux 12 {host} ttyS0",
)
# What other programs write to the journal or syslog around kernel lines.
_USERSPACE_NOISE: tuple[str, ...] = (
    "systemd[1]: Started Session {n} of User root.",
    "sshd[{pid}]: Accepted publickey for deploy from 10.0.{n}.{n} port {pid} ssh2",
    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "systemd-logind[{pid}]: New session {n} of user deploy.",
    'containerd[{pid}]: time="2026-11-23T09:12:01Z" level=info msg="shim disconnected"',
    "kubelet[{pid}]: I1123 09:12:01.{pid} {pid} kubelet.go:2144] SyncLoop (PLEG)",
)

# Lines that start a crash: used to find the header when the parser did not say where it is.
_CRASH_HEADER = re.compile(
    r"BUG: |Oops|general protection fault|Kernel panic|WARNING: CPU|kernel BUG at|"
    r"INFO: task .* blocked|watchdog: |NMI watchdog|rcu: INFO|INFO: rcu|Out of memory|"
    r"Unable to handle kernel|Internal error:|invalid opcode|divide error|"
    r"list_(?:add|del) corruption|Machine check|mce: \[Hardware Error\]|"
    r"unable to handle|stack-protector|double fault|segfault|EXT4-fs error|XFS .*: "
    r"(?:Internal error|Corruption)|NVRM: Xid"
)

_HEX_LONG = re.compile(r"(?<![0-9A-Za-z_])(0x)?([0-9a-f]{8,16})(?![0-9A-Za-z_])")
_PID = re.compile(r"\b(PID: |pid: ?|pid=|pid |Pid: |tgid: ?)(\d+)")
_CPU = re.compile(r"\b(CPU: |CPU#|CPU |cpu |on CPU |cpu=)(\d+)")
_COMM = re.compile(r"\b(Comm: |comm: |comm=\"?)([^\s\"]+)")
_RELEASE = re.compile(r"\b([2-7]\.\d{1,2}\.)(\d{1,3})(-)(\d+)([\w.+~-]*)")
_MODULES = re.compile(r"^(\s*Modules linked in:)(.*)$")
_WORD = re.compile(r"[A-Za-z0-9_]+")


@dataclass
class VariantInfo:
    """What `make_variant` did, stored with each corpus sample for inspection."""

    shape: str
    noise_lines: int = 0
    inside_noise: int = 0
    duplicated: int = 0
    head_cut: int = 0
    tail_cut: int = 0
    comm_changed: bool = False
    hardware_changed: bool = False
    modules: str = "kept"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class _Rewriter:
    """Consistent replacements for one variant: one old value always maps to one new value."""

    rng: random.Random
    change_comm: bool
    maps: dict[str, dict[str, str]] = field(default_factory=dict)

    def _remember(self, kind: str, old: str, make: Callable[[], str]) -> str:
        table = self.maps.setdefault(kind, {})
        if old not in table:
            table[old] = make()
        return table[old]

    def hex_value(self, match: re.Match[str]) -> str:
        prefix, digits = match.group(1) or "", match.group(2)
        if (
            digits.startswith("dead0000")
            or "6b6b6b6b" in digits
            or "a5a5a5a5" in digits
            or "5a5a5a5a" in digits
            or set(digits) <= {"0", "f"}
            or (len(digits) >= 12 and set(digits[:-4]) == {"0"})
            or (len(digits) < 16 and digits[0] == "0")
        ):
            # Poison, NULL+offset, all-ones: evidence. Short zero-padded values are flags and
            # error codes (EFLAGS 00010246, ESR 96000045): they belong to the crash too.
            return match.group(0)

        def make() -> str:
            if not prefix and digits.isdigit() and len(digits) < 16:
                # A long decimal (jiffies, a sequence number): another decimal of its width.
                return str(self.rng.randint(10 ** (len(digits) - 1), 10 ** len(digits) - 1))
            # Keep the high part (the address space region: direct map, vmalloc, module
            # text, user space) and move the low part, as KASLR and another run would.
            keep = max(len(digits) - 6, len(digits) // 2) if digits.startswith("ffff") else 0
            tail = "".join(self.rng.choice("0123456789abcdef") for _ in digits[keep:])
            return digits[:keep] + tail

        return prefix + self._remember("hex", digits, make)

    def pid(self, match: re.Match[str]) -> str:
        old = match.group(2)
        if old in ("0", "1", "2"):
            return match.group(0)  # swapper, init, kthreadd: their identity matters
        return match.group(1) + self._remember(
            "pid", old, lambda: str(self.rng.randint(3, 4_000_000))
        )

    def cpu(self, match: re.Match[str]) -> str:
        return match.group(1) + self._remember(
            "cpu", match.group(2), lambda: str(self.rng.randint(0, 63))
        )

    def comm(self, match: re.Match[str]) -> str:
        old = match.group(2)
        # Kernel threads and init are part of the story; other command names usually are not.
        if (
            not self.change_comm
            or old.startswith(("swapper", "kworker", "ksoftirqd", "kthread"))
            or old in ("init", "systemd")
        ):
            return match.group(0)
        return match.group(1) + self._remember("comm", old, lambda: self.rng.choice(_COMMS))

    def release(self, match: re.Match[str]) -> str:
        def make() -> str:
            sub = int(match.group(2))
            build = int(match.group(4))
            new_build = max(1, build + self.rng.randint(-15, 15))
            return f"{match.group(1)}{sub}{match.group(3)}{new_build}{match.group(5)}"

        return self._remember("release", match.group(0), make)

    def line(self, text: str) -> str:
        text = _HEX_LONG.sub(self.hex_value, text)
        text = _PID.sub(self.pid, text)
        text = _CPU.sub(self.cpu, text)
        text = _COMM.sub(self.comm, text)
        return _RELEASE.sub(self.release, text)


def _rewrite_modules(text: str, others: str, rng: random.Random, info: VariantInfo) -> str:
    match = _MODULES.match(text)
    if match is None:
        return text
    modules = match.group(2).split()
    # A module named anywhere else in the log (a frame, a message) is evidence: keep it.
    named = set(_WORD.findall(others))
    keep = [m for m in modules if m.split("(")[0] in named]
    rest = [m for m in modules if m.split("(")[0] not in named]
    choice = rng.random()
    if choice < 0.3:
        rng.shuffle(rest)
        info.modules = "shuffled"
    elif choice < 0.55 and rest:
        rest = rest[: rng.randint(len(rest) // 2, len(rest))]
        info.modules = "trimmed"
    elif choice < 0.8:
        present = {m.split("(")[0] for m in modules}
        extra = [m for m in _COMMON_MODULES if m not in present]
        rest += rng.sample(extra, min(len(extra), rng.randint(1, 10)))
        info.modules = "extended"
    merged = keep + rest
    if info.modules != "kept":
        rng.shuffle(merged)
    return match.group(1) + " " + " ".join(merged)


def _noise_line(rng: random.Random) -> str:
    template = rng.choice(NOISE_LINES)
    return template.format(
        n=rng.randint(1, 64),
        h=f"{rng.getrandbits(24):06x}",
        d=rng.choice(("sda1", "sdb", "nvme0n1p2", "dm-0", "vda1")),
    )


def crash_span(text: str, lines: list[LogLine]) -> tuple[int, int]:
    """(start, end) indices into `lines` of the crash report, end exclusive.

    Asks the project's parser; when it finds no crash, the first line that looks like a
    crash header starts the span, or the whole log is the span.
    """
    start = end = -1
    report = parse_log(text)
    if report is not None and report.first_failure is not None:
        first = report.first_failure.number
        body = report.report_lines()
        last = body[-1].number if body else first
        for index, line in enumerate(lines):
            if start < 0 and line.number >= first:
                start = index
            if line.number <= last:
                end = index + 1
    if start < 0:
        for index, line in enumerate(lines):
            if _CRASH_HEADER.search(line.text):
                start = index
                break
    start = max(start, 0)
    if end <= start:
        end = len(lines)
    return start, end


@dataclass
class _Line:
    """A line on its way to rendering."""

    text: str
    delta: float  # seconds after the previous line
    kernel: bool = True
    crash: bool = False
    caller: str | None = None


def make_variant(
    text: str,
    rng: random.Random,
    span: tuple[int, int] | None = None,
    shape: str | None = None,
) -> tuple[str, VariantInfo]:
    """A realistic variation of the log `text`, and what was done to make it.

    `span` is the crash report's (start, end) in the normalized lines (see `crash_span`);
    computed when None. `shape` forces one of `SHAPES` (drawn from `rng` when None). All
    randomness comes from `rng`, so a seeded rng gives the same variant every time.
    """
    normalized = normalize(text)
    lines = normalized.lines
    if not lines:
        return text, VariantInfo(shape="original")
    start, end = span if span is not None else crash_span(text, lines)
    drawn = rng.choices(SHAPES, weights=_SHAPE_WEIGHTS)[0]
    if shape is None:
        shape = drawn
    elif shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    info = VariantInfo(shape=shape)
    info.comm_changed = rng.random() < 0.3
    rewriter = _Rewriter(rng, info.comm_changed)
    crash_task = f"T{rng.randint(100, 60000)}"

    others = "\n".join(line.text for line in lines if not _MODULES.match(line.text))
    hardware: str | None = None
    if rng.random() < _HARDWARE_SWAP:
        arm = any(_ARM64_HINT.match(line.text) for line in lines)
        hardware = rng.choice(_HARDWARE_ARM64 if arm else _HARDWARE_X86)
    work: list[_Line] = []
    previous_ts: float | None = None
    for index, line in enumerate(lines):
        new_text = _rewrite_modules(rewriter.line(line.text), others, rng, info)
        if hardware is not None:
            swapped = _HARDWARE.sub(lambda m: m.group(1) + hardware, new_text)
            info.hardware_changed |= swapped != new_text
            new_text = swapped
        if line.timestamp is not None and previous_ts is not None:
            delta = max(0.0, line.timestamp - previous_ts)
        else:
            delta = rng.expovariate(1 / 0.002) if start <= index < end else rng.expovariate(1.0)
        if line.timestamp is not None:
            previous_ts = line.timestamp
        in_crash = start <= index < end
        work.append(
            _Line(
                new_text,
                delta,
                line.kernel,
                in_crash,
                crash_task if in_crash else f"T{rng.randint(1, 60000)}",
            )
        )

    # Cut the head (keeping the crash) or the tail (after the header), as real captures are.
    cut = rng.random()
    if cut < 0.15 and start > 0:
        info.head_cut = rng.randint(1, start)
        work = work[info.head_cut :]
        start -= info.head_cut
        end -= info.head_cut
    elif cut < 0.3 and end - start > 4:
        keep_to = rng.randint(start + 3, end - 1)
        info.tail_cut = len(work) - keep_to
        work = work[:keep_to]
        end = keep_to

    # Surroundings: ordinary messages before the crash, rarely one from another CPU inside.
    n_noise = rng.choice((0, rng.randint(1, 10), rng.randint(10, 60)))
    before = work[:start]
    # Nothing is printed before the kernel's banner: noise goes after it when it is there.
    lowest = next((i + 1 for i, w in enumerate(before) if w.text.startswith("Linux version")), 0)
    for _ in range(n_noise):
        at = rng.randint(lowest, len(before))
        before.insert(at, _Line(_noise_line(rng), rng.expovariate(0.5)))
    info.noise_lines = n_noise
    crash = work[start:]
    if rng.random() < 0.1 and len(crash) > 3:
        info.inside_noise = 1
        crash.insert(rng.randint(2, len(crash) - 1), _Line(_noise_line(rng), 0.0001))
    if rng.random() < 0.1 and len(crash) > 2:
        info.duplicated = 1
        at = rng.randint(1, len(crash) - 1)
        crash.insert(at, _Line(crash[at].text, 0.0, crash[at].kernel, crash[at].crash))
    return _render(before + crash, shape, rng, len(before)), info


def _render(lines: list[_Line], shape: str, rng: random.Random, crash_start: int) -> str:
    host = rng.choice(_HOSTS)
    uptime = rng.uniform(1.0, 3_000_000.0) if rng.random() < 0.7 else rng.uniform(0.5, 30.0)
    boot = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        seconds=rng.randint(0, 300 * 86400)
    )
    out: list[str] = []
    newline = "\n"
    if shape == "pstore":
        out.append(f"Panic#{rng.randint(1, 3)} Part1")
        # A pstore record holds only the tail of the log, but always the whole crash.
        lines = lines[min(crash_start, max(0, len(lines) - rng.randint(120, 400))) :]
    for line in lines:
        uptime += line.delta
        secs = int(uptime)
        stamp = f"[{secs:5d}.{int((uptime - secs) * 1e6):06d}]"
        wall = boot + dt.timedelta(seconds=uptime)
        if not line.kernel:
            # User-space lines survive only where the shape has room for them.
            if shape in ("journalctl-short", "journalctl-short-iso", "syslog"):
                out.append(f"{_wall_prefix(shape, wall)} {host} {line.text}")
            elif shape == "serial-console":
                out.append(line.text)
            continue
        if shape == "dmesg":
            out.append(f"{stamp} {line.text}")
        elif shape == "dmesg-caller":
            out.append(f"{stamp}[{line.caller or 'T1':>6}] {line.text}")
        elif shape == "level-prefix":
            out.append(f"<{4 if line.crash else 6}>{stamp} {line.text}")
        elif shape in ("journalctl-short", "journalctl-short-iso"):
            out.append(f"{_wall_prefix(shape, wall)} {host} kernel: {line.text}")
        elif shape == "syslog":
            out.append(f"{_wall_prefix(shape, wall)} {host} kernel: {stamp} {line.text}")
        elif shape == "serial-console":
            if not line.crash and rng.random() < 0.05:
                out.append(rng.choice(_CONSOLE_NOISE).format(host=host))
            out.append(f"{stamp} {line.text}")
        elif shape == "pstore":
            out.append(f"<{4 if line.crash else 6}>{stamp} {line.text}")
        else:
            out.append(line.text)
        if shape in ("journalctl-short", "syslog") and not line.crash and rng.random() < 0.03:
            noise = rng.choice(_USERSPACE_NOISE).format(
                n=rng.randint(1, 250), pid=rng.randint(300, 90000)
            )
            out.append(f"{_wall_prefix(shape, wall)} {host} {noise}")
    if shape == "serial-console":
        out.insert(0, rng.choice(_CONSOLE_NOISE[:4]))
        newline = "\r\n"
    return newline.join(out) + newline


def _wall_prefix(shape: str, wall: dt.datetime) -> str:
    if shape == "journalctl-short-iso":
        return wall.strftime("%Y-%m-%dT%H:%M:%S+0000")
    if shape == "syslog":
        return f"{wall.strftime('%b')} {wall.day:2d} {wall.strftime('%H:%M:%S')}"
    return wall.strftime("%b %d %H:%M:%S")
