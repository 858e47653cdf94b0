"""Turn any kernel-log text shape into clean kernel message lines.

`normalize(text)` finds out which transport wrapped the kernel's messages (plain `dmesg`,
`dmesg -T`, `dmesg -x`, a journal or syslog file, a serial console capture, a pstore record,
`/dev/kmsg` or netconsole records) and strips that wrapping: timestamps, host names, levels,
printk caller ids, CR/ANSI/NUL debris. What remains is one `LogLine` per non-empty input line
with the kernel's own message text, the seconds-since-boot timestamp and caller id when the log
carried them, and whether the line came from the kernel at all.

How it works, and why:

* The shape is decided once per file by a majority vote over a sample of lines (the first
  `_SAMPLE_HEAD` and the last `_SAMPLE_TAIL`), because single lines are ambiguous: a `dmesg`
  line `[ 5.1] usb 1-1: new device` has the same shape as a `journalctl -o short-monotonic`
  line `[ 5.1] host ident: message`. Each shape is parsed by one compiled regex.
* Lines are then parsed one by one with the chosen shape first and a fallback to the generic
  kernel prefix second, so mixed files (a serial console where kernel lines carry timestamps and
  user-space noise does not; a pasted preamble before a dmesg) still come out right.
* A quoted log (a mail reply or bug tracker quote: `> [ts] msg`, `>> ...`, `> > ...`) is
  unquoted before the vote when most lines carry the same quote depth, so it comes out as its
  inner shape; lines quoted less deeply (the reply around it) keep their markers.
* A kernel line glued after a login or shell prompt (`root@host:~# [ 45.1] Kernel panic ...`,
  `[root@host ~]# BUG: ...`, `# Kernel panic ...` on a console without printk time) keeps the
  kernel's part as a kernel line, when what follows the prompt starts like a kernel message (a
  printk time stamp or a known crash header). Other prompt lines stay console debris.
* Nothing is reordered, except pstore: a `dmesg-ramoops-N` record split into several parts
  stores the newest chunk as Part1, so concatenated parts are put back oldest first.
* `LogLine.number` always points at the line in the original input (1-based, counting `\\n`),
  so evidence can be shown where the user will find it.

Shapes that cannot be told apart from the text alone, and the choice made:

* `vmcore-dmesg.txt` (kdump) and `makedumpfile --dump-dmesg` print exactly what `dmesg` prints
  (`[%5lu.%06lu] msg`), so they come out as "dmesg". "vmcore-dmesg" is still listed in
  `LOG_FORMATS` for callers that know where the text came from (a tar member named
  `vmcore-dmesg.txt`, or text decoded from a dump) and want to label it so.
* A console capture is "serial-console" only when it shows console debris (systemd status
  lines such as `[  OK  ] Started ...`, ANSI escapes, CR-overwritten lines, or CRLF/NUL bytes
  together with lines that carry no kernel prefix); a clean capture is "dmesg".
* Plain netconsole received by `nc -u -l` is byte-for-byte console output: "dmesg". Only when a
  receiver added a time stamp and sender address (`2026-11-23T09:12:01 10.0.0.5 [ 12.3] msg`)
  is it "netconsole". Extended netconsole records (`6,1234,5678901,-;msg`) are "kmsg".
* Journal vs syslog: lines `STAMP host ident[pid]: msg` are written by both journalctl's short
  modes and rsyslog. "syslog" is chosen when the kernel lines still carry the printk time stamp
  after `kernel: ` (rsyslog's imklog keeps it, the journal never does) or when a traditional
  stamp pads the day with a space (`Nov  3`, syslog) rather than a zero (`Nov 03`, journalctl).
  RFC 3339 stamps without journal markers are "syslog" too (rsyslog's modern default; newer
  journalctl `short-iso-precise` prints the very same stamp). Journal markers (`-- Boot ... --`)
  or old journalctl's colon-less zone (`+0000`) mean "journalctl-short-iso". Traditional stamps
  without any of those tells are "journalctl-short" (also used for `short-precise` and
  `short-full`).
* `dmesg -r` / `<N>`-prefixed lines are "dmesg" whether or not they carry a time stamp;
  "plain" means no recognisable prefix at all; "unknown" means no usable text (empty, or mostly
  binary garbage).
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import compress, islice

from vmcore_parsers.report import LogLine

LOG_FORMATS: tuple[str, ...] = (
    "dmesg",
    "dmesg-T",
    "dmesg-decode",
    "plain",
    "journalctl-short",
    "journalctl-short-monotonic",
    "journalctl-short-iso",
    "syslog",
    "serial-console",
    "vmcore-dmesg",  # never detected from text: see the module docstring
    "pstore",
    "kmsg",
    "netconsole",
    "unknown",
)


@dataclass
class NormalizedLog:
    """The kernel's messages with their transport removed.

    `format` is one of `LOG_FORMATS`; `lines` holds every non-empty input line in input order
    (pstore parts put back oldest first), with its prefix removed. Journal markers, pstore part
    headers and `/dev/kmsg` dictionary lines are dropped, since they are not messages.
    """

    format: str
    lines: list[LogLine]


# --- Cleaning -----------------------------------------------------------------------------

# Terminal escape sequences a serial console or `journalctl` with colours leaves behind: CSI
# (colours, cursor moves), OSC (window titles, hyperlinks), charset selection and 2-byte escapes.
# None of the alternatives can cross a newline, so line numbers survive the substitution.
_ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[()][0-9A-Za-z]|[@-Z\\-_])"
)
# Control bytes other than TAB, LF and CR (CR is handled per line: it overwrites), C1 controls,
# U+FFFD and the lone surrogates `errors="surrogateescape"` makes of undecodable bytes (they
# would make the text unencodable later, e.g. in JSON).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\udc80-\udcff]+")
# The same set restricted to ASCII, for `bytes.translate` on text that is pure ASCII.
_CONTROL_ASCII = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])

# --- Line shapes ----------------------------------------------------------------------------

# The kernel's own prefix: `<N>` syslog level (dmesg -r, /proc/kmsg, pstore), `[ secs.usecs]`
# (optionally with dmesg -d's `<delta>`), and the CONFIG_PRINTK_CALLER id, which the console
# prints as `[ts][  T123]` and util-linux dmesg as `[ts] [  T123]`. Every part is optional, so a
# match only counts when one of the groups matched.
_KPREFIX = re.compile(
    r"(?:<(?P<lvl>\d{1,3})>)?"
    r"(?:\[\s*(?P<ts>\d{1,10}\.\d{1,9})(?: <\s*\d+\.\d+>)?\])?"
    r"(?: ?\[\s*(?P<caller>[TC]\d{1,10})\])?"
    r" ?"
)
# A kernel time stamp anywhere in a line: a console line glued to a login prompt or to
# user-space output that had no newline yet. Six decimals, as printk prints, to avoid matching
# bracketed numbers inside ordinary messages.
_TS_INSIDE = re.compile(r"(?:<\d{1,3}>)?\[\s*\d{1,10}\.\d{6}\]")

# dmesg -T (ctime), dmesg -e (reltime `[Nov23 09:12]` and delta `[  +0.000123]`) and
# dmesg --time-format=iso (comma before the fraction, which tells it from RFC 3339 syslog).
_WALL = re.compile(
    r"(?:\[(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
    r"|[A-Z][a-z]{2}\d{1,2} \d\d:\d\d|\s*\+\s*\d+\.\d+)\]"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d+[+-]\d\d:?\d\d)"
    r"(?: ?\[\s*(?P<caller>[TC]\d{1,10})\])? ?"
)

# dmesg -x / --decode: `kern  :warn  : [ts] msg`; facility and level are left-justified to 6.
_DECODE = re.compile(
    r"(?P<fac>kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res0|res1|res2"
    r"|res3|local[0-7])\s*:(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: "
)

# /dev/kmsg and extended netconsole: `prio,seq,usecs,flags[,ncfrag=a/b][,caller=T1];message`.
# `prio` is (facility << 3) | level, so anything >= 8 was written by user space.
_KMSG = re.compile(
    r"(?P<prio>\d{1,4}),(?P<seq>\d{1,20}),(?P<usec>\d{1,20}),(?P<flags>[^,;]*)"
    r"(?P<extra>,[^;]*)?;"
)
_KMSG_CALLER = re.compile(r"caller=([TC]\d+)")
_KMSG_FRAG = re.compile(r"ncfrag=(\d+)/(\d+)")
# Dictionary lines after a /dev/kmsg record: ` SUBSYSTEM=pci`, ` DEVICE=+pci:0000:00:01.0`.
_KMSG_DICT = re.compile(r" [A-Z0-9_]+=")

# Journal and syslog lines: `STAMP host rest`. Stamps: traditional (`Nov 23 09:12:01`, also
# journalctl short-precise with a fraction), journalctl short-full (`Mon 2026-11-23 09:12:01
# UTC`), RFC 3339 / ISO (syslog, journalctl short-iso[-precise]). The host is optional so that a
# receiver which prefixed only a time (`ts` from moreutils) still matches.
_STAMPED = re.compile(
    r"(?:(?P<trad>[A-Z][a-z]{2} (?P<day>[ \d]\d) \d\d:\d\d:\d\d(?P<tfrac>\.\d+)?)"
    r"|(?P<full>[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z0-9+-]{1,6})"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?P<tz>Z|[+-]\d\d(?P<tzc>:)?\d\d)?))"
    r" (?:(?P<host>[^\s\[]\S*) )?"
)
# journalctl -o short-monotonic: `[  123.456789] host ident: msg`.
_MONO = re.compile(r"\[\s*(?P<ts>\d{1,10}\.\d{1,9})\] (?P<host>\S+) ")

# journalctl separators between boots and at the start of the output.
_JOURNAL_MARKER = re.compile(
    r"-- (?:Logs begin at|Journal begins at|Logs end at|Boot [0-9a-f]{6,}|Reboot|No entries)"
)
# pstore record headers (kmsg_dump_reason_str() + "#%d Part%u"), and the `====secs.usecs-C`
# ramoops header that a raw memory copy of the ramoops region still carries.
_PSTORE_HEADER = re.compile(
    r"(?P<why>Panic|Oops|Emergency|Shutdown|Restart|Halt|Poweroff|Unknown)"
    r"#(?P<count>\d+) Part(?P<part>\d+)\s*$"
)
_RAMOOPS_HEADER = re.compile(r"====\d+\.\d+(?:-[CD])?\s*$")

# Console debris that is not the kernel's: systemd's status column (`[  OK  ]`, `[FAILED]`,
# the `[  *** ]` spinner), boot loaders, login prompts, shell prompts.
_SERIAL_NOISE = re.compile(
    r"\[(?:  OK  |FAILED|DEPEND| TIME | INFO | WARN |[ *]{6})\]"
    r"|(?:\S+ )?login: ?|Password: ?$|Last login: |Welcome to |Ubuntu \d|Debian GNU/Linux \d"
    r"|Loading (?:Linux|initial ramdisk)|Booting (?:`|the kernel|a command list)|GNU GRUB"
    r"|Press any key|BdsDxe: |UEFI |SeaBIOS |iPXE |Starting |Started |Stopping |Stopped "
    r"|Reached target |Mounting |Mounted |Finished "
    # Shell prompts (`root@host:~# cmd`, `[root@host ~]# cmd`). Character classes that cannot
    # contain the separators keep this linear on hostile lines such as `a@b:a@b:...`.
    r"|[\w.-]{1,64}@[\w.-]{1,253}:[^\s#$]*[#$]|\[[\w.-]{1,64}@[\w.-]{1,253} [^\]]*\][#$]"
)

# A prompt a kernel console line can land right after, on a console with no newline yet: login
# and password prompts, shell prompts (`root@host:~# `, `[root@host ~]# `, SUSE's `host:~ # `,
# `sh-5.1# `, busybox `/ # `, a bare `# ` or `$ `) and the initramfs shell. Bounded classes
# that cannot contain the separators keep it linear on hostile lines.
_PROMPT = (
    r"(?:\S{1,253} )?login: ?|Password: ?|\(initramfs\) ?"
    r"|(?:[\w.-]{1,64}@)?[\w.-]{1,253}:[^\s#$]{0,4096} ?[#$] ?"
    r"|\[[\w.-]{1,64}@[\w.-]{1,253} [^\]]{0,4096}\][#$] ?"
    r"|(?:[\w./~-]{1,64} ?)?[#$] ?"
)
# What a kernel message glued after such a prompt starts with: the printk prefix (or dmesg -T's
# wall clock), or a crash header that a console without printk time shows bare.
_KERNEL_START = (
    r"(?:<\d{1,3}>)?\[ *\d{1,10}\.\d{1,9}\]"
    r"|\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]"
    r"|Kernel panic - not syncing:|BUG:|Oops\b|Unable to handle kernel|Internal error:|WARNING:"
    r"|INFO: task|watchdog:|rcu:|general protection fault|kernel BUG at|---\[ end Kernel panic"
)
_GLUED = re.compile(r"(?:" + _PROMPT + r")(?=" + _KERNEL_START + r")")

# Quote markers of a log pasted into a mail or a bug tracker reply: `> `, `>> `, `> > `.
_QUOTE = re.compile(r"(?:> ?)+")

# --- Whole-text fast paths ------------------------------------------------------------------
#
# The per-line helpers above are the reference. The kernel prefix, which decides most lines of
# the vote and every line of the dmesg family, is matched once over the joined lines instead
# (`re.M`, `\s` narrowed to `[^\S\n]` so no match crosses a line, and a catch-all tail), so
# `findall` returns exactly one tuple per line without a Python call per line.

# The common shape first, then `_KPREFIX` in full. The first branch only takes lines on which
# the full pattern would give the same result: an optional `<0>`..`<7>` level (kernel), ASCII
# digits, spaces as padding, and a caller id or nothing that could start one after the time
# stamp; it is cheaper because it avoids `\d` and `\s` (Unicode classes) and the level group.
# Groups: (fast ts, fast caller, fast text, lvl, ts, caller, text), "" for a group that did not
# match; the fast ts is non-empty exactly when the first branch matched.
_FAST_TS = r"([0-9]{1,10}\.[0-9]{1,9})"
# `[ ts]` with an optional caller id, as `_KPREFIX` takes it. When no caller id follows, nothing
# that could begin one may follow either (the full pattern would try it).
_FAST_PFX = r"\[ *" + _FAST_TS + r"\](?: ?\[ *([TC][0-9]{1,10})\]|(?! ?\[[^\S\n]*[TC])) ?"
_FAST_KPREFIX = re.compile(
    r"^(?:(?:<[0-7]>)?" + _FAST_PFX + r"(.*)"
    r"|(?:<(\d{1,3})>)?"
    r"(?:\[[^\S\n]*(\d{1,10}\.\d{1,9})(?: <[^\S\n]*\d+\.\d+>)?\])?"
    r"(?: ?\[[^\S\n]*([TC]\d{1,10})\])?"
    r" ?(.*))",
    re.M,
)
_KPrefixes = list[tuple[str, str, str, str, str, str, str]]
# The first branch of `_FAST_KPREFIX` alone, after the `\n` that starts each line of
# "\n" + the joined lines. `split` then returns ["", ts, caller, text, ts, caller, text, ...]
# (caller None when absent) when every line takes that branch, the usual clean dmesg, and the
# columns are list slices: no per-line tuple, no Python call per line. It has fewer parts
# otherwise, since a match can only start at a line's head.
_ALL_FAST_SPLIT = re.compile(r"\n(?:<[0-7]>)?" + _FAST_PFX)

# Journal and syslog lines, restricted the same way to the shape `_stamped` parses without
# surprises: a calendar stamp (ASCII digits), a host that does not end in `:`, and then
# `kernel:` (msg with or without printk's `[ts]`), a console line (`[ts] msg`, netconsole
# receivers), or another program's line (it starts with a letter). What `_stamped` would do with
# anything else is left to `_stamped`.
_FAST_STAMP = (
    r"(?:[A-Z][a-z]{2} ([ 0-9])[0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}(?:(\.)[0-9]+)?"
    r"|([A-Z])[a-z]{2} [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r" [A-Za-z0-9+-]{1,6}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(T)[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[+-][0-9]{2}:[0-9]{2}|(Z|[+-][0-9]{4}))?)"
    r" [^\s\[]\S*(?<!:) "
)
# What `_kernel_prefix` accepts at the start of a string (any of its groups), and `_KMSG`.
_KPREFIX_AHEAD = (
    r"<\d{1,3}>|\[[^\S\n]*\d{1,10}\.\d{1,9}(?: <[^\S\n]*\d+\.\d+>)?\]| ?\[[^\S\n]*[TC]\d{1,10}\]"
)
_KMSG_AHEAD = r"\d{1,4},\d{1,20},\d{1,20},[^,;\n]*(?:,[^;\n]*)?;"
# For the vote: `_line_kind`'s "stamp:STAMP:BODY" as (day, fraction dot, full, iso, iso zone
# without a colon, kernel, kernel-ts, console, kmsg), or the whole line for `_line_kind`.
_FAST_STAMP_KIND = re.compile(
    r"^(?:" + _FAST_STAMP + r"(?:(k)ernel:(?: |(?! ))(?:(?=" + _KPREFIX_AHEAD + r")(.))?"
    r"|(?=" + _KPREFIX_AHEAD + r")(.)|(?=" + _KMSG_AHEAD + r")(.)|).*|(.*))",
    re.M,
)
# For the parse: (kernel, ts, caller, text) as `_stamped` gives them, or the whole line. The
# stamp's groups are made non-capturing (all of them are plain `(`).
_FAST_STAMPED = re.compile(
    r"^(?:"
    + re.sub(r"\((?!\?)", "(?:", _FAST_STAMP)
    + r"(?:(kernel:)(?: |(?! ))|(?!kernel:)(?=[A-Za-z\[]))(?:"
    + _FAST_PFX
    + r"|(?![<\[]| \[))(.*)|(.*))",
    re.M,
)

# Sampling for the vote (see `_normalize`).
_SAMPLE_HEAD = 300
_SAMPLE_TAIL = 100


# --- Per-line parse results ---------------------------------------------------------------

# (text, timestamp, caller, kernel); None when the shape did not match the line.
_Parsed = tuple[str, float | None, str | None, bool]


def _kernel_prefix(line: str) -> _Parsed | None:
    """Strip the kernel's own `<N>[ts][caller]` prefix; None when there is none."""
    m = _KPREFIX.match(line)
    if m is None:
        return None
    lvl, ts, caller = m.group("lvl", "ts", "caller")
    if lvl is None and ts is None and caller is None:
        return None
    # Syslog facility 0 is the kernel; `<14>` etc. are user-space writes to /dev/kmsg.
    kernel = lvl is None or int(lvl) < 8
    return line[m.end() :], float(ts) if ts is not None else None, caller, kernel


