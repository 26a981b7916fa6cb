"""File requests: the uploader's "done" button, a request's limits, and where a guest's files go."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents import file_requests, uploads
from documents.models import FileRequest, Folder
from shared.errors import Conflict, Gone, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LINK = uploads.Uploader(kind="link", source="link", name="Jane Client", email="jane@home.example")


@pytest.fixture
def receive(db: Session, upload_file: Callable[..., uploads.Completed]) -> Callable[..., None]:
    """`receive(request, data)`: a file arriving through the request, recorded as `complete_link_uploads` does."""

    def arrive(request: FileRequest, data: bytes = PDF) -> None:
        folder = db.get(Folder, request.folder_id)
        completed = upload_file(folder, "receipt.pdf", data, uploader=LINK, file_request=request)
        file_requests.note_received(request, completed.documents)

    return arrive


# -- "done uploading" -----------------------------------------------------------------------


def test_done_after_new_files_is_news_once(make_request, receive):
    request = make_request()
    receive(request)
    assert file_requests.press_done(request) is True
    assert request.done_at is not None and request.received_since_done == 0
    assert file_requests.press_done(request) is False


def test_done_with_no_file_sent_is_no_news(make_request):
    request = make_request()
    assert file_requests.press_done(request) is False
    assert request.done_at is None


def test_done_is_news_again_after_a_new_batch(make_request, receive):
    request = make_request()
    receive(request, PDF)
    file_requests.press_done(request)
    receive(request, PDF + b"% the second batch\n")
    assert file_requests.press_done(request) is True
    assert request.received_count == 2


def test_done_through_a_revoked_request_is_gone(make_request, receive):
    request = make_request()
    receive(request)
    file_requests.revoke(request)
    with pytest.raises(Gone):
        file_requests.press_done(request)


# -- open, revoked, expired -----------------------------------------------------------------


def test_an_open_request_takes_files(make_request):
    file_requests.require_open(make_request(expires_at=datetime.now(UTC) + timedelta(days=1)))


def test_a_revoked_request_is_gone(make_request):
    request = make_request()
    assert file_requests.revoke(request) is True
    with pytest.raises(Gone) as info:
        file_requests.require_open(request)
    assert info.value.status == 410


def test_revoking_twice_reports_only_the_first(make_request):
    request = make_request()
    file_requests.revoke(request)
    assert file_requests.revoke(request) is False


def test_an_expired_request_is_gone(make_request):
    request = make_request(expires_at=datetime.now(UTC) + timedelta(days=1))
    request.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Gone) as info:
        file_requests.require_open(request)
    assert info.value.status == 410


def test_a_request_cannot_be_made_expired(make_request):
    with pytest.raises(ValidationFailed):
        make_request(expires_at=datetime.now(UTC) - timedelta(seconds=1))


# -- limits, checked before the bytes move --------------------------------------------------


def test_a_request_whose_files_have_all_arrived_takes_no_more(make_request, receive):
    request = make_request(max_files=1)
    file_requests.check_room(request, "first.pdf", 100)
    receive(request)
    with pytest.raises(Conflict) as info:
        file_requests.check_room(request, "second.pdf", 100)
    assert info.value.status == 409


def test_a_file_larger_than_the_request_takes_is_refused(make_request):
    request = make_request(max_bytes=1000)
    file_requests.check_room(request, "small.pdf", 1000)
    file_requests.check_room(request, "unknown-size.pdf", None)
    with pytest.raises(PayloadTooLarge) as info:
        file_requests.check_room(request, "large.pdf", 1001)
    assert info.value.status == 413


def test_the_request_caps_the_upload_size_below_the_service_limit(make_request):
    assert file_requests.max_bytes(make_request(max_bytes=1000), 5000) == 1000
    assert file_requests.max_bytes(make_request(), 5000) == 5000


def test_a_type_the_request_does_not_take_is_refused(make_request):
    request = make_request(allowed_types=["pdf", "jpg"])
    file_requests.check_room(request, "scan.PDF", 10)
    with pytest.raises(UnsupportedMediaType) as info:
        file_requests.check_room(request, "sheet.xlsx", 10)
    assert info.value.status == 415


@pytest.mark.parametrize("allowed,filename", [(["jpg"], "photo.jpeg"), (["jpeg"], "photo.JPG"), (["tiff"], "scan.tif")])
def test_the_request_takes_the_other_spelling_of_an_allowed_extension(make_request, allowed, filename):
    # As `filetypes.check_type` does once the file is stored: refusing it here would be a 415 for a file it takes.
    file_requests.check_room(make_request(allowed_types=allowed), filename, 10)


# -- guest accounts: a folder per uploader --------------------------------------------------


def test_a_guest_request_files_each_uploader_into_a_folder_of_his_own(db, make_request, roots):
    request = make_request(guest=True)
    jane = file_requests.upload_folder(db, request, " Jane Client ", "Jane@Home.example")
    bob = file_requests.upload_folder(db, request, "Bob Client", "bob@work.example")
    assert (jane.name, jane.parent_id) == ("Jane Client (jane@home.example)", roots["client"].id)
    assert (bob.name, bob.parent_id) == ("Bob Client (bob@work.example)", roots["client"].id)
    assert file_requests.upload_folder(db, request, "Jane Client", "jane@home.example").id == jane.id


@pytest.mark.parametrize("name,email", [(None, "jane@home.example"), ("Jane Client", None), ("", "")])
def test_a_guest_request_needs_the_uploaders_name_and_email(db, make_request, roots, name, email):
    request = make_request(guest=True)
    with pytest.raises(ValidationFailed) as info:
        file_requests.upload_folder(db, request, name, email)
    assert info.value.status == 422
    children = db.scalar(select(func.count()).select_from(Folder).where(Folder.parent_id == roots["client"].id))
    assert children == 0


def test_a_request_of_a_non_guest_account_files_into_its_folder_as_is(db, make_request, make_folder):
    folder = make_folder("Requests", "view_edit")
    request = make_request(folder)
    assert file_requests.upload_folder(db, request, None, None).id == folder.id
