"""Share and approval emails, rendered; the activity lines of their events (their exact words)."""
from __future__ import annotations

import uuid

import pytest
from marshmallow import ValidationError

from notifications.activity import summarize
from notifications.rendering import render
from shared.contracts.notifications import SendEmailSchema

SHARE = {"firm_name": "Acme CPA", "message": "For the loan.\\nThanks", "sender_name": "Olive Owner",
         "document_names": ["return.pdf", "scan.png"], "expires_at": "3 March 2027 at 10:00 UTC",
         "share_url": "https://porta.example/p/shr-123"}
APPROVAL = {"firm_name": "Acme CPA", "message": "", "sender_name": None, "document_name": "return.pdf",
            "approval_url": "https://porta.example/p/apr-123"}


def test_the_share_email_names_the_documents_the_expiry_and_links_to_his_page():
    subject, text, html = render("share", SHARE)
    assert subject == "Acme CPA shared 2 documents with you"
    assert "Olive Owner of Acme CPA shared 2 documents with you:\n- return.pdf\n- scan.png\n" in text
    assert "\nhttps://porta.example/p/shr-123\n" in text and "until 3 March 2027 at 10:00 UTC" in text
    assert '<a href="https://porta.example/p/shr-123"' in html and ">View the documents</a>" in html


def test_a_share_without_an_expiry_says_it_works_until_withdrawn():
    _, text, _ = render("share", {**SHARE, "expires_at": None, "document_names": ["return.pdf"]})
    assert "shared 1 document with you" in text and "until Acme CPA withdraws it" in text


def test_the_share_email_escapes_document_names_in_html():
    _, _, html = render("share", {**SHARE, "document_names": ["<script>x</script>.pdf"]})
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_approval_email_links_to_his_page():
    subject, text, html = render("approval_request", APPROVAL)
    assert subject == "Acme CPA asks you to approve “return.pdf”"
    assert "\nhttps://porta.example/p/apr-123\n" in text and ">Review and approve</a>" in html


def test_a_share_email_without_documents_is_refused_at_the_call():
    with pytest.raises(ValidationError) as refused:
        SendEmailSchema().load({"firm_id": str(uuid.uuid4()), "to": "a@example.org", "template": "share",
                                "context": {**SHARE, "document_names": []}})
    assert "document_names" in refused.value.messages["context"]


def test_activity_lines_of_shares_and_approvals():
    recipient = {"id": str(uuid.uuid4()), "email": "banker@example.org", "link_id": None, "expires_at": None}
    documents = [{"id": str(uuid.uuid4()), "name": "return.pdf"}]
    assert summarize("documents", "share_downloaded", {"recipient": recipient, "documents": documents,
                                                       "archive": False}) == \
        "banker@example.org downloaded “return.pdf”"
    assert summarize("documents", "share_opened", {"recipient": recipient, "document": None}) == \
        "banker@example.org opened the shared documents"
    decided = {"approval_request": {"document_name": "return.pdf"},
               "approver": {"email": "partner@example.org", "status": "disapproved", "comment": "Wrong year."}}
    assert summarize("documents", "approval_decided", decided) == \
        "partner@example.org disapproved “return.pdf”: Wrong year."