def _wall_prefix(line: str) -> _Parsed | None:
    """Strip a dmesg wall-clock prefix (`-T`, `-e`, `--time-format=iso`)."""
    m = _WALL.match(line)
    if m is None:
        return None
    end, caller = m.end(), m.group("caller")
    # dmesg prints one stamp per time format asked for (`dmesg -x -d -T`: the delta, then the
    # ctime), so a second stamp may follow the first before the caller id.
    while caller is None and (again := _WALL.match(line, end)) is not None and again.end() > end:
        end, caller = again.end(), again.group("caller")
    return line[end:], None, caller, True


def _decode_prefix(line: str) -> _Parsed | None:
    """Strip `dmesg -x` `facility:level:` and whatever time prefix follows it."""
    m = _DECODE.match(line)
    if m is None:
        return None
    kernel = m.group("fac") == "kern"
    rest = line[m.end() :]
    inner = _kernel_prefix(rest) or _wall_prefix(rest)
    if inner is None:
        return rest, None, None, kernel
    return inner[0], inner[1], inner[2], kernel


def _kmsg_record(line: str) -> _Parsed | None:
    """Parse a `/dev/kmsg` / extended netconsole record header."""
    m = _KMSG.match(line)
    if m is None:
        return None
    extra = m.group("extra")
    caller = None
    if extra:
        cm = _KMSG_CALLER.search(extra)
        caller = cm.group(1) if cm else None
    kernel = int(m.group("prio")) < 8
    return line[m.end() :], int(m.group("usec")) / 1_000_000, caller, kernel


