"""Kernel releases, distribution streams and "are you affected?".

A kernel release string (`uname -r`, the `Not tainted 5.15.0-91-generic` part of an oops) says
more than a version: its suffix names the distribution stream that built it, and a fix is only
meaningful within a stream. Distributions backport fixes, so `5.14.0-362.8.1.el9_3` must be
compared with RHEL 9 versions, never with mainline 5.14.

`parse_release` turns a release into a `KernelRelease` (stream candidates, the version to
compare within the stream, the upstream base); `compare_versions` orders version strings by
their numeric and alphabetic parts (rpm-style, with `-rc` sorting before the release);
`assess` says whether a kernel is affected by an entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from knowledge_base.schema import Entry, FixedIn, VersionRange

Status = Literal["affected", "fixed", "not-affected", "unknown"]

# Streams whose kernels are upstream (stable) releases with few or no backports of their own,
# so a mainline fix version applies to them directly.
MAINLINE_LIKE = frozenset({"mainline", "elrepo", "wsl2", "fedora", "arch"})

# Ubuntu's GA kernel per series, by upstream major.minor. HWE kernels reuse a later series'
# base, so a base can point to two series; the first is the series it shipped with.
_UBUNTU_SERIES: dict[str, tuple[str, ...]] = {
    "4.4": ("16.04",),
    "4.15": ("18.04", "16.04"),
    "5.4": ("20.04", "18.04"),
    "5.8": ("20.10", "20.04"),
    "5.10": ("20.04",),  # oem-5.10
    "5.14": ("20.04",),  # oem-5.14
    "5.11": ("21.04", "20.04"),
    "5.13": ("21.10", "20.04"),
    "5.15": ("22.04", "20.04"),
    "5.19": ("22.10", "22.04"),
    "6.0": ("22.04",),  # oem-6.0
    "6.1": ("22.04",),  # oem-6.1
    "6.2": ("23.04", "22.04"),
    "6.5": ("23.10", "22.04"),
    "6.8": ("24.04", "22.04"),
    "6.11": ("24.10", "24.04"),
    "6.14": ("25.04", "24.04"),
}
_UBUNTU_CODENAMES = {
    "xenial": "16.04",
    "bionic": "18.04",
    "focal": "20.04",
    "jammy": "22.04",
    "noble": "24.04",
}
_UBUNTU_FLAVOURS = (
    "generic|generic-64k|generic-lpae|lowlatency|lowlatency-64k|aws|azure|azure-fde|gcp|gke|"
    "gkeop|oem|oracle|kvm|ibm|raspi|raspi-nolpae|nvidia|nvidia-lowlatency|intel-iotg|"
    "realtime|xilinx-zynqmp|snapdragon|virtual|server|bluefield|fips|aws-fips|azure-fips"
)
_DEBIAN_SERIES = {"4.9": "9", "4.19": "10", "5.10": "11", "6.1": "12", "6.12": "13"}
_DEBIAN_CODENAMES = {
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
}
_ARCH_SUFFIX = r"(?:\.(?:x86_64|aarch64|ppc64le|s390x|i686|noarch|x86_64\+\w+|aarch64\+\w+))?"

_RHEL = re.compile(
    r"^(?P<base>\d+\.\d+\.\d+)-(?P<rel>[\d.]+?)\.el(?P<major>\d+)(?:_(?P<minor>\d+))?"
    r"(?P<uek>uek)?(?P<extra>[.\w]*?)" + _ARCH_SUFFIX + r"$"
)
_ELREPO = re.compile(r"^(?P<base>\d+\.\d+\.\d+)-(?P<rel>[\d.]+)\.el(?P<major>\d+)\.elrepo")
_AMZN = re.compile(
    r"^(?P<base>\d+\.\d+\.\d+)-(?P<rel>[\d.]+)\.amzn(?P<ver>2023|2|1)" + _ARCH_SUFFIX + r"$"
)
_FEDORA = re.compile(r"^(?P<base>\d+\.\d+\.\d+)-(?P<rel>[\d.]+)\.fc(?P<ver>\d+)" + _ARCH_SUFFIX)
_UBUNTU = re.compile(
    r"^(?P<base>\d+\.\d+\.\d+)-(?P<abi>\d+)-(?P<flavour>" + _UBUNTU_FLAVOURS + r")$"
)
_DEBIAN = re.compile(
    r"^(?P<base>\d+\.\d+\.\d+)-(?P<abi>\d+)(?:\+deb(?P<deb>\d+))?-"
    r"(?P<flavour>(?:cloud-|rt-)?(?:amd64|arm64|686|686-pae|armmp|armmp-lpae|powerpc64le|s390x))"
    r"(?:\s+#\d+\s+(?:SMP\s+)?(?:PREEMPT\S*\s+)?Debian\s+(?P<pkg>\S+))?"
)
_SUSE = re.compile(
    r"^(?P<base>\d+\.\d+\.\d+)-(?P<rel>[\d.]+)-(?P<flavour>default|azure|rt|64kb|preempt|kvmsmall)$"
)
_WSL = re.compile(r"^(?P<base>\d+\.\d+\.\d+)(?P<rest>(?:\.\d+)*)-microsoft-standard(?:-WSL2)?$")
_ARCH = re.compile(r"^(?P<base>\d+\.\d+\.\d+)(?:\.(?P<extra>\w+))?-arch(?P<rel>\d+-\d+)$")
_MAINLINE = re.compile(r"^(?P<base>\d+\.\d+(?:\.\d+)?)(?P<rc>-rc\d+)?(?:[-+](?P<local>[\w.+-]*))?$")


@dataclass(frozen=True, slots=True)
class KernelRelease:
    """A parsed kernel release string.

    `stream` is the family (`mainline`, `rhel8`, `ubuntu`, `debian`, `amazon-linux`, `suse`,
    ...); `streams` lists the stream names an entry may use for it, most specific first (e.g.
    `ubuntu-22.04-aws`, `ubuntu-22.04`, `ubuntu`); `version` is the part comparable within the
    stream (`5.15.0-91`, `5.14.0-362.8.1`); `upstream` the upstream base (`5.15.0`);
    `flavour` the build flavour when the release names one.
    """

    raw: str
    stream: str
    streams: tuple[str, ...]
    version: str
    upstream: str
    flavour: str | None = None

    @property
    def major_minor(self) -> str:
        """`X.Y` of the upstream base."""
        return ".".join(self.upstream.split(".")[:2])

    @property
    def mainline_like(self) -> bool:
        """True when mainline fix versions apply to this kernel directly."""
        return self.stream in MAINLINE_LIKE


def _mm(base: str) -> str:
    return ".".join(base.split(".")[:2])


def parse_release(release: str) -> KernelRelease | None:
    """Parse a kernel release string; None when it does not look like one.

    Accepts what `uname -r` prints (and Debian's `... #1 SMP Debian 6.1.55-1` tail, whose
    package version then becomes the comparable version). Unrecognised suffixes on an
    `X.Y.Z` base give a `custom` stream compared by upstream version.
    """
    raw = release.strip()
    if not raw:
        return None
    if m := _ELREPO.match(raw):
        base = m["base"]
        return KernelRelease(
            raw, "elrepo", ("elrepo", f"elrepo-el{m['major']}", "mainline"), base, base
        )
    if m := _RHEL.match(raw):
        major = m["major"]
        version = f"{m['base']}-{m['rel']}"
        if m["uek"]:
            streams: tuple[str, ...] = (f"uek-el{major}", "uek")
            return KernelRelease(raw, "uek", streams, version, m["base"])
        minor = m["minor"]
        streams = ((f"rhel{major}.{minor}",) if minor else ()) + (f"rhel{major}", "rhel")
        return KernelRelease(raw, f"rhel{major}", streams, version, m["base"])
    if m := _AMZN.match(raw):
        name = f"amazon-linux-{m['ver']}"
        return KernelRelease(
            raw, "amazon-linux", (name, "amazon-linux"), f"{m['base']}-{m['rel']}", m["base"]
        )
    if m := _FEDORA.match(raw):
        return KernelRelease(
            raw, "fedora", (f"fedora-{m['ver']}", "fedora", "mainline"), m["base"], m["base"]
        )
    if m := _UBUNTU.match(raw):
        base, flavour = m["base"], m["flavour"]
        series = _UBUNTU_SERIES.get(_mm(base), ())
        names = [f"ubuntu-{series[0]}-{flavour}"] if series else []
        names += [f"ubuntu-{s}" for s in series] + [f"ubuntu-{flavour}", "ubuntu"]
        return KernelRelease(raw, "ubuntu", tuple(names), f"{base}-{m['abi']}", base, flavour)
    if m := _DEBIAN.match(raw):
        base = m["base"]
        debian = m["deb"] or _DEBIAN_SERIES.get(_mm(base))
        names = ([f"debian-{debian}"] if debian else []) + ["debian"]
        # The ABI (6.1.0-13) hides the upstream point release; the package version (6.1.55-1)
        # is what Debian's fixes are announced in, so prefer it when the log carries it.
        version = m["pkg"] or f"{base}-{m['abi']}"
        upstream = m["pkg"].split("-")[0] if m["pkg"] else base
        return KernelRelease(raw, "debian", tuple(names), version, upstream, m["flavour"])
    if m := _SUSE.match(raw):
        rel = m["rel"]
        names = ["suse"]
        sp = re.match(r"^15(\d\d)00\.", rel)
        if sp:
            names.insert(0, f"sles-15-sp{int(sp.group(1))}")
        return KernelRelease(
            raw, "suse", tuple(names), f"{m['base']}-{rel}", m["base"], m["flavour"]
        )
    if m := _WSL.match(raw):
        version = m["base"] + m["rest"]
        return KernelRelease(raw, "wsl2", ("wsl2", "mainline"), version, m["base"])
    if m := _ARCH.match(raw):
        return KernelRelease(raw, "arch", ("arch", "mainline"), m["base"], m["base"])
    if m := _MAINLINE.match(raw):
        base = m["base"] if m["base"].count(".") == 2 else m["base"] + ".0"
        version = base + (m["rc"] or "")
        if m["local"] and not m["rc"]:
            # A custom build (6.1.55-custom, 6.6.0+): compare by its upstream version.
            return KernelRelease(raw, "custom", ("custom", "mainline"), version, base)
        return KernelRelease(raw, "mainline", ("mainline",), version, base)
    return None


_STREAM_ALIASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:mainline|upstream|linux|stable|vanilla|kernel\.org)$"), "mainline"),
    # Upstream stable/LTS branches (linux-6.1.y): mainline versions, matched per branch.
    (re.compile(r"^(?:linux|stable|lts|longterm)-?\d+\.\d+(?:\.y)?$"), "mainline"),
    (
        re.compile(
            r"^(?:rhel|el|centos|centos-stream|rocky|alma|almalinux|ol|oraclelinux)-?"
            r"(\d+)(?:[._](\d+))?$"
        ),
        "rhel",
    ),
    (re.compile(r"^(?:amazon-linux|amzn|al)-?(2023|2|1)$"), "amazon-linux"),
    (re.compile(r"^(?:sles|sle)-?(\d+)-?sp(\d+)$"), "sles"),
    (re.compile(r"^(?:debian|deb)-?(\d+)$"), "debian"),
    (re.compile(r"^ubuntu-?(\d\d\.\d\d)((?:-[a-z0-9-]+)?)$"), "ubuntu"),
]


def normalize_stream(stream: str) -> str:
    """Canonical spelling of an entry's stream name (`el9` -> `rhel9`, `jammy` -> `ubuntu-22.04`).

    Unknown names are returned lower-cased and otherwise unchanged.
    """
    name = stream.strip().lower()
    if name in _UBUNTU_CODENAMES:
        return f"ubuntu-{_UBUNTU_CODENAMES[name]}"
    if name in _DEBIAN_CODENAMES:
        return f"debian-{_DEBIAN_CODENAMES[name]}"
    for pattern, canonical in _STREAM_ALIASES:
        m = pattern.match(name)
        if not m:
            continue
        if canonical == "mainline":
            return "mainline"
        if canonical == "rhel":
            return f"rhel{m[1]}" + (f".{m[2]}" if m[2] else "")
        if canonical == "amazon-linux":
            return f"amazon-linux-{m[1]}"
        if canonical == "sles":
            return f"sles-{m[1]}-sp{m[2]}"
        if canonical == "debian":
            return f"debian-{m[1]}"
        if canonical == "ubuntu":
            return f"ubuntu-{m[1]}{m[2]}"
    return name


def known_stream(stream: str) -> bool:
    """True when `stream` names a stream `parse_release` can produce (for the validators)."""
    name = normalize_stream(stream)
    families = (
        r"mainline|rhel\d+(\.\d+)?|rhel|uek(-el\d+)?|amazon-linux(-(2023|2|1))?|fedora(-\d+)?"
        r"|ubuntu(-\d\d\.\d\d)?(-[a-z0-9-]+)?|ubuntu-[a-z0-9-]+|debian(-\d+)?|suse"
        r"|sles-\d+-sp\d+|wsl2|elrepo(-el\d+)?|arch|custom"
    )
    return re.fullmatch(families, name) is not None


# ---------------------------------------------------------------------------------------------
# Version comparison

_TOKEN = re.compile(r"\d+|[A-Za-z]+|~")
_PRE_RELEASE = frozenset({"rc", "pre", "alpha", "beta", "~"})


def _key(version: str) -> list[tuple[int, int | str]]:
    # Ranks: pre-release marker < end of version < alphabetic part < numeric part, so that
    # 6.1-rc1 < 6.1 < 6.1-foo < 6.1.1 and 5.15.0 < 5.15.0-91 (rpmvercmp-like).
    key: list[tuple[int, int | str]] = []
    for token in _TOKEN.findall(version):
        if token.isdigit():
            key.append((3, int(token)))
        elif token.lower() in _PRE_RELEASE:
            key.append((0, token.lower()))
        else:
            key.append((2, token.lower()))
    key.append((1, 0))
    return key


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as version `a` is older than, equal to or newer than `b`.

    Versions are split into numeric and alphabetic parts (separators ignored); numbers
    compare numerically, and `rc`/`pre`/`~` parts sort before the version they precede.
    """
    ka, kb = _key(a), _key(b)
    return (ka > kb) - (ka < kb)


