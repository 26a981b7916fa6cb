"""The gateway's app factory: routes, middleware and the error mapping, with collaborators injected."""
from __future__ import annotations

from typing import Any

import falcon
from swagger_ui import api_doc

from gateway import errors
from gateway.media import json_handlers
from gateway.middleware import AuthMiddleware, ClientAddressMiddleware, MetricsMiddleware, RequestIdMiddleware
from gateway.openapi import build_spec
from gateway.resources import (
    access,
    accounts,
    activity,
    contacts,
    identity,
    jobs,
    portal,
    portal_settings,
    public,
    system,
    team,
)
from shared.config import Settings, load_settings


def routes(rpc: Any) -> list[tuple[str, Any]]:
    """Every documented route: the app serves these and the OpenAPI document describes them."""
    return [
        ("/healthz", system.Health()),
        ("/readyz", system.Ready(rpc)),
        ("/metrics", system.Metrics()),
        ("/api/v1/auth/signup", identity.Signup(rpc)),
        ("/api/v1/auth/login", identity.Login(rpc)),
        ("/api/v1/auth/logout", identity.Logout(rpc)),
        ("/api/v1/me", identity.Me(rpc)),
        ("/api/v1/team", team.TeamCollection(rpc)),
        ("/api/v1/team/{member_id:uuid}", team.TeamMember(rpc)),
        ("/api/v1/accounts", accounts.AccountsCollection(rpc)),
        ("/api/v1/accounts/{account_id:uuid}", accounts.Account(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/team", team.AccountTeam(rpc)),
        ("/api/v1/contacts", contacts.ContactsCollection(rpc)),
        ("/api/v1/contacts/{contact_id:uuid}", contacts.Contact(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/contacts", contacts.AccountContacts(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/contacts/{contact_id:uuid}", contacts.AccountContact(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/access", access.AccountAccess(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/access/{email}", access.AccessEntry(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/access/{email}/reinvite", access.Reinvite(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/access/{email}/notifications", access.NotificationCategories(rpc)),
        ("/api/v1/access", access.BulkAccess(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/jobs", jobs.AccountJobs(rpc)),
        ("/api/v1/jobs/{job_id:uuid}", jobs.Job(rpc)),
        ("/api/v1/settings/portal", portal_settings.PortalSettings(rpc)),
        ("/api/v1/activity", activity.Activity(rpc)),
        ("/portal/v1/accounts", portal.PortalAccounts(rpc)),
        ("/api/public/links/{token}", public.LinkInfo(rpc)),
        ("/api/public/invitations/{token}", public.AcceptInvitation(rpc)),
        ("/p/{token}", public.LinkPage(rpc)),
        ("/portal", public.PortalPage()),
    ]


def create_app(rpc: Any, settings: Settings | None = None) -> falcon.App:
    """`rpc` is anything with `call(service, method, context=..., **kwargs)`: tests pass a fake."""
    settings = settings or load_settings()
    app = falcon.App(middleware=[
        RequestIdMiddleware(), ClientAddressMiddleware(settings.trusted_proxies), MetricsMiddleware(),
        AuthMiddleware(rpc),
    ])
    handlers = json_handlers(settings.max_json_body)
    app.req_options.media_handlers = handlers
    app.resp_options.media_handlers = handlers
    errors.install(app)
    table = routes(rpc)
    for template, resource in table:
        app.add_route(template, resource)
    app.add_route("/openapi.json", system.OpenApi(build_spec([*table, ("/openapi.json", system.OpenApi({}))])))
    api_doc(app, config_url="/openapi.json", url_prefix="/docs", title="Porta API")
    return app