def _after_host(rest: str) -> _Parsed:
    """Interpret what follows `STAMP host ` in a journal, syslog or netconsole-receiver line."""
    if rest.startswith("kernel:"):
        msg = rest[8:] if rest.startswith("kernel: ") else rest[7:]
        # rsyslog (imklog) keeps printk's `[ts]` and sometimes the caller id.
        inner = _kernel_prefix(msg)
        if inner is not None:
            return inner[0], inner[1], inner[2], True
        return msg, None, None, True
    # A netconsole receiver: the console line follows the sender address directly.
    inner = _kernel_prefix(rest) or _kmsg_record(rest)
    if inner is not None:
        return inner
    return rest, None, None, False


def _stamped_rest(line: str) -> tuple[re.Match[str], str] | None:
    """Match a calendar stamp and host; return the match and what follows the host."""
    m = _STAMPED.match(line)
    if m is None:
        return None
    host = m.group("host")
    if host is None:
        rest = line[m.end() :]
        # A bare stamp followed by text that is not a kernel prefix: not one of ours.
        return (m, rest) if rest.startswith("[") else None
    if host[-1] == ":":
        # `journalctl --no-hostname`: what looked like the host is the identifier.
        return m, line[m.start("host") :]
    return m, line[m.end() :]


def _stamped(line: str) -> _Parsed | None:
    """Parse a journal/syslog/receiver line with a calendar stamp."""
    found = _stamped_rest(line)
    return None if found is None else _after_host(found[1])


