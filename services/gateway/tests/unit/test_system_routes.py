"""Health, readiness, metrics, the OpenAPI document and its docs page."""
from __future__ import annotations

from falcon import inspect

from gateway.app import create_app
from gateway.openapi import openapi_path
from shared.config import SERVICES, Settings
from shared.errors import ServiceTimeout


def test_healthz(client):
    assert client.simulate_get("/healthz").json == {"status": "ok"}


def test_readyz_is_200_when_every_service_answers(client, rpc):
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 200
    assert resp.json["services"] == {s: "ok" for s in SERVICES}
    assert {c[0] for c in rpc.calls if c[1] == "health"} == set(SERVICES)


def test_readyz_is_503_naming_the_service_that_does_not_answer(client, rpc):
    rpc.answers[("billing", "health")] = ServiceTimeout("late")
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 503
    assert resp.json["services"]["billing"] != "ok" and resp.json["services"]["crm"] == "ok"


def test_metrics_count_requests_by_route_template(client):
    client.simulate_get("/healthz")
    body = client.simulate_get("/metrics").text
    assert 'porta_http_requests_total{method="GET",route="/healthz",status="200"}' in body


def test_every_route_and_method_is_in_the_openapi_document(client, rpc):
    spec = client.simulate_get("/openapi.json").json
    served = {
        (openapi_path(route.path)[0], method.method.lower())
        for route in inspect.inspect_routes(create_app(rpc, Settings()))
        if not route.path.startswith("/docs")
        for method in route.methods
        if not method.internal and method.method != "OPTIONS"
    }
    documented = {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert served == documented


def test_openapi_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate

    validate(client.simulate_get("/openapi.json").json)


def test_docs_page_renders_the_document(client):
    resp = client.simulate_get("/docs")
    assert resp.status_code == 200
    assert "/openapi.json" in resp.text or "swagger" in resp.text.lower()
