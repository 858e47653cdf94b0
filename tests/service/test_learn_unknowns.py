"""`panicdx unknowns`: abstained diagnoses clustered by signature and text, drafts for the KB."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from classifier.unknowns import Abstained, cluster, draft_entry
from knowledge_base.schema import Entry
from service.blobs import open_blob_store
from service.cli import app
from service.db.migrate import upgrade_database
from service.db.models import DiagnosisRecord
from service.db.repo.jobs import create_job, create_upload
from service.db.repo.tenants import get_or_create_tenant
from service.db.session import open_database
from service.diagnoser import Diagnoser
from service.settings import get_settings

REALWORLD = Path(__file__).parents[1] / "realworld" / "logs"
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _item(name: str, signature: str, text: str, days: int = 0) -> Abstained:
    report = {"title": f"BUG in {name}", "crash_type": "bug", "guilty_frame": name}
    return Abstained(name + signature, T0 + dt.timedelta(days=days), signature, report, text)


def test_clusters_by_signature_then_text_ranked_by_size_and_recency() -> None:
    words = "ext4_writepages jbd2_journal_commit_transaction kjournald2 do_writepages"
    items = [
        _item("ext4_writepages", "aaa", words),
        _item("ext4_writepages", "aaa", words),
        # Another signature, same words: the same bug seen with another address.
        _item("ext4_writepages", "bbb", words + " 0xffffffff8123abcd"),
        _item("nouveau_fence_wait", "ccc", "nouveau fence timeout gpu hang channel", days=5),
        _item("mlx5_cmd_exec", "ddd", "mlx5_core firmware command timeout health poll", days=1),
    ]
    clusters = cluster(items)
    assert [c.size for c in clusters] == [3, 1, 1]
    assert dict(clusters[0].signatures) == {"aaa": 2, "bbb": 1}
    # Equal sizes: the most recent first.
    assert clusters[1].title == "BUG in nouveau_fence_wait"
    assert cluster([]) == []


def test_draft_entry_passes_the_schema_with_todos() -> None:
    found = cluster([_item("xfs_buf_ioend", "eee", "XFS metadata I/O error")])[0]
    draft = draft_entry(found)
    data = yaml.safe_load(draft)
    entry = Entry.model_validate(data)
    assert entry.id.startswith("todo-") and entry.category == "assertion"
    assert entry.signatures[0].guilty_frame == "^xfs_buf_ioend$"
    assert "TODO" in entry.title and "TODO" in entry.summary
    assert "TODO" in entry.remediation[0].text and "TODO" in entry.verify[0]


def test_unknowns_command_on_stored_diagnoses(tmp_path: Path, diagnoser: Diagnoser) -> None:
    settings = get_settings(tmp_path)
    upgrade_database(settings)
    database = open_database(settings)
    blobs = open_blob_store(settings)
    abstaining = [
        REALWORLD / "unknown-mips-rb-erase-hrtimer.log",
        REALWORLD / "divide-error-zfs-taskq-arch510.log",  # no crash found in it
    ]
    # The first log three times (noise appended), the second once.
    copies = [abstaining[0]] * 3 + [abstaining[1]]
    with database.session() as session:
        tenant = get_or_create_tenant(session, "default")
        for number, path in enumerate(copies):
            text = path.read_text(errors="replace") + f"\nnoise {number}\n"
            diagnosis = diagnoser.diagnose_text(text)
            assert diagnosis.category == "unknown"
            digest = hashlib.sha256(text.encode()).hexdigest()
            blobs.put_stream(f"logs/{digest}.log", [text.encode()])
            upload = create_upload(
                session,
                tenant.id,
                sha256=digest,
                size=len(text),
                blob_key=f"raw/{digest}",
                filename=path.name,
                kind="log",
            )
            job = create_job(session, tenant.id, upload.id, host=f"host{number}")
            session.add(
                DiagnosisRecord(
                    tenant_id=tenant.id,
                    job_id=job.id,
                    result=diagnosis.model_dump(mode="json"),
                    root_cause_id=None,
                    category="unknown",
                    confidence=0.0,
                    signature=diagnosis.signature,
                    host=f"host{number}",
                    log_blob_key=f"logs/{digest}.log",
                    created_at=T0 + dt.timedelta(hours=number),
                )
            )
        session.commit()
    database.dispose()

    out = tmp_path / "drafts"
    result = CliRunner().invoke(
        app, ["unknowns", "--data-dir", str(tmp_path), "--json", "--out", str(out), "--top", "1"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["abstained"] == 4
    first = data["clusters"][0]
    assert first["size"] == 3 and first["hosts"] == ["host0", "host1", "host2"]
    Entry.model_validate(yaml.safe_load(first["draft"]))
    assert [c["size"] for c in data["clusters"]] == [3, 1]
    assert "draft" not in data["clusters"][1]  # --top 1
    entry_id = yaml.safe_load(first["draft"])["id"]
    assert (out / f"{entry_id}.yaml").is_file()
    example = (out / entry_id / "example-1.log").read_text(encoding="utf-8")
    assert example.startswith(f"KIND: positive\nROOT_CAUSE: {entry_id}\n")
