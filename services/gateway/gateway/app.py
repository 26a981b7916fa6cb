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
    approvals,
    billing,
    chats,
    chats_bulk,
    client_requests,
    contacts,
    documents,
    file_requests,
    identity,
    inbox,
    jobs,
    payments,
    portal,
    portal_billing,
    portal_chat_page,
    portal_chats,
    portal_settings,
    public,
    shares,
    signatures,
    system,
    team,
)
from gateway.stream import docs as stream_docs
from gateway.transfer import FileTransfer
from shared.config import Settings
from shared.storage import ObjectStore

STATIC = Path(__file__).parent / "static"


def link_kinds() -> dict[str, public.LinkKind]:
    """What each kind of link shows publicly (`GET /api/public/links/{token}` and its `/p/` page)."""
    return {
        "invitation": public.InvitationLink(),
        "file_request": public.FileRequestLink(),
        "share": shares.ShareLink(),
        "approval": approvals.ApprovalLink(),
        "signature": signatures.SignatureLink(),
        "client_request": client_requests.ClientRequestLink(),
        "invoice": payments.InvoiceLink(),
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
        ("/api/v1/settings/payments", payments.PaymentSettings(rpc)),
        ("/api/v1/activity", activity.Activity(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/folders", documents.AccountFolders(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/documents", documents.AccountDocuments(rpc, transfer)),
        ("/api/v1/documents/{document_id:uuid}", documents.Document(rpc)),
        ("/api/v1/documents/{document_id:uuid}/content", documents.DocumentContent(rpc, transfer)),
        ("/api/v1/accounts/{account_id:uuid}/file-requests", file_requests.AccountFileRequests(rpc)),
        ("/api/v1/file-requests/{file_request_id:uuid}", file_requests.FileRequest(rpc)),
        ("/api/v1/file-requests/{file_request_id:uuid}/resend", file_requests.FileRequestResend(rpc)),
        ("/api/v1/file-requests/{file_request_id:uuid}/revoke", file_requests.FileRequestRevoke(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/client-requests", client_requests.AccountClientRequests(rpc)),
        ("/api/v1/client-requests/{client_request_id:uuid}", client_requests.ClientRequest(rpc)),
        ("/api/v1/client-requests/{client_request_id:uuid}/cancel", client_requests.ClientRequestCancel(rpc)),
        ("/api/v1/shares", shares.Shares(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/shares", shares.AccountShares(rpc)),
        ("/api/v1/shares/{share_id:uuid}", shares.Share(rpc)),
        ("/api/v1/shares/{share_id:uuid}/revoke", shares.ShareRevoke(rpc)),
        ("/api/v1/shares/{share_id:uuid}/recipients/{recipient_id:uuid}", shares.ShareRecipient(rpc)),
        ("/api/v1/shares/{share_id:uuid}/recipients/{recipient_id:uuid}/revoke", shares.ShareRecipientRevoke(rpc)),
        ("/api/v1/documents/{document_id:uuid}/approval-requests", approvals.DocumentApprovalRequests(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/approval-requests", approvals.AccountApprovalRequests(rpc)),
        ("/api/v1/approval-requests/{approval_request_id:uuid}", approvals.ApprovalRequest(rpc)),
        # signatures (staff)
        ("/api/v1/documents/{document_id:uuid}/signature-requests", signatures.DocumentSignatureRequests(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/signature-requests", signatures.AccountSignatureRequests(rpc)),
        ("/api/v1/signature-requests/{signature_request_id:uuid}", signatures.SignatureRequest(rpc)),
        ("/api/v1/signature-requests/{signature_request_id:uuid}/signers/{signer_id:uuid}/resend",
         signatures.SignerResend(rpc)),
        ("/api/v1/signature-requests/{signature_request_id:uuid}/cancel", signatures.SignatureRequestCancel(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/chats", chats.AccountChats(rpc)),  # chats
        ("/api/v1/chats/{thread_id:uuid}", chats.Chat(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/messages", chats.ChatMessages(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/attachments", chats.ChatAttachments(rpc, transfer)),
        ("/api/v1/chats/{thread_id:uuid}/documents", chats.ChatDocuments(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/tasks", chats.ChatTasks(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/tasks/{task_id:uuid}", chats.ChatTask(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/reminders", chats.ChatReminders(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/archive", chats.ChatArchive(rpc)),
        ("/api/v1/chats/{thread_id:uuid}/unarchive", chats.ChatUnarchive(rpc)),
        ("/api/v1/tasks", chats.Tasks(rpc)),
        ("/api/v1/chat-templates", chats.ChatTemplates(rpc)),
        ("/api/v1/chat-templates/{template_id:uuid}", chats.ChatTemplate(rpc)),
        ("/api/v1/settings/chats", chats.ChatSettings(rpc)),
        ("/api/v1/chats/bulk", chats_bulk.BulkChats(rpc)),  # bulk messages
        ("/api/v1/chats/bulk/{bulk_id:uuid}", chats_bulk.BulkChat(rpc)),
        ("/api/v1/inbox", inbox.Inbox(rpc)),
        ("/api/v1/inbox/{item_id:uuid}/read", inbox.InboxItemRead(rpc)),
        # billing (staff)
        ("/api/v1/accounts/{account_id:uuid}/invoices", billing.AccountInvoices(rpc)),
        ("/api/v1/invoices/{invoice_id:uuid}", billing.Invoice(rpc)),
        ("/api/v1/invoices/{invoice_id:uuid}/issue", billing.InvoiceIssue(rpc)),
        ("/api/v1/invoices/{invoice_id:uuid}/void", billing.InvoiceVoid(rpc)),
        ("/api/v1/invoices/{invoice_id:uuid}/pdf", billing.InvoicePdf(rpc)),
        ("/api/v1/invoices/{invoice_id:uuid}/payments", billing.InvoicePayments(rpc)),
        ("/api/v1/payments/{payment_id:uuid}", billing.Payment(rpc)),
        ("/api/v1/payments/{payment_id:uuid}/refunds", billing.PaymentRefunds(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/credit", billing.AccountCredit(rpc)),
        ("/api/v1/accounts/{account_id:uuid}/ledger", billing.AccountLedger(rpc)),
        ("/portal/v1/accounts", portal.PortalAccounts(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/folders", portal.PortalFolders(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/documents", portal.PortalDocuments(rpc, transfer)),
        ("/portal/v1/accounts/{account_id:uuid}/documents/{document_id:uuid}/content",
         portal.PortalDocumentContent(rpc, transfer)),
        ("/portal/v1/accounts/{account_id:uuid}/done-uploading", portal.PortalDoneUploading(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/announcement", portal.PortalAnnouncement(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/jobs", portal.PortalJobs(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/signature-requests", signatures.PortalSignatureRequests(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/signature-requests/{signature_request_id:uuid}/signature",
         signatures.PortalSignature(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/invoices", portal_billing.PortalInvoices(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/invoices/{invoice_id:uuid}/payments",
         portal_billing.PortalInvoicePayments(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/credit", portal_billing.PortalCredit(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/prepayments", portal_billing.PortalPrepayments(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/chats", portal_chats.PortalChats(rpc)),  # chats
        ("/portal/v1/accounts/{account_id:uuid}/chats/{thread_id:uuid}/messages", portal_chats.PortalChatMessages(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/chats/{thread_id:uuid}/read", portal_chats.PortalChatRead(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/tasks", portal_chats.PortalTasks(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/chats/{thread_id:uuid}/tasks/{task_id:uuid}",
         portal_chats.PortalChatTask(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/approval-requests", approvals.PortalApprovalRequests(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/approval-requests/{approval_request_id:uuid}/decision",
         approvals.PortalApprovalDecision(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/client-requests", client_requests.PortalClientRequests(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/client-requests/{client_request_id:uuid}/answers",
         client_requests.PortalClientRequestAnswers(rpc)),
        ("/portal/v1/accounts/{account_id:uuid}/client-requests/{client_request_id:uuid}/files",
         client_requests.PortalClientRequestFiles(rpc, transfer)),
        ("/api/public/links/{token}", public.LinkInfo(rpc, kinds)),
        ("/api/public/links/{token}/files",
         public.LinkFiles(rpc, transfer, questions=client_requests.LinkQuestionFiles(rpc, transfer))),
        ("/api/public/links/{token}/answers", client_requests.LinkAnswers(rpc)),
        ("/api/public/links/{token}/done", public.LinkDone(rpc)),
        ("/api/public/links/{token}/payment", payments.LinkPayment(rpc)),
        ("/api/webhooks/stripe", payments.StripeWebhook(rpc)),
        ("/api/public/links/{token}/documents/{document_id:uuid}/content", shares.LinkDocumentContent(rpc, transfer)),
        ("/api/public/links/{token}/archive", shares.LinkArchive(rpc, transfer.store)),
        ("/api/public/links/{token}/content", approvals.LinkContent(rpc, transfer, kinds)),
        ("/api/public/links/{token}/approval", approvals.LinkApproval(rpc)),
        ("/api/public/links/{token}/signature", signatures.LinkSignature(rpc)),
        ("/api/public/links/{token}/decline", signatures.LinkDecline(rpc)),
        ("/api/public/verify", signatures.PublicVerify(rpc, transfer.store)),
        ("/api/public/invitations/{token}", public.AcceptInvitation(rpc)),
        ("/p/{token}", public.LinkPage(rpc, kinds)),
        ("/portal", public.PortalPage()),
        ("/portal/accounts/{account_id}/chats/{thread_id}", portal_chat_page.PortalChatPage()),  # chats page
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
    # The streams are served by their own process (gateway.stream) but documented here with every route.
    spec = build_spec([*table, *stream_docs.documented_routes(), ("/openapi.json", system.OpenApi({}))])
    app.add_route("/openapi.json", system.OpenApi(stream_docs.as_event_streams(spec)))
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