def _monotonic(line: str) -> _Parsed | None:
    """Parse a `journalctl -o short-monotonic` line (only once the vote chose that shape)."""
    m = _MONO.match(line)
    if m is None:
        return None
    text, ts, caller, kernel = _after_host(line[m.end() :])
    # The journal's own monotonic stamp is the time since boot for every line.
    return text, ts if ts is not None else float(m.group("ts")), caller, kernel


# --- Shape detection ----------------------------------------------------------------------


def _line_kind(line: str) -> str:
    """Name the shape of one line for the vote; the names are internal."""
    first = line[0]
    if first == "[":
        m = _MONO.match(line)
        if m is not None:
            rest = line[m.end() :]
            if rest.startswith("kernel:"):
                return "mono-kernel"
            return "ts"
        if _kernel_prefix(line) is not None:
            return "ts"
        if _WALL.match(line):
            return "wall"
        if _SERIAL_NOISE.match(line):
            return "noise"
        return "none"
    if first == "<":
        return "ts" if _kernel_prefix(line) is not None else "none"
    if first == "-" and _JOURNAL_MARKER.match(line):
        return "marker"
    if first.isdigit():
        if _KMSG.match(line):
            return "kmsg"
        if _WALL.match(line):
            return "wall"
    found = _stamped_rest(line)
    if found is not None:
        m, rest = found
        if m.group("iso") is not None:
            stamp = "iso-nocolon" if m.group("tz") and not m.group("tzc") else "iso"
        elif m.group("full") is not None:
            stamp = "full"
        elif m.group("tfrac") is not None:
            stamp = "precise"
        else:
            day = m.group("day")
            stamp = "trad-space" if day[0] == " " else ("trad-zero" if day[0] == "0" else "trad")
        if rest.startswith("kernel:"):
            msg = rest[8:] if rest.startswith("kernel: ") else rest[7:]
            body = "kernel-ts" if _kernel_prefix(msg) is not None else "kernel"
        elif _kernel_prefix(rest) is not None:
            body = "console"
        elif _KMSG.match(rest):
            body = "kmsg"
        else:
            body = "other"
        return f"stamp:{stamp}:{body}"
    if _PSTORE_HEADER.match(line):
        return "pstore"
    if _DECODE.match(line):
        return "decode"
    if _SERIAL_NOISE.match(line):
        return "noise"
    return "none"


@dataclass
class _Evidence:
    """What the whole text showed besides line shapes (console debris)."""

    crlf: bool = False
    ansi: bool = False
    overwrite: bool = False
    garbage: int = 0  # control/garbage characters removed
    size: int = 0


def _decide(kinds: Counter[str], ev: _Evidence) -> str:
    """Pick the format from the vote over sampled line kinds and the console evidence."""
    total = sum(kinds.values())
    if total == 0:
        return "unknown"
    stamped = Counter[str]()
    for kind, n in kinds.items():
        if kind.startswith("stamp:"):
            stamped[kind] += n
    n_stamped = sum(stamped.values())
    ts = kinds["ts"]
    noise = kinds["noise"]
    none = kinds["none"]

    if kinds["pstore"] and ts >= none:
        return "pstore"
    if kinds["kmsg"] * 2 > total:
        return "kmsg"
    # A dmesg line `[ts] word kernel: ...` is vanishingly rare; a handful decides.
    if kinds["mono-kernel"] and kinds["mono-kernel"] * 10 >= ts:
        return "journalctl-short-monotonic"
    leaders = {
        "stamped": n_stamped + kinds["marker"],
        "ts": ts,
        "wall": kinds["wall"],
        "decode": kinds["decode"],
        "kmsg": kinds["kmsg"],
    }
    best = max(leaders, key=lambda k: leaders[k])
    if leaders[best] == 0 or (leaders[best] < 3 and leaders[best] * 20 < total):
        # Hardly any line carries a known prefix (a stray `[ 1.5]` inside plain text must not
        # turn every other line into user space).
        if ev.garbage * 3 > ev.size:
            return "unknown"
        return "serial-console" if noise or ev.ansi or ev.overwrite else "plain"
    if best == "stamped":
        return _decide_stamped(stamped, kinds["marker"])
    if best == "wall":
        return "dmesg-T"
    if best == "decode":
        return "dmesg-decode"
    if best == "kmsg":
        return "kmsg"
    # Kernel-prefixed lines: a clean dmesg, or a console capture with debris around them (a
    # dmesg has no unprefixed lines to speak of; a console is full of other programs' output).
    if noise or ev.ansi or ev.overwrite or ((ev.crlf or ev.garbage) and none) or none > ts:
        return "serial-console"
    return "dmesg"