def _numeric_parts(version: str) -> int:
    return len(re.findall(r"\d+", version))


def _bound(version: str, release: KernelRelease) -> str:
    """A range bound in the release's terms: suffixes stripped, precision matched.

    `5.14.0-362.8.1.el9_3` becomes `5.14.0-362.8.1`; an Ubuntu package version
    `5.15.0-101.111` is cut to the ABI `5.15.0-101` that a release string carries.
    """
    parsed = parse_release(version)
    value = parsed.version if parsed and parsed.stream != "custom" else version
    if release.stream in ("ubuntu",):
        numbers = re.findall(r"\d+", value)
        keep = _numeric_parts(release.version)
        if len(numbers) > keep:
            value = ".".join(numbers[:3]) + "-" + ".".join(numbers[3:keep])
    return value


# ---------------------------------------------------------------------------------------------
# Assessment


@dataclass(frozen=True, slots=True)
class ApplicabilityVerdict:
    """Whether one kernel is affected by one entry.

    `status`: `affected` (inside an affected range, or older than the stream's fix), `fixed`
    (at or past the fix), `not-affected` (older than the range's `introduced`), `unknown`
    (no release, no data for the stream, or a distro kernel with only mainline data).
    `fixed_in` lists the fixes relevant to the stream (all of them when the stream is unknown
    or has none); `sentence` says it in words; `release` is the parsed release (None when
    missing or unparseable); `range` is the affected range that decided, if any.
    """

    status: Status
    fixed_in: list[FixedIn]
    sentence: str
    release: KernelRelease | None = None
    range: VersionRange | None = None
    notes: list[str] = field(default_factory=list)


