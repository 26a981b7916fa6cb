"""documents.file_request_sent: one email per recipient over the run's SMTP server, unless the address's
preferences say no; an invited client's email carries the activate-your-account banner.

crm's answer about each address (`fake_crm.preferences`) and the links service (`fake_links`) are stand-ins.
"""
from __future__ import annotations

import functools
import uuid

import pytest

from notifications.audience import CATEGORIES
from shared.config import SETTINGS_KEY

FIRM = str(uuid.uuid4())
ACCOUNT = str(uuid.uuid4())
BANNER = "Your account is not activated yet."
HANDLER = "on_file_request_sent"


@pytest.fixture
def fire(fire):
    """Events about the account ACCOUNT of the firm FIRM (their envelope says so)."""
    return functools.partial(fire, firm_id=FIRM, account_id=ACCOUNT)


@pytest.fixture
def link(fake_links, config, monkeypatch):
    """The request's link, live, with its token; `base`: where the service's links point."""
    link_id, token = str(uuid.uuid4()), f"upload-{uuid.uuid4().hex}"
    monkeypatch.setitem(fake_links.links, link_id, {"token": token, "live": True})
    base = config[SETTINGS_KEY].base_url
    return {"id": link_id, "token": token, "url": f"{base}/p/{token}", "base": base}


@pytest.fixture
def address():
    """An address no other test writes to."""
    return f"client-{uuid.uuid4().hex[:8]}@example.com"


def client_row(**changes):
    """crm's answer for an access row of the account: NOTIFY on, every category on, an active client."""
    return {"known": True, "notify": True, "categories": dict.fromkeys(CATEGORIES, True), "status": "active",
            "user_id": str(uuid.uuid4()), "first_name": "Jane", **changes}


def sent_event(link_id, *recipients, message="Please upload your W-2 for 2025.\nThanks!"):
    fr = {"id": str(uuid.uuid4()), "firm_id": FIRM, "account_id": ACCOUNT, "folder_id": str(uuid.uuid4()),
          "message": message, "status": "open", "link_id": link_id, "created_by": str(uuid.uuid4()),
          "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:00:00Z"}
    return {"file_request": fr, "recipients": list(recipients), "firm_name": "Acme CPA",
            "account_name": "Smith Family"}


def to(address):
    return lambda message: message["X-RcptTo"] == address


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def test_a_third_party_gets_the_request_with_its_message_and_upload_button(fake_crm, link, fire, mailbox, address):
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    message = mailbox.wait_for(to(address))
    assert message["Subject"] == "Acme CPA asks you to upload files"
    assert "Please upload your W-2 for 2025.\nThanks!" in text_of(message) and link["url"] in text_of(message)
    assert f'href="{link["url"]}"' in html_of(message) and ">Upload files</a>" in html_of(message)
    assert BANNER not in text_of(message) and BANNER not in html_of(message)


def test_the_link_is_revealed_for_the_requests_firm(fake_crm, fake_links, link, fire, mailbox, address):
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    mailbox.wait_for(to(address))
    assert fake_links.calls == [("reveal_links", {"firm_id": FIRM, "link_ids": [link["id"]]})]


def test_each_recipient_gets_one_email(fake_crm, link, fire, mailbox, emails, eventually):
    first, second = (f"r{n}-{uuid.uuid4().hex[:8]}@example.com" for n in range(2))
    fire("file_request_sent", sent_event(link["id"], first, second, first.upper()), handler=HANDLER)
    mailbox.wait_for(to(first))
    mailbox.wait_for(to(second))
    rows = eventually(lambda: [e for e in emails() if e.status == "sent"] if len(emails()) == 2 else None)
    assert sorted(e.recipient for e in rows) == sorted([first, second])


def test_an_active_client_with_notify_on_gets_it_greeted_by_name_without_a_banner(fake_crm, link, fire, mailbox,
                                                                                   address, monkeypatch):
    monkeypatch.setitem(fake_crm.preferences, address, client_row())
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    message = mailbox.wait_for(to(address))
    assert text_of(message).startswith("Hello Jane,") and BANNER not in text_of(message)


def test_crm_is_asked_about_each_address_on_the_requests_account(fake_crm, link, fire, mailbox, address):
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    assert fake_crm.calls == [("client_email_preferences", {"firm_id": FIRM, "account_id": ACCOUNT,
                                                             "email": address})]


