"""activity.describe: the firm, account and actor of an event are its envelope's; its summary is one line."""
from __future__ import annotations

import uuid

import pytest

from notifications.activity import SUMMARIES, SUMMARY_MAX, describe
from shared.contracts import load_all
from shared.events import declared

FIRM, ACCOUNT, USER, OTHER = (str(uuid.uuid4()) for _ in range(4))
STAFF = {"id": USER, "kind": "staff"}


def event(source, event_type, data, *, firm_id=FIRM, account_id=None, actor=None):
    """An envelope (shared.events) as the outbox relay publishes it."""
    return {"id": str(uuid.uuid4()), "type": event_type, "source": source, "firm_id": firm_id,
            "account_id": account_id, "occurred_at": "2026-11-23T10:00:00+00:00", "actor": actor,
            "request_id": "req-1", "data": data}


def account(name="Smith Family"):
    return {"id": ACCOUNT, "name": name, "type": "family", "guest": False}


def member(name="Emma"):
    return {"id": OTHER, "firm_id": FIRM, "kind": "staff", "email": "emma@example.com", "name": name,
            "role": "employee", "rights": [], "status": "invited"}


def contact():
    return {"id": OTHER, "first_name": "Jane", "last_name": "Smith", "emails": ["jane@example.com"]}


def link(kind="invitation", target=None):
    return {"id": OTHER, "firm_id": FIRM, "kind": kind, "target": target or {"type": "user", "id": USER},
            "single_use": True}


def document():
    return {"id": OTHER, "account_id": ACCOUNT, "name": "w2.pdf"}


def file_request():
    return {"id": OTHER, "firm_id": FIRM, "account_id": ACCOUNT, "message": "Your W-2"}


# The data crm, links and documents emit (their firm is in the envelope), and the line each reads as.
SIGNATURE_REQUEST = {"id": OTHER, "document_name": "engagement.pdf", "signers_count": 2}  # signature requests
SIGNER = {"id": USER, "name": "Jane Smith", "email": "jane@x.example", "signed_name": "Jane Q. Smith"}

