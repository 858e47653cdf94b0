"""A tenant never sees, counts, changes or infers another tenant's data, on every endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import NFS_LOG, NFS_ROOT_CAUSE, Service, TenantKeys, blob_files, raw_headers


@pytest.fixture
def job_of_a(service: Service, tenant: TenantKeys) -> dict[str, Any]:
    """Tenant A's finished diagnosis, with feedback, submitted with an Idempotency-Key."""
    answer = service.client.post(
        "/v1/diagnoses?host=a-host",
        headers=raw_headers(tenant.submitter, **{"Idempotency-Key": "shared-key"}),
        content=NFS_LOG.read_bytes(),
    )
    assert answer.status_code == 200
    job: dict[str, Any] = answer.json()
    feedback = service.client.post(
        f"/v1/diagnoses/{job['id']}/feedback", headers=tenant.submitter, json={"verdict": "confirm"}
    )
    assert feedback.status_code == 201
    return job


def _not_found(answer: Any) -> None:
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "not_found"


def test_other_tenant_cannot_read_a_job(
    service: Service, job_of_a: dict[str, Any], other_tenant: TenantKeys
) -> None:
    url = f"/v1/diagnoses/{job_of_a['id']}"
    for headers in (other_tenant.reader, other_tenant.admin):
        _not_found(service.client.get(url, headers=headers))
        _not_found(service.client.get(f"{url}/log", headers=headers))
        _not_found(service.client.get(f"{url}/events", headers=headers))


def test_an_unknown_id_and_another_tenants_id_look_the_same(
    service: Service, job_of_a: dict[str, Any], other_tenant: TenantKeys
) -> None:
    theirs = service.client.get(f"/v1/diagnoses/{job_of_a['id']}", headers=other_tenant.reader)
    nobody = service.client.get(
        "/v1/diagnoses/dx_0000000000000000000000000000", headers=other_tenant.reader
    )
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json() == nobody.json()


def test_other_tenant_cannot_delete_or_give_feedback(
    service: Service, tenant: TenantKeys, job_of_a: dict[str, Any], other_tenant: TenantKeys
) -> None:
    url = f"/v1/diagnoses/{job_of_a['id']}"
    _not_found(service.client.delete(url, headers=other_tenant.admin))
    _not_found(
        service.client.post(
            f"{url}/feedback", headers=other_tenant.admin, json={"verdict": "confirm"}
        )
    )
    # Untouched for its owner: still there, still with exactly its own feedback.
    mine = service.client.get(url, headers=tenant.reader)
    assert mine.status_code == 200
    assert len(mine.json()["feedback"]) == 1
    assert blob_files(service, tenant.tenant_id)


def test_other_tenant_lists_and_counts_nothing_of_a(
    service: Service, job_of_a: dict[str, Any], other_tenant: TenantKeys
) -> None:
    client, headers = service.client, other_tenant.reader
    for query in ("", "?host=a-host", f"?root_cause={NFS_ROOT_CAUSE}", "?category=hung-task"):
        assert client.get(f"/v1/diagnoses{query}", headers=headers).json()["items"] == []
    # A cursor made from A's id pages nothing of A's.
    paged = client.get(f"/v1/diagnoses?cursor={job_of_a['id']}", headers=headers)
    assert paged.status_code == 200 and paged.json()["items"] == []
    stats = client.get("/v1/stats", headers=headers).json()
    assert stats == {
        "total": 0,
        "by_category": [],
        "by_root_cause": [],
        "over_time": [],
        "top_signatures": [],
        "hosts_affected": 0,
    }
    assert client.get("/v1/me", headers=headers).json()["tenant"] == other_tenant.name


def test_same_bytes_and_same_idempotency_key_make_bs_own_job(
    service: Service, tenant: TenantKeys, job_of_a: dict[str, Any], other_tenant: TenantKeys
) -> None:
    # B sends A's exact bytes under A's Idempotency-Key: dedup is per tenant, so B gets a new
    # job of its own and learns nothing about A's (no feedback, B's own metadata).
    answer = service.client.post(
        "/v1/diagnoses",
        headers=raw_headers(other_tenant.submitter, **{"Idempotency-Key": "shared-key"}),
        content=NFS_LOG.read_bytes(),
    )
    assert answer.status_code == 200
    theirs = answer.json()
    assert theirs["id"] != job_of_a["id"]
    assert theirs["feedback"] == []
    assert theirs["host"] is None
    assert theirs["upload"]["sha256"] == job_of_a["upload"]["sha256"]
    # Each sees exactly one job: its own.
    assert [
        j["id"]
        for j in service.client.get("/v1/diagnoses", headers=other_tenant.reader).json()["items"]
    ] == [theirs["id"]]
    assert [
        j["id"] for j in service.client.get("/v1/diagnoses", headers=tenant.reader).json()["items"]
    ] == [job_of_a["id"]]
    # Deleting B's copy leaves A's job and blobs intact.
    assert (
        service.client.delete(
            f"/v1/diagnoses/{theirs['id']}", headers=other_tenant.admin
        ).status_code
        == 204
    )
    assert (
        service.client.get(f"/v1/diagnoses/{job_of_a['id']}", headers=tenant.reader).status_code
        == 200
    )
    assert (
        service.client.get(f"/v1/diagnoses/{job_of_a['id']}/log", headers=tenant.reader).status_code
        == 200
    )
    assert blob_files(service, other_tenant.tenant_id) == []
