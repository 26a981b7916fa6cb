"""activity.describe: which firm, account and actor an event concerns, and its one-line summary."""
from __future__ import annotations

import uuid

import pytest

from notifications.activity import SUMMARIES, SUMMARY_MAX, describe
from shared.context import Principal

FIRM, ACCOUNT, USER, OTHER = (str(uuid.uuid4()) for _ in range(4))
STAFF = Principal(firm_id=FIRM, user_id=USER, kind="staff")


def event(event_type, data, **body):
    return {"id": str(uuid.uuid4()), "type": event_type, "occurred_at": "2026-11-23T10:00:00+00:00", "data": data,
            **body}


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


# What crm and links emit today (crm/service.py, crm/access.py, links/service.py), and the line each reads as.
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
     {"firm_id": FIRM, "firm_name": "Acme CPA", "account_id": ACCOUNT, "account_name": "Smith Family",
      "email": "jane@example.com", "user_id": OTHER, "first_name": "Jane"},
     "Portal invitation sent to jane@example.com"),
    ("crm", "portal_access_granted", {"firm_id": FIRM, "account_id": ACCOUNT, "email": "jane@example.com",
                                      "user_id": OTHER}, "Portal access granted to jane@example.com"),
    ("crm", "portal_access_revoked", {"firm_id": FIRM, "account_id": ACCOUNT, "email": "jane@example.com",
                                      "user_id": OTHER}, "Portal access removed for jane@example.com"),
    ("crm", "notification_categories_changed", {"account_id": ACCOUNT, "email": "jane@example.com",
                                                "categories": {"proposals": False}},
     "Notification settings changed for jane@example.com"),
    ("crm", "job_created", {"job": {"id": OTHER, "account_id": ACCOUNT, "name": "2025 return", "status": "Open"}},
     "Job “2025 return” created (Open)"),
    ("crm", "job_updated", {"job": {"id": OTHER, "account_id": ACCOUNT, "name": "2025 return", "status": "Done"},
                            "changed": ["status"]}, "Job “2025 return” moved to “Done”"),
    ("crm", "portal_settings_changed",
     {"firm_id": FIRM, "changes": [{"setting": "prepayment", "old": False, "new": True},
                                   {"setting": "announcement_text", "old": "", "new": "Closed Friday"}]},
     "Portal settings changed: prepayment on, announcement text changed"),
    ("links", "link_issued", {"link": link()}, "Invitation link issued"),
    ("links", "link_revoked", {"link": link(), "reason": "replaced"},
     "Invitation link revoked (a new one replaced it)"),
    ("links", "link_redeemed", {"link": link("upload")}, "Upload link used"),
    ("documents", "folder_created", {"firm_id": FIRM, "folder": {"account_id": ACCOUNT, "name": "2025"}},
     "Folder “2025” created"),
    ("documents", "document_created", {"firm_id": FIRM, "document": document()}, "Document “w2.pdf” uploaded"),
    ("documents", "document_updated", {"firm_id": FIRM, "document": document(), "changed": ["name"]},
     "Document “w2.pdf” changed"),
    ("documents", "document_deleted", {"firm_id": FIRM, "document": document()}, "Document “w2.pdf” deleted"),
    ("documents", "document_infected", {"firm_id": FIRM, "document": document(), "signature": "Eicar-Test"},
     "Document “w2.pdf” quarantined: Eicar-Test"),
    ("documents", "document_too_large_to_scan", {"firm_id": FIRM, "document": document(), "signature": None},
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
    ("documents", "client_done_uploading", {"firm_id": FIRM, "account_id": ACCOUNT, "user": {"name": "Jane"}},
     "Jane is done uploading"),
]


def test_every_event_crm_links_and_documents_emit_has_a_summary():
    assert {(source, event_type) for source, event_type, _, _ in KNOWN} == set(SUMMARIES)


@pytest.mark.parametrize(("source", "event_type", "data", "summary"), KNOWN, ids=[k[1] for k in KNOWN])
def test_each_known_event_reads_as_its_line_in_its_firm(source, event_type, data, summary):
    entry = describe(source, event(event_type, data), STAFF)
    assert entry.summary == summary
    assert str(entry.firm_id) == FIRM


def test_the_firm_comes_from_the_events_context_when_the_payload_names_none():
    entry = describe("crm", event("account_created", {"account": account()}), STAFF)
    assert str(entry.firm_id) == FIRM


def test_the_firm_in_the_payload_wins_over_the_context():
    caller = Principal(firm_id=OTHER, user_id=USER, kind="staff")
    entry = describe("crm", event("team_member_removed", {"member": member()}), caller)
    assert str(entry.firm_id) == FIRM


def test_the_account_is_found_at_top_level_in_an_account_and_in_a_job():
    for data in ({"account_id": ACCOUNT, "user_ids": []}, {"account": account()},
                 {"job": {"account_id": ACCOUNT, "name": "J", "status": "Open"}}):
        assert str(describe("crm", event("whatever", data), STAFF).account_id) == ACCOUNT


def test_a_link_to_an_account_concerns_that_account_and_a_link_to_a_user_none():
    to_account = link("upload", {"type": "account", "id": ACCOUNT})
    assert str(describe("links", event("link_issued", {"link": to_account})).account_id) == ACCOUNT
    assert describe("links", event("link_issued", {"link": link()})).account_id is None


def test_the_actor_is_the_events_actor_id_before_the_context_user():
    entry = describe("crm", event("account_created", {"account": account()}, actor_id=OTHER), STAFF)
    assert str(entry.actor_id) == OTHER


def test_the_actor_is_the_context_user_when_the_event_names_none():
    assert str(describe("crm", event("account_created", {"account": account()}), STAFF).actor_id) == USER


def test_signing_up_is_done_by_the_new_owner():
    data = {"firm": {"id": FIRM, "name": "Acme CPA"}, "owner": {**member("Olive"), "id": USER}}
    assert str(describe("crm", event("firm_created", data)).actor_id) == USER


def test_without_any_user_the_actor_is_unknown():
    assert describe("links", event("link_redeemed", {"link": link()})).actor_id is None


def test_an_unknown_event_type_with_a_firm_gets_a_summary_from_its_name():
    entry = describe("crm", event("invoice_paid", {"firm_id": FIRM, "amount": 100}))
    assert (str(entry.firm_id), entry.summary) == (FIRM, "Invoice paid")


def test_an_event_with_no_firm_anywhere_is_not_described():
    assert describe("crm", event("account_created", {"account": account()})) is None


def test_a_known_event_missing_what_its_summary_needs_gets_the_generic_one():
    entry = describe("crm", event("account_created", {"account": {"id": ACCOUNT}}), STAFF)
    assert entry.summary == "Account created"


def test_a_payload_that_is_not_an_object_is_described_from_the_context_alone():
    entry = describe("crm", event("account_created", ["odd"]), STAFF)
    assert (str(entry.firm_id), entry.account_id, entry.summary) == (FIRM, None, "Account created")


def test_ids_that_are_not_uuids_are_ignored():
    entry = describe("crm", event("account_created", {"firm_id": "f1", "account": {"id": "a1", "name": "X"}}), STAFF)
    assert (str(entry.firm_id), entry.account_id) == (FIRM, None)


def test_a_summary_is_one_line_of_bounded_length():
    entry = describe("crm", event("account_created", {"account": account("Smith\nFamily " + "x" * 600)}), STAFF)
    assert "\n" not in entry.summary and len(entry.summary) == SUMMARY_MAX and entry.summary.endswith("…")
