"""The permission matrix: every staff route of the served OpenAPI document, walked by every kind of caller.

API.md: "Owner and admins may do everything. An employee sees only the accounts assigned to him,
unless he has view_all_accounts; document and billing writes need the matching right." Staff
tokens open /api/v1, client (portal) tokens get 403 there, no token is 401.

Derived for crm's routes (MATRIX below is the one table of expected outcomes):
- owner, admin: everything.
- employee, reads: an account he is assigned to (`mine`) answers; one he is not (`other`) is
  404 unless he has `view_all_accounts`. A contact, a job, an access row or a list under an
  account is as visible as that account.
- employee, writes of accounts, contacts, links, access, jobs and account teams: need
  `manage_accounts`; 403 when he can see the target but lacks the right, 404 when he cannot
  see it (never reveal what he may not see). Creating (no target yet) is 403 without the right.
  The bulk access route decides on the right before it reads any item, so without the right
  it is 403 whatever the items name (that 403 reveals nothing about them).
- employee, team management (invite, change, remove) and firm settings: owner/admin only, 403.
  Reading the team, /me and the portal settings is open to all staff.
- `manage_documents` and `manage_billing` change nothing on crm's routes.

Derived for the documents service's routes (it asks crm's `authorize_account`, so the same sight rules):
- reading folders, documents and their bytes needs sight of the account (as above);
- every write (folders, uploads, rename/move, delete) and everything about file requests, reads
  included, needs `manage_documents` too: 403 on what he sees, 404 on what he does not.
- billing (the same sight rules): reading invoices, payments, credit and the ledger needs sight of the
  account; every billing write (drafts, issue, void, payments, refunds, credit) `manage_billing` too.
- client token: 403 on every /api/v1 route but logout (any token may end its own session).
- no token: 401.

Real tokens: the owner from signup; every other staff member invited with POST /api/v1/team and
activated through the emailed link; the client invited through portal access LOGIN and activated
the same way. Each role's users are made once per module; each role's test makes its own fresh
accounts, contacts, jobs and team member to act on, then walks MATRIX row by row (destructive rows
last) and reports every cell that differs, not only the first.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from devstack.fixtures import Mailbox

from tests.signing_samples import signable_pdf

PASSWORD = "correct horse battery staple"

# Columns of MATRIX, in order. `emp_*` are employees with exactly the rights named (none for `emp`).
ROLES = ("owner", "admin", "emp", "emp_manage", "emp_view_all", "emp_manage_view_all", "emp_documents",
         "emp_billing", "client", "anonymous")
STAFF_RIGHTS = {
    "admin": ("admin", []),
    "emp": ("employee", []),
    "emp_manage": ("employee", ["manage_accounts"]),
    "emp_view_all": ("employee", ["view_all_accounts"]),
    "emp_manage_view_all": ("employee", ["manage_accounts", "view_all_accounts"]),
    "emp_documents": ("employee", ["manage_documents"]),
    "emp_billing": ("employee", ["manage_billing"]),
}

# What GET /api/v1/accounts?q=<this role's tag> lists, besides its status: which of the role's two accounts.
BOTH, MINE = "200 mine+other", "200 mine"

# Placeholders in paths and bodies, each naming one of the objects a role's test makes fresh:
#   {mine} an account the acting employee is assigned to, {other} one he is not assigned to;
#   {mine_contact}/{other_contact} a contact linked only to that account, {mine_email}/{other_email} its
#   address (portal LOGIN on: an invitation is pending); {loose_contact} a contact linked to nothing;
#   {mine_job}/{other_job} a job on that account; {member} an invited team member; {me} the actor's id;
#   {tag} the role's unique tag (in its account names); {fresh} a never-used address; {nobodys_item} an
#   Inbox+ item id that is no one's; {mine_folder}/{other_folder} that account's private root folder,
#   {mine_doc}/{other_doc} a PDF uploaded into it, {mine_request}/{other_request} an open file request for it
#   (with one earlier recipient, so a resend has someone to go to); {mine_share}/{other_share} a share of that PDF
#   with one recipient {mine_recipient}/{other_recipient}; {mine_approval}/{other_approval} an approval request of it.
#   {mine_client_request}/{other_client_request} a client request (a questionnaire, as a link) on that account.
# A `bytes` body is a file, sent raw (the path names it with ?filename=).
# Rows run in this order: reads, then writes, then what deletes.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SEES_MINE = (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)
SEES_OTHER = (200, 200, 404, 404, 200, 200, 404, 404, 403, 401)


def documents_write(status: int, mine: bool) -> tuple[Any, ...]:
    """A documents write (or a file-request read) answering `status`: needs manage_documents and sight."""
    if mine:
        return (status, status, 403, 403, 403, 403, status, 403, 403, 401)
    return (status, status, 404, 404, 403, 403, 404, 404, 403, 401)


def billing_write(status: int, mine: bool) -> tuple[Any, ...]:
    """A billing write answering `status`: needs manage_billing and sight of the account."""
    if mine:
        return (status, status, 403, 403, 403, 403, 403, status, 403, 401)
    return (status, status, 404, 404, 403, 403, 404, 404, 403, 401)


INVOICE_BODY = {"items": [{"description": "Tax return", "quantity": 1, "unit_price": 45000}], "currency": "EUR",
                "due_date": "2026-12-31"}

def chats_sight(status: int, mine: bool) -> tuple[Any, ...]:
    """A chats route answering `status` to every staff member who sees the account (no right needed)."""
    if mine:
        return (status,) * 8 + (403, 401)
    return (status, status, 404, 404, status, status, 404, 404, 403, 401)


STAFF_ONLY = lambda status: (status,) * 8 + (403, 401)  # noqa: E731  firm-wide chats routes: any staff member

MATRIX: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    # method  path                                              body
    #     owner  admin  emp    manage view   m+view docs   bill   client anon
    ("GET", "/api/v1/me", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/team", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/settings/portal", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    # The feed filters itself to what the caller may see: an account he cannot see is an empty list.
    ("GET", "/api/v1/activity", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/activity?account_id={other}", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    # The Inbox+ is each staff member's own: any staff token lists his items; an item that is not his
    # is 404 whoever asks (test_inbox_api.py marks real items of the owner, an employee, another firm).
    ("GET", "/api/v1/inbox", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/inbox?unread=true", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("POST", "/api/v1/inbox/{nobodys_item}/read", None,
     (404, 404, 404, 404, 404, 404, 404, 404, 403, 401)),
    ("GET", "/api/v1/accounts?q={tag}", None,
     (BOTH, BOTH, MINE, MINE, BOTH, BOTH, MINE, MINE, 403, 401)),
    ("GET", "/api/v1/accounts/{mine}", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/accounts/{other}", None,
     (200, 200, 404, 404, 200, 200, 404, 404, 403, 401)),
    ("GET", "/api/v1/contacts/{mine_contact}", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/contacts/{other_contact}", None,
     (200, 200, 404, 404, 200, 200, 404, 404, 403, 401)),
    ("GET", "/api/v1/accounts/{mine}/access", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/accounts/{other}/access", None,
     (200, 200, 404, 404, 200, 200, 404, 404, 403, 401)),
    ("GET", "/api/v1/accounts/{mine}/access/{mine_email}/notifications", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/accounts/{other}/access/{other_email}/notifications", None,
     (200, 200, 404, 404, 200, 200, 404, 404, 403, 401)),
    ("GET", "/api/v1/accounts/{mine}/jobs", None,
     (200, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("GET", "/api/v1/accounts/{other}/jobs", None,
     (200, 200, 404, 404, 200, 200, 404, 404, 403, 401)),
    # -- documents: reading needs sight of the account; file requests need manage_documents even to read
    ("GET", "/api/v1/accounts/{mine}/folders", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/folders", None, SEES_OTHER),
    ("GET", "/api/v1/accounts/{mine}/documents", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/documents", None, SEES_OTHER),
    ("GET", "/api/v1/accounts/{mine}/documents?folder_id={mine_folder}", None, SEES_MINE),
    ("GET", "/api/v1/documents/{mine_doc}", None, SEES_MINE),
    ("GET", "/api/v1/documents/{other_doc}", None, SEES_OTHER),
    ("GET", "/api/v1/documents/{mine_doc}/content", None, SEES_MINE),
    ("GET", "/api/v1/documents/{other_doc}/content", None, SEES_OTHER),
    ("GET", "/api/v1/accounts/{mine}/file-requests", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/accounts/{other}/file-requests", None, documents_write(200, mine=False)),
    ("GET", "/api/v1/file-requests/{mine_request}", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/file-requests/{other_request}", None, documents_write(200, mine=False)),
    # -- team and firm settings: owner and admins only
    ("POST", "/api/v1/team", {"name": "New", "email": "{fresh}", "role": "employee"},
     (201, 201, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/team/{member}", {"rights": ["manage_billing"]},
     (200, 200, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/settings/portal", {"announcement": False},
     (200, 200, 403, 403, 403, 403, 403, 403, 403, 401)),
    # -- account writes: manage_accounts, on what he can see
    ("POST", "/api/v1/accounts", {"name": "{tag} created", "type": "company"},
     (201, 201, 403, 201, 403, 201, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/accounts/{mine}", {"name": "{tag} mine renamed"},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/accounts/{other}", {"name": "{tag} other renamed"},
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    ("PUT", "/api/v1/accounts/{mine}/team", {"user_ids": ["{me}"]},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PUT", "/api/v1/accounts/{other}/team", {"user_ids": ["{me}"]},
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    # -- contacts and links
    ("POST", "/api/v1/contacts", {"first_name": "New", "last_name": "Contact", "emails": ["{fresh}"]},
     (201, 201, 403, 201, 403, 201, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/contacts/{mine_contact}", {"first_name": "Renamed"},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/contacts/{other_contact}", {"first_name": "Renamed"},
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    ("POST", "/api/v1/accounts/{mine}/contacts", {"contact_id": "{loose_contact}"},
     (201, 201, 403, 201, 403, 201, 403, 403, 403, 401)),
    ("POST", "/api/v1/accounts/{other}/contacts", {"contact_id": "{loose_contact}"},
     (201, 201, 404, 404, 403, 201, 404, 404, 403, 401)),
    # -- portal access
    ("PATCH", "/api/v1/accounts/{mine}/access/{mine_email}", {"notify": True},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/accounts/{other}/access/{other_email}", {"notify": True},
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    ("POST", "/api/v1/accounts/{mine}/access/{mine_email}/reinvite", None,
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("POST", "/api/v1/accounts/{other}/access/{other_email}/reinvite", None,
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    ("PUT", "/api/v1/accounts/{mine}/access/{mine_email}/notifications", {"categories": {"proposals": False}},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PUT", "/api/v1/accounts/{other}/access/{other_email}/notifications", {"categories": {"proposals": False}},
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    ("PATCH", "/api/v1/access", {"items": [{"account_id": "{mine}", "email": "{mine_email}", "notify": True}]},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/access", {"items": [{"account_id": "{other}", "email": "{other_email}", "notify": True}]},
     (200, 200, 403, 404, 403, 200, 403, 403, 403, 401)),
    # -- jobs
    ("POST", "/api/v1/accounts/{mine}/jobs", {"name": "Tax return", "status": "Open"},
     (201, 201, 403, 201, 403, 201, 403, 403, 403, 401)),
    ("POST", "/api/v1/accounts/{other}/jobs", {"name": "Tax return", "status": "Open"},
     (201, 201, 404, 404, 403, 201, 404, 404, 403, 401)),
    ("PATCH", "/api/v1/jobs/{mine_job}", {"status": "Done"},
     (200, 200, 403, 200, 403, 200, 403, 403, 403, 401)),
    ("PATCH", "/api/v1/jobs/{other_job}", {"status": "Done"},
     (200, 200, 404, 404, 403, 200, 404, 404, 403, 401)),
    # -- documents writes: manage_documents, on what he can see
    ("POST", "/api/v1/accounts/{mine}/folders", {"name": "{tag} folder", "client_access": "none"},
     documents_write(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/folders", {"name": "{tag} folder", "client_access": "none"},
     documents_write(201, mine=False)),
    ("POST", "/api/v1/accounts/{mine}/documents?filename=upload.pdf", PDF, documents_write(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/documents?filename=upload.pdf&folder_id={other_folder}", PDF,
     documents_write(201, mine=False)),
    ("PATCH", "/api/v1/documents/{mine_doc}", {"name": "{tag} mine.pdf"}, documents_write(200, mine=True)),
    ("PATCH", "/api/v1/documents/{other_doc}", {"name": "{tag} other.pdf"}, documents_write(200, mine=False)),
    ("POST", "/api/v1/accounts/{mine}/file-requests", {"folder_id": "{mine_folder}", "message": "Your W-2, please"},
     documents_write(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/file-requests", {"folder_id": "{other_folder}", "message": "Your W-2"},
     documents_write(201, mine=False)),
    ("PATCH", "/api/v1/file-requests/{mine_request}", {"message": "Your 1099, please"},
     documents_write(200, mine=True)),
    ("PATCH", "/api/v1/file-requests/{other_request}", {"message": "Your 1099, please"},
     documents_write(200, mine=False)),
    ("POST", "/api/v1/file-requests/{mine_request}/resend", None, documents_write(200, mine=True)),
    ("POST", "/api/v1/file-requests/{other_request}/resend", None, documents_write(200, mine=False)),
    # -- client requests: everything, reads included, needs manage_documents (their url is a link)
    ("GET", "/api/v1/accounts/{mine}/client-requests", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/accounts/{other}/client-requests", None, documents_write(200, mine=False)),
    ("GET", "/api/v1/client-requests/{mine_client_request}", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/client-requests/{other_client_request}", None, documents_write(200, mine=False)),
    ("POST", "/api/v1/accounts/{mine}/client-requests", {"title": "2025", "login_required": False, "questions": [
        {"kind": "text", "label": "Your name"}]}, documents_write(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/client-requests", {"title": "2025", "login_required": False, "questions": [
        {"kind": "text", "label": "Your name"}]}, documents_write(201, mine=False)),
    # -- shares and approvals: everything, reads included, needs manage_documents (they hold links)
    ("GET", "/api/v1/accounts/{mine}/shares", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/accounts/{other}/shares", None, documents_write(200, mine=False)),
    ("GET", "/api/v1/shares/{mine_share}", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/shares/{other_share}", None, documents_write(200, mine=False)),
    ("GET", "/api/v1/accounts/{mine}/approval-requests", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/accounts/{other}/approval-requests", None, documents_write(200, mine=False)),
    ("GET", "/api/v1/approval-requests/{mine_approval}", None, documents_write(200, mine=True)),
    ("GET", "/api/v1/approval-requests/{other_approval}", None, documents_write(200, mine=False)),
    ("POST", "/api/v1/shares", {"document_ids": ["{mine_doc}"], "recipients": [{"email": "{fresh}"}],
                                "send_email": False}, documents_write(201, mine=True)),
    ("POST", "/api/v1/shares", {"document_ids": ["{other_doc}"], "recipients": [{"email": "{fresh}"}],
                                "send_email": False}, documents_write(201, mine=False)),
    ("PATCH", "/api/v1/shares/{mine_share}/recipients/{mine_recipient}", {"expires_at": None},
     documents_write(200, mine=True)),
    ("PATCH", "/api/v1/shares/{other_share}/recipients/{other_recipient}", {"expires_at": None},
     documents_write(200, mine=False)),
    ("POST", "/api/v1/documents/{mine_doc}/approval-requests", {"emails": ["{fresh}"]},
     documents_write(201, mine=True)),
    ("POST", "/api/v1/documents/{other_doc}/approval-requests", {"emails": ["{fresh}"]},
     documents_write(201, mine=False)),
    # -- signature requests: reads need sight of the account, writes manage_documents too
    ("GET", "/api/v1/accounts/{mine}/signature-requests", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/signature-requests", None, SEES_OTHER),
    ("GET", "/api/v1/signature-requests/{mine_signature}", None, SEES_MINE),
    ("GET", "/api/v1/signature-requests/{other_signature}", None, SEES_OTHER),
    ("POST", "/api/v1/documents/{mine_pdf}/signature-requests", {"signers": [{"name": "Sam", "email": "{fresh}"}]},
     documents_write(201, mine=True)),
    ("POST", "/api/v1/documents/{other_pdf}/signature-requests", {"signers": [{"name": "Sam", "email": "{fresh}"}]},
     documents_write(201, mine=False)),
    ("POST", "/api/v1/signature-requests/{mine_signature}/signers/{mine_signer}/resend", None,
     documents_write(200, mine=True)),
    ("POST", "/api/v1/signature-requests/{other_signature}/signers/{other_signer}/resend", None,
     documents_write(200, mine=False)),
    # -- billing: reads need sight of the account, writes manage_billing too
    ("GET", "/api/v1/accounts/{mine}/invoices", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/invoices", None, SEES_OTHER),
    ("GET", "/api/v1/accounts/{mine}/invoices?status=open", None, SEES_MINE),
    ("GET", "/api/v1/invoices/{mine_invoice}", None, SEES_MINE),
    ("GET", "/api/v1/invoices/{other_invoice}", None, SEES_OTHER),
    ("GET", "/api/v1/invoices/{mine_invoice}/pdf", None, SEES_MINE),
    ("GET", "/api/v1/invoices/{other_invoice}/pdf", None, SEES_OTHER),
    ("GET", "/api/v1/invoices/{mine_invoice}/payments", None, SEES_MINE),
    ("GET", "/api/v1/invoices/{other_invoice}/payments", None, SEES_OTHER),
    ("GET", "/api/v1/payments/{mine_payment}", None, SEES_MINE),
    ("GET", "/api/v1/payments/{other_payment}", None, SEES_OTHER),
    ("GET", "/api/v1/accounts/{mine}/credit", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/credit", None, SEES_OTHER),
    ("GET", "/api/v1/accounts/{mine}/ledger", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/ledger", None, SEES_OTHER),
    ("POST", "/api/v1/accounts/{mine}/invoices", INVOICE_BODY, billing_write(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/invoices", INVOICE_BODY, billing_write(201, mine=False)),
    ("PATCH", "/api/v1/invoices/{mine_draft}", {"memo": "Net 30"}, billing_write(200, mine=True)),
    ("PATCH", "/api/v1/invoices/{other_draft}", {"memo": "Net 30"}, billing_write(200, mine=False)),
    ("POST", "/api/v1/invoices/{mine_draft}/issue", None, billing_write(200, mine=True)),
    ("POST", "/api/v1/invoices/{other_draft}/issue", None, billing_write(200, mine=False)),
    ("POST", "/api/v1/invoices/{mine_invoice}/payments", {"amount": 100, "method": "cash"},
     billing_write(201, mine=True)),
    ("POST", "/api/v1/invoices/{other_invoice}/payments", {"amount": 100, "method": "cash"},
     billing_write(201, mine=False)),
    ("POST", "/api/v1/payments/{mine_payment}/refunds", {"amount": 1}, billing_write(201, mine=True)),
    ("POST", "/api/v1/payments/{other_payment}/refunds", {"amount": 1}, billing_write(201, mine=False)),
    ("POST", "/api/v1/accounts/{mine}/credit", {"amount": 100, "currency": "EUR", "method": "cash"},
     billing_write(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/credit", {"amount": 100, "currency": "EUR", "method": "cash"},
     billing_write(201, mine=False)),
    ("POST", "/api/v1/invoices/{mine_voidable}/void", None, billing_write(200, mine=True)),
    ("POST", "/api/v1/invoices/{other_voidable}/void", None, billing_write(200, mine=False)),
    # -- payment settings (docs/payments.md): reading needs manage_billing; choosing where money goes is the
    #    owner's and admins' only, whatever rights an employee has
    ("GET", "/api/v1/settings/payments", None,
     (200, 200, 403, 403, 403, 403, 403, 200, 403, 401)),
    ("PUT", "/api/v1/settings/payments", {"provider": "test"},
     (200, 200, 403, 403, 403, 403, 403, 403, 403, 401)),
    # -- chats: sight of the account for threads, messages, tasks, reminders, archive; attachments need
    #    manage_documents too; templates and the task overview are the firm's; chat settings owner/admin
    ("GET", "/api/v1/accounts/{mine}/chats", None, SEES_MINE),
    ("GET", "/api/v1/accounts/{other}/chats", None, SEES_OTHER),
    ("GET", "/api/v1/chats/{mine_thread}", None, SEES_MINE),
    ("GET", "/api/v1/chats/{other_thread}", None, SEES_OTHER),
    ("GET", "/api/v1/chats/{mine_thread}/messages", None, SEES_MINE),
    ("GET", "/api/v1/chats/{other_thread}/messages", None, SEES_OTHER),
    ("GET", "/api/v1/chats/{mine_thread}/documents", None, SEES_MINE),
    ("GET", "/api/v1/chats/{other_thread}/documents", None, SEES_OTHER),
    ("GET", "/api/v1/tasks", None, STAFF_ONLY(200)),
    ("GET", "/api/v1/tasks?account_id={other}", None, SEES_OTHER),
    ("GET", "/api/v1/chat-templates", None, STAFF_ONLY(200)),
    ("GET", "/api/v1/chat-templates/{template}", None, STAFF_ONLY(200)),
    ("GET", "/api/v1/settings/chats", None, STAFF_ONLY(200)),
    ("POST", "/api/v1/accounts/{mine}/chats", {"subject": "Hello", "body": "Hi"}, chats_sight(201, mine=True)),
    ("POST", "/api/v1/accounts/{other}/chats", {"subject": "Hello", "body": "Hi"}, chats_sight(201, mine=False)),
    ("POST", "/api/v1/chats/{mine_thread}/messages", {"body": "Hi"}, chats_sight(201, mine=True)),
    ("POST", "/api/v1/chats/{other_thread}/messages", {"body": "Hi"}, chats_sight(201, mine=False)),
    ("POST", "/api/v1/chats/{mine_thread}/attachments?filename=a.pdf&folder_id={mine_client_folder}", PDF,
     documents_write(201, mine=True)),
    ("POST", "/api/v1/chats/{other_thread}/attachments?filename=a.pdf&folder_id={other_client_folder}", PDF,
     documents_write(201, mine=False)),
    ("POST", "/api/v1/chats/{mine_thread}/tasks", {"title": "Sign"}, chats_sight(201, mine=True)),
    ("POST", "/api/v1/chats/{other_thread}/tasks", {"title": "Sign"}, chats_sight(201, mine=False)),
    ("PATCH", "/api/v1/chats/{mine_thread}/tasks/{mine_task}", {"done": True}, chats_sight(200, mine=True)),
    ("PATCH", "/api/v1/chats/{other_thread}/tasks/{other_task}", {"done": True}, chats_sight(200, mine=False)),
    ("PUT", "/api/v1/chats/{mine_thread}/reminders", {"enabled": True}, chats_sight(200, mine=True)),
    ("PUT", "/api/v1/chats/{other_thread}/reminders", {"enabled": True}, chats_sight(200, mine=False)),
    ("POST", "/api/v1/chats/{mine_thread}/archive", None, chats_sight(200, mine=True)),
    ("POST", "/api/v1/chats/{other_thread}/archive", None, chats_sight(200, mine=False)),
    ("POST", "/api/v1/chats/{mine_thread}/unarchive", None, chats_sight(200, mine=True)),
    ("POST", "/api/v1/chats/{other_thread}/unarchive", None, chats_sight(200, mine=False)),
    ("POST", "/api/v1/chat-templates", {"name": "T", "subject": "S [FIRM_NAME]", "body": "B"}, STAFF_ONLY(201)),
    ("PATCH", "/api/v1/chat-templates/{template}", {"name": "T2"}, STAFF_ONLY(200)),
    ("PATCH", "/api/v1/settings/chats", {"chat_email_content": False},
     (200, 200, 403, 403, 403, 403, 403, 403, 403, 401)),
    # -- bulk messages and streams: any staff member sends one (crm decides per account in the background;
    # a job is seen by its sender, the owner and admins); a stream passes auth, then wants
    # `Accept: text/event-stream` (406 here: these requests accept anything; tests/test_stream.py opens them)
    ("POST", "/api/v1/chats/bulk", {"account_ids": ["{mine}"], "subject": "Hi", "body": "Hello"}, STAFF_ONLY(202)),
    ("GET", "/api/v1/chats/bulk/{bulk_job}", None, (200, 200, 404, 404, 404, 404, 404, 404, 403, 401)),
    ("GET", "/api/v1/stream", None, STAFF_ONLY(406)),
    ("POST", "/api/v1/stream", {"events": ["message"]}, STAFF_ONLY(406)),
    # -- what deletes, last
    ("DELETE", "/api/v1/chats/{mine_thread}/tasks/{mine_task}", None, chats_sight(204, mine=True)),  # chats
    ("DELETE", "/api/v1/chats/{other_thread}/tasks/{other_task}", None, chats_sight(204, mine=False)),
    ("DELETE", "/api/v1/chat-templates/{template}", None, STAFF_ONLY(204)),
    ("POST", "/api/v1/shares/{mine_share}/recipients/{mine_recipient}/revoke", None, documents_write(200, mine=True)),
    ("POST", "/api/v1/shares/{other_share}/recipients/{other_recipient}/revoke", None,
     documents_write(200, mine=False)),
    ("POST", "/api/v1/shares/{mine_share}/revoke", None, documents_write(200, mine=True)),
    ("POST", "/api/v1/shares/{other_share}/revoke", None, documents_write(200, mine=False)),
    ("POST", "/api/v1/client-requests/{mine_client_request}/cancel", None, documents_write(200, mine=True)),
    ("POST", "/api/v1/client-requests/{other_client_request}/cancel", None, documents_write(200, mine=False)),
    ("POST", "/api/v1/signature-requests/{mine_signature}/cancel", None, documents_write(200, mine=True)),
    ("POST", "/api/v1/signature-requests/{other_signature}/cancel", None, documents_write(200, mine=False)),
    ("POST", "/api/v1/file-requests/{mine_request}/revoke", None, documents_write(200, mine=True)),
    ("POST", "/api/v1/file-requests/{other_request}/revoke", None, documents_write(200, mine=False)),
    ("DELETE", "/api/v1/documents/{mine_doc}", None, documents_write(204, mine=True)),
    ("DELETE", "/api/v1/documents/{other_doc}", None, documents_write(204, mine=False)),
    ("DELETE", "/api/v1/accounts/{mine}/contacts/{mine_contact}", None,
     (204, 204, 403, 204, 403, 204, 403, 403, 403, 401)),
    ("DELETE", "/api/v1/accounts/{other}/contacts/{other_contact}", None,
     (204, 204, 404, 404, 403, 204, 404, 404, 403, 401)),
    ("DELETE", "/api/v1/team/{member}", None,
     (204, 204, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("DELETE", "/api/v1/accounts/{mine}", None,
     (204, 204, 403, 204, 403, 204, 403, 403, 403, 401)),
    ("DELETE", "/api/v1/accounts/{other}", None,
     (204, 204, 404, 404, 403, 204, 404, 404, 403, 401)),
    # logout runs with a second session of the same user (a fresh login), so the role keeps its token
    ("POST", "/api/v1/auth/logout", None,
     (204, 204, 204, 204, 204, 204, 204, 204, 204, 401)),
]

# Placeholder -> the OpenAPI path parameter it stands for.
PARAMETER_OF = {"mine_invoice": "invoice_id", "other_invoice": "invoice_id", "mine_draft": "invoice_id",
                "other_draft": "invoice_id", "mine_voidable": "invoice_id", "other_voidable": "invoice_id",
                "mine_payment": "payment_id", "other_payment": "payment_id",  # billing
                "mine": "account_id", "other": "account_id", "mine_contact": "contact_id",
                "other_contact": "contact_id", "mine_email": "email", "other_email": "email",
                "mine_job": "job_id", "other_job": "job_id", "member": "member_id", "nobodys_item": "item_id",
                "mine_share": "share_id", "other_share": "share_id", "mine_recipient": "recipient_id",
                "other_recipient": "recipient_id", "mine_approval": "approval_request_id",
                "other_approval": "approval_request_id",
                "mine_doc": "document_id", "other_doc": "document_id", "mine_request": "file_request_id",
                "other_request": "file_request_id",
                "mine_client_request": "client_request_id", "other_client_request": "client_request_id",
                "mine_thread": "thread_id", "other_thread": "thread_id", "mine_task": "task_id",  # chats
                "other_task": "task_id", "template": "template_id",
                "bulk_job": "bulk_id",  # bulk messages
                "mine_pdf": "document_id", "other_pdf": "document_id",  # signature requests
                "mine_signature": "signature_request_id", "other_signature": "signature_request_id",
                "mine_signer": "signer_id", "other_signer": "signer_id"}


def spec_path(path: str) -> str:
    """`/api/v1/accounts/{mine}/access/{mine_email}?x=1` -> `/api/v1/accounts/{account_id}/access/{email}`."""
    return re.sub(r"{(\w+)}", lambda m: "{" + PARAMETER_OF[m.group(1)] + "}", path.split("?")[0])


def fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template


class Http:
    """Requests to the running gateway as one caller (no token: anonymous)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body: Any = None) -> requests.Response:
        if isinstance(body, bytes):  # a file, raw
            return self.session.request(method, self.base_url + path, timeout=30, data=body,
                                        headers={"Content-Type": "application/octet-stream"})
        return self.session.request(method, self.base_url + path, timeout=30,
                                    **({"json": body} if body is not None else {}))

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """A setup call that must succeed; its JSON body."""
        resp = self(method, path, body)
        assert resp.status_code < 300, f"setup {method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None