KNOWN = [
    ("crm", "firm_created", {"firm": {"id": FIRM, "name": "Acme CPA"}, "owner": member("Olive")},
     "Firm “Acme CPA” created by Olive"),
    ("crm", "user_activated", {"user": member("Emma")}, "Emma accepted the invitation"),
    ("crm", "team_member_invited", {"member": member(), "firm_name": "Acme CPA", "inviter_name": "Olive"},
     "Emma invited to the team as employee"),
    ("crm", "team_member_updated", {"member": member()}, "Team member Emma updated"),
    ("crm", "team_member_removed", {"member": member()}, "Emma removed from the team"),
    ("crm", "account_created", {"account": account()}, "Account “Smith Family” created"),
    ("crm", "account_updated", {"account": account("Smith & Sons"), "changed": ["name"]},
     "Account renamed to “Smith & Sons”"),
    ("crm", "account_deleted", {"account": account()}, "Account “Smith Family” deleted"),
    ("crm", "account_team_assigned", {"account_id": ACCOUNT, "user_ids": [USER, OTHER]},
     "Account team set to 2 members"),
    ("crm", "contact_created", {"contact": contact()}, "Contact “Jane Smith” created"),
    ("crm", "contact_updated", {"contact": contact(), "replaced_emails": {}}, "Contact “Jane Smith” updated"),
    ("crm", "contact_linked", {"account_id": ACCOUNT, "contact_id": OTHER}, "Contact linked to the account"),
    ("crm", "contact_unlinked", {"account_id": ACCOUNT, "contact_id": OTHER}, "Contact unlinked from the account"),
    ("crm", "portal_invitation_requested",
     {"firm_name": "Acme CPA", "account_id": ACCOUNT, "account_name": "Smith Family",
      "email": "jane@example.com", "user_id": OTHER, "first_name": "Jane"},
     "Portal invitation sent to jane@example.com"),
    ("crm", "portal_access_granted", {"account_id": ACCOUNT, "email": "jane@example.com", "user_id": OTHER},
     "Portal access granted to jane@example.com"),
    ("crm", "portal_access_revoked", {"account_id": ACCOUNT, "email": "jane@example.com", "user_id": OTHER},
     "Portal access removed for jane@example.com"),
    ("crm", "notification_categories_changed", {"account_id": ACCOUNT, "email": "jane@example.com",
                                                "categories": {"proposals": False}},
     "Notification settings changed for jane@example.com"),
    ("crm", "job_created", {"job": {"id": OTHER, "account_id": ACCOUNT, "name": "2025 return", "status": "Open"}},
     "Job “2025 return” created (Open)"),
    ("crm", "job_updated", {"job": {"id": OTHER, "account_id": ACCOUNT, "name": "2025 return", "status": "Done"},
                            "changed": ["status"]}, "Job “2025 return” moved to “Done”"),
    ("crm", "portal_settings_changed",
     {"changes": [{"setting": "prepayment", "old": False, "new": True},
                  {"setting": "announcement_text", "old": "", "new": "Closed Friday"}]},
     "Portal settings changed: prepayment on, announcement text changed"),
    ("links", "link_issued", {"link": link()}, "Invitation link issued"),
    ("links", "link_revoked", {"link": link(), "reason": "replaced"},
     "Invitation link revoked (a new one replaced it)"),
    ("links", "link_redeemed", {"link": link("upload")}, "Upload link used"),
    ("documents", "folder_created", {"folder": {"account_id": ACCOUNT, "name": "2025"}}, "Folder “2025” created"),
    ("documents", "document_created", {"document": document()}, "Document “w2.pdf” uploaded"),
    ("documents", "document_updated", {"document": document(), "changed": ["name"]}, "Document “w2.pdf” changed"),
    ("documents", "document_deleted", {"document": document()}, "Document “w2.pdf” deleted"),
    ("documents", "document_infected", {"document": document(), "signature": "Eicar-Test"},
     "Document “w2.pdf” quarantined: Eicar-Test"),
    ("documents", "document_too_large_to_scan", {"document": document(), "signature": None},
     "Document “w2.pdf” quarantined: too large to scan"),
    ("documents", "file_request_created", {"file_request": file_request()}, "Files requested: “Your W-2”"),
    ("documents", "file_request_sent", {"file_request": file_request(), "recipients": ["a@x.example"]},
     "File request sent to a@x.example"),
    ("documents", "file_request_updated", {"file_request": file_request()}, "File request message changed"),
    ("documents", "file_request_revoked", {"file_request": file_request()}, "File request revoked"),
    ("documents", "file_request_files_received",
     {"file_request": file_request(), "documents": [document()], "received_count": 1},
     "1 file(s) received through a file request"),
    ("documents", "file_request_done", {"file_request": file_request()}, "The uploader is done uploading"),
    ("documents", "client_done_uploading", {"account_id": ACCOUNT, "user": {"name": "Jane"}},
     "Jane is done uploading"),
    # signature requests (notifications/signature_notices.py)
    ("documents", "signature_request_created", {"signature_request": SIGNATURE_REQUEST},
     "“engagement.pdf” sent for signature to 2 signer(s)"),
    ("documents", "signer_email_due", {"signature_request": SIGNATURE_REQUEST, "signer": SIGNER, "reason": "reminder",
                                       "firm_name": "Acme CPA"}, "Signing reminder to jane@x.example"),
    ("documents", "signature_signed", {"signature_request": SIGNATURE_REQUEST, "signer": SIGNER},
     "Jane Q. Smith (jane@x.example) signed “engagement.pdf”"),
    ("documents", "signature_declined", {"signature_request": SIGNATURE_REQUEST, "signer": SIGNER,
                                         "reason": "Wrong figures."},
     "jane@x.example declined to sign “engagement.pdf”: Wrong figures."),
    ("documents", "signature_request_signed", {"signature_request": SIGNATURE_REQUEST},
     "Every signer signed “engagement.pdf”"),
    ("documents", "signature_request_completed", {"signature_request": SIGNATURE_REQUEST,
                                                  "signed_document": {"name": "engagement (signed).pdf"}},
     "Sealed PDF “engagement (signed).pdf” written for “engagement.pdf”"),
    ("documents", "signature_request_canceled", {"signature_request": SIGNATURE_REQUEST},
     "Signature request for “engagement.pdf” canceled"),
    # client requests (notifications/client_request_notices.py)
    ("documents", "client_request_created", {"client_request": {"title": "2025 taxes"}},
     "Client request “2025 taxes” created"),
    ("documents", "client_request_sent", {"client_request": {"title": "2025 taxes"}, "recipients": ["j@home.example"]},
     "Client request “2025 taxes” sent to j@home.example"),
    ("documents", "client_request_submitted", {"client_request": {"title": "2025 taxes"},
                                               "submitted_by": {"kind": "link"}},
     "The person with the link submitted the answers to “2025 taxes”"),
    ("documents", "client_request_canceled", {"client_request": {"title": "2025 taxes"}},
     "Client request “2025 taxes” canceled"),
    # shares and approvals (notifications/share_notices.py)
    ("documents", "share_created", {"recipients": [{"email": "a@bank.example"}, {"email": "b@law.example"}],
                                    "documents": [{"name": "w2.pdf"}]},
     "Shared “w2.pdf” with a@bank.example, b@law.example"),
    ("documents", "share_sent", {"recipients": [{"email": "a@bank.example"}]}, "Share emailed to a@bank.example"),
    ("documents", "share_recipient_updated", {"recipient": {"email": "a@bank.example", "expires_at": None}},
     "Share link of a@bank.example now expires never"),
    ("documents", "share_recipient_revoked", {"recipient": {"email": "a@bank.example"}},
     "Share link of a@bank.example revoked"),
    ("documents", "share_revoked", {"recipients": []}, "Share revoked: its links stopped working"),
    ("documents", "share_opened", {"recipient": {"email": "a@bank.example"}, "document": {"name": "w2.pdf"}},
     "a@bank.example viewed “w2.pdf”"),
    ("documents", "share_downloaded", {"recipient": {"email": "a@bank.example"}, "documents": [], "archive": True},
     "a@bank.example downloaded all shared documents (zip)"),
    ("documents", "approval_requested", {"approval_request": {"document_name": "w2.pdf"},
                                         "approvers": [{"email": "p@x.example"}]},
     "“w2.pdf” sent for approval to p@x.example"),
    ("documents", "approver_email_due", {"approval_request": {"document_name": "w2.pdf"},
                                         "approver": {"email": "p@x.example"}},
     "Approval link emailed to p@x.example"),
    ("documents", "approval_decided", {"approval_request": {"document_name": "w2.pdf"},
                                       "approver": {"email": "p@x.example", "status": "approved", "comment": None}},
     "p@x.example approved “w2.pdf”"),
    # billing (notifications/billing_notices.py)
    ("billing", "invoice_issued", {"invoice": {"display_number": "INV-0007", "total": 57000, "currency": "EUR",
                                               "exponent": 2}}, "Invoice INV-0007 issued for EUR 570.00"),
    ("billing", "invoice_voided", {"invoice": {"display_number": "INV-0007"}}, "Invoice INV-0007 voided"),
    ("billing", "invoice_reminder_due", {"invoice": {"display_number": "INV-0007"}, "reminder_count": 2},
     "Reminder 2 of invoice INV-0007 sent"),
    ("billing", "payment_recorded", {"payment": {"amount": 1500, "currency": "JPY", "exponent": 0},
                                     "invoice": {"display_number": "INV-0008"}},
     "Payment of JPY 1,500 received for invoice INV-0008"),
    ("billing", "payment_refunded", {"payment": {"currency": "BHD", "exponent": 3}, "refund": {"amount": 1500},
                                     "invoice": None}, "Refund of BHD 1.500 of a prepayment"),
]