def _decide_stamped(stamped: Counter[str], markers: int) -> str:
    """Split journal, syslog and netconsole-receiver lines (see the module docstring)."""
    bodies: Counter[str] = Counter()
    stamps: Counter[str] = Counter()
    for kind, n in stamped.items():
        _, stamp, body = kind.split(":")
        bodies[body] += n
        stamps[stamp] += n
    n = sum(stamped.values())
    if bodies["console"] * 2 > n:
        return "netconsole"
    if bodies["kmsg"] * 2 > n:
        return "kmsg"
    kernel_lines = bodies["kernel"] + bodies["kernel-ts"]
    with_ts = bodies["kernel-ts"] * 2 > kernel_lines > 0
    iso = stamps["iso"] + stamps["iso-nocolon"]
    if iso * 2 > n:
        if markers or stamps["iso-nocolon"] * 2 > iso:
            return "journalctl-short-iso"
        return "syslog"
    if markers or stamps["full"] or stamps["precise"]:
        return "journalctl-short"
    if with_ts or stamps["trad-space"] > stamps["trad-zero"]:
        return "syslog"
    return "journalctl-short"


# --- Normalization ------------------------------------------------------------------------


def _prepare(text: str) -> tuple[list[int], list[str], _Evidence]:
    """Clean the text and return its non-empty lines and their 1-based numbers."""
    ev = _Evidence(size=len(text))
    if "\x1b" in text:
        cleaned = _ANSI.sub("", text)
        ev.ansi = len(cleaned) != len(text)
        text = cleaned
    if text.isascii():
        # Only the ASCII controls can occur: bytes.translate deletes them far faster than the
        # regex scans for them (this is most of the cost of a clean log).
        raw_bytes = text.encode("ascii").translate(None, _CONTROL_ASCII)
        cleaned = text if len(raw_bytes) == len(text) else raw_bytes.decode("ascii")
    else:
        cleaned = _CONTROL.sub("", text)
    ev.garbage = len(text) - len(cleaned)
    text = cleaned
    # A single-character search is much faster than a two-character one.
    has_cr = "\r" in text
    ev.crlf = has_cr and "\r\n" in text
    raw_lines = text.split("\n")
    if has_cr:
        # CRLF endings (the usual reason for a CR) only need stripping; a CR left inside a
        # line means an overwrite, which the loop below handles.
        raw_lines = [line.rstrip("\r") for line in raw_lines]
        has_cr = any("\r" in line for line in raw_lines)
    if not has_cr:
        # `str.strip()` is empty exactly for the empty and all-space lines that are dropped.
        keep = list(map(str.strip, raw_lines))
        numbers = list(compress(range(1, len(raw_lines) + 1), keep))
        return numbers, list(compress(raw_lines, keep)), ev
    numbers = []
    lines: list[str] = []
    for index, raw in enumerate(raw_lines):
        line = raw
        if "\r" in line:
            # A carriage return inside a line overwrote what came before it on the terminal
            # (progress spinners, a console line over a half-written prompt): the last
            # non-empty segment is what the reader saw last.
            ev.overwrite = True
            segments = [s for s in line.split("\r") if s.strip()]
            line = segments[-1] if segments else ""
        if line and not line.isspace():
            numbers.append(index + 1)
            lines.append(line)
    return numbers, lines, ev


def _unquote(numbers: list[int], lines: list[str]) -> tuple[list[int], list[str]]:
    """Strip the quote markers of a quoted log (a mail reply, a bug tracker quote).

    Only when most lines carry the same quote depth; that many markers are then removed from
    every line quoted at least that deep. Lines left empty are dropped; numbers are kept.
    """
    quoted = [line for line in lines if line[0] == ">"]
    if len(quoted) * 2 <= len(lines):
        return numbers, lines
    # Every quoted line starts with `>`, so `_QUOTE` matches it.
    depths = Counter(_QUOTE.findall(line, 0, 64)[0].count(">") for line in quoted)
    depth, n = depths.most_common(1)[0]
    if n * 2 <= len(lines):
        return numbers, lines
    strip = re.compile(rf"(?:> ?){{{depth}}}")
    out_numbers: list[int] = []
    out_lines: list[str] = []
    for number, line in zip(numbers, lines, strict=True):
        m = strip.match(line)
        inner = line if m is None else line[m.end() :]
        if inner and not inner.isspace():
            out_numbers.append(number)
            out_lines.append(inner)
    return out_numbers, out_lines


# RFC 5424 syslog (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`), as some collectors store
# and forward it; rewritten to the RFC 3339 syslog shape `TIMESTAMP HOST APP[PROCID]: MSG`.
_RFC5424 = re.compile(
    r"<\d{1,3}>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) \S+ "
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?\ufeff?(?P<msg>.*)"
)


def _from_rfc5424(lines: list[str]) -> list[str]:
    """Rewrite RFC 5424 lines to the RFC 3339 syslog shape when most lines are RFC 5424;
    other lines (and logs that are not RFC 5424) are returned as they are."""
    matches = [_RFC5424.match(line) for line in lines]
    if sum(m is not None for m in matches) * 2 <= len(lines):
        return lines
    out = []
    for line, m in zip(lines, matches, strict=True):
        if m is None:
            out.append(line)
            continue
        pid = "" if m["pid"] == "-" else f"[{m['pid']}]"
        out.append(f"{m['ts']} {m['host']} {m['app']}{pid}: {m['msg']}")
    return out


# A serial console logger's wall clock in brackets, date first (`[2021/07/05, 13:43:52.334] `,
# `[2026-03-28 22:39:25] `, `[05.07.2021 13:43:52]`), before the kernel's message.
_CONSOLE_CLOCK = re.compile(
    r"\[(?:\d{4}[-/.]\d\d[-/.]\d\d|\d\d[-/.]\d\d[-/.]\d{4})[ ,T]{1,3}"
    r"\d\d:\d\d:\d\d(?:[.,:]\d{1,9})?\] ?"
)

# syslogd's wall broadcast of an emergency kernel message, as a terminal shows it among the
# log lines: `Message from syslogd@host at ...` and then ` kernel:[ 12.345] msg`, indented like
# a continuation line but a kernel line of its own.
_WALL_KERNEL_LINE = re.compile(r"\s+kernel:\s?(?:<\d{1,3}>)?\[\s*\d+\.\d+\]")

# `kubectl describe node` / `kubectl get events` rows of node-problem-detector's kernel monitor:
# `  Warning  Ext4Error  2m13s (x2 over 2m13s)  kernel-monitor  EXT4-fs error (device ...)`.
_NPD_EVENT = re.compile(
    r"\s*(?:Warning|Normal)\s+\w+\s+\S+(?: \(x\d+ over \S+\))?\s+kernel-monitor"
    r"(?:,\s*\S+)?\s+(?P<msg>\S.*)"
)