def invitation_token(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/p/([A-Za-z0-9_-]+)", text).group(1)


def accept(base_url: str, mailbox: Mailbox, address: str) -> dict[str, Any]:
    """Reads the invitation emailed to `address`, sets PASSWORD with it; returns `{token, user}`."""
    message = mailbox.wait_for(lambda m: address in m["To"], timeout=30)
    resp = Http(base_url)("POST", f"/api/public/invitations/{invitation_token(message)}", {"password": PASSWORD})
    assert resp.status_code == 200, f"accepting the invitation of {address}: {resp.status_code} {resp.text}"
    return resp.json()


@pytest.fixture(scope="module")
def spec(base_url) -> dict[str, Any]:
    return requests.get(base_url + "/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def people(base_url, porta_env) -> dict[str, Any]:
    """One firm with a user of every role, each with a live token: `{"owner": Http, ..., "users": {...}}`."""
    mailbox = Mailbox(Path(porta_env["PORTA_MAIL_DIR"]))  # the `mailbox` fixture is per test; this is per module
    run = uuid.uuid4().hex[:8]
    owner_email = f"owner-{run}@example.com"
    signed = Http(base_url)("POST", "/api/v1/auth/signup", {"firm_name": "Matrix CPA", "name": "Olive Owner",
                                                             "email": owner_email, "password": PASSWORD})
    assert signed.status_code == 201, signed.text
    owner = Http(base_url, signed.json()["token"])
    users = {"owner": {"id": signed.json()["user"]["id"], "email": owner_email, "token": signed.json()["token"]}}
    # Invite every staff member at once, then accept each emailed invitation.
    for role, (team_role, rights) in STAFF_RIGHTS.items():
        address = f"{role.replace('_', '-')}-{run}@example.com"
        member = owner.ok("POST", "/api/v1/team", {"name": role, "email": address, "role": team_role,
                                                   "rights": rights})
        users[role] = {"id": member["id"], "email": address}
    # The client: a contact of an account of the firm, portal LOGIN on.
    home = owner.ok("POST", "/api/v1/accounts", {"name": f"Client home {run}", "type": "family"})
    client_address = f"client-{run}@example.com"
    contact = owner.ok("POST", "/api/v1/contacts", {"first_name": "Cleo", "last_name": "Client",
                                                    "emails": [client_address]})
    owner.ok("POST", f"/api/v1/accounts/{home['id']}/contacts", {"contact_id": contact["id"]})
    owner.ok("PATCH", f"/api/v1/accounts/{home['id']}/access/{client_address}", {"login": True})
    for role in STAFF_RIGHTS:
        accepted = accept(base_url, mailbox, users[role]["email"])
        assert accepted["user"]["kind"] == "staff" and accepted["user"]["id"] == users[role]["id"]
        users[role]["token"] = accepted["token"]
    accepted = accept(base_url, mailbox, client_address)
    assert accepted["user"]["kind"] == "client"
    users["client"] = {"id": accepted["user"]["id"], "email": client_address, "token": accepted["token"]}
    for role, user in users.items():  # each token is what it claims to be
        me = Http(base_url, user["token"])("GET", "/api/v1/me")
        assert me.status_code == (403 if role == "client" else 200), f"{role}: {me.status_code} {me.text}"
    return {"owner": owner, "users": users}


def targets(owner: Http, actor_id: str | None, run: str) -> dict[str, str]:
    """Fresh objects for one role to act on; the actor (if staff) is assigned to `mine` only."""
    mine = owner.ok("POST", "/api/v1/accounts", {"name": f"{run} mine", "type": "company"})["id"]
    other = owner.ok("POST", "/api/v1/accounts", {"name": f"{run} other", "type": "company"})["id"]
    if actor_id:
        owner.ok("PUT", f"/api/v1/accounts/{mine}/team", {"user_ids": [actor_id]})
    values = {"mine": mine, "other": other, "tag": run, "me": actor_id or str(uuid.uuid4())}
    for side, account in (("mine", mine), ("other", other)):
        address = f"{side}-{run}@example.com"
        contact = owner.ok("POST", "/api/v1/contacts", {"first_name": side, "last_name": run, "emails": [address]})
        owner.ok("POST", f"/api/v1/accounts/{account}/contacts", {"contact_id": contact["id"]})
        owner.ok("PATCH", f"/api/v1/accounts/{account}/access/{address}", {"login": True})  # pending: reinvite works
        job = owner.ok("POST", f"/api/v1/accounts/{account}/jobs", {"name": "Bookkeeping", "status": "Open"})
        values |= {f"{side}_contact": contact["id"], f"{side}_email": address, f"{side}_job": job["id"]}
        folders = owner.ok("GET", f"/api/v1/accounts/{account}/folders")["items"]
        folder = next(f["id"] for f in folders if f["root"] == "private")
        [document] = owner.ok("POST", f"/api/v1/accounts/{account}/documents?filename={side}.pdf", PDF)["items"]
        request = owner.ok("POST", f"/api/v1/accounts/{account}/file-requests", {
            "folder_id": folder, "message": "Send your statements", "recipients": [f"fr-{side}-{run}@example.com"]})
        values |= {f"{side}_folder": folder, f"{side}_doc": document["id"], f"{side}_request": request["id"]}
        values[f"{side}_client_request"] = owner.ok("POST", f"/api/v1/accounts/{account}/client-requests", {
            "title": "2025", "login_required": False, "questions": [{"kind": "yes_no", "label": "Married?"}]})["id"]
        shared = owner.ok("POST", "/api/v1/shares", {"document_ids": [document["id"]], "send_email": False,
                                                    "recipients": [{"email": f"share-{side}-{run}@example.com"}]})
        approval = owner.ok("POST", f"/api/v1/documents/{document['id']}/approval-requests",
                            {"emails": [f"approver-{side}-{run}@example.com"]})
        values |= {f"{side}_share": shared["id"], f"{side}_recipient": shared["recipients"][0]["id"],
                   f"{side}_approval": approval["id"]}
        # signature requests: a PDF with pages (the minimal PDF has none to sign) and a request on it
        [signable] = owner.ok("POST", f"/api/v1/accounts/{account}/documents?filename={side}-letter.pdf",
                              signable_pdf())["items"]
        signature = owner.ok("POST", f"/api/v1/documents/{signable['id']}/signature-requests",
                             {"signers": [{"name": "Sam Signer", "email": f"signer-{side}-{run}@example.com"}]})
        values |= {f"{side}_pdf": signable["id"], f"{side}_signature": signature["id"],
                   f"{side}_signer": signature["signers"][0]["id"]}
    values["loose_contact"] = owner.ok("POST", "/api/v1/contacts", {"first_name": "Loose", "last_name": run})["id"]
    values["member"] = owner.ok("POST", "/api/v1/team", {"name": "Target", "email": f"member-{run}@example.com",
                                                         "role": "employee"})["id"]
    values["nobodys_item"] = str(uuid.uuid4())  # an Inbox+ item id that is no one's
    values |= chat_targets(owner, mine, other)
    for side, account in (("mine", mine), ("other", other)):  # billing: a draft, an open invoice paid in part,
        invoices = [owner.ok("POST", f"/api/v1/accounts/{account}/invoices", INVOICE_BODY) for _ in range(3)]
        for issued in invoices[1:]:  # ... and an open one to void
            owner.ok("POST", f"/api/v1/invoices/{issued['id']}/issue")
        payment = owner.ok("POST", f"/api/v1/invoices/{invoices[1]['id']}/payments", {"amount": 1000, "method": "cash"})
        values |= {f"{side}_draft": invoices[0]["id"], f"{side}_invoice": invoices[1]["id"],
                   f"{side}_voidable": invoices[2]["id"], f"{side}_payment": payment["id"]}
    return values


def chat_targets(owner: Http, mine: str, other: str) -> dict[str, str]:
    """Chats: a thread with one task on each account, for the module's active client (linked to both with
    LOGIN on, active at once), the accounts' client roots, and a chat template."""
    [home] = owner.ok("GET", "/api/v1/accounts?q=Client home")["items"]
    cleo = next(row for row in owner.ok("GET", f"/api/v1/accounts/{home['id']}/access")["items"]
                if row["status"] == "active")
    values = {"template": owner.ok("POST", "/api/v1/chat-templates", {"name": "T", "subject": "S", "body": "B"})["id"]}
    values["bulk_job"] = owner.ok("POST", "/api/v1/chats/bulk", {"account_ids": [mine], "subject": "S",
                                                                  "body": "B"})["id"]  # bulk messages
    for side, account in (("mine", mine), ("other", other)):
        owner.ok("POST", f"/api/v1/accounts/{account}/contacts", {"contact_id": cleo["contact_id"]})
        owner.ok("PATCH", f"/api/v1/accounts/{account}/access/{cleo['email']}", {"login": True})
        thread = owner.ok("POST", f"/api/v1/accounts/{account}/chats", {"subject": "Docs", "body": "Hi",
                                                                         "tasks": [{"title": "Upload"}]})
        folders = owner.ok("GET", f"/api/v1/accounts/{account}/folders")["items"]
        values |= {f"{side}_thread": thread["id"], f"{side}_task": thread["tasks"][0]["id"],
                   f"{side}_client_folder": next(f["id"] for f in folders if f["root"] == "client")}
    return values


def outcome(resp: requests.Response, path: str, values: dict[str, str]) -> Any:
    """The status; for the account list, also which of the role's two accounts it shows."""
    if path.startswith("/api/v1/accounts?") and resp.status_code == 200:
        ids = {item["id"] for item in resp.json()["items"]}
        seen = [side for side in ("mine", "other") if values[side] in ids]
        return f"200 {'+'.join(seen) or 'nothing'}"
    return resp.status_code


def served(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every /api/v1 operation that needs a token."""
    return {(method.upper(), path) for path, operations in spec["paths"].items() if path.startswith("/api/v1/")
            for method, operation in operations.items() if operation.get("security")}


def test_the_matrix_covers_every_staff_route_the_gateway_serves(spec):
    assert all(len(row[3]) == len(ROLES) for row in MATRIX)
    in_matrix = {(method, spec_path(path)) for method, path, _, _ in MATRIX}
    missing = served(spec) - in_matrix
    assert not missing, f"routes with no row in MATRIX: {sorted(missing)}"
    stale = in_matrix - served(spec)
    assert not stale, f"MATRIX rows for routes the gateway does not serve: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, people, spec, base_url):
    column = ROLES.index(role)
    user = people["users"].get(role)
    actor = Http(base_url, user["token"] if user else None)
    values = targets(people["owner"], user["id"] if user and role != "client" else None,
                     f"{role.replace('_', '')}{uuid.uuid4().hex[:8]}")
    routes = served(spec)
    failures, done = [], 0
    for method, path, body, expected in MATRIX:
        if (method, spec_path(path)) not in routes:
            continue  # reported once, by the coverage test
        caller = actor
        if path == "/api/v1/auth/logout" and user:  # end a second session, keep the role's token
            login = Http(base_url)("POST", "/api/v1/auth/login", {"email": user["email"], "password": PASSWORD})
            assert login.status_code == 200, login.text
            caller = Http(base_url, login.json()["token"])
        row_values = {**values, "fresh": f"fresh-{uuid.uuid4().hex[:12]}@example.com"}
        resp = caller(method, fill(path, row_values), fill(body, row_values))
        actual = outcome(resp, path, row_values)
        done += 1
        if actual != expected[column]:
            failures.append(f"{role}: {method} {path} expected {expected[column]}, got {actual}: {resp.text[:160]}")
    assert done >= 40
    if failures:
        pytest.fail(f"{len(failures)} of {done} cells differ:\n" + "\n".join(failures), pytrace=False)
