"""Uploads: refused before any byte moves, turned into documents from the stored bytes, and never leaving
objects behind that belong to no document and no live upload."""
from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, uploads
from documents.models import Folder, Upload
from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.storage import HEAD_BYTES, Download, ObjectStore

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = b"Receipts for March, as promised.\n"
LIMITS = archive.ArchiveLimits()
MAX_BYTES = 1000


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_file:
        for name, data in members:
            archive_file.writestr(name, data)
    return buffer.getvalue()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def begin(db: Session, folder: Folder, staff: uploads.Uploader, name: str = "report.pdf",
          size: int | None = len(PDF), **kwargs: Any) -> Upload:
    return uploads.begin(db, folder=folder, filename=name, declared_type=kwargs.pop("declared_type", None), size=size,
                         unzip=kwargs.pop("unzip", True), uploader=staff, max_bytes=MAX_BYTES, **kwargs)


# -- begin ----------------------------------------------------------------------------------


def test_begin_refuses_a_declared_size_over_the_limit_before_anything_exists(db, roots, staff, uploads_in, keys_under,
                                                                            firm_id):
    with pytest.raises(PayloadTooLarge) as info:
        begin(db, roots["private"], staff, size=MAX_BYTES + 1)
    assert info.value.status == 413
    assert uploads_in(roots["private"]) == [] and keys_under(f"firms/{firm_id}/") == []


def test_begin_refuses_an_empty_file_before_anything_exists(db, roots, staff, uploads_in, keys_under, firm_id):
    with pytest.raises(ValidationFailed) as info:
        begin(db, roots["private"], staff, size=0)
    assert info.value.status == 422
    assert uploads_in(roots["private"]) == [] and keys_under(f"firms/{firm_id}/") == []


def test_begin_takes_a_file_of_unknown_size_and_names_its_object_under_the_firm(db, roots, staff, firm_id):
    upload = begin(db, roots["private"], staff, size=None)
    assert upload.object_key == f"firms/{firm_id}/uploads/{upload.id}/original"
    assert upload.expires_at > datetime.now(UTC) + uploads.UPLOAD_LIFETIME - timedelta(minutes=1)


# -- complete -------------------------------------------------------------------------------


def test_complete_makes_the_document_with_the_sniffed_type_and_forgets_the_upload(db, store, roots, staff,
                                                                                  put_object):
    upload = begin(db, roots["private"], staff, declared_type="application/octet-stream")
    put_object(upload.object_key, PDF)
    completed = uploads.complete(db, store, upload, size=len(PDF), sha256=sha256_of(PDF),
                                 head=PDF[:HEAD_BYTES], limits=LIMITS)
    [document] = completed.documents
    assert (document.name, document.content_type, document.size, document.sha256, document.object_key) == (
        "report.pdf", "application/pdf", len(PDF), sha256_of(PDF), upload.object_key)
    assert (document.folder_id, document.uploaded_by_kind, document.uploaded_by_id) == (
        roots["private"].id, "staff", staff.user_id)
    assert completed.duplicate_of is None
    assert db.scalar(select(Upload).where(Upload.id == upload.id)) is None


def test_complete_refuses_content_that_is_not_what_the_name_says(db, store, roots, staff, put_object):
    upload = begin(db, roots["private"], staff, name="invoice.pdf", size=len(TEXT))
    put_object(upload.object_key, TEXT)
    with pytest.raises(UnsupportedMediaType):
        uploads.complete(db, store, upload, size=len(TEXT), sha256=sha256_of(TEXT),
                         head=TEXT[:HEAD_BYTES], limits=LIMITS)


class CountingStore(ObjectStore):
    """The real store, counting the reads made through it."""

    reads = 0

    def open(self, key: str, offset: int = 0, length: int | None = None) -> Download:
        self.reads += 1
        return super().open(key, offset, length)


