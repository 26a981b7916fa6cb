"""Client requests in notifications without a database: the email and the activity lines."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from notifications.activity import summarize
from notifications.rendering import render
from shared.contracts.notifications import SendEmailSchema

LINK = {"firm_name": "Acme CPA", "title": "2025 taxes", "message": "Before Friday, please.",
        "request_url": "https://porta.example/p/tok-123", "login_required": False}
REQUEST = {"id": "5b0c0f0e-0000-4000-8000-000000000001", "title": "2025 taxes"}


def test_a_link_requests_email_names_the_firm_and_title_and_links_to_the_questionnaire():
    subject, text, html = render("client_request", LINK)
    assert subject == "Acme CPA asks you: 2025 taxes"
    assert "Acme CPA has a few questions for you: 2025 taxes" in text and "Before Friday, please." in text
    assert "\nhttps://porta.example/p/tok-123\n" in text and "no login needed" in text
    assert '<a href="https://porta.example/p/tok-123"' in html and ">Answer the questions</a>" in html


def test_a_login_required_requests_email_sends_to_the_portal():
    subject, text, html = render("client_request", {**LINK, "request_url": "https://porta.example/portal",
                                                    "login_required": True})
    assert "Answer them in your client portal" in text and "no login needed" not in text
    assert ">Answer in the portal</a>" in html


def test_the_email_context_needs_a_title_and_a_web_link():
    with pytest.raises(ValidationError) as refused:
        SendEmailSchema().load({"firm_id": "5b0c0f0e-0000-4000-8000-000000000002", "to": "j@home.example",
                                "template": "client_request",
                                "context": {**LINK, "title": "", "request_url": "javascript:alert(1)"}})
    assert set(refused.value.messages["context"]) == {"title", "request_url"}


def test_each_client_request_event_reads_as_one_line():
    assert summarize("documents", "client_request_created", {"client_request": REQUEST}) == \
        "Client request “2025 taxes” created"
    assert summarize("documents", "client_request_sent", {"client_request": REQUEST,
                                                          "recipients": ["jane@home.example"]}) == \
        "Client request “2025 taxes” sent to jane@home.example"
    assert summarize("documents", "client_request_submitted", {
        "client_request": REQUEST, "submitted_by": {"kind": "client", "name": "Jane Smith"}}) == \
        "Jane Smith submitted the answers to “2025 taxes”"
    assert summarize("documents", "client_request_submitted", {
        "client_request": REQUEST, "submitted_by": {"kind": "link"}}) == \
        "The person with the link submitted the answers to “2025 taxes”"
    assert summarize("documents", "client_request_canceled", {"client_request": REQUEST}) == \
        "Client request “2025 taxes” canceled"
