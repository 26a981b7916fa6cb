"""Fail-closed: every route declares who may call it, and a resource that declares nothing is for staff.

`auth = "staff" | "client" | "any"` needs a token of that kind; `auth = None` says, on purpose,
that a route is public. Forgetting the line must close a route, never open it.
"""
from __future__ import annotations

import falcon
import falcon.testing
import pytest
from falcon import inspect

from gateway.app import create_app
from shared.config import Settings

KINDS = {"staff", "client", "any", None}


@pytest.fixture
def added_routes(rpc, monkeypatch) -> tuple[falcon.App, list[tuple[str, object]]]:
    """The app, and every (template, resource) anyone added to it: our routes table, /openapi.json
    and the docs page alike."""
    added: list[tuple[str, object]] = []
    add_route = falcon.App.add_route

    def recording(app: falcon.App, uri_template: str, resource: object, **kwargs) -> None:
        added.append((uri_template, resource))
        add_route(app, uri_template, resource, **kwargs)

    monkeypatch.setattr(falcon.App, "add_route", recording)
    return create_app(rpc, Settings()), added


def declares_auth(resource: object) -> bool:
    """`auth` written in the resource's class (or a base); `auth = None` counts, a missing line does not."""
    return any("auth" in vars(cls) for cls in type(resource).__mro__ if cls is not object)


def test_every_route_declares_who_may_call_it(added_routes):
    app, added = added_routes
    served = {route.path for route in inspect.inspect_routes(app)}
    assert {template for template, _ in added} == served, "a route reached the app without add_route"
    undeclared = sorted(f"{template} ({type(resource).__qualname__})"
                        for template, resource in added if not declares_auth(resource))
    assert not undeclared, f"these resources do not say `auth = ...` (None for public): {undeclared}"
    unknown = sorted(template for template, resource in added if resource.auth not in KINDS)
    assert not unknown, f"auth must be one of {KINDS}: {unknown}"


def test_the_only_routes_without_a_resource_are_the_static_files(added_routes):
    """Static routes and sinks reach no resource, so no `auth` guards them: only the files of the docs
    page and of our own pages (their scripts and styles) may."""
    app, _ = added_routes
    assert sorted(route.prefix for route in inspect.inspect_static_routes(app)) == ["/docs/static/", "/static/"]
    assert inspect.inspect_sinks(app) == []


class Undeclared:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"secret": True}


class DeclaredPublic:
    auth = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"public": True}


@pytest.fixture
def app_with_extra_routes(rpc) -> falcon.testing.TestClient:
    app = create_app(rpc, Settings())
    app.add_route("/test/undeclared", Undeclared())
    app.add_route("/test/public", DeclaredPublic())
    return falcon.testing.TestClient(app)


def test_a_resource_that_declares_nothing_is_401_without_a_token(app_with_extra_routes, rpc):
    resp = app_with_extra_routes.simulate_get("/test/undeclared")
    assert resp.status_code == 401 and "secret" not in resp.text
    assert rpc.calls == []


def test_a_resource_that_declares_nothing_is_for_staff_only(app_with_extra_routes, staff):
    client_token = {"Authorization": "Bearer client-token"}
    assert app_with_extra_routes.simulate_get("/test/undeclared", headers=client_token).status_code == 403
    assert app_with_extra_routes.simulate_get("/test/undeclared", headers=staff).json == {"secret": True}


def test_auth_none_is_public(app_with_extra_routes, rpc):
    assert app_with_extra_routes.simulate_get("/test/public").json == {"public": True}
    assert rpc.calls == []


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/docs", "/docs/", "/docs/static/swagger-ui.css",
                                  "/portal", "/static/upload.js", "/static/pages.css"])
def test_public_pages_need_no_token(client, path):
    assert client.simulate_get(path).status_code == 200


def test_the_docs_page_shows_the_openapi_document(client):
    page = client.simulate_get("/docs").text
    assert 'url: "/openapi.json"' in page and "/docs/static/swagger-ui-bundle.js" in page
