"""Boot the fixture guest under QEMU, wait for its panic, and dump its memory over QMP.

QEMU runs with TCG (no KVM needed), `-device pvpanic -action panic=pause` (the guest's pvpanic
driver tells QEMU it panicked; QEMU pauses it and emits GUEST_PANICKED) and `-device
vmcoreinfo` (with qemu_fw_cfg loaded in the guest, the dump carries VMCOREINFO). QMP is spoken
with the qemu.qmp library; this process is the QMP server and QEMU connects to it, so no event
can be missed, and the guest is started (`-S`, then `cont`) only once the session is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qemu.qmp import QMPClient, QMPError

# QMP dump-guest-memory formats. QEMU 7.2 writes the kdump ones as makedumpfile's flattened
# stream, not as a seekable kdump-compressed file.
DumpFormat = Literal["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy"]

CONNECT_TIMEOUT_S = 30.0
QUIT_TIMEOUT_S = 30.0
# Writing a 4 GiB guest's ELF dump takes about a minute here; allow for slow disks.
DUMP_TIMEOUT_S = 900.0


class GuestError(RuntimeError):
    """The guest did not panic in time, or QEMU failed (the message has the console tail)."""


@dataclass(frozen=True)
class GuestRun:
    """What one crashed-and-dumped boot produced."""

    qemu_version: str
    panic_event: Mapping[str, object]
    seconds_to_panic: float
    dumps: Mapping[DumpFormat, Path]


@dataclass(frozen=True)
class GuestBoot:
    """What to boot and where its serial console goes."""

    qemu: Path
    vmlinuz: Path
    initramfs: Path
    cmdline: str
    memory: str  # in QEMU's -m syntax: 256M, 4G
    serial_log: Path


def qemu_command(boot: GuestBoot, qmp_socket: Path) -> list[str]:
    """The QEMU argument list (never a shell string). Raises ValueError on unusable paths."""
    for path in (boot.serial_log, qmp_socket):
        # QEMU's option syntax uses commas as separators; a path with one would be misread.
        if "," in str(path):
            raise ValueError(f"QEMU cannot take a path containing a comma: {path}")
    return [
        str(boot.qemu),
        "-machine", "pc,accel=tcg",
        "-smp", "1",
        "-m", boot.memory,
        "-nodefaults",
        "-nographic",
        "-monitor", "none",
        "-serial", f"file:{boot.serial_log}",
        "-kernel", str(boot.vmlinuz),
        "-initrd", str(boot.initramfs),
        "-append", boot.cmdline,
        "-device", "vmcoreinfo",
        "-device", "pvpanic",
        "-action", "panic=pause",
        "-no-reboot",
        "-qmp", f"unix:{qmp_socket}",
        "-S",
    ]  # fmt: skip


def _console_tail(serial_log: Path, lines: int = 25) -> str:
    try:
        text = serial_log.read_text(errors="replace")
    except OSError:
        return "(no console output)"
    return "\n".join(text.splitlines()[-lines:])


async def _watch_console(serial_log: Path, marker: str) -> None:
    """Return once `marker` appears in the serial log (polled: QEMU writes it as a plain file)."""
    needle = marker.encode()
    while True:
        with contextlib.suppress(OSError):
            if needle in serial_log.read_bytes():
                return
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class HostAction:
    """A QMP command the host runs once the guest prints `marker` (e.g. inject-nmi)."""

    marker: str
    command: str


async def _run_host_action(qmp: QMPClient, serial_log: Path, action: HostAction) -> None:
    await _watch_console(serial_log, action.marker)
    await qmp.execute(action.command)


async def _wait_for_panic(
    qmp: QMPClient,
    process: asyncio.subprocess.Process,
    timeout: float,
    serial_log: Path,
    *,
    failure_marker: str | None,
    host_action: HostAction | None,
) -> Mapping[str, object]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with qmp.listener("GUEST_PANICKED") as listener:
        await qmp.execute("cont")
        panicked = asyncio.ensure_future(listener.get())
        exited = asyncio.ensure_future(process.wait())
        waits = {panicked, exited}
        failed = None
        if failure_marker is not None:
            failed = asyncio.ensure_future(_watch_console(serial_log, failure_marker))
            waits.add(failed)
        acting = None
        if host_action is not None:
            acting = asyncio.ensure_future(_run_host_action(qmp, serial_log, host_action))
            waits.add(acting)
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise GuestError(f"the guest did not panic within {timeout:.0f} s")
                done, waits = await asyncio.wait(
                    waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if panicked in done:
                    return dict(panicked.result())
                if exited in done:
                    raise GuestError(
                        f"QEMU exited with status {exited.result()} before the guest panicked"
                    )
                if failed is not None and failed in done:
                    raise GuestError("the guest's crash action failed and the kernel did not panic")
                if acting is not None and acting in done:
                    acting.result()  # raises if the QMP command failed; else keep waiting
        finally:
            for task in waits:
                task.cancel()


async def _accept(qmp: QMPClient, process: asyncio.subprocess.Process) -> None:
    """Wait for QEMU to connect to the QMP socket, or fail as soon as QEMU exits."""
    accepted = asyncio.ensure_future(qmp.accept())
    exited = asyncio.ensure_future(process.wait())
    done, pending = await asyncio.wait(
        {accepted, exited}, timeout=CONNECT_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    if accepted in done:
        accepted.result()
        return
    if exited in done:
        raise GuestError(f"QEMU exited with status {exited.result()} at start-up")
    raise GuestError(f"QEMU did not connect to QMP within {CONNECT_TIMEOUT_S:.0f} s")


async def _crash_and_dump(
    boot: GuestBoot,
    qmp_socket: Path,
    dumps: Mapping[DumpFormat, Path],
    *,
    panic_timeout: float,
    failure_marker: str | None,
    host_action: HostAction | None,
) -> GuestRun:
    command = qemu_command(boot, qmp_socket)
    qmp = QMPClient("panicdx-dump")
    await qmp.start_server(str(qmp_socket))
    qemu_stderr = boot.serial_log.with_name(boot.serial_log.name + ".qemu")
    with qemu_stderr.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
        )
    loop = asyncio.get_running_loop()
    try:
        await _accept(qmp, process)
        version = await qmp.execute("query-version")
        started = loop.time()
        event = await _wait_for_panic(
            qmp,
            process,
            panic_timeout,
            boot.serial_log,
            failure_marker=failure_marker,
            host_action=host_action,
        )
        seconds = loop.time() - started
        for dump_format, path in dumps.items():
            path.unlink(missing_ok=True)
            # paging=false: physical memory as is; the readers translate addresses themselves.
            await asyncio.wait_for(
                qmp.execute(
                    "dump-guest-memory",
                    {"paging": False, "protocol": f"file:{path}", "format": dump_format},
                ),
                DUMP_TIMEOUT_S,
            )
        await qmp.execute("quit")
        await asyncio.wait_for(process.wait(), QUIT_TIMEOUT_S)
        return GuestRun(_version_text(version), event, seconds, dict(dumps))
    except QMPError as error:
        raise GuestError(f"QMP failed: {error}") from None
    except TimeoutError:
        raise GuestError("QEMU did not finish a dump or quit in time") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(Exception):
            await qmp.disconnect()


def _version_text(version: object) -> str:
    """QEMU's version as query-version reports it, distribution package string preferred."""
    if not isinstance(version, dict):
        return "unknown"
    package = str(version.get("package") or "").strip()
    if package:
        return package
    qemu = version.get("qemu")
    if isinstance(qemu, dict):
        return "{major}.{minor}.{micro}".format(**qemu)
    return "unknown"


