"""An account's documents: who sees them, renaming and moving, and opening them for a download."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from documents import library
from documents.models import Document, Folder
from documents.uploads import Completed
from shared.errors import Conflict, NotFound, ValidationFailed

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LIST_ALL = {"folder_id": None, "q": None, "limit": 50, "cursor": None}


@pytest.fixture
def private_document(upload_file: Callable[..., Completed], roots: dict[str, Folder]) -> Document:
    [document] = upload_file(roots["private"], "working paper.pdf", PDF).documents
    return document


@pytest.fixture
def shared_document(upload_file: Callable[..., Completed], make_folder: Callable[..., Folder]) -> Document:
    [document] = upload_file(make_folder("Tax returns", "view"), "return 2024.pdf", PDF).documents
    return document


# -- who sees what --------------------------------------------------------------------------


def test_a_client_cannot_see_a_document_in_a_private_folder(db, private_document):
    with pytest.raises(NotFound):
        library.visible_document(db, private_document, client=True)


def test_staff_see_a_document_in_a_private_folder(db, private_document):
    assert library.visible_document(db, private_document, client=False) is private_document


def test_a_client_sees_a_document_in_a_folder_shown_to_him(db, shared_document):
    assert library.visible_document(db, shared_document, client=True) is shared_document


def test_a_client_lists_only_documents_in_folders_shown_to_him(db, firm_id, account_id, private_document,
                                                               shared_document):
    seen, _ = library.list_documents(db, firm_id, account_id, LIST_ALL, client=True)
    assert [document.id for document in seen] == [shared_document.id]
    everything, _ = library.list_documents(db, firm_id, account_id, LIST_ALL, client=False)
    assert {document.id for document in everything} == {private_document.id, shared_document.id}


def test_a_client_listing_a_private_folder_is_not_found(db, firm_id, account_id, roots, private_document):
    with pytest.raises(NotFound):
        library.list_documents(db, firm_id, account_id, {**LIST_ALL, "folder_id": roots["private"].id}, client=True)


def test_a_document_of_another_firm_is_not_found(db, private_document):
    with pytest.raises(NotFound):
        library.find_document(db, uuid.uuid4(), private_document.id)


# -- rename and move ------------------------------------------------------------------------


def test_a_rename_must_keep_the_extension(db, private_document):
    with pytest.raises(Conflict) as info:
        library.update_document(db, private_document, {"name": "working paper.txt"})
    assert info.value.status == 409
    assert private_document.name == "working paper.pdf"


def test_a_rename_keeping_the_extension_is_cleaned_and_kept(db, private_document):
    library.update_document(db, private_document, {"name": "  Final/working   paper.PDF"})
    assert private_document.name == "working paper.PDF"


def test_a_rename_to_nothing_is_refused(db, private_document):
    with pytest.raises(ValidationFailed):
        library.update_document(db, private_document, {"name": " ./ "})


def test_a_document_moves_only_within_its_account(db, private_document, make_folder):
    target = make_folder("Archive", "view")
    library.update_document(db, private_document, {"folder_id": target.id})
    assert private_document.folder_id == target.id
    with pytest.raises(NotFound):
        library.update_document(db, private_document, {"folder_id": uuid.uuid4()})


# -- opening --------------------------------------------------------------------------------


def test_opening_by_its_uploader_keeps_a_document_new(db, private_document, staff):
    assert library.open_document(private_document, staff.user_id) is False


def test_opening_by_someone_else_clears_new(db, private_document):
    assert library.open_document(private_document, uuid.uuid4()) is True
    library.mark_opened(db, private_document.id)
    db.refresh(private_document)
    assert private_document.opened_at is not None
    assert library.open_document(private_document, uuid.uuid4()) is False  # cleared once


def test_a_quarantined_document_cannot_be_opened(db, upload_file, roots):
    [pending] = upload_file(roots["private"], "scan.pdf", PDF, scan_status="pending").documents
    with pytest.raises(Conflict) as info:
        library.open_document(pending, uuid.uuid4())
    assert info.value.status == 409


def test_an_infected_document_cannot_be_opened(db, upload_file, roots):
    [infected] = upload_file(roots["private"], "scan.pdf", PDF, scan_status="infected").documents
    with pytest.raises(Conflict):
        library.open_document(infected, uuid.uuid4())
