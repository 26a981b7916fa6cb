"""The gateway's app factory: routes, middleware and the error mapping, with collaborators injected."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import falcon
from swagger_ui.core import ApplicationDocument

from gateway import errors
from gateway.media import Request, json_handlers, request_handlers
from gateway.middleware import (
    AuthMiddleware,
    ClientAddressMiddleware,
    InputCheckMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from gateway.openapi import build_spec
from gateway.resources import (
    access,
    accounts,
    activity,
    contacts,
    documents,
    file_requests,
    identity,
    inbox,
    jobs,
    portal,
    portal_settings,
    public,
    system,
    team,
)
from gateway.transfer import FileTransfer
from shared.config import Settings
from shared.storage import ObjectStore

STATIC = Path(__file__).parent / "static"


def link_kinds() -> dict[str, public.LinkKind]:
    """What each kind of link shows publicly (`GET /api/public/links/{token}` and its `/p/` page)."""
    return {
        "invitation": public.InvitationLink(),
        "file_request": public.FileRequestLink(),
    }


def routes(rpc: Any, transfer: FileTransfer) -> list[tuple[str, Any]]:
    """Every documented route: the app serves these and the OpenAPI document describes them."""
    kinds = link_kinds()
    return [
        ("/healthz", system.Health()),
        ("/readyz", system.Ready(rpc)),
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
        ("/api/v1/accounts/{account_id:uuid}/folders", documents.AccountFolders(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/documents", documents.AccountDocuments(rpc, transfer)),
        ("/api/v1/documents/{document_id:uuid}", documents.Document(rpc)),
        ("/api/v1/documents/{document_id:uuid}/content", documents.DocumentContent(rpc, transfer)),
        ("/api/v1/accounts/{account_id:uuid}/file-requests", file_requests.AccountFileRequests(rpc)),
        ("/api/v1/file-requests/{file_request_id:uuid}", file_requests.FileRequest(rpc)),
        ("/api/v1/file-requests/{file_request_id:uuid}/resend", file_requests.FileRequestResend(rpc)),
        ("/api/v1/file-requests/{file_request_id:uuid}/revoke", file_requests.FileRequestRevoke(rpc)),
        ("/api/v1/inbox", inbox.Inbox(rpc)),
        ("/api/v1/inbox/{item_id:uuid}/read", inbox.InboxItemRead(rpc)),
        ("/portal/v1/accounts", portal.PortalAccounts(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/folders", portal.PortalFolders(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/documents", portal.PortalDocuments(rpc, transfer)),
        ("/portal/v1/accounts/{account_id:uuid}/documents/{document_id:uuid}/content",
         portal.PortalDocumentContent(rpc, transfer)),
        ("/portal/v1/accounts/{account_id:uuid}/done-uploading", portal.PortalDoneUploading(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/announcement", portal.PortalAnnouncement(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/jobs", portal.PortalJobs(rpc)),
        ("/api/public/links/{token}", public.LinkInfo(rpc, kinds)),
        ("/api/public/links/{token}/files", public.LinkFiles(rpc, transfer)),
        ("/api/public/links/{token}/done", public.LinkDone(rpc)),
        ("/api/public/invitations/{token}", public.AcceptInvitation(rpc)),
        ("/p/{token}", public.LinkPage(rpc, kinds)),
        ("/portal", public.PortalPage()),
    ]


def create_app(rpc: Any, settings: Settings, store: ObjectStore | None = None) -> falcon.App:
    """`rpc` is anything with `call(service, method, context=..., **kwargs)`: tests pass a fake.
    `settings` come from the composition root (gateway.wsgi reads the environment once).
    `store` is the object store the file bytes stream to and from (default: the one `settings` name)."""
    store = store or ObjectStore.from_settings(settings)
    app = falcon.App(request_type=Request, middleware=[
        RequestIdMiddleware(), ClientAddressMiddleware(settings.trusted_proxies), MetricsMiddleware(),
        SecurityHeadersMiddleware(), InputCheckMiddleware(), AuthMiddleware(rpc),
    ])
    app.req_options.media_handlers = request_handlers(settings.max_json_body)
    app.resp_options.media_handlers = json_handlers(settings.max_json_body)
    errors.install(app)
    table = routes(rpc, FileTransfer(store))
    for template, resource in table:
        app.add_route(template, resource)
    app.add_route("/openapi.json", system.OpenApi(build_spec([*table, ("/openapi.json", system.OpenApi({}))])))
    add_docs(app, "/docs", "/openapi.json")
    # The pages' scripts and styles: files, so that the pages' Content-Security-Policy allows no inline script.
    app.add_static_route("/static", str(STATIC))
    return app


def add_docs(app: falcon.App, prefix: str, spec_url: str) -> None:
    """Swagger UI at `prefix`: swagger_ui's page and static files, served by our own public
    resource (the library's own route classes declare no `auth`)."""
    doc = ApplicationDocument(app, config_url=spec_url, url_prefix=prefix, title="Porta API")
    # The page reads our /openapi.json itself: swagger_ui's own route for it fetches `config_url`
    # with urllib, which fails on a relative URL (that route answered 500).
    doc.parameters["url"] = json.dumps(spec_url)
    page = system.DocsPage(doc.doc_html)
    app.add_route(prefix, page)
    app.add_route(f"{prefix}/", page)
    app.add_static_route(doc.static_uri_absolute, doc.static_dir)