def _from_npd_events(lines: list[str]) -> list[str]:
    """The kernel messages of node-problem-detector event rows, when most lines are such rows
    (the rows' reason, age and source columns dropped); other logs are returned as they are."""
    matches = [_NPD_EVENT.match(line) for line in lines]
    if sum(m is not None for m in matches) * 2 <= len(lines):
        return lines
    return [line if m is None else m["msg"] for line, m in zip(lines, matches, strict=True)]


def _line_kinds(sample: list[str], found: _KPrefixes) -> Counter[str]:
    """Count `_line_kind` over the sample, given `_FAST_KPREFIX` matches for its lines.

    A line that starts with `[` or `<` and carries a kernel prefix is "ts" (a `_MONO` match is
    one too, and it is "mono-kernel" only with `kernel:` in the line); the rest are asked,
    journal and syslog lines through `_FAST_STAMP_KIND` first.
    """
    fast = next(zip(*found, strict=True))
    tagged = "kernel:" in "\n".join(sample)
    if "" not in fast and not tagged:
        return Counter(ts=len(sample))  # the usual dmesg
    # A line the first branch took starts with `[` or `<`, so it is "ts" unless it holds
    # `kernel:`; only the other lines and those holding `kernel:` need a look.
    visit = set(compress(range(len(sample)), map(operator.not_, fast)))
    if tagged:
        visit.update(index for index, line in enumerate(sample) if "kernel:" in line)
    prefixed = len(sample) - len(visit)
    others: list[str] = []
    for index in sorted(visit):
        line = sample[index]
        fts, _, _, lvl, ts, caller, _ = found[index]
        if (fts or lvl or ts or caller) and line[0] in "[<" and "kernel:" not in line:
            prefixed += 1
        else:
            others.append(line)
    kinds = _other_kinds(others)
    if prefixed:
        kinds["ts"] += prefixed
    return kinds


def _other_kinds(others: list[str]) -> Counter[str]:
    """`Counter(map(_line_kind, others))`, with the common journal and syslog lines in bulk."""
    if len(others) < 8:
        return Counter(map(_line_kind, others))
    kinds: Counter[str] = Counter()
    found = _FAST_STAMP_KIND.findall("\n".join(others))
    for key, n in Counter(found).items():
        day, dot, full, iso, nocolon, k, kts, console, kmsg, whole = key
        if whole:
            kinds[_line_kind(whole)] += n
            continue
        if iso:
            stamp = "iso-nocolon" if nocolon else "iso"
        elif full:
            stamp = "full"
        elif dot:
            stamp = "precise"
        else:
            stamp = "trad-space" if day == " " else ("trad-zero" if day == "0" else "trad")
        if k:
            body = "kernel-ts" if kts else "kernel"
        else:
            body = "console" if console else ("kmsg" if kmsg else "other")
        kinds[f"stamp:{stamp}:{body}"] += n
    return kinds


def _parse_kernelish(line: str, fmt: str, bare_kernel: bool) -> _Parsed:
    """Parse a line of the dmesg family (dmesg, serial, pstore, plain, unknown)."""
    parsed = _kernel_prefix(line)
    if parsed is not None:
        return parsed
    return _parse_unprefixed(line, fmt, bare_kernel)


def _parse_unprefixed(line: str, fmt: str, bare_kernel: bool) -> _Parsed:
    """`_parse_kernelish` for a line that has no kernel prefix at its start."""
    if fmt == "dmesg-T":
        parsed = _wall_prefix(line)
        if parsed is not None:
            return parsed
    elif fmt == "dmesg-decode":
        parsed = _decode_prefix(line)
        if parsed is not None:
            return parsed
    m = _CONSOLE_CLOCK.match(line)
    if m is not None:
        # A console logger's wall clock with nothing of the kernel's own behind it.
        rest = line[m.end() :]
        return _kernel_prefix(rest) or (rest, None, None, bare_kernel)
    if line.startswith("kernel: "):
        # Kernel lines cut out of a syslog or journal with their stamp and host but not their
        # `kernel:` tag (node-problem-detector and log shippers print them so).
        rest = line[8:]
        return _kernel_prefix(rest) or (rest, None, None, True)
    m = _GLUED.match(line)
    if m is not None:
        # A kernel line glued after a shell or login prompt: keep the kernel's part.
        rest = line[m.end() :]
        parsed = _kernel_prefix(rest) or _wall_prefix(rest)
        return parsed if parsed is not None else (rest, None, None, True)
    # A console line that landed after a prompt or unfinished user-space output, or a line
    # whose printk stamp sits behind a decoration the vote did not recognise (an indented
    # paste, a console logger's `[2026-03-28 22:39:25] ` wall clock, a syslog template with
    # the year first and a severity column): the kernel's part starts at the stamp. Checked
    # before the noise test, since a login prompt is exactly what such a line starts with.
    m = _TS_INSIDE.search(line)
    if m is not None:
        inner = _kernel_prefix(line[m.start() :])
        if inner is not None:
            return inner
    if fmt == "serial-console" and _SERIAL_NOISE.match(line):
        return line, None, None, False
    return line, None, None, bare_kernel


def _is_continuation(line: str, fmt: str) -> bool:
    """Whether an indented, unprefixed line continues the record before it."""
    if fmt == "serial-console":
        # systemd indents its `Starting ...` lines on the console too.
        stripped = line.lstrip()
        return not (stripped and _SERIAL_NOISE.match(stripped))
    return True


def _parse_kernel_lines(
    numbers: list[int],
    texts: list[str],
    found: _KPrefixes,
    fmt: str,
    bare_kernel: bool,
) -> list[LogLine]:
    """`_parse_lines` for the dmesg family, given `_FAST_KPREFIX` matches for every line."""
    lines: list[LogLine] = []
    append = lines.append
    pstore = fmt == "pstore"
    continuation = not bare_kernel
    serial = fmt == "serial-console"
    # Only the first three columns are built (the others are read from `found` when needed).
    fast_ts, fast_caller, fast_text = islice(zip(*found, strict=True), 3)
    callers = [c or None for c in fast_caller] if any(fast_caller) else None
    # Runs of lines the first branch took become LogLines in bulk (such a line starts with `[`
    # or `<`: never a pstore header nor a continuation); the others are taken one by one.
    start = 0
    for stop in [*compress(range(len(texts)), map(operator.not_, fast_ts)), len(texts)]:
        if start < stop:
            stamps = map(float, fast_ts[start:stop])
            if callers is None:
                lines.extend(map(LogLine, numbers[start:stop], fast_text[start:stop], stamps))
            else:
                lines.extend(
                    map(
                        LogLine,
                        numbers[start:stop],
                        fast_text[start:stop],
                        stamps,
                        callers[start:stop],
                    )
                )
        start = stop + 1
        if stop == len(texts):
            break
        number, line = numbers[stop], texts[stop]
        _, _, _, lvl, ts, caller, text = found[stop]
        if pstore and (_PSTORE_HEADER.match(line) or _RAMOOPS_HEADER.match(line)):
            continue
        if (
            continuation
            and line[0] in " \t"
            and lines
            and (not serial or _is_continuation(line, fmt))
        ):
            # The rest of a multi-line record, as in `_parse_lines`.
            prev = lines[-1]
            append(LogLine(number, line, prev.timestamp, prev.caller, prev.kernel))
        elif lvl or ts or caller:
            kernel = not lvl or int(lvl) < 8
            append(LogLine(number, text, float(ts) if ts else None, caller or None, kernel))
        else:
            append(LogLine(number, *_parse_unprefixed(line, fmt, bare_kernel)))
    return lines


