"""The running system: health, readiness, metrics, the OpenAPI document and its page."""
from __future__ import annotations


def test_healthz_and_readyz(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["services"]) == {"crm", "documents", "links", "chats", "notifications", "billing"}


def test_metrics_are_prometheus_text(anonymous):
    anonymous.get("/healthz")
    resp = anonymous.get("/metrics")
    assert resp.status_code == 200 and "porta_http_requests_total" in resp.text


def test_openapi_and_docs(anonymous):
    spec = anonymous.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1") and "/api/v1/accounts/{account_id}" in spec["paths"]
    assert anonymous.get("/docs").status_code == 200


def test_request_id_is_echoed(anonymous):
    assert anonymous.get("/healthz", headers={"X-Request-ID": "trace-me-1"}).headers["X-Request-ID"] == "trace-me-1"
