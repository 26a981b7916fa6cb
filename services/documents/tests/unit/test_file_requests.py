"""A file request's rules on requests in memory: what it takes, when it is closed, what a resend and
"done" change, which links staff may copy, and what the person with the link is told."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from documents import file_requests, uploads
from documents.models import Document, FileRequest, Upload
from shared.contracts.links import page_urls
from shared.errors import Conflict, Gone, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

EARLIER = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def request(**fields: Any) -> FileRequest:
    """An open request, as `file_requests.create` leaves it, never stored."""
    values = {"id": uuid.uuid4(), "firm_id": uuid.uuid4(), "account_id": uuid.uuid4(), "folder_id": uuid.uuid4(),
              "guest": False, "message": "Your receipts, please.", "status": "open", "link_id": None,
              "recipients": [], "expires_at": None, "max_files": None, "max_bytes": None, "allowed_types": None,
              "received_count": 0, "received_bytes": 0, "received_since_done": 0, "done_at": None,
              "created_by": uuid.uuid4(), "created_at": EARLIER, "updated_at": EARLIER, "revoked_at": None}
    return FileRequest(**{**values, **fields})


def document(name: str = "receipt.pdf", size: int = 100) -> Document:
    return Document(id=uuid.uuid4(), name=name, size=size, created_at=datetime.now(UTC))


# -- closed: revoked or expired -------------------------------------------------------------


def test_an_open_request_without_expiry_is_open():
    assert file_requests.closed_because(request()) is None
    file_requests.require_open(request(expires_at=datetime.now(UTC) + timedelta(minutes=1)))


@pytest.mark.parametrize("fields,reason", [
    ({"status": "revoked"}, "This request was revoked."),
    ({"expires_at": datetime.now(UTC) - timedelta(seconds=1)}, "This request has expired."),
])
def test_a_revoked_or_expired_request_is_gone_and_says_why(fields, reason):
    closed = request(**fields)
    assert file_requests.closed_because(closed) == reason
    with pytest.raises(Gone, match=reason):
        file_requests.require_open(closed)


def test_revoking_stamps_the_request_once():
    open_request = request()
    assert file_requests.revoke(open_request) is True
    assert open_request.status == "revoked" and open_request.revoked_at is not None
    assert open_request.updated_at > EARLIER
    revoked_at = open_request.revoked_at
    assert file_requests.revoke(open_request) is False
    assert open_request.revoked_at == revoked_at


# -- limits ---------------------------------------------------------------------------------


def test_a_request_with_all_its_files_takes_no_more_even_of_a_file_already_on_its_way():
    full = request(max_files=2, received_count=2)
    with pytest.raises(Conflict, match="at most 2 files"):
        file_requests.require_room(full)
    with pytest.raises(Conflict):
        file_requests.check_room(full, "another.pdf", 10)
    file_requests.require_room(request(max_files=2, received_count=1))
    file_requests.require_room(request(received_count=10_000))


def test_the_files_ahead_in_the_same_upload_count_against_max_files():
    two_left = request(max_files=3, received_count=1)
    file_requests.check_room(two_left, "first.pdf", 10, files_before=0)
    file_requests.check_room(two_left, "second.pdf", 10, files_before=1)
    with pytest.raises(Conflict, match="at most 3 files, and 2 more can come"):
        file_requests.check_room(two_left, "third.pdf", 10, files_before=2)


def test_the_size_limit_is_checked_only_when_the_size_is_known():
    limited = request(max_bytes=1000)
    file_requests.check_room(limited, "unknown.pdf", None)
    with pytest.raises(PayloadTooLarge):
        file_requests.check_room(limited, "large.pdf", 1001)


def test_the_type_list_goes_by_the_names_extension_in_any_case():
    pdf_only = request(allowed_types=["pdf"])
    file_requests.check_room(pdf_only, "SCAN.PDF", 10)
    with pytest.raises(UnsupportedMediaType, match="only pdf files"):
        file_requests.check_room(pdf_only, "scan.png", 10)


@pytest.mark.parametrize("limit,service,expected", [(None, 5000, 5000), (1000, 5000, 1000), (9000, 5000, 5000)])
def test_an_upload_may_bring_the_smaller_of_the_requests_and_the_services_limit(limit, service, expected):
    assert file_requests.max_bytes(request(max_bytes=limit), service) == expected


# -- staff changes --------------------------------------------------------------------------


def test_a_revoked_request_cannot_be_edited_or_sent():
    revoked = request(status="revoked")
    with pytest.raises(Conflict):
        file_requests.edit_message(revoked, "New words")
    with pytest.raises(Conflict):
        file_requests.resend_to(revoked, ["a@home.example"])


def test_an_edited_message_is_trimmed_and_the_request_touched():
    edited = request()
    file_requests.edit_message(edited, "  Only the March receipts.  ")
    assert edited.message == "Only the March receipts."
    assert edited.updated_at > EARLIER


def test_a_resend_to_new_addresses_remembers_them_and_goes_only_to_them():
    sent = request(recipients=["jane@home.example"])
    assert file_requests.resend_to(sent, ["Bob@Work.example"]) == ["bob@work.example"]
    assert sent.recipients == ["bob@work.example", "jane@home.example"]


def test_a_resend_without_addresses_goes_to_the_earlier_recipients_and_changes_nothing():
    sent = request(recipients=["jane@home.example"])
    assert file_requests.resend_to(sent, None) == ["jane@home.example"]
    assert sent.updated_at == EARLIER


def test_a_resend_of_a_request_never_sent_needs_addresses():
    with pytest.raises(ValidationFailed):
        file_requests.resend_to(request(), None)


# -- the link -------------------------------------------------------------------------------


def test_the_link_is_reusable_retrievable_expires_with_the_request_and_carries_its_page():
    expires = datetime(2026, 3, 1, tzinfo=UTC)
    expiring = request(expires_at=expires)
    payload = file_requests.link_payload(expiring, {"message": "Send it"})
    assert payload == {"firm_id": str(expiring.firm_id), "kind": "file_request",
                       "target": {"type": "file_request", "id": str(expiring.id)}, "single_use": False,
                       "retrievable": True, "expires_at": expires.isoformat(), "view": {"message": "Send it"}}
    assert file_requests.link_payload(request(), {})["expires_at"] is None


def test_only_open_requests_links_are_revealed_and_only_live_ones_get_a_url():
    live, dead, revoked, unlinked = (request(link_id=uuid.uuid4()), request(link_id=uuid.uuid4()),
                                     request(link_id=uuid.uuid4(), status="revoked"), request())
    requests = [live, dead, revoked, unlinked]
    assert file_requests.links_to_reveal(requests) == [str(live.link_id), str(dead.link_id)]

    revealed = [{"id": str(live.link_id), "token": "t0ken", "live": True},
                {"id": str(dead.link_id), "token": "old", "live": False}]
    urls = [item["url"] for item in file_requests.with_urls(requests, page_urls(revealed, "https://porta.example"))]
    assert urls == ["https://porta.example/p/t0ken", None, None, None]


# -- what arrives -----------------------------------------------------------------------------


def test_received_files_count_toward_the_request_and_the_next_done():
    receiving = request()
    file_requests.note_received(receiving, [document(size=100), document(size=50)])
    assert (receiving.received_count, receiving.received_bytes, receiving.received_since_done) == (2, 150, 2)


def test_done_is_news_only_after_new_files_and_only_through_an_open_request():
    receiving = request(received_since_done=1)
    assert file_requests.press_done(receiving) is True
    assert receiving.received_since_done == 0 and receiving.done_at is not None
    assert file_requests.press_done(receiving) is False
    with pytest.raises(Gone):
        file_requests.press_done(request(status="revoked", received_since_done=3))


def test_the_uploader_sees_only_the_file_he_sent_not_what_was_unpacked_from_it():
    upload = Upload(filename="bundle.zip")
    archive, member = document("bundle.zip", 300), document("inside.pdf", 900)
    seen = file_requests.what_the_uploader_sees(upload, uploads.Completed(documents=[archive, member]), 300)
    assert seen == {"name": "bundle.zip", "size": 300, "duplicate": False, "received_at": archive.created_at}


def test_a_duplicate_is_answered_with_the_date_its_content_first_arrived():
    upload = Upload(filename="march-again.pdf")
    earlier = document("march.pdf")
    earlier.created_at = EARLIER
    seen = file_requests.what_the_uploader_sees(upload, uploads.Completed(duplicate_of=earlier), 123)
    assert seen == {"name": "march-again.pdf", "size": 123, "duplicate": True, "received_at": EARLIER}