def _parse_stamped_lines(
    numbers: list[int], texts: list[str], fmt: str, bare_kernel: bool
) -> list[LogLine]:
    """`_parse_lines` for journal, syslog and netconsole, with `_FAST_STAMPED` doing most."""
    lines: list[LogLine] = []
    append = lines.append
    found = _FAST_STAMPED.findall("\n".join(texts))
    for number, line, (k, ts, caller, text, whole) in zip(numbers, texts, found, strict=True):
        if not whole:
            append(LogLine(number, text, float(ts) if ts else None, caller or None, bool(k or ts)))
            continue
        if _JOURNAL_MARKER.match(line):
            continue
        parsed = _stamped(line)
        if parsed is None:
            if (
                line[0] in " \t"
                and lines
                and not bare_kernel
                and _is_continuation(line, fmt)
                and not _WALL_KERNEL_LINE.match(line)
            ):
                prev = lines[-1]
                append(LogLine(number, line, prev.timestamp, prev.caller, prev.kernel))
                continue
            parsed = _parse_kernelish(line, fmt, bare_kernel)
        append(LogLine(number, *parsed))
    return lines


def _parse_lines(prepared: list[tuple[int, str]], fmt: str, bare_kernel: bool) -> list[LogLine]:
    """Parse every prepared line with the chosen shape first and generic fallbacks second."""
    lines: list[LogLine] = []
    append = lines.append
    stamped_family = fmt in {"journalctl-short", "journalctl-short-iso", "syslog", "netconsole"}
    last_kmsg_seq: str | None = None
    for number, line in prepared:
        parsed: _Parsed | None = None
        if stamped_family:
            if _JOURNAL_MARKER.match(line):
                continue
            parsed = _stamped(line)
        elif fmt == "journalctl-short-monotonic":
            if _JOURNAL_MARKER.match(line):
                continue
            parsed = _monotonic(line)
        elif fmt == "kmsg":
            if _KMSG_DICT.match(line):
                continue
            m = _KMSG.match(line)
            if m is None:
                # A receiver may have put its own stamp and the sender in front.
                sm = _STAMPED.match(line)
                if sm is not None:
                    m = _KMSG.match(line, sm.end())
            if m is not None:
                extra = m.group("extra") or ""
                frag = _KMSG_FRAG.search(extra) if extra else None
                seq = m.group("seq")
                if frag is not None and frag.group(1) != "0" and seq == last_kmsg_seq and lines:
                    # Extended netconsole split one long record over several packets: glue the
                    # continuation to the fragment it belongs to.
                    lines[-1].text += line[m.end() :]
                    continue
                last_kmsg_seq = seq
                cm = _KMSG_CALLER.search(extra) if extra else None
                append(
                    LogLine(
                        number=number,
                        text=line[m.end() :],
                        timestamp=int(m.group("usec")) / 1_000_000,
                        caller=cm.group(1) if cm else None,
                        kernel=int(m.group("prio")) < 8,
                    )
                )
                continue
        elif fmt == "pstore" and (_PSTORE_HEADER.match(line) or _RAMOOPS_HEADER.match(line)):
            continue
        if parsed is None:
            if (
                line[0] in " \t"
                and lines
                and not bare_kernel
                and _is_continuation(line, fmt)
                and not _WALL_KERNEL_LINE.match(line)
            ):
                # The rest of a multi-line record (`Mem-Info:` counters, a journal message
                # spanning lines): printk and journalctl print it indented and unprefixed.
                prev = lines[-1]
                append(LogLine(number, line, prev.timestamp, prev.caller, prev.kernel))
                continue
            parsed = _parse_kernelish(line, fmt, bare_kernel)
        text, ts, caller, kernel = parsed
        append(LogLine(number=number, text=text, timestamp=ts, caller=caller, kernel=kernel))
    return lines


# Formats whose lines are not parsed by the kernel prefix first (see `_parse_lines`).
_LINE_BY_LINE_FORMATS = frozenset(
    {
        "journalctl-short",
        "journalctl-short-iso",
        "syslog",
        "netconsole",
        "journalctl-short-monotonic",
        "kmsg",
    }
)


# Of those, the ones `_parse_stamped_lines` takes.
_STAMPED_FORMATS = frozenset({"journalctl-short", "journalctl-short-iso", "syslog", "netconsole"})


