"""Emails rendered from the Jinja2 templates: subject, text and HTML."""
from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from notifications.rendering import TEMPLATE_DIR, build_message, render, template_names
from shared.contracts.notifications import TEMPLATE_CONTEXTS

TEAM = {"firm_name": "Acme CPA", "inviter_name": "Olive Owner", "recipient_name": "Emma",
        "accept_url": "https://porta.example/accept?token=tok-123&x=1"}
PORTAL = {"firm_name": "Acme CPA", "account_name": "Smith Family",
          "activation_url": "https://porta.example/activate?token=act-456"}
FILE_REQUEST = {"firm_name": "Acme CPA", "message": "Please upload your W-2 for 2025.\nThanks!",
                "upload_url": "https://porta.example/p/upl-789"}
EXAMPLES = {"team_invitation": TEAM, "portal_invitation": PORTAL, "file_request": FILE_REQUEST}
EXAMPLES["client_request"] = {"firm_name": "Acme CPA", "title": "2025 taxes",  # client_request_notices.py
                              "request_url": "https://porta.example/p/crq-123"}
EXAMPLES["chat_message"] = {"firm_name": "Acme CPA", "account_name": "Smith Family",  # chat_notices.py
                            "thread_subject": "Your 2025 return", "author_name": "Olive Owner", "content": None,
                            "portal_url": "https://porta.example/portal", "reminder": None}
EXAMPLES["share"] = {"firm_name": "Acme CPA", "document_names": ["return.pdf"],  # share_notices.py
                     "share_url": "https://porta.example/p/shr-123"}
EXAMPLES["approval_request"] = {"firm_name": "Acme CPA", "document_name": "return.pdf",  # approvals
                                "approval_url": "https://porta.example/p/apr-123"}
EXAMPLES["signature_request"] = {"firm_name": "Acme CPA", "document_name": "return.pdf",  # signatures
                                 "signer_name": "Jane Smith", "expires_at": "30 November 2026 at 10:00 UTC",
                                 "signing_url": "https://porta.example/p/sig-123"}
EXAMPLES["signature_reminder"] = EXAMPLES["signature_request"]
INVOICE = {"firm_name": "Acme CPA", "account_name": "Smith Family", "invoice_number": "INV-0007",  # billing
           "total_text": "EUR 570.00", "amount_due_text": "EUR 370.00", "credit_applied_text": "EUR 200.00",
           "due_date": "2026-12-31", "memo": "Thank you", "pay_url": "https://porta.example/p/pay-123"}
EXAMPLES["invoice"] = INVOICE
EXAMPLES["invoice_reminder"] = INVOICE
EXAMPLES["payment_receipt"] = {"firm_name": "Acme CPA", "amount_text": "EUR 200.00", "invoice_number": "INV-0007",
                               "amount_due_text": "EUR 170.00"}
EXAMPLES["refund_notice"] = {"firm_name": "Acme CPA", "amount_text": "EUR 50.00", "reason": "Goodwill"}
BANNER = "Your account is not activated yet."


def test_every_email_has_a_subject_text_html_and_a_context_schema():
    assert template_names() == sorted(TEMPLATE_CONTEXTS) == sorted(EXAMPLES)
    for name in template_names():
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (TEMPLATE_DIR / f"{name}{suffix}").is_file()


def test_team_invitation_names_the_firm_and_inviter_and_links_to_accept():
    subject, text, html = render("team_invitation", TEAM)
    assert subject == "Olive Owner invited you to join Acme CPA on Porta"
    assert "Hello Emma," in text and "Olive Owner invited you to join the Acme CPA team" in text
    assert "\nhttps://porta.example/accept?token=tok-123&x=1\n" in text
    assert '<a href="https://porta.example/accept?token=tok-123&amp;x=1"' in html
    assert ">Accept the invitation</a>" in html


def test_portal_invitation_names_the_firm_and_account_and_links_to_activate():
    subject, text, html = render("portal_invitation", PORTAL)
    assert subject == "Acme CPA invited you to your client portal"
    assert "Acme CPA gave you access to the client portal of Smith Family" in text
    assert "\nhttps://porta.example/activate?token=act-456\n" in text
    assert '<a href="https://porta.example/activate?token=act-456"' in html
    assert ">Activate your account</a>" in html