def test_every_event_crm_links_and_documents_emit_has_a_summary():
    assert {(source, event_type) for source, event_type, _, _ in KNOWN} == set(SUMMARIES)


def test_the_summaries_name_exactly_the_events_crm_links_documents_and_billing_declare():
    load_all()
    recorded = ("crm", "links", "documents", "billing")
    assert set(SUMMARIES) == {(e.source, e.name) for e in declared() if e.source in recorded}


@pytest.mark.parametrize(("source", "event_type", "data", "summary"), KNOWN, ids=[k[1] for k in KNOWN])
def test_each_known_event_reads_as_its_line_in_its_firm(source, event_type, data, summary):
    entry = describe(event(source, event_type, data, actor=STAFF))
    assert entry.summary == summary
    assert str(entry.firm_id) == FIRM


def test_an_entry_is_the_envelopes_event_as_it_was_received():
    body = event("links", "link_redeemed", {"link": link()})
    entry = describe(body)
    assert (str(entry.id), entry.source, entry.event_type, entry.data) == (
        body["id"], "links", "link_redeemed", {"link": link()})
    assert entry.occurred_at.isoformat() == "2026-11-23T10:00:00+00:00"


def test_the_firm_is_the_envelopes_when_the_data_names_none():
    entry = describe(event("crm", "account_created", {"account": account()}, actor=STAFF))
    assert str(entry.firm_id) == FIRM


