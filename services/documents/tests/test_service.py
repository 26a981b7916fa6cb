"""The service's entrypoints over RPC, on the run's broker, database and bucket. crm and links are test
doubles (`replace_dependencies`): what they answer is set per test."""
from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from devstack.fixtures import count_write_sessions
from sqlalchemy import event, select

from documents.models import Document, FileRequest, Upload, messaging
from shared.dependencies import Database
from shared.errors import Conflict, Gone, NotFound, UnsupportedMediaType, ValidationFailed
from shared.storage import HEAD_BYTES

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TOKEN, ADDRESS = "a-file-request-token", "10.1.2.3"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def uploaded(ticket: dict, data: bytes) -> dict:
    """What the gateway tells documents of a file it streamed under `ticket`."""
    return {"upload_id": ticket["upload_id"], "size": len(data), "sha256": sha256_of(data),
            "head": base64.b64encode(data[:HEAD_BYTES]).decode()}


def batch(*files: tuple[dict, bytes]) -> dict:
    return {"items": [uploaded(ticket, data) for ticket, data in files]}


def objects_of(keys_under: Callable[[str], list[str]], *tickets: dict) -> list[str]:
    return [key for ticket in tickets for key in keys_under(ticket["object_key"].rsplit("/", 1)[0] + "/")]


def test_complete_uploads_refuses_another_users_upload_and_leaves_it_to_its_uploader(
        documents, put_object, keys_under, read):
    uploader, someone_else = uuid.uuid4(), uuid.uuid4()
    ticket = documents.call("begin_upload", uploader, account_id=str(documents.account_id),
                            payload={"filename": "report.pdf", "size": len(PDF)})
    put_object(ticket["object_key"], PDF)

    with pytest.raises(NotFound):
        documents.call("complete_uploads", someone_else, payload=batch((ticket, PDF)))

    assert read(select(Upload.id).where(Upload.id == uuid.UUID(ticket["upload_id"]))) != []
    assert keys_under(ticket["object_key"]) == [ticket["object_key"]]
    assert read(select(Document).where(Document.firm_id == documents.firm_id)) == []
    [stored] = documents.call("complete_uploads", uploader, payload=batch((ticket, PDF)))["items"]
    assert (stored["name"], stored["content_type"]) == ("report.pdf", "application/pdf")


def test_only_the_uploader_cancels_an_upload(documents, put_object, keys_under, read):
    uploader, someone_else = uuid.uuid4(), uuid.uuid4()
    ticket = documents.call("begin_upload", uploader, account_id=str(documents.account_id),
                            payload={"filename": "report.pdf", "size": len(PDF)})
    put_object(ticket["object_key"], PDF)

    cancelled = {"upload_ids": [ticket["upload_id"]]}
    with pytest.raises(NotFound):
        documents.call("cancel_uploads", someone_else, payload=cancelled)
    with pytest.raises(NotFound):
        documents.call("cancel_uploads", payload=cancelled)  # no one logged in: link uploads only
    assert keys_under(ticket["object_key"]) == [ticket["object_key"]]

    documents.call("cancel_uploads", uploader, payload=cancelled)
    assert read(select(Upload.id).where(Upload.id == uuid.UUID(ticket["upload_id"]))) == []
    assert keys_under(ticket["object_key"]) == []


@pytest.fixture
def statements(documents: Any) -> Iterator[list[str]]:
    """The SQL the service's workers send from now on (not its outbox relay's, which runs beside them)."""
    [database] = [d for d in documents.container.dependencies if isinstance(d, Database)]
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM outbox" not in statement and "UPDATE outbox" not in statement:
            sent.append(statement.split(None, 1)[0])

    event.listen(database.engine, "before_cursor_execute", record)
    yield sent
    event.remove(database.engine, "before_cursor_execute", record)


def test_a_staff_upload_costs_two_statements_to_begin_and_six_to_complete(documents, put_object, statements):
    uploader = uuid.uuid4()
    begin = {"account_id": str(documents.account_id), "payload": {"filename": "report.pdf", "size": len(PDF)}}
    documents.call("begin_upload", uploader, **begin)  # the account's first use makes its roots
    statements.clear()

    ticket = documents.call("begin_upload", uploader, **begin)
    assert statements == ["SELECT", "INSERT"]  # the account's roots, the upload (no replay record)
    put_object(ticket["object_key"], PDF)
    statements.clear()

    documents.call("complete_uploads", uploader, payload=batch((ticket, PDF)))

    # The replay record looked up; the upload locked; the document in, the upload out; its event; the record.
    assert statements == ["SELECT", "SELECT", "INSERT", "DELETE", "INSERT", "INSERT"]


