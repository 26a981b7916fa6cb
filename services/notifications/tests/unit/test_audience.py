"""Who gets a client email, and with the activate-your-account banner: audience.decide over crm's answer."""
from __future__ import annotations

import pytest

from notifications.audience import CATEGORIES, CATEGORY_OFF, NOTIFY_OFF, Decision, decide

UNKNOWN = {"known": False, "notify": False, "categories": {}, "status": "none", "user_id": None}


def row(**changes):
    """An access row of the account with NOTIFY on, every category on, an active client."""
    return {"known": True, "notify": True, "categories": dict.fromkeys(CATEGORIES, True), "status": "active",
            "user_id": "6a4b3d8e-0000-4000-8000-000000000001", **changes}


def test_a_third_party_address_always_gets_the_email_without_a_banner():
    assert decide(UNKNOWN, "documents_upload") == Decision(send=True, banner=False)


def test_no_answer_about_the_address_counts_as_a_third_party():
    assert decide(None, "documents_upload") == Decision(send=True)


def test_notify_off_suppresses_the_email():
    assert decide(row(notify=False), "documents_upload") == Decision(send=False, reason=NOTIFY_OFF)


def test_notify_off_wins_even_for_an_invited_client():
    assert decide(row(notify=False, status="invited"), "documents_upload").send is False


def test_the_emails_category_off_suppresses_it():
    decision = decide(row(categories={**dict.fromkeys(CATEGORIES, True), "documents_upload": False}),
                      "documents_upload")
    assert decision == Decision(send=False, reason=CATEGORY_OFF)


def test_another_category_off_does_not_matter():
    assert decide(row(categories={"invoices_payments": False}), "documents_upload").send is True


def test_a_category_the_row_does_not_mention_is_on():
    assert decide(row(categories={}), "documents_upload").send is True


def test_an_active_client_gets_it_without_a_banner():
    assert decide(row(), "documents_upload") == Decision(send=True, banner=False)


def test_a_client_with_notify_on_but_no_portal_login_gets_it_without_a_banner():
    assert decide(row(status="none", user_id=None), "documents_upload") == Decision(send=True, banner=False)


def test_an_invited_client_who_has_not_activated_gets_the_banner():
    assert decide(row(status="invited"), "documents_upload") == Decision(send=True, banner=True)


def test_no_banner_without_a_user_to_activate():
    assert decide(row(status="invited", user_id=None), "documents_upload").banner is False


def test_an_unknown_category_is_a_programming_error():
    with pytest.raises(ValueError):
        decide(row(), "documents_uploads")