def test_complete_sniffs_the_head_it_is_given_and_reads_nothing_back(db, store, roots, staff, put_object):
    counting = CountingStore(store.client, store.bucket)
    upload = begin(db, roots["private"], staff)
    put_object(upload.object_key, PDF)
    completed = uploads.complete(db, counting, upload, size=len(PDF), sha256=sha256_of(PDF),
                                 head=PDF[:HEAD_BYTES], limits=LIMITS)
    assert (completed.documents[0].content_type, counting.reads) == ("application/pdf", 0)


def test_complete_refuses_a_file_whose_given_head_is_not_what_the_name_says(db, store, roots, staff, put_object):
    upload = begin(db, roots["private"], staff, name="invoice.pdf", size=len(TEXT))
    put_object(upload.object_key, PDF)  # what the gateway says it streamed is what counts
    with pytest.raises(UnsupportedMediaType):
        uploads.complete(db, store, upload, size=len(TEXT), sha256=sha256_of(TEXT), head=TEXT, limits=LIMITS)


def test_complete_refuses_more_bytes_than_the_upload_allowed(db, store, roots, staff, put_object):
    upload = begin(db, roots["private"], staff, size=None)
    put_object(upload.object_key, PDF)
    with pytest.raises(PayloadTooLarge):
        uploads.complete(db, store, upload, size=MAX_BYTES + 1, sha256=sha256_of(PDF),
                         head=PDF[:HEAD_BYTES], limits=LIMITS)


def test_a_zip_is_kept_and_unpacked_into_subfolders_of_the_upload_folder(db, store, roots, staff, put_object,
                                                                         keys_under):
    data = zipped(("notes.txt", TEXT), ("2024/receipts/march.pdf", PDF), ("2024/summary.txt", TEXT))
    upload = begin(db, roots["client"], staff, name="year.zip", size=len(data))
    put_object(upload.object_key, data)
    completed = uploads.complete(db, store, upload, size=len(data), sha256=sha256_of(data),
                                 head=data[:HEAD_BYTES], limits=LIMITS)
    kept, *members = completed.documents
    assert (kept.name, kept.content_type, kept.archive_id, kept.folder_id) == (
        "year.zip", "application/zip", None, roots["client"].id)
    assert all(member.archive_id == kept.id for member in members)
    folder_names = {member.name: _path_of(db, member.folder_id) for member in members}
    assert folder_names == {"notes.txt": ["Client"], "march.pdf": ["Client", "2024", "receipts"],
                            "summary.txt": ["Client", "2024"]}
    by_name = {member.name: member for member in members}
    assert (by_name["march.pdf"].content_type, by_name["march.pdf"].size, by_name["march.pdf"].sha256) == (
        "application/pdf", len(PDF), sha256_of(PDF))
    assert store.read_range(by_name["march.pdf"].object_key, 0, len(PDF)) == PDF
    assert keys_under(upload.object_prefix) == sorted(document.object_key for document in completed.documents)


def _path_of(db: Session, folder_id: uuid.UUID | None) -> list[str]:
    names = []
    while folder_id is not None:
        folder = db.get(Folder, folder_id)
        names.append(folder.name)
        folder_id = folder.parent_id
    return names[::-1]


def test_a_zip_is_kept_whole_when_unpacking_is_off(db, store, roots, staff, put_object):
    data = zipped(("notes.txt", TEXT))
    upload = begin(db, roots["client"], staff, name="year.zip", size=len(data), unzip=False)
    put_object(upload.object_key, data)
    completed = uploads.complete(db, store, upload, size=len(data), sha256=sha256_of(data),
                                 head=data[:HEAD_BYTES], limits=LIMITS)
    assert [document.name for document in completed.documents] == ["year.zip"]


# -- refusals leave nothing behind ----------------------------------------------------------


