"""Health, readiness, metrics, the OpenAPI document and its docs page."""
from __future__ import annotations

import uuid

from falcon import inspect

from gateway import metrics
from gateway.app import create_app
from gateway.openapi import openapi_path
from gateway.stream.app import create_stream_app
from gateway.stream.hub import Gate, Hub
from shared.config import SERVICES, Settings
from shared.errors import ServiceTimeout


def test_healthz(client):
    assert client.simulate_get("/healthz").json == {"status": "ok"}


def test_readyz_is_200_when_every_service_answers(client, rpc):
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 200 and resp.json == {"status": "ready"}
    assert {c[0] for c in rpc.calls if c[1] == "health"} == set(SERVICES)


def test_readyz_is_503_naming_no_service_to_the_public_but_to_the_log(client, rpc, caplog):
    rpc.answers[("billing", "health")] = ServiceTimeout("late")
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 503 and resp.json == {"status": "unavailable"}
    assert "billing" not in resp.text and "billing gateway timeout" in caplog.text


def test_metrics_are_not_on_the_public_port(client):
    assert client.simulate_get("/metrics").status_code == 404


def test_metrics_count_requests_by_route_template(client, rpc, staff):
    """One series per route, whatever the id in the path: never one per id."""
    account_id = str(uuid.uuid4())
    rpc.answers[("crm", "get_account")] = {"id": account_id}
    assert client.simulate_get(f"/api/v1/accounts/{account_id}", headers=staff).status_code == 200
    text = metrics.exposition()
    assert 'porta_http_requests_total{method="GET",route="/api/v1/accounts/{account_id:uuid}",status="200"}' in text
    assert account_id not in text


def test_every_route_and_method_is_in_the_openapi_document(client, rpc):
    spec = client.simulate_get("/openapi.json").json
    served = {
        (openapi_path(route.path)[0], method.method.lower())
        # The WSGI app's routes and the stream process's (gateway.stream), documented in the one document.
        for route in [*inspect.inspect_routes(create_app(rpc, Settings())),
                      *inspect.inspect_routes(create_stream_app(Hub(Gate(None)), None))]
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