@pytest.mark.parametrize("preferences,reason", [
    (client_row(notify=False), "notify_off"),
    (client_row(categories={**dict.fromkeys(CATEGORIES, True), "documents_upload": False}), "category_off"),
], ids=["NOTIFY off", "documents_upload off"])
def test_a_client_who_turned_these_emails_off_gets_nothing_and_it_is_recorded_suppressed(
        fake_crm, link, fire, mailbox, emails, address, monkeypatch, preferences, reason):
    monkeypatch.setitem(fake_crm.preferences, address, preferences)
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    [row] = emails()
    assert (row.recipient, row.status, row.reason, row.template) == (address, "suppressed", reason, "file_request")
    assert row.subject == "Acme CPA asks you to upload files" and row.pending_context is None
    assert row.attempts == 0 and row.next_attempt_at is None
    assert [m for m in mailbox.messages() if to(address)(m)] == []


def test_suppressing_one_recipient_still_sends_to_the_others(fake_crm, link, fire, mailbox, emails, address,
                                                            monkeypatch):
    quiet = f"quiet-{uuid.uuid4().hex[:8]}@example.com"
    monkeypatch.setitem(fake_crm.preferences, quiet, client_row(notify=False))
    fire("file_request_sent", sent_event(link["id"], quiet, address), handler=HANDLER)
    mailbox.wait_for(to(address))
    assert {(e.recipient, e.status) for e in emails()} >= {(quiet, "suppressed")}


def test_an_invited_client_gets_the_banner_with_a_fresh_invitation_link(fake_crm, fake_links, link, fire, mailbox,
                                                                        address, monkeypatch):
    row = client_row(status="invited")
    monkeypatch.setitem(fake_crm.preferences, address, row)
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    message = mailbox.wait_for(to(address))
    [(_, issued)] = [c for c in fake_links.calls if c[0] == "issue_link"]
    assert issued["payload"]["kind"] == "invitation" and issued["payload"]["replace"] is True
    assert issued["payload"]["target"] == {"type": "user", "id": row["user_id"]}
    assert issued["payload"]["firm_id"] == FIRM
    text, html = text_of(message), html_of(message)
    assert BANNER in text and BANNER in html
    assert f"{link['base']}/p/activate-" in text and link["url"] in text  # both links


def test_no_banner_and_no_invitation_link_for_anyone_else(fake_crm, fake_links, link, fire, mailbox, address,
                                                         monkeypatch):
    monkeypatch.setitem(fake_crm.preferences, address, client_row(status="none", user_id=None))
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    assert BANNER not in text_of(mailbox.wait_for(to(address)))
    assert [c for c in fake_links.calls if c[0] == "issue_link"] == []


@pytest.mark.parametrize("state", [{"token": None, "live": False}, {"token": "tok", "live": False}, None],
                         ids=["revoked", "not live", "unknown to links"])
def test_a_request_whose_link_is_not_live_sends_nothing_and_records_why(fake_crm, fake_links, fire, mailbox, emails,
                                                                        address, monkeypatch, state):
    link_id = str(uuid.uuid4())
    if state is not None:
        monkeypatch.setitem(fake_links.links, link_id, state)
    fire("file_request_sent", sent_event(link_id, address), handler=HANDLER)
    assert [(e.recipient, e.status, e.reason) for e in emails()] == [(address, "suppressed", "link_unavailable")]
    assert [m for m in mailbox.messages() if to(address)(m)] == []


def test_a_request_without_a_link_sends_nothing(fake_crm, fake_links, fire, emails, address):
    fire("file_request_sent", sent_event(None, address), handler=HANDLER)
    assert [(e.status, e.reason) for e in emails()] == [("suppressed", "link_unavailable")]
    assert fake_links.calls == []


def test_an_account_that_is_gone_gets_no_email(fake_crm, link, fire, emails, address, monkeypatch):
    monkeypatch.setattr(fake_crm, "gone", {ACCOUNT})
    fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    assert emails() == []


def test_an_invalid_address_is_skipped_and_the_others_still_get_theirs(fake_crm, link, fire, mailbox, emails,
                                                                      address):
    fire("file_request_sent", sent_event(link["id"], "not an address", address), handler=HANDLER)
    mailbox.wait_for(to(address))
    assert [e.recipient for e in emails()] == [address]


def test_the_same_event_delivered_twice_sends_once(fake_crm, link, fire, mailbox, emails, eventually, address):
    body = fire("file_request_sent", sent_event(link["id"], address), handler=HANDLER)
    fire("file_request_sent", body["data"], body=body, handler=HANDLER)
    mailbox.wait_for(to(address))
    assert len(emails()) == 1
