"""`panicdx serve` as a real process: first-start key, a diagnosis over HTTP, clean restarts."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import NFS_LOG, NFS_ROOT_CAUSE

KEY_LABEL = "PANICDX_ADMIN_KEY="
START_SECONDS = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A `panicdx serve` child process whose stdout is read line by line in a thread."""

    def __init__(self, data_dir: Path, port: int, env_extra: dict[str, str]) -> None:
        executable = Path(sys.executable).with_name("panicdx")
        command = (
            [str(executable)] if executable.exists() else [sys.executable, "-m", "service.cli"]
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("PANICDX_")}
        if "PANICDX_MODEL_DIR" in os.environ:
            env["PANICDX_MODEL_DIR"] = os.environ["PANICDX_MODEL_DIR"]
        env.update(env_extra)
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                *command,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--workers",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_ready(self) -> None:
        """Wait for /readyz, collecting output; fail with the output if the process dies."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            self._drain()
            if self.process.poll() is not None:
                pytest.fail(f"panicdx serve exited early:\n{''.join(self.output)}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    self._drain()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"panicdx serve was not ready in {START_SECONDS}s:\n{''.join(self.output)}")

    def _drain(self) -> None:
        while True:
            try:
                self.output.append(self.lines.get_nowait())
            except queue.Empty:
                return

    def printed_keys(self) -> list[str]:
        """The keys the server printed on its key line."""
        self._drain()
        return [
            line.strip().removeprefix(KEY_LABEL)
            for line in self.output
            if line.startswith(KEY_LABEL)
        ]

    def stop(self, sig: int) -> int:
        """Send `sig` and return the exit status (fails the test if it does not exit)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"panicdx serve ignored signal {sig}:\n{''.join(self.output)}")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers on a shared data directory (extra `PANICDX_*` settings as keyword
    arguments); any still running are killed afterwards."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(tmp_path / "data", _free_port(), env)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def test_serve_prints_a_key_once_and_diagnoses_over_http(
    start_server: Callable[..., Server],
) -> None:
    first = start_server()
    first.wait_ready()
    keys = first.printed_keys()
    assert len(keys) == 1, "".join(first.output)
    headers = {"Authorization": f"Bearer {keys[0]}"}
    with httpx.Client(base_url=first.url, headers=headers, timeout=60) as client:
        me = client.get("/v1/me").json()
        assert me == {"tenant": "default", "role": "admin", "key_prefix": keys[0][:16]}
        answer = client.post(
            "/v1/diagnoses",
            files={"file": ("nfs.log", NFS_LOG.read_bytes(), "text/plain")},
            data={"host": "web-1"},
        )
        assert answer.status_code == 200, answer.text
        job = answer.json()
        assert job["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
        assert client.get("/").status_code == 200
    assert first.stop(signal.SIGTERM) == 0

    # A restart on the same data: no new key, the old one works, the job is still there.
    second = start_server()
    second.wait_ready()
    assert second.printed_keys() == []
    with httpx.Client(base_url=second.url, headers=headers, timeout=60) as client:
        again = client.get(f"/v1/diagnoses/{job['id']}")
        assert again.status_code == 200
        assert again.json()["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert second.stop(signal.SIGINT) == 0


def test_shutdown_ends_open_event_streams_and_exits_cleanly(
    start_server: Callable[..., Server],
) -> None:
    # A job kept in progress (the runner sleeps between stages), followed by an event stream.
    server = start_server(PANICDX_TEST_JOB_DELAY="20", PANICDX_QUICK_ANSWER_SECONDS="0")
    server.wait_ready()
    headers = {"Authorization": f"Bearer {server.printed_keys()[0]}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        answer = client.post(
            "/v1/diagnoses",
            headers={"Content-Type": "application/octet-stream"},
            content=NFS_LOG.read_bytes(),
        )
        assert answer.status_code == 202
        events: list[str] = []
        ended = threading.Event()

        def follow() -> None:
            with client.stream("GET", f"{answer.headers['location']}/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        events.append(line)
            ended.set()

        threading.Thread(target=follow, daemon=True).start()
        deadline = time.monotonic() + 30
        while not events and time.monotonic() < deadline:
            time.sleep(0.1)
        assert events == ["event: state"]
        server.process.send_signal(signal.SIGTERM)
        # The open stream ends as soon as shutdown begins, instead of holding the server for
        # its grace period; the running job is left to its lease (the pool waits up to 10 s).
        assert ended.wait(5), "".join(server.output)
        assert "event: done" not in events
        assert server.stop(signal.SIGTERM) == 0
