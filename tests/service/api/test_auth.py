"""Keys: missing, malformed, unknown and revoked keys get 401; roles get 403."""

from __future__ import annotations

import pytest
from api_helpers import NFS_LOG, Service, TenantKeys, raw_headers

from service.db.repo import get_api_key, revoke_api_key

V1_GETS = ["/v1/me", "/v1/diagnoses", "/v1/stats", "/v1/root-causes", "/v1/categories"]


@pytest.mark.parametrize("path", V1_GETS)
def test_every_v1_call_needs_a_key(service: Service, path: str) -> None:
    answer = service.client.get(path)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer pdx_not-a-real-key-at-all-0000000000000000000",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "pdx_missing_scheme",
        "Bearer short",
    ],
)
def test_unknown_or_malformed_keys_are_refused(service: Service, authorization: str) -> None:
    answer = service.client.get("/v1/me", headers={"Authorization": authorization})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_a_key_differing_only_after_its_prefix_is_refused(
    service: Service, tenant: TenantKeys
) -> None:
    forged = tenant.admin_key[:-4] + ("AAAA" if not tenant.admin_key.endswith("AAAA") else "BBBB")
    answer = service.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


def test_revoked_key_stops_working_at_once(service: Service, tenant: TenantKeys) -> None:
    assert service.client.get("/v1/me", headers=tenant.admin).status_code == 200
    with service.db.write_session() as session:
        revoke_api_key(session, tenant.admin_key[:16])
        session.commit()
    answer = service.client.get("/v1/me", headers=tenant.admin)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"


def test_me_names_tenant_role_and_prefix(service: Service, tenant: TenantKeys) -> None:
    me = service.client.get("/v1/me", headers=tenant.reader).json()
    assert me["tenant"] == tenant.name
    assert me["role"] == "reader"
    assert tenant.reader["Authorization"].removeprefix("Bearer ").startswith(me["key_prefix"])


def test_reader_may_read_but_not_submit(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.reader), content=NFS_LOG.read_bytes()
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"
    listing = service.client.get("/v1/diagnoses", headers=tenant.reader)
    assert listing.status_code == 200
    assert listing.json()["items"] == []  # the refused upload left no job


def test_feedback_needs_submitter_and_delete_needs_admin(
    service: Service, tenant: TenantKeys
) -> None:
    job = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=NFS_LOG.read_bytes()
    ).json()
    url = f"/v1/diagnoses/{job['id']}"
    refused = service.client.post(
        f"{url}/feedback", headers=tenant.reader, json={"verdict": "confirm"}
    )
    assert refused.status_code == 403
    assert service.client.delete(url, headers=tenant.submitter).status_code == 403
    assert service.client.delete(url, headers=tenant.reader).status_code == 403
    assert service.client.get(url, headers=tenant.reader).status_code == 200
    assert service.client.delete(url, headers=tenant.admin).status_code == 204


def test_a_keys_use_is_recorded(service: Service, tenant: TenantKeys) -> None:
    with service.db.session() as session:
        assert get_api_key(session, tenant.admin_key[:16]).last_used_at is None  # type: ignore[union-attr]
    assert service.client.get("/v1/me", headers=tenant.admin).status_code == 200
    with service.db.session() as session:
        key = get_api_key(session, tenant.admin_key[:16])
        assert key is not None and key.last_used_at is not None
