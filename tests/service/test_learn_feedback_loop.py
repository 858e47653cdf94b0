"""Issue 5's "done means", end to end against a real `panicdx serve`.

One `panicdx serve` subprocess (temporary data directory, free port, the admin key it prints)
stays up for the whole module. Through its public API: upload real panics the shipped model
answers `unknown` for, correct them with feedback, train a candidate (`POST /v1/models/train`),
promote it with the `panicdx model promote` command a reviewer would run, then upload new
occurrences of the same panics (other timestamps and PIDs, so other bytes and new jobs) to the
same, never restarted server: they are diagnosed as the labelled root cause by the promoted
version. Training uses a small corpus (a few variants of every knowledge-base example) without
cross-validation, through `PANICDX_TRAIN_CORPUS` / `PANICDX_TRAIN_CROSS_VALIDATE`, like
tests/service/test_learn_api.py, so the module stays around a minute or two.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus, write_corpus
from classifier.realworld import load_realworld
from tests.serving import ServeProcess

PANICDX = Path(sys.executable).parent / "panicdx"
# Real logs (posted in bug reports, golden headers stripped) that the shipped model answers
# `unknown` for, and the root cause an engineer gives them; the same choice as the other
# learning tests.
WRONG_TODAY = {
    "null-deref-arm64-vm-interleaved-console.log": "generic-null-deref",
    "hardware-mce-ppc64-powernv-early-boot.log": "generic-hardware-mce",
}
# Settings that would send the server to shared infrastructure instead of its own directory.
FOREIGN_SETTINGS = ("PANICDX_DATABASE_URL", "PANICDX_BLOB_URL", "PANICDX_BROKER_URL")
START_TIMEOUT = 180.0  # first start migrates the database and loads the model
TRAINING_TIMEOUT = 300.0
JOB_TIMEOUT = 60.0
CLI_TIMEOUT = 120.0
# A running server re-reads the active version at most this often (ActiveModel's
# check_seconds default), so a promotion serves from this long after it at the latest.
SWAP_SECONDS = 5.0
TIMESTAMP = re.compile(r"\[(\s*)(\d+)\.(\d+)")


@dataclass
class Server:
    """A running `panicdx serve`: its address, data directory, admin key and output."""

    serve: ServeProcess
    data_dir: Path
    client: httpx.Client

    @property
    def process(self) -> subprocess.Popen[str]:
        """The server process."""
        return self.serve.process

    @property
    def base_url(self) -> str:
        """Where it listens."""
        return self.serve.base_url

    def tail(self, lines: int = 40) -> str:
        """The last lines the server printed (for failure messages)."""
        return self.serve.tail(lines)


def _environment(small_corpus: Path) -> dict[str, str]:
    """This environment, on the server's own storage, training on the small corpus."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}
    env["PANICDX_TRAIN_CORPUS"] = str(small_corpus)
    env["PANICDX_TRAIN_CROSS_VALIDATE"] = "false"
    return env


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped corpus cut to three variants per example log."""
    samples = [s for s in read_corpus(DEFAULT_CORPUS_PATH) if s.variant.get("index", -1) < 2]
    return write_corpus(samples, tmp_path_factory.mktemp("corpus") / "small.jsonl.gz")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path) -> Iterator[Server]:
    """`panicdx serve --data-dir <tmp> --port <free>`, ready, with a client on its admin key."""
    data_dir = tmp_path_factory.mktemp("panicdx-data")
    log_path = tmp_path_factory.mktemp("logs") / "server.log"
    args = ["--data-dir", str(data_dir)]
    with ServeProcess(args, _environment(small_corpus), log_path) as serve:
        serve.wait_ready(START_TIMEOUT, need_key=True)
        headers = {"Authorization": f"Bearer {serve.key}"}
        with httpx.Client(base_url=serve.base_url, headers=headers, timeout=120.0) as client:
            yield Server(serve, data_dir, client)


def panicdx(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `panicdx ARGS` command next to the server (same environment)."""
    return subprocess.run(
        [str(PANICDX), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS},
    )


def recaptured(text: str, seconds: int, pid_offset: int) -> str:
    """The same panic as another occurrence prints it: later timestamps, other PIDs.

    Timestamps at 0.000000 (early boot) stay, as they would on any boot.
    """

    def later(match: re.Match[str]) -> str:
        pad, whole, fraction = match.groups()
        if int(whole) == 0 and int(fraction) == 0:
            return match.group(0)
        shifted = str(int(whole) + seconds)
        return f"[{pad[: max(0, len(pad) + len(whole) - len(shifted))]}{shifted}.{fraction}"

    text = TIMESTAMP.sub(later, text)
    return re.sub(r"\bPID: (\d+)", lambda m: f"PID: {int(m.group(1)) + pid_offset}", text)


