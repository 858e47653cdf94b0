"""Bad uploads and bad requests: clear 4xx answers in the error shape, and nothing stored."""

from __future__ import annotations

import os

import pytest
from api_helpers import (
    MAX_DUMP_BYTES,
    MAX_LOG_BYTES,
    NFS_LOG,
    Service,
    TenantKeys,
    blob_files,
    raw_headers,
)


def _assert_nothing_stored(service: Service, tenant: TenantKeys) -> None:
    assert service.client.get("/v1/diagnoses", headers=tenant.reader).json()["items"] == []
    assert blob_files(service, tenant.tenant_id) == []


def _error(answer: object, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]


def test_empty_raw_body(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post("/v1/diagnoses", headers=raw_headers(tenant.submitter))
    _error(answer, 400, "empty_input")
    _assert_nothing_stored(service, tenant)


def test_empty_raw_body_streamed_without_length(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=iter([b""])
    )
    _error(answer, 400, "empty_input")
    _assert_nothing_stored(service, tenant)


def test_empty_multipart_file(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses", headers=tenant.submitter, files={"file": ("empty.log", b"")}
    )
    _error(answer, 400, "empty_input")
    _assert_nothing_stored(service, tenant)


def test_binary_garbage_is_refused_as_unsupported(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=os.urandom(64 * 1024)
    )
    _error(answer, 422, "unsupported_format")
    # The failed job is kept (with its error) so a retry of the same bytes answers the same.
    job = answer.json()["job"]
    assert job["state"] == "failed"
    assert job["error"]["code"] == "unsupported_format"


def test_whitespace_only_log_is_empty_input(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=b"\n \n\t\n" * 10
    )
    _error(answer, 422, "empty_input")


def test_log_over_the_log_limit_is_413_and_leaves_nothing(
    service: Service, tenant: TenantKeys
) -> None:
    line = b"[    1.000000] a kernel log line that repeats to exceed the limit\n"
    body = line * (MAX_LOG_BYTES // len(line) + 10)
    answer = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=body
    )
    _error(answer, 413, "payload_too_large")
    assert "log" in answer.json()["message"]
    _assert_nothing_stored(service, tenant)


def test_streamed_log_over_the_limit_without_length_is_413(
    service: Service, tenant: TenantKeys
) -> None:
    chunk = b"x" * 65536 + b"\n"
    chunks = iter([chunk] * (MAX_LOG_BYTES // len(chunk) + 4))
    answer = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=chunks
    )
    _error(answer, 413, "payload_too_large")
    _assert_nothing_stored(service, tenant)


def test_dump_may_exceed_the_log_limit_but_not_the_dump_limit(
    service: Service, tenant: TenantKeys
) -> None:
    head = b"\x7fELF\x02\x01\x01" + bytes(505)  # an ELF core's magic: a dump, not a log
    body = head + bytes(MAX_DUMP_BYTES)  # one page over the dump limit
    answer = service.client.post(
        "/v1/diagnoses",
        headers=tenant.submitter,
        files={"file": ("vmcore", body, "application/octet-stream")},
    )
    _error(answer, 413, "payload_too_large")
    assert "dump" in answer.json()["message"]
    _assert_nothing_stored(service, tenant)


def test_declared_length_past_every_limit_is_refused_before_reading(
    service: Service, tenant: TenantKeys
) -> None:
    headers = raw_headers(tenant.submitter, **{"Content-Length": str(MAX_DUMP_BYTES * 4)})
    answer = service.client.post("/v1/diagnoses", headers=headers, content=b"x" * 10)
    _error(answer, 413, "payload_too_large")
    _assert_nothing_stored(service, tenant)


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "image/png"]
)
def test_wrong_content_type_is_415(service: Service, tenant: TenantKeys, content_type: str) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers={**tenant.submitter, "Content-Type": content_type},
        content=NFS_LOG.read_bytes(),
    )
    _error(answer, 415, "invalid_request")
    _assert_nothing_stored(service, tenant)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n"),  # no boundary parameter
        ("multipart/form-data; boundary=xyz", b"this is not multipart at all"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
        ),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="host"\r\n\r\nweb\r\n--xyz--\r\n',
        ),
    ],
    ids=["no-boundary", "not-multipart", "unterminated", "no-file-field"],
)
def test_malformed_multipart_is_422(
    service: Service, tenant: TenantKeys, content_type: str, body: bytes
) -> None:
    answer = service.client.post(
        "/v1/diagnoses", headers={**tenant.submitter, "Content-Type": content_type}, content=body
    )
    _error(answer, 422, "invalid_request")
    _assert_nothing_stored(service, tenant)


def test_two_files_in_one_request_are_refused(service: Service, tenant: TenantKeys) -> None:
    answer = service.client.post(
        "/v1/diagnoses",
        headers=tenant.submitter,
        files=[("file", ("a.log", b"one")), ("file", ("b.log", b"two"))],
    )
    _error(answer, 422, "invalid_request")
    _assert_nothing_stored(service, tenant)


def test_too_long_metadata_is_refused_and_the_upload_dropped(
    service: Service, tenant: TenantKeys
) -> None:
    answer = service.client.post(
        "/v1/diagnoses?host=" + "h" * 300,
        headers=raw_headers(tenant.submitter),
        content=NFS_LOG.read_bytes(),
    )
    _error(answer, 422, "invalid_request")
    _assert_nothing_stored(service, tenant)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"verdict": "maybe"}',
        b'{"verdict": "correct"}',
        b'{"verdict": "correct", "root_cause": "x", "new_cause": "y and z"}',
        b'{"verdict": "confirm", "root_cause": "oom-panic-on-oom-system-wide"}',
        b'{"verdict": "confirm", "surprise": 1}',
        b"[]",
    ],
)
def test_malformed_feedback_is_422_invalid_request(
    service: Service, tenant: TenantKeys, body: bytes
) -> None:
    job = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=NFS_LOG.read_bytes()
    ).json()
    answer = service.client.post(
        f"/v1/diagnoses/{job['id']}/feedback",
        headers={**tenant.submitter, "Content-Type": "application/json"},
        content=body,
    )
    _error(answer, 422, "invalid_request")


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=100000",
        "state=exploded",
        "since=yesterday",
        "cursor=not-a-cursor",
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    ],
)
def test_bad_list_parameters_are_422(service: Service, tenant: TenantKeys, query: str) -> None:
    answer = service.client.get(f"/v1/diagnoses?{query}", headers=tenant.reader)
    _error(answer, 422, "invalid_request")


@pytest.mark.parametrize("query", ["bucket=week", "since=2026-13-01"])
def test_bad_stats_parameters_are_422(service: Service, tenant: TenantKeys, query: str) -> None:
    _error(service.client.get(f"/v1/stats?{query}", headers=tenant.reader), 422, "invalid_request")
