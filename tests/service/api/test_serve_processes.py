"""`panicdx serve --processes 2` as a real process tree: one key, both processes answer, and
signals or a dead child stop all of it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from api_helpers import NFS_LOG, NFS_ROOT_CAUSE

from tests.serving import KEY_LABEL, ServeProcess, serve_env

START_SECONDS = 120.0
PROCESSES = 2


class ServeTree(ServeProcess):
    """`panicdx serve --processes 2` with its output collected by a thread."""

    def __init__(self, data_dir: Path) -> None:
        # The environment variable, not the option.
        env = serve_env({"PANICDX_PROCESSES": str(PROCESSES)})
        super().__init__(["--data-dir", str(data_dir), "--workers", "1"], env)

    def children_started(self) -> bool:
        """Whether both children printed their startup line and are running."""
        started = self.text().count("Application startup complete")
        return started >= PROCESSES and len(self.children()) == PROCESSES

    def children(self) -> list[int]:
        """Pids of the API processes (spawned children of the serve process)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == self.process.pid and b"spawn_main" in cmdline:
                found.append(int(entry.name))
        return sorted(found)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0, *, force: bool = False) -> int:
        """Send `sig` to the parent and return its exit status (a tree takes longer)."""
        return super().stop(sig, timeout, force=force)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[ServeTree]:
    """A started process tree; killed (parent and children) if a test leaves it running."""
    started = ServeTree(tmp_path / "data")
    children: list[int] = []
    try:
        started.wait_ready(START_SECONDS, also=started.children_started)
        children = started.children()
        yield started
    finally:
        children = children or started.children()
        started.kill()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _diagnose(url: str, key: str, index: int) -> httpx.Response:
    # A fresh connection per request, and a unique body (no same-bytes deduplication), so the
    # kernel hands the connections to whichever process is free to accept.
    body = NFS_LOG.read_bytes() + f"[99999.000000] test {index}\n".encode()
    return httpx.post(
        f"{url}/v1/diagnoses",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/octet-stream"},
        content=body,
        timeout=120,
    )


def test_two_processes_share_the_port_and_the_first_key(tree: ServeTree) -> None:
    keys = [line.strip().removeprefix(KEY_LABEL) for line in tree.output if KEY_LABEL in line]
    assert len(keys) == 1, tree.text()
    assert tree.text().count("first start: created tenant") == 1
    children = tree.children()
    assert len(children) == PROCESSES
    before = {pid: _cpu_seconds(pid) for pid in children}

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: _diagnose(tree.base_url, keys[0], i), range(32)))

    for answer in answers:
        assert answer.status_code in (200, 202), answer.text
        if answer.status_code == 200:
            assert answer.json()["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert sum(answer.status_code == 200 for answer in answers) >= 16, tree.text()
    # Both processes did diagnosis work: an idle one only wakes its worker every 2 s (a few
    # milliseconds), while one diagnosis over HTTP costs ~10 ms or more.
    used = {pid: _cpu_seconds(pid) - before[pid] for pid in children}
    assert all(seconds > 0.05 for seconds in used.values()), (used, tree.text())
    # Every job is visible from either process: one database, whichever answers.
    with httpx.Client(headers={"Authorization": f"Bearer {keys[0]}"}, timeout=60) as client:
        for answer in answers[:4]:
            job_id = answer.json()["id"]
            assert client.get(f"{tree.base_url}/v1/diagnoses/{job_id}").status_code == 200

    assert tree.stop(signal.SIGINT) == 0, tree.text()
    assert not any(_alive(pid) for pid in children)
    assert "Traceback" not in tree.text()
    assert "database is locked" not in tree.text()
    assert tree.text().count("Application shutdown complete") == PROCESSES


def test_a_dead_process_stops_the_service(tree: ServeTree) -> None:
    children = tree.children()
    os.kill(children[0], signal.SIGKILL)
    assert tree.process.wait(timeout=60) == 1, tree.text()
    assert "an API process ended unexpectedly" in tree.text()
    assert not _alive(children[1])
    assert tree.text().count("Application shutdown complete") == 1  # the survivor, cleanly
