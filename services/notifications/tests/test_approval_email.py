"""documents.approver_email_due: each approver's email with his own link, revealed from the links service by
the id the event carries (documents publishes it only once the request is stored); a link no longer live is
not emailed. Over the run's SMTP server; the links service (`fake_links`) is a stand-in."""
from __future__ import annotations

import functools
import uuid

import pytest

from shared.config import SETTINGS_KEY

FIRM = str(uuid.uuid4())
ACCOUNT = str(uuid.uuid4())
HANDLER = "on_approver_email_due"


@pytest.fixture
def fire(fire):
    """Events about the account ACCOUNT of the firm FIRM (their envelope says so)."""
    return functools.partial(fire, firm_id=FIRM, account_id=ACCOUNT)


@pytest.fixture
def address():
    """An address no other test writes to."""
    return f"partner-{uuid.uuid4().hex[:8]}@example.org"


def link_of(fake_links, monkeypatch, *, live: bool) -> tuple[str, str]:
    """(id, token) of an approval link as the links service would reveal it."""
    link_id, token = str(uuid.uuid4()), f"apr-{uuid.uuid4().hex}"
    monkeypatch.setitem(fake_links.links, link_id, {"token": token, "live": live})
    return link_id, token


def due_event(address: str, link_id: str | None, message: str | None = "Please check p. 2.") -> dict:
    request = {"id": str(uuid.uuid4()), "account_id": ACCOUNT, "document_id": str(uuid.uuid4()),
               "document_name": "return.pdf", "message": message, "status": "pending",
               "created_by": str(uuid.uuid4()), "created_at": "2026-11-23T09:00:00Z"}
    approver = {"id": str(uuid.uuid4()), "email": address, "status": "pending", "comment": None, "decided_at": None,
                "decided_through": None, "link_id": link_id}
    return {"approval_request": request, "approver": approver, "firm_name": "Acme CPA", "sender_name": "Olive Owner"}


def to(address):
    return lambda message: message["X-RcptTo"] == address


def test_the_approver_is_emailed_his_own_link_revealed_by_its_id(fake_links, fire, mailbox, address, config,
                                                                 monkeypatch):
    link_id, token = link_of(fake_links, monkeypatch, live=True)
    fire("approver_email_due", due_event(address, link_id), handler=HANDLER)
    message = mailbox.wait_for(to(address))
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Acme CPA asks you to approve “return.pdf”"
    assert f"{config[SETTINGS_KEY].base_url}/p/{token}" in text and "Please check p. 2." in text
    assert fake_links.calls == [("reveal_links", {"firm_id": FIRM, "link_ids": [link_id]})]


def test_a_link_no_longer_live_is_not_emailed_and_recorded_suppressed(fake_links, fire, mailbox, emails, address,
                                                                     monkeypatch):
    link_id, _ = link_of(fake_links, monkeypatch, live=False)
    fire("approver_email_due", due_event(address, link_id), handler=HANDLER)
    [row] = emails()
    assert (row.recipient, row.status, row.reason, row.template) == (
        address, "suppressed", "link_unavailable", "approval_request")
    assert [m for m in mailbox.messages() if to(address)(m)] == []