def upload(server: Server, name: str, text: str, host: str) -> dict[str, Any]:
    """Upload one log; the finished job (polled when the quick answer was a 202)."""
    answer = server.client.post(
        "/v1/diagnoses",
        files={"file": (name, text.encode("utf-8"), "text/plain")},
        data={"host": host},
    )
    assert answer.status_code in (200, 202), answer.text
    job: dict[str, Any] = answer.json()
    deadline = time.monotonic() + JOB_TIMEOUT
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job {job['id']} stuck in {job['state']}"
        time.sleep(0.3)
        polled = server.client.get(f"/v1/diagnoses/{job['id']}")
        assert polled.status_code == 200, polled.text
        job = polled.json()
    assert job["state"] == "done", job
    return job


def wait_for_run(server: Server, run_id: str) -> dict[str, Any]:
    """Poll `GET /v1/models/train/{id}` until the run is done or failed (bounded)."""
    deadline = time.monotonic() + TRAINING_TIMEOUT
    while time.monotonic() < deadline:
        answer = server.client.get(f"/v1/models/train/{run_id}")
        assert answer.status_code == 200, answer.text
        run: dict[str, Any] = answer.json()
        if run["state"] in ("done", "failed"):
            return run
        assert server.process.poll() is None, f"the server died:\n{server.tail()}"
        time.sleep(0.5)
    raise AssertionError(f"training run {run_id} did not finish in {TRAINING_TIMEOUT} s")


def test_feedback_trains_a_model_that_the_running_server_then_serves(server: Server) -> None:
    logs = {log.name: log.text for log in load_realworld() if log.name in WRONG_TODAY}
    assert sorted(logs) == sorted(WRONG_TODAY), "a real-world log of this test is missing"

    # 1. Today the service cannot say what these panics are.
    first: dict[str, dict[str, Any]] = {}
    for number, name in enumerate(WRONG_TODAY):
        job = upload(server, name, logs[name], host=f"node-{number}")
        assert job["result"]["category"] == "unknown", (name, job["result"])
        assert job["result"]["root_cause"] is None
        first[name] = job
    shipped = {job["result"]["model"]["version"] for job in first.values()}
    assert len(shipped) == 1
    listed = server.client.get("/v1/models").json()
    assert listed["active"] == "built-in" and listed["items"] == []

    # 2. An engineer corrects each one to the root cause it really is.
    for name, cause in WRONG_TODAY.items():
        answer = server.client.post(
            f"/v1/diagnoses/{first[name]['id']}/feedback",
            json={"verdict": "correct", "root_cause": cause, "note": "seen on the console"},
        )
        assert answer.status_code == 201, answer.text
        feedback = answer.json()
        assert (feedback["verdict"], feedback["root_cause"]) == ("correct", cause)

    # 3. An admin trains a candidate from the installation's labels.
    answer = server.client.post("/v1/models/train")
    assert answer.status_code == 202, answer.text
    run = wait_for_run(server, answer.json()["id"])
    assert run["state"] == "done", (run, server.tail())
    candidate = run["candidate"]
    version = candidate["version"]
    shown = server.client.get(f"/v1/models/{version}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "candidate"
    assert shown.json()["labelled_panics"] == len(WRONG_TODAY)  # both feedbacks, nothing else
    report = Path(candidate["report_path"])
    assert "most-frequent baseline" in report.read_text(encoding="utf-8")

    # 4. The reviewer promotes it with the command line, while the server keeps running.
    promoted = panicdx("model", "promote", version, "--data-dir", str(server.data_dir), "--json")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    promotion = json.loads(promoted.stdout)
    assert promotion["gate"]["passed"], promotion
    promoted_at = time.monotonic()
    assert server.client.get("/v1/models").json()["active"] == version

    # 5. New occurrences of the same panics, on the same server: now diagnosed right.
    time.sleep(max(0.0, promoted_at + SWAP_SECONDS + 0.5 - time.monotonic()))
    assert server.process.poll() is None, "the server must not have been restarted"
    for number, (name, cause) in enumerate(WRONG_TODAY.items()):
        text = recaptured(logs[name], seconds=3600 + number, pid_offset=1000)
        assert text != logs[name]
        job = upload(server, name, text, host=f"node-{number + 10}")
        assert job["id"] != first[name]["id"]
        assert job["upload"]["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert job["upload"]["sha256"] != first[name]["upload"]["sha256"]
        result = job["result"]
        assert result["root_cause"] is not None, (name, result)
        assert result["root_cause"]["id"] == cause, (name, result["root_cause"])
        assert result["model"]["version"] == version
    checks = httpx.get(f"{server.base_url}/readyz", timeout=10).json()["checks"]
    assert checks["model_registry"] == version and "model_registry_error" not in checks

    # The earlier diagnoses keep the model version that produced them.
    for name, job in first.items():
        again = server.client.get(f"/v1/diagnoses/{job['id']}").json()
        assert again["result"]["model"]["version"] in shipped
        assert again["result"]["category"] == "unknown"
        assert [f["root_cause"] for f in again["feedback"]] == [WRONG_TODAY[name]]
