"""Run `extract_file` in a child process with CPU, memory and wall-clock limits.

Uploaded dumps are hostile until proven otherwise: a crafted file may point the readers at
absurd offsets, loop their page tables or expand without end. The child has an address-space
limit (RLIMIT_AS), a CPU-time limit (RLIMIT_CPU) and no core files; the parent kills its whole
process group after a wall-clock limit, and on Linux the kernel kills the child when the parent
dies (a worker SIGKILLed mid-extraction leaves no reader running behind it). The answer comes
back as one JSON object on a pipe, so nothing but data crosses the boundary. Every failure maps
to an `InputError` with a stable code; the caller never hangs and never sees a traceback.

The child runs `python -m vmcore_parsers.sandbox` and imports only the readers (no
scikit-learn), which keeps it small and quick to start.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmcore_parsers import errors
from vmcore_parsers.intake import DEFAULT_MAX_LOG_BYTES

if TYPE_CHECKING:
    from vmcore_parsers.extract import ExtractedLog

# The child's last stderr bytes kept for an error message.
_STDERR_TAIL = 2000
# prctl option from <linux/prctl.h>: the signal the kernel sends when the parent dies.
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one extraction: CPU seconds, address space in bytes, wall-clock seconds."""

    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    wall_seconds: float = 120.0
    max_log_bytes: int = DEFAULT_MAX_LOG_BYTES

    @classmethod
    def for_debuginfo(cls) -> SandboxLimits:
        """Roomier limits for drgn, which maps the whole vmlinux and indexes its DWARF.

        drgn peaked at about 1.5 GB of address space on the 590 MB Debian 6.1 vmlinux; 3 GiB
        leaves room for bigger kernels and module debug files.
        """
        return cls(cpu_seconds=60, memory_bytes=3 << 30, wall_seconds=60.0)


_CODES: dict[str, type[errors.InputError]] = {
    cls.code: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.InputError)
}


def run_sandboxed(
    path: Path,
    limits: SandboxLimits | None = None,
    *,
    deep: bool = False,
    debuginfo: Path | None = None,
) -> ExtractedLog:
    """Extract `path` in a limited child process; return its `ExtractedLog`.

    Raises the `InputError` subclass the child reported, `ExtractionTimeout` past the CPU or
    wall-clock limit, `ExtractionOutOfMemory` past the memory limit and `ExtractionFailed`
    when the child died for any other reason.
    """
    from vmcore_parsers.extract import ExtractedLog

    limits = limits or SandboxLimits()
    command = [
        sys.executable,
        "-m",
        "vmcore_parsers.sandbox",
        str(Path(path).absolute()),
        str(limits.max_log_bytes),
        str(limits.memory_bytes),
        str(limits.cpu_seconds),
        "deep" if deep else "quick",
        str(Path(debuginfo).absolute()) if debuginfo else "",
        str(os.getpid()),
    ]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONSTARTUP"}
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so a kill takes everything it started
        env=env,
    )
    try:
        out, err = process.communicate(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        raise errors.ExtractionTimeout(
            f"reading the input took longer than {limits.wall_seconds:g} s"
        ) from None
    if process.returncode != 0 or not out:
        raise _death_error(process.returncode, err, limits)
    try:
        answer = json.loads(out)
    except ValueError:
        raise errors.ExtractionFailed("the extraction process answered garbage") from None
    if "error" in answer:
        code = str(answer["error"].get("code", ""))
        error_class = _CODES.get(code, errors.ExtractionFailed)
        raise error_class(str(answer["error"].get("message", "extraction failed")))
    return ExtractedLog.from_json(answer["result"])


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    # The child limits itself before it opens the input (a preexec_fn would do it between
    # fork and exec, but is unsafe in a threaded parent).
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux); exit if it already has.

    The death signal follows the parent *thread* that started the child: run_sandboxed
    blocks in that thread until the child ends, so it outlives the child unless killed.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")
    # The parent may have died between our fork and the prctl: then we were re-parented
    # and no signal will come.
    if os.getppid() != parent:
        os._exit(1)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _death_error(returncode: int, err: bytes, limits: SandboxLimits) -> errors.InputError:
    tail = err[-_STDERR_TAIL:].decode("utf-8", "replace")
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL) and "MemoryError" not in tail:
        return errors.ExtractionTimeout(
            f"reading the input used more than {limits.cpu_seconds} s of CPU"
        )
    if any(sign in tail for sign in ("MemoryError", "Cannot allocate memory", "failed to map")):
        return errors.ExtractionOutOfMemory(
            f"reading the input needed more than {limits.memory_bytes >> 20} MiB of memory"
        )
    last = tail.strip().splitlines()[-1] if tail.strip() else f"exit status {returncode}"
    return errors.ExtractionFailed(f"the extraction process failed: {last}")


def _child_main(argv: list[str]) -> int:
    """Child entry: extract argv[0] and print one JSON object, result or error.

    argv is: path, max log bytes, memory limit in bytes, CPU limit in seconds, "deep" or
    "quick", the debuginfo path ("" for none) and the parent's process id.
    """
    _die_with_parent(int(argv[6]))
    # Import every reader first (trusted code, known size), then limit what reading the
    # input may take on top of it.
    import cramjam  # noqa: F401  (snappy pages; imported lazily elsewhere)

    import vmcore_parsers.dumps.crashdir
    import vmcore_parsers.dumps.dmesg
    import vmcore_parsers.dumps.wrappers  # noqa: F401
    from vmcore_parsers.extract import extract_file

    _limit_self(int(argv[2]), int(argv[3]))

    try:
        result = extract_file(
            Path(argv[0]),
            max_log_bytes=int(argv[1]),
            deep=argv[4] == "deep",
            debuginfo=Path(argv[5]) if argv[5] else None,
        )
    except errors.InputError as exc:
        answer: dict[str, Any] = {"error": {"code": exc.code, "message": exc.message}}
    except MemoryError:
        answer = {
            "error": {
                "code": errors.ExtractionOutOfMemory.code,
                "message": f"reading the input needed more than {int(argv[2]) >> 20} MiB of memory",
            }
        }
    except RecursionError:
        answer = {
            "error": {
                "code": errors.DumpCorrupt.code,
                "message": "the input's structures nest without end",
            }
        }
    else:
        answer = {"result": json.loads(result.to_json())}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
