"""POST /v1/diagnoses: quick answers for logs, 202 for dumps, metadata, idempotency, events."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from typing import Any

import pytest
from api_helpers import (
    KB_EXAMPLES,
    MCE_LOG,
    NFS_LOG,
    NFS_ROOT_CAUSE,
    OOM_LOG,
    OOM_ROOT_CAUSE,
    Service,
    TenantKeys,
    blob_files,
    elf_dump_of,
    raw_headers,
)


def _jobs(service: Service, tenant: TenantKeys) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = service.client.get("/v1/diagnoses", headers=tenant.reader).json()[
        "items"
    ]
    return items


def test_raw_log_gets_its_diagnosis_in_the_answer(service: Service, tenant: TenantKeys) -> None:
    data = NFS_LOG.read_bytes()
    answer = service.client.post(
        "/v1/diagnoses?filename=console.log&host=web-7&instance_id=i-0abc&tags=prod,%20nfs,prod",
        headers=raw_headers(tenant.submitter),
        content=data,
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/v1/diagnoses/{job['id']}"
    assert job["id"].startswith("dx_")
    assert job["state"] == "done"
    assert job["progress"] == 1.0
    assert job["error"] is None
    assert job["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert job["result"]["source"]["kind"] == "log"
    assert job["summary"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert job["upload"] == {
        "filename": "console.log",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "kind": "log",
        "format": None,
        "raw_deleted": False,
    }
    assert (job["host"], job["instance_id"], job["tags"]) == ("web-7", "i-0abc", ["prod", "nfs"])
    assert job["feedback"] == []


def test_multipart_upload_with_metadata_fields(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers=tenant.submitter,
        files={"file": ("../../etc/oom.log", OOM_LOG.read_bytes(), "text/plain")},
        data={"host": "db-1", "tags": "db,oom", "instance_id": "vm-9"},
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["result"]["root_cause"]["id"] == OOM_ROOT_CAUSE
    assert job["upload"]["filename"] == "oom.log"  # directories are never kept
    assert (job["host"], job["instance_id"], job["tags"]) == ("db-1", "vm-9", ["db", "oom"])


def test_gzip_compressed_log_is_a_quick_answer_too(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers=raw_headers(tenant.submitter),
        content=gzip.compress(NFS_LOG.read_bytes()),
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["upload"]["kind"] == "log"
    assert job["upload"]["format"] == "gzip"
    assert job["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert job["result"]["source"]["compression"] == "gzip"


def test_utf16_log_from_a_windows_tool_is_diagnosed(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers=raw_headers(tenant.submitter),
        content=NFS_LOG.read_text().encode("utf-16"),
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()
    assert job["upload"]["kind"] == "log"
    assert job["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE


@pytest.mark.parametrize(
    "example",
    sorted(p.relative_to(KB_EXAMPLES) for p in KB_EXAMPLES.glob("*/positive-1.log"))[:6],
    ids=str,
)
def test_knowledge_base_examples_are_diagnosed_over_http(
    service: Service, tenant: TenantKeys, example: Any
) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers=raw_headers(tenant.submitter),
        content=(KB_EXAMPLES / example).read_bytes(),
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["category"] != ""
    assert result["evidence"], "a diagnosed panic shows its evidence lines"


def test_same_bytes_in_the_same_tenant_return_the_existing_job(
    service: Service, tenant: TenantKeys
) -> None:
    first = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=MCE_LOG.read_bytes()
    )
    again = service.client.post(
        "/v1/diagnoses",
        headers=tenant.submitter,
        files={"file": ("other-name.log", MCE_LOG.read_bytes())},
    )
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(_jobs(service, tenant)) == 1


def test_idempotency_key_returns_the_first_job_without_a_second(
    service: Service, tenant: TenantKeys
) -> None:
    headers = raw_headers(tenant.submitter, **{"Idempotency-Key": "retry-1"})
    first = service.client.post("/v1/diagnoses", headers=headers, content=NFS_LOG.read_bytes())
    # A retry with the same key (even with other bytes) is the same request: same job.
    retry = service.client.post("/v1/diagnoses", headers=headers, content=OOM_LOG.read_bytes())
    assert first.status_code == retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert len(_jobs(service, tenant)) == 1
    # Same bytes under a new key are still the same upload for this tenant.
    other_key = raw_headers(tenant.submitter, **{"Idempotency-Key": "retry-2"})
    dup = service.client.post("/v1/diagnoses", headers=other_key, content=NFS_LOG.read_bytes())
    assert dup.json()["id"] == first.json()["id"]


def test_bad_idempotency_key_is_refused(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers=raw_headers(tenant.submitter, **{"Idempotency-Key": "x" * 300}),
        content=NFS_LOG.read_bytes(),
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_request"


def _read_events(service: Service, tenant: TenantKeys, job_id: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    name = None
    with service.client.stream(
        "GET", f"/v1/diagnoses/{job_id}/events", headers=tenant.reader
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert name is not None
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_events_of_a_finished_job_end_with_done(service: Service, tenant: TenantKeys) -> None:
    job = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=NFS_LOG.read_bytes()
    ).json()
    events = _read_events(service, tenant, job["id"])
    assert [name for name, _ in events] == ["state", "done"]
    assert events[0][1]["result"] is None  # progress events leave the result out
    assert events[-1][1]["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE


def test_dump_is_accepted_then_diagnosed_by_the_workers(
    service: Service, tenant: TenantKeys
) -> None:
    dump = elf_dump_of(NFS_LOG.read_text())
    answer = service.client.post(
        "/v1/diagnoses?filename=vmcore", headers=raw_headers(tenant.submitter), content=dump
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == f"/v1/diagnoses/{job['id']}"
    assert job["state"] in ("queued", "extracting", "diagnosing")
    assert job["result"] is None
    assert job["upload"]["kind"] == "vmcore"
    assert job["upload"]["format"] == "elf"
    events = _read_events(service, tenant, job["id"])
    names = [name for name, _ in events]
    assert names[-1] == "done", events[-1]
    assert set(names[:-1]) == {"state"}
    final = events[-1][1]
    assert final["result"]["source"]["kind"] == "vmcore"
    assert final["result"]["source"]["tier"] == "vmcore-dmesg"
    assert final["result"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    # The same dump again: the existing job, now done, answers 200 at once.
    again = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=dump
    )
    assert again.status_code == 200
    assert again.json()["id"] == job["id"]
    # The extracted log is what evidence line numbers refer to.
    log = service.client.get(f"/v1/diagnoses/{job['id']}/log", headers=tenant.reader)
    assert log.status_code == 200
    lines = log.text.splitlines()
    for evidence in final["result"]["evidence"]:
        assert evidence["text"].strip() in lines[evidence["line"] - 1]


def test_quick_answer_off_means_202_and_the_pool_finishes(
    service: Service, tenant: TenantKeys
) -> None:
    app_settings = service.client.app.state.ctx.settings  # type: ignore[attr-defined]
    saved = app_settings.quick_answer_seconds
    object.__setattr__(app_settings, "quick_answer_seconds", 0.0)
    try:
        answer = service.client.post(
            "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=OOM_LOG.read_bytes()
        )
    finally:
        object.__setattr__(app_settings, "quick_answer_seconds", saved)
    assert answer.status_code == 202
    deadline = time.monotonic() + 30
    job = answer.json()
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = service.client.get(answer.headers["location"], headers=tenant.reader).json()
    assert job["state"] == "done"
    assert job["result"]["root_cause"]["id"] == OOM_ROOT_CAUSE


def test_concurrent_identical_uploads_make_one_job(service: Service, tenant: TenantKeys) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = OOM_LOG.read_bytes() + b"[ 9999.000000] concurrent copy\n"

    def submit(_: int) -> tuple[int, str]:
        answer = service.client.post(
            "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=data
        )
        return answer.status_code, answer.json()["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(submit, range(6)))
    assert {status for status, _ in results} <= {200, 202}
    assert len({job_id for _, job_id in results}) == 1
    assert len(_jobs(service, tenant)) == 1
    # Only the winner's upload is kept: the losers' blobs were deleted.
    raw = [p for p in blob_files(service, tenant.tenant_id) if "/raw/" in str(p)]
    assert len(raw) == 1