def crash_and_dump(
    boot: GuestBoot,
    dumps: Mapping[DumpFormat, Path],
    *,
    panic_timeout: float = 240.0,
    failure_marker: str | None = None,
    host_action: HostAction | None = None,
) -> GuestRun:
    """Boot, wait for GUEST_PANICKED (at most `panic_timeout` s), write `dumps`, quit QEMU.

    `dumps` maps a QMP dump format ("elf", "kdump-zlib", ...) to the file to write. The serial
    console goes to `boot.serial_log`, QEMU's own messages beside it (`<serial_log>.qemu`).
    When `failure_marker` (None: no such check) appears on the console, the guest said its
    crash did not happen and the wait ends at once. `host_action` (None: none) is a QMP
    command run once its marker appears, for crashes caused from outside (an NMI). Raises
    GuestError, with the end of the console, when the guest does not panic or QEMU fails.
    """
    # A short directory: unix socket paths are limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="panicdx-qmp-") as sockdir:
        qmp_socket = Path(sockdir) / "qmp.sock"
        try:
            return asyncio.run(
                _crash_and_dump(
                    boot,
                    qmp_socket,
                    dumps,
                    panic_timeout=panic_timeout,
                    failure_marker=failure_marker,
                    host_action=host_action,
                )
            )
        except GuestError as error:
            tail = _console_tail(boot.serial_log)
            message = f"{error}\n--- console tail ---\n{tail}"
            qemu_messages = _console_tail(boot.serial_log.with_name(boot.serial_log.name + ".qemu"))
            if qemu_messages.strip():
                message += f"\n--- QEMU said ---\n{qemu_messages}"
            raise GuestError(message) from None