@pytest.fixture
def write_sessions(documents: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_write_sessions(documents.container, monkeypatch)


def stored_by(documents: Any, put_object: Callable[[str, bytes], None], uploader: uuid.UUID) -> dict:
    ticket = documents.call("begin_upload", uploader, account_id=str(documents.account_id),
                            payload={"filename": "report.pdf", "size": len(PDF)})
    put_object(ticket["object_key"], PDF)
    return documents.call("complete_uploads", uploader, payload=batch((ticket, PDF)))["items"][0]


def test_a_download_that_leaves_a_document_new_opens_no_write_transaction(documents, put_object, write_sessions):
    uploader = uuid.uuid4()
    document = stored_by(documents, put_object, uploader)
    write_sessions.clear()
    assert documents.call("open_document", uploader, document_id=document["id"])["sha256"] == sha256_of(PDF)
    assert write_sessions == []


def test_the_first_download_by_someone_else_clears_new_in_one_write_transaction(documents, put_object,
                                                                               write_sessions, read):
    document = stored_by(documents, put_object, uuid.uuid4())
    write_sessions.clear()
    documents.call("open_document", uuid.uuid4(), document_id=document["id"])
    assert write_sessions == [1]
    [opened_at] = read(select(Document.opened_at).where(Document.id == uuid.UUID(document["id"])))
    assert opened_at is not None
    documents.call("open_document", uuid.uuid4(), document_id=document["id"])
    assert write_sessions == [1]  # cleared once: the next download only reads


def test_complete_uploads_of_an_unknown_upload_is_not_found(documents):
    with pytest.raises(NotFound):
        documents.call("complete_uploads", uuid.uuid4(),
                       payload={"items": [{"upload_id": str(uuid.uuid4()), "size": 1, "sha256": "0" * 64,
                                           "head": "eA=="}]})


def test_complete_uploads_names_each_upload_once(documents):
    item = {"upload_id": str(uuid.uuid4()), "size": 1, "sha256": "0" * 64, "head": "eA=="}
    with pytest.raises(ValidationFailed):
        documents.call("complete_uploads", uuid.uuid4(), payload={"items": [item, item]})


@pytest.mark.parametrize("head", ["", base64.b64encode(b"x" * 2).decode(), "not base64!"])
def test_complete_uploads_takes_only_the_files_first_bytes_in_base64_as_its_head(documents, head):
    item = {"upload_id": str(uuid.uuid4()), "size": 1, "sha256": "0" * 64, "head": head}
    with pytest.raises(ValidationFailed) as refused:
        documents.call("complete_uploads", uuid.uuid4(), payload={"items": [item]})
    assert "head" in str(refused.value.errors)


def test_the_files_of_one_request_are_stored_together(documents, put_object, read):
    uploader = uuid.uuid4()
    files = []
    for name, data in (("a.pdf", PDF + b"a"), ("b.pdf", PDF + b"b"), ("c.pdf", PDF + b"c")):
        ticket = documents.call("begin_upload", uploader, account_id=str(documents.account_id),
                                payload={"filename": name})
        put_object(ticket["object_key"], data)
        files.append((ticket, data))
    stored = documents.call("complete_uploads", uploader, payload=batch(*files))["items"]
    assert [d["name"] for d in stored] == ["a.pdf", "b.pdf", "c.pdf"]
    assert read(select(Upload).where(Upload.firm_id == documents.firm_id)) == []


def test_one_refused_file_refuses_the_whole_request_and_stores_nothing(documents, put_object, keys_under, read):
    uploader = uuid.uuid4()
    files = []
    for name, data in (("a.pdf", PDF + b"a"), ("b.pdf", PDF + b"b"), ("c.pdf", b"MZ\x90\x00" + b"\x00" * 100)):
        ticket = documents.call("begin_upload", uploader, account_id=str(documents.account_id),
                                payload={"filename": name})
        put_object(ticket["object_key"], data)
        files.append((ticket, data))

    with pytest.raises(UnsupportedMediaType):
        documents.call("complete_uploads", uploader, payload=batch(*files))

    assert read(select(Document).where(Document.firm_id == documents.firm_id)) == []
    assert read(select(Upload).where(Upload.firm_id == documents.firm_id)) == []
    assert objects_of(keys_under, *(ticket for ticket, _ in files)) == []
    outbox = messaging[0]
    assert read(select(outbox.c.id).where(outbox.c.payload["firm_id"].astext == str(documents.firm_id),
                                          outbox.c.event_type.contains("document_created"))) == []


@pytest.fixture
def link_upload(documents: Any, put_object: Callable[[str, bytes], None]) -> dict[str, Any]:
    """An open file request into the client root, and a file whose bytes arrived through its link but are
    not completed yet: `{"request_id", "ticket", "staff"}`."""
    staff = uuid.uuid4()
    client_root = next(folder for folder in documents.call("list_folders", staff,
                                                           account_id=str(documents.account_id))["items"]
                       if folder["root"] == "client")
    request = documents.call("create_file_request", staff, account_id=str(documents.account_id),
                             payload={"folder_id": client_root["id"], "message": "Your receipts, please."})
    documents.link_resolves_to("file_request", request["id"])
    ticket = documents.call("begin_link_upload", token=TOKEN, address=ADDRESS,
                            payload={"filename": "receipt.pdf", "size": len(PDF)})
    put_object(ticket["object_key"], PDF)
    return {"request_id": request["id"], "ticket": ticket, "staff": staff}


def test_complete_link_uploads_through_a_revoked_request_is_gone_and_stores_nothing(documents, link_upload, read):
    documents.call("revoke_file_request", link_upload["staff"], file_request_id=link_upload["request_id"])

    with pytest.raises(Gone):
        documents.call("complete_link_uploads", token=TOKEN, address=ADDRESS,
                       payload=batch((link_upload["ticket"], PDF)))

    assert read(select(Document).where(Document.firm_id == documents.firm_id)) == []
    [request] = read(select(FileRequest).where(FileRequest.id == uuid.UUID(link_upload["request_id"])))
    assert (request.status, request.received_count, request.received_since_done) == ("revoked", 0, 0)


def test_an_upload_into_a_request_revoked_meanwhile_is_discarded_at_once(documents, link_upload, read, s3_client,
                                                                        bucket):
    documents.call("revoke_file_request", link_upload["staff"], file_request_id=link_upload["request_id"])
    documents.links.resolve_link.side_effect = Gone("This link was revoked.")

    with pytest.raises(Gone):
        documents.call("complete_link_uploads", token=TOKEN, address=ADDRESS,
                       payload=batch((link_upload["ticket"], PDF)))

    assert read(select(Upload.id).where(Upload.id == uuid.UUID(link_upload["ticket"]["upload_id"]))) == []
    prefix = link_upload["ticket"]["object_key"].rsplit("/", 1)[0]
    assert list(s3_client.list_objects(bucket, prefix=prefix, recursive=True)) == []


def test_complete_link_uploads_through_a_revoked_link_is_gone_and_stores_nothing(documents, link_upload, read):
    documents.links.resolve_link.side_effect = Gone("This link was revoked.")

    with pytest.raises(Gone):
        documents.call("complete_link_uploads", token=TOKEN, address=ADDRESS,
                       payload=batch((link_upload["ticket"], PDF)))

    assert read(select(Document).where(Document.firm_id == documents.firm_id)) == []


def test_complete_link_uploads_through_an_open_request_stores_the_file(documents, link_upload, read):
    received = documents.call("complete_link_uploads", token=TOKEN, address=ADDRESS,
                              payload=batch((link_upload["ticket"], PDF)))
    assert [(item["name"], item["duplicate"]) for item in received["items"]] == [("receipt.pdf", False)]
    [document] = read(select(Document).where(Document.firm_id == documents.firm_id))
    assert str(document.file_request_id) == link_upload["request_id"]
    [request] = read(select(FileRequest).where(FileRequest.id == uuid.UUID(link_upload["request_id"])))
    assert request.received_count == 1


def test_a_link_batch_over_max_files_is_a_conflict_and_stores_none_of_it(documents, put_object, keys_under, read):
    staff = uuid.uuid4()
    root = next(f for f in documents.call("list_folders", staff, account_id=str(documents.account_id))["items"]
                if f["root"] == "client")
    request = documents.call("create_file_request", staff, account_id=str(documents.account_id),
                             payload={"folder_id": root["id"], "message": "Two files, please.", "max_files": 2})
    documents.link_resolves_to("file_request", request["id"])
    files = []
    for name, data in (("a.pdf", PDF + b"a"), ("b.pdf", PDF + b"b"), ("c.pdf", PDF + b"c")):
        # Begun without `files_before`, as two requests racing would: completing counts them all.
        ticket = documents.call("begin_link_upload", token=TOKEN, address=ADDRESS, payload={"filename": name})
        put_object(ticket["object_key"], data)
        files.append((ticket, data))

    with pytest.raises(Conflict):
        documents.call("complete_link_uploads", token=TOKEN, address=ADDRESS, payload=batch(*files))

    assert read(select(Document).where(Document.firm_id == documents.firm_id)) == []
    assert read(select(Upload).where(Upload.firm_id == documents.firm_id)) == []
    assert objects_of(keys_under, *(ticket for ticket, _ in files)) == []
    [stored] = read(select(FileRequest).where(FileRequest.id == uuid.UUID(request["id"])))
    assert stored.received_count == 0
    with pytest.raises(Conflict):  # the third of one request is refused before its bytes move
        documents.call("begin_link_upload", token=TOKEN, address=ADDRESS,
                       payload={"filename": "c.pdf", "files_before": 2})
