"""`panicdx serve` as a real process: first-start key, a diagnosis over HTTP, clean restarts."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import NFS_LOG, NFS_ROOT_CAUSE

from tests.serving import ServeProcess, serve_env

START_SECONDS = 90.0


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start servers on a shared data directory (extra `PANICDX_*` settings as keyword
    arguments); any still running are killed afterwards."""
    started: list[ServeProcess] = []
    data_dir = tmp_path / "data"

    def start(**env: str) -> ServeProcess:
        args = ["--host", "127.0.0.1", "--data-dir", str(data_dir), "--workers", "1"]
        server = ServeProcess(args, serve_env(env))
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def test_serve_prints_a_key_once_and_diagnoses_over_http(
    start_server: Callable[..., ServeProcess],
) -> None:
    first = start_server()
    first.wait_ready(START_SECONDS)
    keys = first.keys
    assert len(keys) == 1, first.text()
    headers = {"Authorization": f"Bearer {keys[0]}"}
    with httpx.Client(base_url=first.base_url, headers=headers, timeout=60) as client:
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
    assert '"POST /v1/diagnoses HTTP/1.1" 200' in first.text()  # the access log, by default

    # A restart on the same data: no new key, the old one works, the job is still there.
    # (And the access log can be turned off.)
    second = start_server(PANICDX_ACCESS_LOG="false")
    second.wait_ready(START_SECONDS)
    assert second.keys == []
    with httpx.Client(base_url=second.base_url, headers=headers, timeout=60) as client:
        again = client.get(f"/v1/diagnoses/{job['id']}")
        assert again.status_code == 200
        assert again.json()["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert second.stop(signal.SIGINT) == 0
    assert f"GET /v1/diagnoses/{job['id']}" not in second.text()


def test_shutdown_ends_open_event_streams_and_exits_cleanly(
    start_server: Callable[..., ServeProcess],
) -> None:
    # A job kept in progress (the runner sleeps between stages), followed by an event stream.
    server = start_server(PANICDX_TEST_JOB_DELAY="20", PANICDX_QUICK_ANSWER_SECONDS="0")
    server.wait_ready(START_SECONDS)
    headers = {"Authorization": f"Bearer {server.keys[0]}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
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
        assert ended.wait(5), server.text()
        assert "event: done" not in events
        assert server.stop(signal.SIGTERM) == 0
