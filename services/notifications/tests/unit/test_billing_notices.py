"""Billing's emails and activity lines (notifications/billing_notices.py), without a database or a broker."""
from __future__ import annotations

import base64

from notifications.billing_notices import ACTIVITY
from notifications.rendering import build_message, render
from shared.contracts.notifications import SendEmailSchema

INVOICE = {"firm_name": "Acme CPA", "account_name": "Smith Family", "invoice_number": "INV-0007",
           "total_text": "EUR 570.00", "amount_due_text": "EUR 370.00", "credit_applied_text": "EUR 200.00",
           "due_date": "2026-12-31", "memo": "Thank you <3", "pay_url": "https://porta.example/p/pay-123"}
PDF = {"filename": "INV-0007.pdf", "content_type": "application/pdf",
       "content_base64": base64.b64encode(b"%PDF-1.4 fake").decode()}


def test_the_invoice_email_shows_the_amounts_and_the_pay_link():
    subject, text, html = render("invoice", INVOICE)
    assert subject == "Acme CPA: invoice INV-0007 for EUR 570.00"
    for expected in ("Prepaid credit applied: EUR 200.00", "Amount due: EUR 370.00, by 2026-12-31",
                     "\nhttps://porta.example/p/pay-123\n", "Thank you <3"):
        assert expected in text, expected
    assert 'href="https://porta.example/p/pay-123"' in html and "Thank you &lt;3" in html


def test_without_a_pay_link_the_email_says_nothing_of_paying_online():
    _, text, html = render("invoice_reminder", {**INVOICE, "pay_url": None})
    assert "Pay it here" not in text and "Pay the invoice" not in html
    assert "still has EUR 370.00 due" in text


def test_the_pdf_goes_along_as_an_attachment():
    message = build_message(render("invoice", INVOICE), mail_from="Porta <no-reply@porta.local>",
                            to="jane@example.com", message_id="<1@porta>", attachments=[PDF])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "INV-0007.pdf" and attachment.get_content() == b"%PDF-1.4 fake"
    assert message.get_body(preferencelist=("plain",)).get_content().startswith("Hello")


def test_an_invoice_email_context_is_checked_at_the_call():
    loaded = SendEmailSchema().load({"firm_id": "00000000-0000-4000-8000-000000000001", "to": "jane@example.com",
                                     "template": "invoice", "context": {**INVOICE, "attachments": [PDF]}})
    assert loaded["context"]["attachments"][0]["filename"] == "INV-0007.pdf"
    html_file = {**PDF, "content_type": "text/html"}
    for bad in ({**INVOICE, "pay_url": "javascript:alert(1)"}, {**INVOICE, "attachments": [html_file]}):
        try:
            SendEmailSchema().load({"firm_id": "00000000-0000-4000-8000-000000000001", "to": "jane@example.com",
                                    "template": "invoice", "context": bad})
        except Exception as refused:  # marshmallow's ValidationError
            assert "context" in str(refused)
        else:
            raise AssertionError(f"accepted {bad}")


def test_receipts_and_refund_notices_name_the_amount():
    subject, text, _ = render("payment_receipt", {"firm_name": "Acme CPA", "amount_text": "JPY 1,500",
                                                  "invoice_number": None, "amount_due_text": None})
    assert subject == "Acme CPA received your payment of JPY 1,500" and "as a prepayment" in text
    subject, text, _ = render("refund_notice", {"firm_name": "Acme CPA", "amount_text": "BHD 1.500",
                                                "invoice_number": "INV-0002", "reason": "Goodwill"})
    assert subject == "Acme CPA refunded BHD 1.500" and "Reason: Goodwill" in text


def test_an_invoice_without_a_number_reads_as_an_invoice_not_as_none():
    line = ACTIVITY[("billing", "invoice_voided")]({"invoice": {"display_number": None}})
    assert line == "An invoice voided"
