"""CORS: only the configured origins may call the API from a browser page; the widget's
public files may be loaded by any page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.api.main import create_app
from service.db.migrate import upgrade_database
from service.settings import Settings

ALLOWED = "https://console.example.com"


def _client(tmp_path: Path, origins: list[str]) -> TestClient:
    settings = Settings(
        data_dir=tmp_path, database_url=None, broker_url=None, workers=0, cors_origins=origins
    )
    upgrade_database(settings)
    return TestClient(create_app(settings, run_workers=False))


def _preflight(client: TestClient, origin: str) -> dict[str, str]:
    answer = client.options(
        "/v1/diagnoses",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
    )
    return dict(answer.headers)


def test_configured_origin_may_call_with_a_key(tmp_path: Path) -> None:
    with _client(tmp_path, [ALLOWED]) as client:
        headers = _preflight(client, ALLOWED)
        assert headers["access-control-allow-origin"] == ALLOWED
        assert "authorization" in headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in headers
        simple = client.get("/healthz", headers={"Origin": ALLOWED})
        assert simple.headers["access-control-allow-origin"] == ALLOWED
        assert "location" in simple.headers["access-control-expose-headers"].lower()
        other = _preflight(client, "https://evil.example")
        assert "access-control-allow-origin" not in other


def test_no_cross_origin_access_by_default(tmp_path: Path) -> None:
    with _client(tmp_path, []) as client:
        assert "access-control-allow-origin" not in _preflight(client, ALLOWED)
        answer = client.get("/healthz", headers={"Origin": ALLOWED})
        assert "access-control-allow-origin" not in answer.headers


def test_the_widget_module_is_readable_from_any_origin(tmp_path: Path) -> None:
    """Browsers fetch `<script type="module">` in CORS mode: the public widget files carry
    `Access-Control-Allow-Origin` whatever the API's origins are, so an embedding console can
    load the widget and the widget can explain a refused API call."""
    with _client(tmp_path, []) as client:
        module = client.get("/widget/panic-diagnosis.js", headers={"Origin": ALLOWED})
        assert module.status_code == 200
        assert module.headers["access-control-allow-origin"] == "*"
        api = client.get("/healthz", headers={"Origin": ALLOWED})
        assert "access-control-allow-origin" not in api.headers
