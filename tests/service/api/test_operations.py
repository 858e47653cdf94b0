"""Health, readiness, metrics, the static console and the OpenAPI document."""

from __future__ import annotations

from api_helpers import METRICS_HEADERS, NFS_LOG, Service, TenantKeys, raw_headers
from fastapi.testclient import TestClient

from service.api.main import create_app


def test_healthz_and_readyz_need_no_key(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["knowledge_base"].startswith("kb-")
    # No model promoted in the registry: the built-in model serves.
    assert body["checks"]["model_registry"] == "built-in"
    assert body["checks"]["model"].startswith("clf-")


def test_metrics_count_requests_by_route_template_and_jobs(
    service: Service, tenant: TenantKeys
) -> None:
    done = service.client.post(
        "/v1/diagnoses", headers=raw_headers(tenant.submitter), content=NFS_LOG.read_bytes()
    )
    assert done.status_code == 200
    service.client.get(f"/v1/diagnoses/{done.json()['id']}", headers=tenant.reader)
    text = service.client.get("/metrics", headers=METRICS_HEADERS).text
    # Ids never become label values: the route template is the label.
    assert 'route="/v1/diagnoses/{job_id}"' in text
    assert done.json()["id"] not in text
    assert 'panicdx_http_requests_total{method="POST",route="/v1/diagnoses",status="200"}' in text
    assert "panicdx_queue_depth" in text
    assert 'panicdx_job_duration_seconds_count{tier="log"}' in text
    assert 'panicdx_diagnoses{category="hung-task"}' in text


def test_console_page_and_widget_module_are_served_without_a_key(service: Service) -> None:
    page = service.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "panic-diagnosis" in page.text
    module = service.client.get("/widget/panic-diagnosis.js")
    assert module.status_code == 200
    # Module scripts are refused by browsers unless served with a JavaScript MIME type.
    assert "javascript" in module.headers["content-type"]
    assert service.client.get("/widget/nope.js").status_code == 404


def test_openapi_documents_every_v1_route(service: Service) -> None:
    schema = service.client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/v1/diagnoses",
        "/v1/diagnoses/{job_id}",
        "/v1/diagnoses/{job_id}/events",
        "/v1/diagnoses/{job_id}/feedback",
        "/v1/diagnoses/{job_id}/log",
        "/v1/root-causes",
        "/v1/root-causes/{root_cause_id}",
        "/v1/stats",
        "/v1/me",
    ):
        assert path in paths, path
    upload = paths["/v1/diagnoses"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(upload)
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_unknown_routes_and_methods_answer_in_the_error_shape(service: Service) -> None:
    missing = service.client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = service.client.put("/v1/diagnoses")
    assert wrong.status_code == 405
    assert set(wrong.json()) == {"code", "message"}


def test_static_files_and_unknown_paths_have_bounded_metric_labels(service: Service) -> None:
    service.client.get("/widget/panic-diagnosis.js")
    service.client.get("/no/such/path/abc123")
    text = service.client.get("/metrics", headers=METRICS_HEADERS).text
    assert 'route="/widget/{path}"' in text
    assert 'route="unmatched"' in text
    assert "abc123" not in text


def test_metrics_is_an_operators_endpoint(service: Service, tenant: TenantKeys) -> None:
    """/metrics counts every tenant together: a tenant's key (even an admin's) does not open
    it, only the operator's token does."""
    assert service.client.get("/metrics").status_code == 401
    for key in (tenant.reader, tenant.admin):
        refused = service.client.get("/metrics", headers=key)
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
    wrong = service.client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert service.client.get("/metrics", headers=METRICS_HEADERS).status_code == 200


def test_metrics_without_a_token_are_served_to_loopback_only(service: Service) -> None:
    settings = service.settings.model_copy(update={"metrics_token": None})
    app = create_app(settings)
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/metrics").status_code == 200
    with TestClient(app, client=("203.0.113.7", 50000)) as remote:
        refused = remote.get("/metrics")
        assert refused.status_code == 401
        assert "PANICDX_METRICS_TOKEN" in refused.json()["message"]
