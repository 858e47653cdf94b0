"""Reading, listing, deleting, feedback, the knowledge base and the fleet stats."""

from __future__ import annotations

from typing import Any

from api_helpers import (
    MCE_LOG,
    NFS_LOG,
    NFS_ROOT_CAUSE,
    OOM_LOG,
    OOM_ROOT_CAUSE,
    Service,
    TenantKeys,
    blob_files,
    raw_headers,
)


def _submit(service: Service, tenant: TenantKeys, data: bytes, **query: str) -> dict[str, Any]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    answer = service.client.post(
        f"/v1/diagnoses?{params}", headers=raw_headers(tenant.submitter), content=data
    )
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_get_one_job_with_its_result(service: Service, tenant: TenantKeys) -> None:
    job = _submit(service, tenant, NFS_LOG.read_bytes())
    fetched = service.client.get(f"/v1/diagnoses/{job['id']}", headers=tenant.reader).json()
    assert fetched == job
    missing = service.client.get(
        "/v1/diagnoses/dx_0000000000000000000000000000", headers=tenant.reader
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_list_filters_and_cursor_pagination(service: Service, tenant: TenantKeys) -> None:
    nfs = _submit(service, tenant, NFS_LOG.read_bytes(), host="web-1")
    oom = _submit(service, tenant, OOM_LOG.read_bytes(), host="db-1")
    mce = _submit(service, tenant, MCE_LOG.read_bytes(), host="web-1")
    client, headers = service.client, tenant.reader

    everything = client.get("/v1/diagnoses", headers=headers).json()
    assert [i["id"] for i in everything["items"]] == [mce["id"], oom["id"], nfs["id"]]
    assert everything["next_cursor"] is None
    first = everything["items"][-1]
    assert first["result"] is None  # lists carry summaries, not whole results
    assert first["summary"]["root_cause"]["id"] == NFS_ROOT_CAUSE
    assert first["summary"]["category"] == "hung-task"

    assert _ids(client.get("/v1/diagnoses?host=web-1", headers=headers)) == [mce["id"], nfs["id"]]
    assert _ids(client.get(f"/v1/diagnoses?root_cause={OOM_ROOT_CAUSE}", headers=headers)) == [
        oom["id"]
    ]
    assert _ids(client.get("/v1/diagnoses?category=hung-task", headers=headers)) == [nfs["id"]]
    assert _ids(client.get("/v1/diagnoses?state=done", headers=headers)) == [
        mce["id"],
        oom["id"],
        nfs["id"],
    ]
    assert _ids(client.get("/v1/diagnoses?state=queued", headers=headers)) == []
    assert _ids(client.get("/v1/diagnoses?since=2999-01-01T00:00:00Z", headers=headers)) == []
    assert len(_ids(client.get("/v1/diagnoses?until=2999-01-01", headers=headers))) == 3

    seen: list[str] = []
    cursor = None
    while True:
        query = "/v1/diagnoses?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=headers).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [mce["id"], oom["id"], nfs["id"]]


def test_delete_removes_the_job_and_every_blob(service: Service, tenant: TenantKeys) -> None:
    job = _submit(service, tenant, NFS_LOG.read_bytes())
    assert blob_files(service, tenant.tenant_id), "the upload and extracted log are stored"
    url = f"/v1/diagnoses/{job['id']}"
    deleted = service.client.delete(url, headers=tenant.admin)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert service.client.get(url, headers=tenant.reader).status_code == 404
    assert service.client.get(f"{url}/log", headers=tenant.reader).status_code == 404
    assert service.client.delete(url, headers=tenant.admin).status_code == 404
    assert blob_files(service, tenant.tenant_id) == []
    stats = service.client.get("/v1/stats", headers=tenant.reader).json()
    assert stats["total"] == 0
    # Deleted bytes may be uploaded again: a new job, not the deleted one.
    again = _submit(service, tenant, NFS_LOG.read_bytes())
    assert again["id"] != job["id"]


def test_extracted_log_is_served_as_text(service: Service, tenant: TenantKeys) -> None:
    job = _submit(service, tenant, NFS_LOG.read_bytes())
    answer = service.client.get(f"/v1/diagnoses/{job['id']}/log", headers=tenant.reader)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == NFS_LOG.read_text()


def test_feedback_confirm_and_corrections_are_stored_with_author(
    service: Service, tenant: TenantKeys
) -> None:
    job = _submit(service, tenant, NFS_LOG.read_bytes())
    url = f"/v1/diagnoses/{job['id']}/feedback"
    me = service.client.get("/v1/me", headers=tenant.submitter).json()

    confirm = service.client.post(url, headers=tenant.submitter, json={"verdict": "confirm"})
    assert confirm.status_code == 201, confirm.text
    assert confirm.json()["root_cause"] == NFS_ROOT_CAUSE
    assert confirm.json()["author"] == me["key_prefix"]

    known = service.client.post(
        url,
        headers=tenant.submitter,
        json={"verdict": "correct", "root_cause": OOM_ROOT_CAUSE, "note": "it was memory"},
    )
    assert known.status_code == 201, known.text
    assert known.json()["category"] == "oom"
    assert known.json()["note"] == "it was memory"

    new = service.client.post(
        url,
        headers=tenant.admin,
        json={
            "verdict": "correct",
            "new_cause": "firmware bug in the NIC",
            "category": "hardware-device",
        },
    )
    assert new.status_code == 201, new.text
    assert new.json()["new_cause"] == "firmware bug in the NIC"

    unknown = service.client.post(
        url, headers=tenant.submitter, json={"verdict": "correct", "root_cause": "no-such-cause"}
    )
    assert unknown.status_code == 422
    bad_category = service.client.post(
        url,
        headers=tenant.submitter,
        json={"verdict": "correct", "new_cause": "something else", "category": "nonsense"},
    )
    assert bad_category.status_code == 422

    feedback = service.client.get(f"/v1/diagnoses/{job['id']}", headers=tenant.reader).json()[
        "feedback"
    ]
    assert [f["verdict"] for f in feedback] == ["confirm", "correct", "correct"]
    assert [f["id"] for f in feedback] == [
        confirm.json()["id"],
        known.json()["id"],
        new.json()["id"],
    ]


def test_feedback_on_a_failed_job_is_a_conflict(service: Service, tenant: TenantKeys) -> None:
    failed = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=bytes(range(256)) * 64
    )
    assert failed.status_code == 422
    job_id = failed.json()["job"]["id"]
    answer = service.client.post(
        f"/v1/diagnoses/{job_id}/feedback", headers=tenant.submitter, json={"verdict": "confirm"}
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "conflict"


def test_root_causes_list_filter_and_entry(service: Service, tenant: TenantKeys) -> None:
    everything = service.client.get("/v1/root-causes", headers=tenant.reader).json()["items"]
    assert len(everything) > 20
    assert {"id", "title", "category", "status", "summary"} <= set(everything[0])
    oom = service.client.get("/v1/root-causes?category=oom", headers=tenant.reader).json()["items"]
    assert oom and all(item["category"] == "oom" for item in oom)
    assert OOM_ROOT_CAUSE in {item["id"] for item in oom}
    bad = service.client.get("/v1/root-causes?category=nope", headers=tenant.reader)
    assert bad.status_code == 422
    entry = service.client.get(f"/v1/root-causes/{NFS_ROOT_CAUSE}", headers=tenant.reader).json()
    assert entry["id"] == NFS_ROOT_CAUSE
    assert entry["remediation"] and entry["signatures"]
    missing = service.client.get("/v1/root-causes/not-an-entry", headers=tenant.reader)
    assert missing.status_code == 404


def test_categories_are_the_taxonomy(service: Service, tenant: TenantKeys) -> None:
    items = service.client.get("/v1/categories", headers=tenant.reader).json()["items"]
    ids = [item["id"] for item in items]
    assert "unknown" in ids and "oom" in ids and "hung-task" in ids
    assert all(item["name"] for item in items)


def test_stats_count_the_tenants_diagnoses(service: Service, tenant: TenantKeys) -> None:
    _submit(service, tenant, NFS_LOG.read_bytes(), host="web-1")
    _submit(service, tenant, OOM_LOG.read_bytes(), host="db-1")
    stats = service.client.get("/v1/stats?bucket=hour", headers=tenant.reader).json()
    assert stats["total"] == 2
    assert stats["hosts_affected"] == 2
    assert {c["category"]: c["count"] for c in stats["by_category"]} == {"hung-task": 1, "oom": 1}
    assert {r["id"] for r in stats["by_root_cause"]} == {NFS_ROOT_CAUSE, OOM_ROOT_CAUSE}
    assert sum(b["count"] for b in stats["over_time"]) == 2
    assert len(stats["top_signatures"]) == 2
    future = service.client.get("/v1/stats?since=2999-01-01T00:00:00Z", headers=tenant.reader)
    assert future.json()["total"] == 0