def test_the_firm_of_the_envelope_wins_over_any_firm_in_the_data():
    entry = describe(event("crm", "team_member_removed", {"member": {**member(), "firm_id": OTHER}}))
    assert str(entry.firm_id) == FIRM


def test_the_account_is_the_envelopes_whatever_the_data_holds():
    for data in ({"account_id": ACCOUNT, "user_ids": []}, {"account": account()},
                 {"job": {"account_id": ACCOUNT, "name": "J", "status": "Open"}}):
        assert str(describe(event("crm", "whatever", data, account_id=ACCOUNT)).account_id) == ACCOUNT
    assert describe(event("crm", "account_created", {"account": account()})).account_id is None


def test_a_link_to_an_account_concerns_that_account_and_a_link_to_a_user_none():
    to_account = link("upload", {"type": "account", "id": ACCOUNT})
    assert str(describe(event("links", "link_issued", {"link": to_account}, account_id=ACCOUNT)).account_id) == ACCOUNT
    assert describe(event("links", "link_issued", {"link": link()})).account_id is None


def test_the_actor_is_the_envelopes():
    entry = describe(event("crm", "account_created", {"account": account()}, actor={"id": OTHER, "kind": "staff"}))
    assert str(entry.actor_id) == OTHER


def test_a_client_user_is_an_actor_too():
    entry = describe(event("crm", "account_created", {"account": account()}, actor={"id": USER, "kind": "client"}))
    assert str(entry.actor_id) == USER


def test_signing_up_is_done_by_the_new_owner():
    data = {"firm": {"id": FIRM, "name": "Acme CPA"}, "owner": {**member("Olive"), "id": USER}}
    assert str(describe(event("crm", "firm_created", data, actor={"id": USER, "kind": "staff"})).actor_id) == USER


def test_without_any_user_the_actor_is_unknown():
    assert describe(event("links", "link_redeemed", {"link": link()})).actor_id is None
    by_link = event("documents", "file_request_done", {"file_request": file_request()},
                    actor={"id": OTHER, "kind": "link"})
    assert describe(by_link).actor_id is None


def test_an_unknown_event_type_with_a_firm_gets_a_summary_from_its_name():
    entry = describe(event("crm", "invoice_paid", {"amount": 100}))
    assert (str(entry.firm_id), entry.summary) == (FIRM, "Invoice paid")


def test_an_event_with_no_firm_is_not_described():
    assert describe(event("crm", "account_created", {"account": account()}, firm_id=None)) is None
    assert describe({"id": str(uuid.uuid4()), "type": "account_created", "data": {"firm_id": FIRM}}) is None


def test_a_known_event_missing_what_its_summary_needs_gets_the_generic_one():
    entry = describe(event("crm", "account_created", {"account": {"id": ACCOUNT}}))
    assert entry.summary == "Account created"


def test_a_payload_that_is_not_an_object_is_described_from_the_envelope_alone():
    entry = describe(event("crm", "account_created", ["odd"]))
    assert (str(entry.firm_id), entry.account_id, entry.summary) == (FIRM, None, "Account created")


def test_ids_that_are_not_uuids_are_ignored():
    entry = describe(event("crm", "account_created", {"firm_id": "f1", "account": {"id": "a1", "name": "X"}},
                           account_id="a1"))
    assert (str(entry.firm_id), entry.account_id) == (FIRM, None)


def test_a_summary_is_one_line_of_bounded_length():
    entry = describe(event("crm", "account_created", {"account": account("Smith\nFamily " + "x" * 600)}))
    assert "\n" not in entry.summary and len(entry.summary) == SUMMARY_MAX and entry.summary.endswith("…")
