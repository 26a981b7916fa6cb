"""Approval requests over RPC, on the run's broker and database (crm and links are test doubles; a stand-in
notifications service records any email handed to it): each approver's link is issued retrievable and only
its id kept, the emails wait for the commit (`approver_email_due`), a failed create emails nobody, a
redelivered create makes no second request, and reads reveal each approver's url."""
from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import rpc
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from documents import folders
from documents.models import ApprovalRequest, Approver, Document
from shared.config import SETTINGS_KEY
from shared.dependencies import UnitOfWork

STAFF = uuid.uuid4()
EMAILS = ["partner@example.org", "spouse@example.org"]
# What the stand-in notifications service was asked to send, in order.
HANDED_TO_NOTIFICATIONS: list[dict] = []


class NotificationsStandIn:
    """Answers `send_email` as notifications does, recording it: an email handed over is an email sent."""

    name = "notifications"

    @rpc
    def send_email(self, payload: dict) -> dict:
        HANDED_TO_NOTIFICATIONS.append(payload)
        return {"id": str(uuid.uuid4()), "status": "queued"}


@pytest.fixture
def document(documents_engine: Engine, firm_id: uuid.UUID, account_id: uuid.UUID,
             firm_rows_removed: None) -> Document:
    """A document of the test's account, committed (its requests go with it afterwards)."""
    with Session(documents_engine, expire_on_commit=False) as session:
        root = folders.ensure_roots(session, firm_id, account_id)["client"]
        row = Document(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, folder_id=root.id, name="return.pdf",
                       size=8, content_type="application/pdf", sha256="0" * 64,
                       object_key=f"firms/{firm_id}/uploads/{uuid.uuid4()}/original", source="staff",
                       uploaded_by_kind="staff", scan_status="not_scanned")
        session.add(row)
        session.commit()
    return row


@pytest.fixture
def handed_to_notifications(container_factory: Callable[..., Any],
                            nameko_config: dict[str, Any]) -> Iterator[list[dict]]:
    """The emails handed to the (stand-in) notifications service during the test."""
    HANDED_TO_NOTIFICATIONS.clear()
    container_factory(NotificationsStandIn, nameko_config).start()
    yield HANDED_TO_NOTIFICATIONS
    HANDED_TO_NOTIFICATIONS.clear()


@pytest.fixture
def documents(documents: Any, handed_to_notifications: list[dict]) -> Any:
    """conftest's `Documents`, its doubles answering as crm and links do for approvals."""
    documents.crm.describe_firm.return_value = {"name": "Acme CPA"}
    # As the links service answers: the raw token comes back once, with the new link's id.
    documents.links.issue_link.side_effect = lambda payload: {"id": str(uuid.uuid4()),
                                                              "token": secrets.token_urlsafe(32), **payload}
    return documents


@pytest.fixture
def create(documents: Any, document: Document) -> Callable[..., dict]:
    """`create(call_key=None)`: staff ask the approvers to approve the test's document."""

    def create_request(call_key: str | None = None) -> dict:
        return documents.call("create_approval_request", STAFF, call_key=call_key, document_id=str(document.id),
                              payload={"emails": EMAILS, "message": "Please check p. 2."})

    return create_request




def test_a_create_that_fails_after_issuing_the_links_emails_nobody_and_stores_nothing(documents, create, read, events):
    with (mock.patch.object(UnitOfWork, "commit", side_effect=RuntimeError("the database went away")),
          pytest.raises(RemoteError)):
        create()
    assert documents.links.issue_link.call_count == len(EMAILS)  # the links were issued before it failed
    assert HANDED_TO_NOTIFICATIONS == []
    assert read(select(ApprovalRequest).where(ApprovalRequest.firm_id == documents.firm_id)) == []
    assert events("approver_email_due") == [] and events("approval_requested") == []


def test_each_approvers_link_is_retrievable_and_only_its_id_is_kept(documents, create, read, events):
    created = create()
    payloads = [c.kwargs["payload"] for c in documents.links.issue_link.call_args_list]
    assert [(p["kind"], p["retrievable"], p["single_use"]) for p in payloads] == [("approval", True, False)] * 2
    rows = {a.email: a for a in read(select(Approver).where(Approver.approval_request_id == uuid.UUID(created["id"])))}
    assert {p["target"]["id"] for p in payloads} == {str(a.id) for a in rows.values()}
    assert all(a.link_id is not None for a in rows.values())
    assert [a["url"] for a in created["approvers"]] == [None, None]  # the replayable reply holds no token
    assert HANDED_TO_NOTIFICATIONS == []  # notifications emails on the committed event, not during the call
    due = events("approver_email_due")
    assert sorted((e["data"]["approver"]["email"], e["data"]["approver"]["link_id"]) for e in due) == sorted(
        (email, str(rows[email].link_id)) for email in EMAILS)
    assert {(e["data"]["firm_name"], e["data"]["approval_request"]["message"]) for e in due} == {
        ("Acme CPA", "Please check p. 2.")}


def test_a_redelivered_create_answers_as_the_first_and_makes_no_second_request(documents, create, read):
    key = uuid.uuid4().hex
    first, again = create(call_key=key), create(call_key=key)
    assert again == first
    assert [r.id for r in read(select(ApprovalRequest).where(ApprovalRequest.firm_id == documents.firm_id))] == [
        uuid.UUID(first["id"])]
    assert documents.links.issue_link.call_count == len(EMAILS)


def test_a_read_shows_the_url_of_each_live_link_of_an_approver_still_to_decide(documents, create, read):
    created = create()
    rows = read(select(Approver).where(Approver.approval_request_id == uuid.UUID(created["id"])))
    partner = next(a for a in rows if a.email == "partner@example.org")
    tokens = {str(a.link_id): secrets.token_urlsafe(32) for a in rows}
    documents.links.reveal_links.side_effect = lambda firm_id, link_ids: {"items": [
        {"id": i, "token": tokens[i], "live": i != str(partner.link_id)} for i in link_ids]}
    read_back = documents.call("get_approval_request", STAFF, approval_request_id=created["id"])
    urls = {a["email"]: a["url"] for a in read_back["approvers"]}
    spouse = next(a for a in rows if a.email == "spouse@example.org")
    assert urls == {"partner@example.org": None,  # his link is no longer live (revoked)
                    "spouse@example.org": f"{documents.config[SETTINGS_KEY].base_url}/p/{tokens[str(spouse.link_id)]}"}


def test_an_approver_who_decided_has_no_url_to_copy(documents, create, read):
    created = create()
    rows = read(select(Approver).where(Approver.approval_request_id == uuid.UUID(created["id"])))
    partner = next(a for a in rows if a.email == "partner@example.org")
    documents.links.resolve_link.return_value = {"id": str(partner.link_id), "firm_id": str(documents.firm_id),
                                                 "kind": "approval",
                                                 "target": {"type": "approver", "id": str(partner.id)}}
    documents.call("decide_approval", STAFF, token="his-token", address="10.1.2.3", payload={"decision": "approved"})
    documents.links.reveal_links.side_effect = lambda firm_id, link_ids: {"items": [
        {"id": i, "token": secrets.token_urlsafe(32), "live": True} for i in link_ids]}
    read_back = documents.call("get_approval_request", STAFF, approval_request_id=created["id"])
    urls = {a["email"]: a["url"] for a in read_back["approvers"]}
    assert urls["partner@example.org"] is None and urls["spouse@example.org"] is not None
    assert documents.links.reveal_links.call_args.kwargs["link_ids"] == [
        str(next(a for a in rows if a.email == "spouse@example.org").link_id)]
