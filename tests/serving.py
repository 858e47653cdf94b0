"""A real `panicdx serve` child process for tests: start, wait until ready, read output, stop.

The four test modules that run the server as a process share these mechanics: a free port, the
output drained by a thread (a full pipe would block the server) into memory and optionally a
log file, the admin key read from its `PANICDX_ADMIN_KEY=` line, readiness by /readyz, and a
stop by signal that returns the exit status.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import pytest

KEY_LABEL = "PANICDX_ADMIN_KEY="


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def panicdx_command() -> list[str]:
    """The `panicdx` console script next to this interpreter, or `python -m service.cli`."""
    executable = Path(sys.executable).with_name("panicdx")
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "service.cli"]


def serve_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without its `PANICDX_*` settings except the model directory, so the
    server runs on its own defaults, plus `extra` (None: nothing added)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANICDX_")}
    if "PANICDX_MODEL_DIR" in os.environ:
        env["PANICDX_MODEL_DIR"] = os.environ["PANICDX_MODEL_DIR"]
    env.update(extra or {})
    return env


class ServeProcess:
    """`panicdx serve ARGS --port <free>` with its output collected line by line.

    `log_path`, when not None, also receives every line as it is printed.
    """

    def __init__(
        self, args: Sequence[str], env: Mapping[str, str], log_path: Path | None = None
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [*panicdx_command(), "serve", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(env),
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        log = self.log_path.open("w") if self.log_path is not None else None
        try:
            for line in self.process.stdout:
                with self._lock:
                    self._lines.append(line)
                if log is not None:
                    log.write(line)
                    log.flush()
        finally:
            if log is not None:
                log.close()

    @property
    def output(self) -> list[str]:
        """The lines printed so far (parent and any children), newlines kept."""
        with self._lock:
            return list(self._lines)

    def text(self) -> str:
        """Everything printed so far as one string."""
        return "".join(self.output)

    def tail(self, lines: int = 40) -> str:
        """The last `lines` printed lines (for failure messages)."""
        return "".join(self.output[-lines:])

    @property
    def keys(self) -> list[str]:
        """The admin keys printed on key lines (empty on a restart over existing data)."""
        return [
            line.strip().removeprefix(KEY_LABEL)
            for line in self.output
            if line.startswith(KEY_LABEL)
        ]

    @property
    def key(self) -> str | None:
        """The first printed admin key; None if none was printed (yet)."""
        keys = self.keys
        return keys[0] if keys else None

    def wait_ready(
        self,
        timeout: float,
        *,
        need_key: bool = False,
        also: Callable[[], bool] | None = None,
    ) -> None:
        """Wait until /readyz answers 200; fail the test with the output if the process ends
        or `timeout` seconds pass. With `need_key`, also wait for the key line; `also` (None:
        no extra condition) must hold before /readyz is asked."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"panicdx serve exited early with {self.process.returncode}:\n{self.text()}"
                )
            if (not need_key or self.key is not None) and (also is None or also()):
                try:
                    if httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
            time.sleep(0.2)
        pytest.fail(f"panicdx serve was not ready in {timeout:.0f} s:\n{self.text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0, *, force: bool = False) -> int:
        """Send `sig` (unless it already ended) and return the exit status. If it does not
        exit within `timeout` it is killed; that fails the test unless `force` is set."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait(timeout=30)
            if not force:
                pytest.fail(f"panicdx serve ignored signal {sig}:\n{self.text()}")
        self._reader.join(timeout=10)
        return status

    def kill(self) -> None:
        """Kill the process if it still runs (cleanup after a failed test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop(force=True)
