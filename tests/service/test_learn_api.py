"""Batch training through the API (`/v1/models`), runs that die, `--if-new-labels`, beat, and
`panicdx diagnose --data-dir` with a promoted model.

Real trainings in real child processes, on a small corpus (a few variants of every knowledge
base example) without cross-validation, like tests/service/test_learn_cli.py, so the module
stays around a minute. SQLite only: the run bookkeeping is plain SQL that
tests/service/db covers on both databases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus, write_corpus
from service.api.main import create_app
from service.cli import app as cli_app
from service.db.migrate import upgrade_database
from service.db.models import TrainingRun, TrainingState, utcnow
from service.db.repo import create_api_key
from service.db.session import Database, open_database
from service.jobs.training_beat import SCHEDULE_ENTRY, TRAIN_TASK, beat_schedule
from service.settings import Settings
from service.training_runs import (
    STALE_AFTER,
    RunConflict,
    fail_run,
    new_label_count,
    start_run,
    this_owner,
    train_if_new_labels,
)

REALWORLD = Path(__file__).parents[1] / "realworld" / "logs"
# Real logs the shipped model answers `unknown` for; the expert's root cause.
WRONG_TODAY = {
    "null-deref-arm64-vm-interleaved-console.log": "generic-null-deref",
    "hardware-mce-ppc64-powernv-early-boot.log": "generic-hardware-mce",
}
TRAINING_TIMEOUT = 300.0

runner = CliRunner()


def cli(*args: str, code: int = 0) -> Any:
    """Run `panicdx ARGS`; fail with its output unless it exits with `code`."""
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == code, result.output
    return result


def flat(result: Any) -> str:
    """The command's output on one line (rich wraps long lines)."""
    return " ".join(result.output.split())


def import_labels(data_dir: Path, labels: dict[str, str], folder: Path) -> None:
    """Import `{log file name: root cause}` as labels into the data directory."""
    lines = [
        json.dumps({"path": str(REALWORLD / name), "root_cause": cause})
        for name, cause in labels.items()
    ]
    path = folder / "labels.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli("labels", "import", str(path), "--data-dir", str(data_dir))