def _stream_matches(stream: str, release: KernelRelease) -> bool:
    return normalize_stream(stream) in release.streams


def _fix_list(items: list[FixedIn]) -> str:
    return ", ".join(f"{f.version} ({f.stream})" for f in items)


def _range_text(r: VersionRange) -> str:
    return f"{r.introduced or 'the start'} .. {r.fixed or 'now (no fix yet)'} of {r.stream}"


def _in_range(version: str, r: VersionRange, release: KernelRelease) -> int:
    """-1 below `introduced`, 0 inside, 1 at or past `fixed`."""
    if r.introduced and compare_versions(version, _bound(r.introduced, release)) < 0:
        return -1
    if r.fixed and compare_versions(version, _bound(r.fixed, release)) >= 0:
        return 1
    return 0


def _same_base(bound: str | None, release: KernelRelease) -> bool:
    # Distro ranges only apply to kernels of the same upstream base: a range written for the
    # 5.15 GA kernel of Ubuntu 22.04 says nothing about its 6.5 HWE kernel.
    if bound is None:
        return True
    parsed = parse_release(bound)
    base = parsed.upstream if parsed else bound
    return _mm(base) == release.major_minor


def _comparable(bound: str | None, release: KernelRelease) -> bool:
    if bound is None or release.stream != "debian":
        return True
    if not re.fullmatch(r"\d+\.\d+\.0-\d+", release.version):
        return True
    parsed = parse_release(bound)
    upstream = parsed.upstream if parsed else bound
    parts = re.findall(r"\d+", upstream)
    return len(parts) < 3 or parts[2] == "0"