def test_file_request_names_the_firm_quotes_the_message_and_links_to_upload():
    subject, text, html = render("file_request", FILE_REQUEST)
    assert subject == "Acme CPA asks you to upload files"
    assert "Acme CPA asks you to upload files:\n\nPlease upload your W-2 for 2025.\nThanks!\n" in text
    assert "\nhttps://porta.example/p/upl-789\n" in text
    assert "Please upload your W-2 for 2025.\nThanks!</p>" in html  # white-space:pre-line keeps its lines
    assert '<a href="https://porta.example/p/upl-789"' in html and ">Upload files</a>" in html


def test_file_request_without_a_message_just_asks():
    _, text, html = render("file_request", {**FILE_REQUEST, "message": ""})
    assert "Acme CPA asks you to upload files.\n" in text and "pre-line" not in html


def test_file_request_escapes_the_message_in_html():
    _, _, html = render("file_request", {**FILE_REQUEST, "message": "<img src=x onerror=alert(1)>"})
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_file_request_carries_the_banner_when_the_client_needs_activation():
    context = {**FILE_REQUEST, "needs_activation": True, "activation_url": "https://porta.example/p/act-1"}
    _, text, html = render("file_request", context)
    assert BANNER in text and BANNER in html and 'href="https://porta.example/p/act-1"' in html


def test_greeting_without_a_recipient_name_is_plain_hello():
    context = {k: v for k, v in TEAM.items() if k != "recipient_name"}
    assert render("team_invitation", context).text.startswith("Hello,\n")


def test_html_escapes_a_firm_name_with_a_script_tag_and_text_keeps_it_verbatim():
    subject, text, html = render("team_invitation", {**TEAM, "firm_name": "Evil <script>alert(1)</script>"})
    assert "<script>" not in html
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Evil <script>alert(1)</script>" in text and "Evil <script>alert(1)</script>" in subject


@pytest.mark.parametrize("needs_activation", [True, False])
def test_activate_banner_is_shown_only_when_the_user_needs_activation(needs_activation):
    context = {**TEAM, "needs_activation": needs_activation, "activation_url": "https://porta.example/act?t=b"}
    _, text, html = render("team_invitation", context)
    assert (BANNER in text) is needs_activation and (BANNER in html) is needs_activation
    assert ("https://porta.example/act?t=b" in text) is needs_activation
    assert ('href="https://porta.example/act?t=b"' in html) is needs_activation


def test_banner_is_absent_when_the_context_does_not_mention_activation():
    _, text, html = render("team_invitation", TEAM)
    assert BANNER not in text and BANNER not in html


def test_portal_invitation_never_adds_the_banner_since_it_is_the_activation():
    _, text, html = render("portal_invitation", {**PORTAL, "needs_activation": True})
    assert BANNER not in text and BANNER not in html


def test_a_missing_variable_is_an_error_not_an_empty_link():
    with pytest.raises(UndefinedError, match="accept_url"):
        render("team_invitation", {k: v for k, v in TEAM.items() if k != "accept_url"})


def test_subject_stays_one_line_whatever_a_variable_holds():
    subject = render("team_invitation", {**TEAM, "inviter_name": "Olive\r\nBcc: victim@example.com"}).subject
    assert "\n" not in subject and "\r" not in subject


def test_message_is_multipart_alternative_text_first_then_html():
    message = build_message(render("portal_invitation", PORTAL), mail_from="Porta <no-reply@porta.local>",
                            to="client@example.com", message_id="<m1@porta.local>")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == "client@example.com" and message["Message-ID"] == "<m1@porta.local>"
    assert message["Subject"] == "Acme CPA invited you to your client portal"
    assert "Smith Family" in message.get_body(("plain",)).get_content()


def test_a_chat_email_says_a_message_waits_without_its_content_unless_the_firm_allows_it():
    hidden = {**EXAMPLES["chat_message"], "content": None}
    shown = {**EXAMPLES["chat_message"], "content": "Please send the **W-2** by Friday."}
    _, text, html = render("chat_message", hidden)
    assert "Your 2025 return" in text and "W-2" not in text and "W-2" not in html
    _, text, html = render("chat_message", shown)
    assert "Please send the **W-2** by Friday." in text and "W-2" in html