@dataclass
class Api:
    """The running API of one data directory, its database and a key per role."""

    client: TestClient
    settings: Settings
    db: Database
    headers: dict[str, dict[str, str]]

    def wait_finished(self, run_id: str) -> dict[str, Any]:
        """Poll the run until it is done or failed."""
        deadline = time.monotonic() + TRAINING_TIMEOUT
        while time.monotonic() < deadline:
            answer = self.client.get(f"/v1/models/train/{run_id}", headers=self.headers["reader"])
            assert answer.status_code == 200, answer.text
            run: dict[str, Any] = answer.json()
            if run["state"] in ("done", "failed"):
                return run
            time.sleep(0.5)
        raise AssertionError(f"training run {run_id} did not finish in {TRAINING_TIMEOUT} s")


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped corpus cut to three variants per example log."""
    samples = [s for s in read_corpus(DEFAULT_CORPUS_PATH) if s.variant.get("index", -1) < 2]
    return write_corpus(samples, tmp_path_factory.mktemp("corpus") / "small.jsonl.gz")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path) -> Iterator[Api]:
    """An API on a data directory holding two labels, with admin, submitter and reader keys."""
    data = tmp_path_factory.mktemp("data")
    import_labels(data, WRONG_TODAY, tmp_path_factory.mktemp("import"))
    settings = Settings(
        data_dir=data,
        workers=0,
        train_corpus=small_corpus,
        train_cross_validate=False,
    )
    upgrade_database(settings)
    db = open_database(settings)
    headers = {}
    with db.write_session() as session:
        for role in ("admin", "submitter", "reader"):
            key, plaintext = create_api_key(session, "acme", role)
            headers[role] = {"Authorization": f"Bearer {plaintext}"}
            headers[f"{role}-prefix"] = {"prefix": key.prefix}
        _key, plaintext = create_api_key(session, "other-co", "reader")
        headers["other-tenant"] = {"Authorization": f"Bearer {plaintext}"}
        session.commit()
    app = create_app(settings, run_workers=False)
    try:
        with TestClient(app) as client:
            yield Api(client, settings, db, headers)
            for launched in getattr(app.state, "training_runs", {}).values():
                if launched.process.poll() is None:
                    launched.process.kill()
                launched.process.wait(timeout=30)
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def trained(api: Api) -> dict[str, Any]:
    """One training run started through the API and finished; the run as GET shows it."""
    answer = api.client.post("/v1/models/train", headers=api.headers["admin"])
    assert answer.status_code == 202, answer.text
    run = answer.json()
    assert run["state"] == "queued" and run["trigger"] == "api"
    assert answer.headers["Location"] == f"/v1/models/train/{run['id']}"

    # Only one run at a time: a second start names the one in progress.
    again = api.client.post("/v1/models/train", headers=api.headers["admin"])
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "conflict" and again.json()["run_id"] == run["id"]

    finished = api.wait_finished(run["id"])
    assert finished["state"] == "done", finished
    return finished


def test_only_admins_start_training(api: Api) -> None:
    for role in ("reader", "submitter"):
        answer = api.client.post("/v1/models/train", headers=api.headers[role])
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden", answer.text
    answer = api.client.post("/v1/models/train")
    assert answer.status_code == 401 and answer.json()["code"] == "unauthorized"
    answer = api.client.get("/v1/models")
    assert answer.status_code == 401
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/models",
        "/v1/models/{version}",
        "/v1/models/train",
        "/v1/models/train/{run_id}",
    ):
        assert path in paths, path


def test_a_finished_run_names_its_candidate_and_report(api: Api, trained: dict[str, Any]) -> None:
    candidate = trained["candidate"]
    assert trained["error"] is None and trained["started_at"] and trained["finished_at"]
    report = Path(candidate["report_path"])
    assert report.is_file() and "most-frequent baseline" in report.read_text(encoding="utf-8")
    assert 0.0 < candidate["macro_f1"] <= 1.0 and candidate["compared_with"] == "built-in"

    listed = api.client.get("/v1/models", headers=api.headers["reader"]).json()
    assert listed["active"] == "built-in"
    assert [(v["version"], v["status"]) for v in listed["items"]] == [
        (candidate["version"], "candidate")
    ]
    assert listed["items"][0]["macro_f1"] == candidate["macro_f1"]
    assert listed["items"][0]["labelled_panics"] == len(WRONG_TODAY)

    shown = api.client.get(f"/v1/models/{candidate['version']}", headers=api.headers["reader"])
    assert shown.status_code == 200
    body = shown.json()
    assert body["manifest"]["version"] == candidate["version"] and body["gate"]["passed"]
    missing = api.client.get("/v1/models/clf-nope", headers=api.headers["reader"])
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    missing = api.client.get("/v1/models/train/tr_nope", headers=api.headers["reader"])
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"

    runs = api.client.get("/v1/models/train", headers=api.headers["reader"]).json()["items"]
    assert runs[0]["id"] == trained["id"]
    # Who asked is shown within the tenant only; the run itself is installation-wide.
    assert trained["requested_by"] == api.headers["admin-prefix"]["prefix"]
    seen = api.client.get(f"/v1/models/train/{trained['id']}", headers=api.headers["other-tenant"])
    assert seen.status_code == 200 and seen.json()["requested_by"] == "another tenant"
    assert seen.json()["candidate"]["version"] == candidate["version"]


def test_a_killed_training_process_fails_the_run_as_interrupted(
    api: Api, trained: dict[str, Any]
) -> None:
    answer = api.client.post("/v1/models/train", headers=api.headers["admin"])
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["id"]
    launched = api.client.app.state.training_runs[run_id]  # type: ignore[attr-defined]
    launched.process.send_signal(signal.SIGKILL)
    launched.waiter.join(timeout=30)
    run = api.wait_finished(run_id)
    assert run["state"] == "failed" and run["candidate"] is None
    assert run["error"]["code"] == "interrupted"
    assert f"status {-signal.SIGKILL}" in run["error"]["message"]
    # The slot is free again.
    with api.db.write_session() as session:
        fresh = start_run(session, trigger="test", requested_by=None)
        fail_run(session, fresh.id, "test", "not a real run")
        session.commit()


def test_a_stopped_training_process_records_the_interruption_itself(
    api: Api, trained: dict[str, Any]
) -> None:
    answer = api.client.post("/v1/models/train", headers=api.headers["admin"])
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["id"]
    launched = api.client.app.state.training_runs[run_id]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 120
    while (
        api.client.get(f"/v1/models/train/{run_id}", headers=api.headers["reader"]).json()["state"]
        != "running"
    ):
        assert time.monotonic() < deadline and launched.process.poll() is None
        time.sleep(0.2)
    launched.process.terminate()  # SIGTERM, as systemd or `kill` would send
    run = api.wait_finished(run_id)
    assert run["state"] == "failed" and run["error"]["code"] == "interrupted"
    # Recorded by the training process on its way out (the waiter's message names a status).
    assert run["error"]["message"].startswith("SystemExit"), run["error"]


def _add_run(db: Database, owner: str, heartbeat_age: timedelta) -> str:
    with db.write_session() as session:
        row = TrainingRun(
            state=TrainingState.RUNNING,
            active_slot=1,
            trigger="test",
            owner=owner,
            heartbeat_at=utcnow() - heartbeat_age,
            started_at=utcnow(),
        )
        session.add(row)
        session.commit()
        return row.id


def test_runs_left_running_by_a_dead_server_are_interrupted_after_restart(
    api: Api, trained: dict[str, Any]
) -> None:
    # A run whose process on this host is gone (the server was restarted mid-training).
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run_id = _add_run(api.db, this_owner(gone.pid), timedelta(seconds=1))
    with TestClient(create_app(api.settings, run_workers=False)) as restarted:
        run = restarted.get(f"/v1/models/train/{run_id}", headers=api.headers["admin"]).json()
    assert run["state"] == "failed" and run["error"]["code"] == "interrupted"
    assert "exited before it finished" in run["error"]["message"]


def test_a_run_elsewhere_blocks_until_its_heartbeat_goes_stale(api: Api) -> None:
    # Another machine's run: alive while it beats (a second start is a conflict) ...
    run_id = _add_run(api.db, "other-host:4242", timedelta(seconds=5))
    answer = api.client.post("/v1/models/train", headers=api.headers["admin"])
    assert answer.status_code == 409 and answer.json()["run_id"] == run_id
    with api.db.write_session() as session:
        with pytest.raises(RunConflict):
            start_run(session, trigger="test", requested_by=None)
        # ... and interrupted once its heartbeat is older than STALE_AFTER.
        row = session.get(TrainingRun, run_id)
        assert row is not None
        row.heartbeat_at = utcnow() - STALE_AFTER - timedelta(seconds=1)
        session.commit()
    run = api.client.get(f"/v1/models/train/{run_id}", headers=api.headers["reader"]).json()
    assert run["state"] == "failed" and run["error"]["code"] == "interrupted"
    assert "no heartbeat since" in run["error"]["message"]


def test_if_new_labels_trains_only_after_new_labels(
    api: Api, trained: dict[str, Any], small_corpus: Path, tmp_path: Path
) -> None:
    data = str(api.settings.data_dir)
    result = cli("train", "--data-dir", data, "--if-new-labels")
    assert "nothing to do" in flat(result)
    assert train_if_new_labels(api.settings, trigger="schedule", requested_by=None).startswith(
        "no labels added since the last training"
    )
    versions = json.loads(cli("model", "list", "--data-dir", data, "--json").stdout)
    assert len(versions) == 1

    import_labels(
        api.settings.data_dir,
        {"null-deref-arm64-vm-interleaved-console.log": "generic-null-deref"},
        tmp_path,
    )
    with api.db.session() as session:
        assert new_label_count(session) == 1
    result = cli(
        "train",
        "--data-dir",
        data,
        "--if-new-labels",
        "--corpus",
        str(small_corpus),
        "--no-cross-validate",
    )
    assert "1 label(s) added since the last training" in flat(result)
    versions = json.loads(cli("model", "list", "--data-dir", data, "--json").stdout)
    assert len(versions) == 2 and versions[0]["status"] == "candidate"
    with api.db.session() as session:
        assert new_label_count(session) == 0
    runs = api.client.get("/v1/models/train", headers=api.headers["reader"]).json()["items"]
    assert runs[0]["trigger"] == "cli" and runs[0]["state"] == "done"
    assert runs[0]["candidate"]["version"] == versions[0]["version"]


def test_if_new_labels_needs_a_data_dir() -> None:
    result = cli("train", "--if-new-labels", code=2)
    assert "--if-new-labels needs --data-dir" in flat(result)


def test_diagnose_with_data_dir_uses_the_promoted_model(
    api: Api, trained: dict[str, Any], tmp_path: Path
) -> None:
    data = str(api.settings.data_dir)
    logs = [str(REALWORLD / name) for name in WRONG_TODAY]
    before = [
        json.loads(line)
        for line in cli("diagnose", "--json", "--data-dir", data, *logs).stdout.splitlines()
    ]
    assert [d["category"] for d in before] == ["unknown", "unknown"]

    version = trained["candidate"]["version"]
    cli("model", "promote", version, "--data-dir", data)
    try:
        result = cli("diagnose", "--json", "--data-dir", data, *logs)
        after = [json.loads(line) for line in result.stdout.splitlines()]
        assert [d["root_cause"]["id"] for d in after] == list(WRONG_TODAY.values())
        assert {d["model"]["version"] for d in after} == {version}
        listed = api.client.get("/v1/models", headers=api.headers["reader"]).json()
        assert listed["active"] == version
    finally:
        cli("model", "rollback", "--data-dir", data)

    missing = cli("diagnose", "--data-dir", str(tmp_path / "nope"), logs[0], code=1)
    assert "no service data directory" in flat(missing)
    both = cli("diagnose", "--data-dir", data, "--model-dir", data, logs[0], code=2)
    assert "not both" in flat(both)


def test_beat_schedule_is_off_unless_configured() -> None:
    from service.jobs.celery_app import create_celery

    assert beat_schedule(Settings(train_schedule_hours=None)) == {}
    settings = Settings(train_schedule_hours=6, broker_url="redis://127.0.0.1:1/0")
    entry = beat_schedule(settings)[SCHEDULE_ENTRY]
    assert entry["task"] == TRAIN_TASK and entry["schedule"] == timedelta(hours=6)
    app = create_celery(settings)  # builds the app only; nothing connects
    assert TRAIN_TASK in app.tasks and SCHEDULE_ENTRY in app.conf.beat_schedule
    with pytest.raises(ValueError, match="greater than 0"):
        Settings(train_schedule_hours=0)


def test_the_training_process_refuses_a_run_that_is_not_queued(api: Api) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "service.training_runs", "tr_nope"],
        input=api.settings.model_dump_json(),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
        check=False,
    )
    assert process.returncode == 1, process.stderr
    assert "no training run 'tr_nope'" in process.stderr