def assess(entry: Entry, release: str | None) -> ApplicabilityVerdict:
    """Say whether the kernel `release` is affected by `entry` and where it is fixed.

    `release` None (or unparseable) gives `unknown` with every known fix listed.
    """
    app = entry.applicability
    if not app.affected and not app.fixed_in:
        return ApplicabilityVerdict(
            "unknown", [], f"{entry.id} does not depend on the kernel version (no version data)."
        )
    parsed = parse_release(release) if release else None
    if parsed is None:
        what = (
            f"kernel release {release!r} is not recognised" if release else "kernel release unknown"
        )
        return ApplicabilityVerdict(
            "unknown",
            list(app.fixed_in),
            f"{what}; fixed in {_fix_list(app.fixed_in) or 'no released version yet'}.",
        )

    stream_fixes = [f for f in app.fixed_in if _stream_matches(f.stream, parsed)]
    relevant = stream_fixes or list(app.fixed_in)
    label = parsed.streams[0]

    # Distro-specific data first; mainline data only for kernels that follow mainline.
    own_ranges = [
        r
        for r in app.affected
        if normalize_stream(r.stream) != "mainline"
        and _stream_matches(r.stream, parsed)
        and (parsed.mainline_like or _same_base(r.introduced or r.fixed, parsed))
    ]
    own_fixes = [
        f
        for f in app.fixed_in
        if normalize_stream(f.stream) != "mainline"
        and _stream_matches(f.stream, parsed)
        and (parsed.mainline_like or _same_base(f.version, parsed))
    ]
    # Debian's release string carries the ABI (6.1.0-13), not the package version (6.1.55-1)
    # that its fixes are announced in: those two cannot be compared.
    hidden = [r for r in own_ranges if not _comparable(r.introduced or r.fixed, parsed)]
    hidden_fixes = [f for f in own_fixes if not _comparable(f.version, parsed)]
    own_ranges = [r for r in own_ranges if r not in hidden]
    own_fixes = [f for f in own_fixes if f not in hidden_fixes]
    if (hidden or hidden_fixes) and not (own_ranges or own_fixes):
        return ApplicabilityVerdict(
            "unknown",
            relevant,
            f"{parsed.raw} names the Debian ABI {parsed.version}, not the package version the "
            f"fix is listed in ({_fix_list(stream_fixes) or 'see the affected range'}); read "
            "the 'Debian 6.x.y-z' part of the oops header or run dpkg -l 'linux-image*'.",
            parsed,
        )
    verdict = _decide(
        parsed, parsed.version, ranges=own_ranges, fixes=own_fixes, label=label, relevant=relevant
    )
    if verdict is not None:
        return verdict

    main_ranges = [r for r in app.affected if normalize_stream(r.stream) == "mainline"]
    main_fixes = [f for f in app.fixed_in if normalize_stream(f.stream) == "mainline"]
    if parsed.mainline_like:
        verdict = _decide(
            parsed,
            parsed.upstream if parsed.stream != "mainline" else parsed.version,
            ranges=main_ranges,
            fixes=main_fixes,
            label="mainline",
            relevant=relevant,
        )
        if verdict is not None:
            return verdict
    elif main_ranges or main_fixes:
        # A distro kernel past every mainline fix has it (distros do not revert fixes); below
        # that the distro may or may not have backported it, so say so instead of guessing.
        newest = list(
            dict.fromkeys(
                [f.version for f in main_fixes] + [r.fixed for r in main_ranges if r.fixed]
            )
        )
        branch = [v for v in newest if _mm(v) == parsed.major_minor]
        past_all = bool(newest) and all(compare_versions(parsed.upstream, v) >= 0 for v in newest)
        # A distro kernel that names a stable point release (Amazon Linux 6.1.66, SUSE 5.14.21)
        # contains that branch's stable fixes; x.y.0 bases (RHEL, Ubuntu) say nothing.
        past_branch = any(compare_versions(parsed.upstream, v) >= 0 for v in branch)
        if past_all or past_branch:
            return ApplicabilityVerdict(
                "fixed",
                relevant,
                f"{parsed.raw} is based on upstream {parsed.upstream}, which already contains "
                f"the mainline fix ({', '.join(branch if past_branch else newest)}).",
                parsed,
            )
        return ApplicabilityVerdict(
            "unknown",
            relevant,
            f"{parsed.raw} is a kernel of the {parsed.stream} stream based on upstream "
            f"{parsed.upstream}; "
            f"the knowledge base only has mainline data (fixed in "
            f"{_fix_list(main_fixes) or ', '.join(newest) or 'no release yet'}); check the "
            f"{parsed.stream} changelog for a backport.",
            parsed,
        )
    return ApplicabilityVerdict(
        "unknown",
        relevant,
        f"no version data for {label} ({parsed.raw}); known fixes: "
        f"{_fix_list(app.fixed_in) or 'none yet'}.",
        parsed,
    )