def _reorder_pstore(prepared: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Put concatenated pstore parts back in time order.

    pstore fills Part1 with the newest end of the kernel log and walks backwards, so within one
    dump (same reason and count) higher part numbers are older. Dumps keep the order in which
    they first appear; lines before the first header stay first.
    """
    preamble: list[tuple[int, str]] = []
    dumps: dict[tuple[str, str], list[tuple[int, list[tuple[int, str]]]]] = {}
    current: list[tuple[int, str]] = preamble
    for item in prepared:
        m = _PSTORE_HEADER.match(item[1])
        if m is not None:
            current = [item]  # keep the header; the parse step drops it
            key = (m.group("why"), m.group("count"))
            dumps.setdefault(key, []).append((int(m.group("part")), current))
        else:
            current.append(item)
    if sum(len(parts) for parts in dumps.values()) <= 1:
        return prepared
    out = list(preamble)
    for parts in dumps.values():
        # sorted() is stable, so repeated part numbers keep their input order.
        for _, chunk in sorted(parts, key=lambda p: -p[0]):
            out.extend(chunk)
    return out


# Second-chance shapes, tried only when a log read as it is shows no crash (see `parse_log`):
# rows exported from a log store (CSV with the message in the last quoted field, or tab-
# separated columns), container-runtime (CRI) log lines, and a paste turned into a Markdown list.
_CSV_ROW = re.compile(r'^\s*".*",\s*"(?P<msg>(?:[^"]|"")*)"\s*$')
_CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\S+ (?:stdout|stderr) [FP] (?P<msg>.*)$")
_BULLET = re.compile(r"^\s*[-*+] (?P<msg>.*)$")


def unwrap_columns(text: str) -> str | None:
    """The log with each line cut to its message, when most lines share one of the wrappings
    above; None when none applies. Line count and order are kept, so line numbers still point
    at the original input."""
    lines = text.split("\n")
    filled = [line for line in lines if line.strip()]
    if not filled:
        return None

    def most(test: Callable[[str], object]) -> bool:
        return sum(1 for line in filled if test(line)) * 2 > len(filled)

    def cut(pattern: re.Pattern[str], unquote: bool = False) -> str:
        out = []
        for line in lines:
            m = pattern.match(line)
            msg = m["msg"] if m else line
            out.append(msg.replace('""', '"') if m and unquote else msg)
        return "\n".join(out)

    if most(_CSV_ROW.match):
        return cut(_CSV_ROW, unquote=True)
    if most(lambda line: "\t" in line.strip()):
        return "\n".join(line.rsplit("\t", 1)[-1] for line in lines)
    if most(_CRI_LINE.match):
        return cut(_CRI_LINE)
    if most(_BULLET.match):
        return cut(_BULLET)
    return None


def normalize(text: str) -> NormalizedLog:
    """Detect the shape of a kernel log and strip transport prefixes from its lines.

    Never raises: any `str` gives a `NormalizedLog` (format "unknown" and no lines for empty
    input; "plain" or "unknown" with the lines kept for text that matches no known shape).
    Timestamps are seconds since boot, None when the line carried none (or only a wall clock).
    """
    try:
        return _normalize(text)
    except Exception:  # pragma: no cover - defensive: intake must never die on a log
        # Should not happen; the regexes are total. Keep the lines rather than fail the upload.
        fallback = [
            LogLine(number=i + 1, text=raw.rstrip("\r"))
            for i, raw in enumerate(str(text).split("\n"))
            if raw.strip()
        ]
        return NormalizedLog(format="unknown", lines=fallback)


def _kprefixes(lines: list[str]) -> _KPrefixes:
    """`_FAST_KPREFIX` over the lines: one tuple of its groups per line."""
    found: _KPrefixes = _FAST_KPREFIX.findall("\n".join(lines))
    if len(found) != len(lines):  # pragma: no cover - one match per line by construction
        raise AssertionError("kernel prefix pass lost a line")
    return found


def _all_fast(numbers: list[int], lines: list[str], ev: _Evidence) -> NormalizedLog | None:
    """`_normalize` for a log whose every line takes `_FAST_KPREFIX`'s first branch and which
    holds no `kernel:` anywhere (a clean dmesg or console capture); None for any other log.

    For such a log the vote is all "ts", the shape is "dmesg" or "serial-console" (console
    evidence decides), no line is bare kernel text, and `_parse_kernel_lines` makes every line
    a LogLine from the first branch's groups; this does the same from one `split`.
    """
    # Cheap refusals first: such a log's lines all start with `[` or `<`.
    if lines[0][0] not in "[<" or lines[-1][0] not in "[<":
        return None
    joined = "\n" + "\n".join(lines)
    if "kernel:" in joined:
        return None
    parts = _ALL_FAST_SPLIT.split(joined)
    if len(parts) != 3 * len(lines) + 1:
        return None
    sample = min(len(lines), _SAMPLE_HEAD + _SAMPLE_TAIL)
    fmt = _decide(Counter(ts=sample), ev)
    stamps = map(float, parts[1::3])
    callers = parts[2::3]
    if any(callers):
        out = list(map(LogLine, numbers, parts[3::3], stamps, callers))
    else:
        out = list(map(LogLine, numbers, parts[3::3], stamps))
    return NormalizedLog(format=fmt, lines=out)


def _normalize(text: str) -> NormalizedLog:
    numbers, lines, ev = _prepare(text)
    # A quoted log has quoted lines at its head or tail; looking there is far cheaper than a
    # search of the whole text (two-character searches are slow).
    if any(line[0] == ">" for line in lines[:32]) or any(line[0] == ">" for line in lines[-32:]):
        numbers, lines = _unquote(numbers, lines)
    if lines and lines[0].startswith("<") and _RFC5424.match(lines[0]):
        lines = _from_rfc5424(lines)
    elif lines and "kernel-monitor" in lines[0] and _NPD_EVENT.match(lines[0]):
        lines = _from_npd_events(lines)
    if not lines:
        return NormalizedLog(format="unknown", lines=[])
    fast = _all_fast(numbers, lines, ev)
    if fast is not None:
        return fast
    # The vote looks at the head of the file and its tail: enough lines to see the shape, few
    # enough to stay cheap on big logs. The kernel prefix pass over them is kept for the parse.
    big = len(lines) > _SAMPLE_HEAD + _SAMPLE_TAIL
    if big:
        head = _kprefixes(lines[:_SAMPLE_HEAD])
        tail = _kprefixes(lines[-_SAMPLE_TAIL:])
        kinds = _line_kinds(lines[:_SAMPLE_HEAD] + lines[-_SAMPLE_TAIL:], head + tail)
    else:
        found = _kprefixes(lines)
        kinds = _line_kinds(lines, found)
    fmt = _decide(kinds, ev)
    # Lines without any prefix are the kernel's only when the kernel's lines carry no prefix
    # either; otherwise (timestamps on) they are user space or debris.
    bare_kernel = fmt in {"plain", "unknown"} or (
        fmt == "serial-console" and kinds["ts"] * 10 < kinds["ts"] + kinds["none"] + kinds["noise"]
    )
    if fmt in _STAMPED_FORMATS:
        return NormalizedLog(
            format=fmt, lines=_parse_stamped_lines(numbers, lines, fmt, bare_kernel)
        )
    if fmt in _LINE_BY_LINE_FORMATS:
        return NormalizedLog(
            format=fmt, lines=_parse_lines(list(zip(numbers, lines, strict=True)), fmt, bare_kernel)
        )
    if fmt == "pstore":
        prepared = _reorder_pstore(list(zip(numbers, lines, strict=True)))
        numbers = [number for number, _ in prepared]
        lines = [line for _, line in prepared]
        found = _kprefixes(lines)
    elif big:
        found = head + _kprefixes(lines[_SAMPLE_HEAD:-_SAMPLE_TAIL]) + tail
    return NormalizedLog(
        format=fmt, lines=_parse_kernel_lines(numbers, lines, found, fmt, bare_kernel)
    )