def test_a_refused_file_is_discarded_with_its_object_and_its_row(db, store, roots, staff, put_object, keys_under):
    upload = begin(db, roots["private"], staff, name="invoice.pdf", size=len(TEXT))
    put_object(upload.object_key, TEXT)
    with pytest.raises(UnsupportedMediaType):
        uploads.complete(db, store, upload, size=len(TEXT), sha256=sha256_of(TEXT),
                         head=TEXT[:HEAD_BYTES], limits=LIMITS)
    uploads.discard(db, store, upload.id)
    assert keys_under(upload.object_prefix) == []
    assert db.scalar(select(Upload).where(Upload.id == upload.id)) is None


def test_a_zip_refused_after_members_were_written_is_discarded_with_every_object(db, store, roots, staff,
                                                                                 put_object, keys_under):
    # The first member is stored before the second turns out to be text named .pdf.
    data = zipped(("good.pdf", PDF), ("fake.pdf", TEXT))
    upload = begin(db, roots["private"], staff, name="bundle.zip", size=len(data))
    put_object(upload.object_key, data)
    with pytest.raises(UnsupportedMediaType):
        uploads.complete(db, store, upload, size=len(data), sha256=sha256_of(data),
                         head=data[:HEAD_BYTES], limits=LIMITS)
    assert len(keys_under(upload.object_prefix)) == 3  # the archive and both members
    uploads.discard(db, store, upload.id)
    assert keys_under(upload.object_prefix) == []
    assert db.scalar(select(Upload).where(Upload.id == upload.id)) is None


def test_discarding_an_upload_that_is_already_gone_does_nothing(db, store, roots, staff):
    upload = begin(db, roots["private"], staff)
    uploads.discard(db, store, upload.id)
    uploads.discard(db, store, upload.id)
    assert db.scalar(select(Upload).where(Upload.id == upload.id)) is None


# -- duplicates through a file request ------------------------------------------------------


LINK = uploads.Uploader(kind="link", source="link", name="Jane Client", email="jane@home.example")


def test_the_same_content_again_through_the_same_request_is_a_duplicate(upload_file, make_request, roots):
    request = make_request()
    [first] = upload_file(roots["client"], "march.pdf", PDF, uploader=LINK, file_request=request).documents
    again = upload_file(roots["client"], "march-again.pdf", PDF, uploader=LINK, file_request=request)
    assert again.duplicate_of is not None and again.duplicate_of.id == first.id
    assert again.documents == []


def test_the_same_content_through_another_request_is_stored_again(upload_file, make_request, roots):
    first_request, second_request = make_request(), make_request()
    [first] = upload_file(roots["client"], "march.pdf", PDF, uploader=LINK, file_request=first_request).documents
    again = upload_file(roots["client"], "march.pdf", PDF, uploader=LINK, file_request=second_request)
    assert again.duplicate_of is None
    [stored] = again.documents
    assert stored.id != first.id and stored.file_request_id == second_request.id


def test_the_same_content_uploaded_by_staff_is_never_a_duplicate(upload_file, roots):
    upload_file(roots["private"], "march.pdf", PDF)
    again = upload_file(roots["private"], "march.pdf", PDF)
    assert again.duplicate_of is None and len(again.documents) == 1


# -- the sweeper ----------------------------------------------------------------------------


def test_sweeping_removes_an_expired_uploads_objects_and_row_and_keeps_a_live_one(db, store, roots, staff,
                                                                                  put_object, keys_under):
    expired, live = begin(db, roots["private"], staff), begin(db, roots["private"], staff)
    expired.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.flush()
    for upload in (expired, live):
        put_object(upload.object_key, PDF)
        put_object(f"{upload.object_prefix}member", TEXT)
    assert uploads.sweep_expired(db, store) >= 1
    assert keys_under(expired.object_prefix) == []
    assert db.scalar(select(Upload).where(Upload.id == expired.id)) is None
    assert len(keys_under(live.object_prefix)) == 2
    assert db.scalar(select(Upload).where(Upload.id == live.id)) is not None