def _decide(
    parsed: KernelRelease,
    version: str,
    *,
    ranges: list[VersionRange],
    fixes: list[FixedIn],
    label: str,
    relevant: list[FixedIn],
) -> ApplicabilityVerdict | None:
    # A fix on the same major.minor branch decides first: mainline ranges name the first
    # fixed mainline release, while stable backports land in older branches later.
    branch_fixes = [f for f in fixes if _mm(_bound(f.version, parsed)) == _mm(version)]
    for fix in branch_fixes:
        if compare_versions(version, _bound(fix.version, parsed)) >= 0:
            return ApplicabilityVerdict(
                "fixed",
                relevant,
                f"{parsed.raw} ({label} {version}) already carries the fix from {fix.version}.",
                parsed,
            )
    positions = [(r, _in_range(version, r, parsed)) for r in ranges]
    inside = [r for r, pos in positions if pos == 0]
    if inside:
        r = inside[0]
        fix_text = (
            f"fixed in {_fix_list(branch_fixes or fixes)}"
            if (branch_fixes or fixes)
            else (f"fixed in {r.fixed}" if r.fixed else "no fix released yet")
        )
        return ApplicabilityVerdict(
            "affected",
            relevant,
            f"{parsed.raw} is in the affected range {_range_text(r)}; {fix_text}.",
            parsed,
            r,
        )
    if branch_fixes:
        return ApplicabilityVerdict(
            "affected",
            relevant,
            f"{parsed.raw} ({label} {version}) is older than the fix; fixed in "
            f"{_fix_list(branch_fixes)}.",
            parsed,
        )
    if positions:
        if all(pos == -1 for _, pos in positions):
            r = positions[0][0]
            return ApplicabilityVerdict(
                "not-affected",
                relevant,
                f"{parsed.raw} predates the affected range {_range_text(r)}; if the "
                "signature matched, suspect a different cause.",
                parsed,
                r,
            )
        r = next(r for r, pos in positions if pos == 1)
        return ApplicabilityVerdict(
            "fixed",
            relevant,
            f"{parsed.raw} is past the affected range {_range_text(r)} (fixed in {r.fixed}).",
            parsed,
            r,
        )
    if fixes:
        older = all(compare_versions(version, _bound(f.version, parsed)) < 0 for f in fixes)
        if older:
            return ApplicabilityVerdict(
                "affected",
                relevant,
                f"{parsed.raw} ({label} {version}) is older than every fix; fixed in "
                f"{_fix_list(fixes)}.",
                parsed,
            )
        return ApplicabilityVerdict(
            "fixed",
            relevant,
            f"{parsed.raw} ({label} {version}) is at or past a fix ({_fix_list(fixes)}).",
            parsed,
        )
    return None
