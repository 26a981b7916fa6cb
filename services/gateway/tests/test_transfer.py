"""File bytes between HTTP and the real S3 server (gateway.transfer), with the documents service faked."""
from __future__ import annotations

import base64
import hashlib
import io
import threading
import uuid

import falcon.testing
import pytest

from gateway.app import create_app
from shared.config import Settings
from shared.errors import Conflict, UnsupportedMediaType
from shared.storage import HEAD_BYTES, ObjectStore

DATA = b"0123456789abcdefghijklmnopqrstuvwxyz"  # 36 bytes
N = len(DATA)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DOCUMENT_ID = str(uuid.uuid4())
ACCOUNT_ID = str(uuid.uuid4())
UPLOAD_URL = f"/api/v1/accounts/{ACCOUNT_ID}/documents"


@pytest.fixture
def store(s3_client, bucket) -> ObjectStore:
    return ObjectStore(s3_client, bucket)


@pytest.fixture
def client(rpc, store) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app(rpc, Settings(max_json_body=1024), store=store))


@pytest.fixture
def key() -> str:
    """An object key of this test alone."""
    return f"tests/transfer/{uuid.uuid4()}"


@pytest.fixture
def stored(rpc, store, key) -> str:
    """DATA in the store; documents' `open_document` names it. The content URL."""
    store.put_stream(key, io.BytesIO(DATA), max_bytes=N, content_type="application/octet-stream")
    rpc.answers[("documents", "open_document")] = {"name": "alphabet.txt", "content_type": "text/plain",
                                                   "size": N, "sha256": hashlib.sha256(DATA).hexdigest(),
                                                   "object_key": key}
    return f"/api/v1/documents/{DOCUMENT_ID}/content"


@pytest.fixture
def ticket(rpc, key) -> dict:
    """documents' answers to an upload: a ticket for `key` taking at most 10 bytes, and a document per file."""
    ticket = {"upload_id": str(uuid.uuid4()), "object_key": key, "max_bytes": 10}
    rpc.answers[("documents", "begin_upload")] = ticket
    rpc.answers[("documents", "complete_uploads")] = lambda payload: {
        "items": [{"id": str(uuid.uuid4()), "size": item["size"], "sha256": item["sha256"]}
                  for item in payload["items"]]}
    rpc.answers[("documents", "cancel_uploads")] = None
    return ticket


@pytest.fixture
def tickets(rpc, ticket) -> list[dict]:
    """A ticket of its own (up to 1 MiB) for each file of a request, under the test's key: those handed out."""
    handed: list[dict] = []

    def begin(**kwargs):
        handed.append({"upload_id": str(uuid.uuid4()), "object_key": f"{ticket['object_key']}/{len(handed)}",
                       "max_bytes": 1024 * 1024})
        return handed[-1]

    rpc.answers[("documents", "begin_upload")] = begin
    rpc.answers[("documents", "begin_link_upload")] = begin
    return handed


def calls(rpc, method) -> list[dict]:
    return [c[3] for c in rpc.calls if c[1] == method]


def get(client, url, staff, range_header):
    return client.simulate_get(url, headers={**staff, "Range": range_header})


def multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of (name, filename or None for a text field, data) parts."""
    boundary = "porta-test-boundary"
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def chunked(body: bytes) -> dict:
    """The WSGI environ a server such as gunicorn gives a chunked request: no CONTENT_LENGTH, the
    de-chunked body as wsgi.input, and `wsgi.input_terminated` saying that input ends by itself."""
    return {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}


def objects(s3_client, bucket, key) -> list[str]:
    return [o.object_name for o in s3_client.list_objects(bucket, prefix=key, recursive=True)]


# -- downloads: Range ---------------------------------------------------------------------------


def test_no_range_sends_the_whole_file_as_an_attachment(client, staff, stored):
    resp = client.simulate_get(stored, headers=staff)
    assert resp.status_code == 200 and resp.content == DATA
    assert resp.headers["Content-Length"] == str(N) and resp.headers["Accept-Ranges"] == "bytes"
    assert "attachment" in resp.headers["Content-Disposition"] and "alphabet.txt" in resp.headers["Content-Disposition"]
    assert "Content-Range" not in resp.headers


def test_range_of_the_first_byte_is_206_with_that_byte(client, staff, stored):
    resp = get(client, stored, staff, "bytes=0-0")
    assert resp.status_code == 206 and resp.content == DATA[:1]
    assert resp.headers["Content-Range"] == f"bytes 0-0/{N}" and resp.headers["Content-Length"] == "1"


def test_a_suffix_range_is_the_last_bytes(client, staff, stored):
    resp = get(client, stored, staff, "bytes=-5")
    assert resp.status_code == 206 and resp.content == DATA[-5:]
    assert resp.headers["Content-Range"] == f"bytes {N - 5}-{N - 1}/{N}"


def test_a_suffix_longer_than_the_file_is_the_whole_file_as_206(client, staff, stored):
    resp = get(client, stored, staff, f"bytes=-{N + 100}")
    assert resp.status_code == 206 and resp.content == DATA
    assert resp.headers["Content-Range"] == f"bytes 0-{N - 1}/{N}"


def test_an_open_ended_range_runs_to_the_end(client, staff, stored):
    resp = get(client, stored, staff, "bytes=5-")
    assert resp.status_code == 206 and resp.content == DATA[5:]
    assert resp.headers["Content-Range"] == f"bytes 5-{N - 1}/{N}"
    assert resp.headers["Content-Length"] == str(N - 5)


def test_a_range_ending_past_the_end_is_cut_at_the_end(client, staff, stored):
    resp = get(client, stored, staff, f"bytes=30-{N + 50}")
    assert resp.status_code == 206 and resp.content == DATA[30:]
    assert resp.headers["Content-Range"] == f"bytes 30-{N - 1}/{N}"


def test_a_range_starting_past_the_end_is_416_naming_the_size(client, staff, stored):
    resp = get(client, stored, staff, f"bytes={N}-")
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{N}"


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=9-3", "bytes=", "lines=0-1", "bytes 0-1"])
def test_a_malformed_range_is_ignored_and_the_whole_file_sent(client, staff, stored, header):
    resp = get(client, stored, staff, header)
    assert resp.status_code == 200 and resp.content == DATA
    assert "Content-Range" not in resp.headers


def test_a_multi_range_is_ignored_and_the_whole_file_sent(client, staff, stored):
    resp = get(client, stored, staff, "bytes=0-1,4-5")
    assert resp.status_code == 200 and resp.content == DATA
    assert "Content-Range" not in resp.headers


# -- uploads ------------------------------------------------------------------------------------


def test_a_raw_upload_streams_into_the_store_and_completes_with_size_hash_and_head(client, rpc, staff, ticket,
                                                                                   store):
    resp = client.simulate_post(UPLOAD_URL, params={"filename": "a.txt"}, body=DATA[:10], headers=staff)
    assert resp.status_code == 201, resp.text
    assert store.read_range(ticket["object_key"], 0, 10) == DATA[:10]
    assert rpc.last("complete_uploads")[3]["payload"] == {"items": [{
        "upload_id": ticket["upload_id"], "size": 10, "sha256": hashlib.sha256(DATA[:10]).hexdigest(),
        "head": base64.b64encode(DATA[:10]).decode()}]}


def test_complete_carries_the_first_head_bytes_of_each_file_as_streamed(client, rpc, staff, tickets):
    large = bytes(range(256)) * 100  # 25,600 bytes: more than the head
    body, headers = multipart(("file", "a.bin", large), ("file", "b.txt", DATA))
    resp = client.simulate_post(UPLOAD_URL, body=body, headers={**staff, **headers})
    assert resp.status_code == 201, resp.text
    [completed] = calls(rpc, "complete_uploads")
    assert [base64.b64decode(item["head"]) for item in completed["payload"]["items"]] == [large[:HEAD_BYTES], DATA]


def test_a_chunked_raw_upload_is_stored_whole(client, rpc, staff, ticket, store):
    resp = client.simulate_post(UPLOAD_URL, params={"filename": "a.txt"}, headers=staff, extras=chunked(DATA[:10]))
    assert resp.status_code == 201, resp.text
    assert rpc.last("complete_uploads")[3]["payload"]["items"][0]["size"] == 10
    assert store.read_range(ticket["object_key"], 0, 10) == DATA[:10]


def test_a_chunked_upload_over_the_tickets_limit_is_413_stores_nothing_and_cancels(client, rpc, staff, ticket,
                                                                                      s3_client, bucket):
    resp = client.simulate_post(UPLOAD_URL, params={"filename": "a.txt"}, headers=staff, extras=chunked(DATA))
    assert resp.status_code == 413, resp.text
    assert objects(s3_client, bucket, ticket["object_key"]) == []
    assert rpc.last("cancel_uploads")[3] == {"payload": {"upload_ids": [ticket["upload_id"]]}}
    assert not calls(rpc, "complete_uploads")


def test_a_raw_upload_over_the_tickets_limit_is_413_and_stores_nothing(client, rpc, staff, ticket, s3_client,
                                                                        bucket):
    resp = client.simulate_post(UPLOAD_URL, params={"filename": "a.txt"}, body=DATA, headers=staff)
    assert resp.status_code == 413, resp.text
    assert objects(s3_client, bucket, ticket["object_key"]) == []
    assert rpc.last("cancel_uploads")[3] == {"payload": {"upload_ids": [ticket["upload_id"]]}}


def test_a_raw_upload_tells_documents_its_name_type_and_declared_size(client, rpc, staff, ticket):
    client.simulate_post(UPLOAD_URL, params={"filename": "scan.pdf", "unzip": "false"}, body=PDF[:10],
                         headers={**staff, "Content-Type": "application/pdf"})
    payload = rpc.last("begin_upload")[3]["payload"]
    assert (payload["filename"], payload["content_type"], payload["size"], payload["unzip"]) == (
        "scan.pdf", "application/pdf", 10, False)


def test_a_raw_body_without_a_filename_is_422_before_documents_hears_of_it(client, rpc, staff, ticket):
    resp = client.simulate_post(UPLOAD_URL, body=PDF, headers={**staff, "Content-Type": "application/pdf"})
    assert resp.status_code == 422 and "filename" in resp.json["errors"]
    assert not [c for c in rpc.calls if c[1] == "begin_upload"]


def test_a_multipart_body_with_no_file_part_is_422(client, rpc, staff, ticket):
    body, headers = multipart(("uploader_name", None, b"Jane Doe"))
    resp = client.simulate_post(UPLOAD_URL, body=body, headers={**staff, **headers})
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    assert not [c for c in rpc.calls if c[1] == "begin_upload"]


def test_multipart_stores_every_file_part_in_order_then_completes_them_in_one_call(client, rpc, staff, tickets,
                                                                                      store):
    body, headers = multipart(("file", "a.txt", b"first"), ("file", "b.txt", b"second"))
    resp = client.simulate_post(UPLOAD_URL, body=body, headers={**staff, **headers})
    assert resp.status_code == 201, resp.text
    assert [c["payload"]["filename"] for c in calls(rpc, "begin_upload")] == ["a.txt", "b.txt"]
    assert store.read_range(tickets[0]["object_key"], 0, 5) == b"first"
    assert store.read_range(tickets[1]["object_key"], 0, 6) == b"second"
    [completed] = calls(rpc, "complete_uploads")
    assert [(i["upload_id"], i["size"]) for i in completed["payload"]["items"]] == [
        (tickets[0]["upload_id"], 5), (tickets[1]["upload_id"], 6)]
    assert len(resp.json["items"]) == 2


def test_a_file_refused_before_its_bytes_cancels_the_files_before_it(client, rpc, staff, tickets):
    handed = rpc.answers[("documents", "begin_upload")]

    def begin(account_id, payload):
        if payload["filename"] == "c.exe":
            raise UnsupportedMediaType("No .exe.")
        return handed()

    rpc.answers[("documents", "begin_upload")] = begin
    body, headers = multipart(("file", "a.txt", b"first"), ("file", "b.txt", b"second"), ("file", "c.exe", b"MZ"))
    resp = client.simulate_post(UPLOAD_URL, body=body, headers={**staff, **headers})
    assert resp.status_code == 415, resp.text
    assert not calls(rpc, "complete_uploads")
    assert calls(rpc, "cancel_uploads") == [{"payload": {"upload_ids": [t["upload_id"] for t in tickets]}}]


def test_a_refused_batch_is_cancelled_whole(client, rpc, staff, tickets):
    rpc.answers[("documents", "complete_uploads")] = Conflict("This request takes at most 1 files.")
    body, headers = multipart(("file", "a.txt", b"first"), ("file", "b.txt", b"second"))
    resp = client.simulate_post(UPLOAD_URL, body=body, headers={**staff, **headers})
    assert resp.status_code == 409, resp.text
    assert calls(rpc, "cancel_uploads") == [{"payload": {"upload_ids": [t["upload_id"] for t in tickets]}}]


def test_link_uploads_tell_documents_how_many_files_came_before_each(client, rpc, tickets):
    rpc.answers[("documents", "complete_link_uploads")] = lambda token, address, payload: {"items": [
        {"name": "x", "size": i["size"], "duplicate": False, "received_at": "2026-11-23T10:00:00Z"}
        for i in payload["items"]]}
    body, headers = multipart(("file", "a.txt", b"first"), ("file", "b.txt", b"second"), ("file", "c.txt", b"3"))
    resp = client.simulate_post("/api/public/links/tok123/files", body=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert [c["payload"]["files_before"] for c in calls(rpc, "begin_link_upload")] == [0, 1, 2]
    [completed] = calls(rpc, "complete_link_uploads")
    assert (completed["token"], [i["upload_id"] for i in completed["payload"]["items"]]) == (
        "tok123", [t["upload_id"] for t in tickets])


def test_a_chunked_multipart_upload_is_stored_whole(client, rpc, staff, ticket, store):
    body, headers = multipart(("file", "a.txt", b"hello"))
    resp = client.simulate_post(UPLOAD_URL, headers={**staff, **headers}, extras=chunked(body))
    assert resp.status_code == 201, resp.text
    assert rpc.last("complete_uploads")[3]["payload"]["items"][0]["size"] == 5
    assert store.read_range(ticket["object_key"], 0, 5) == b"hello"


def test_a_raw_body_shorter_than_its_content_length_is_400_and_stores_nothing(client, rpc, staff, ticket,
                                                                              s3_client, bucket):
    """What the server hands on when the client goes away mid-upload: fewer bytes than it announced."""
    resp = client.simulate_post(UPLOAD_URL, params={"filename": "a.txt"}, headers=staff,
                                extras={"wsgi.input": io.BytesIO(b"hello"), "CONTENT_LENGTH": "10"})
    assert resp.status_code == 400, resp.text
    assert not calls(rpc, "complete_uploads")
    # The store took the announced length, so the short body never became an object (not even until the cancel).
    assert objects(s3_client, bucket, ticket["object_key"]) == []
    assert rpc.last("cancel_uploads")[3] == {"payload": {"upload_ids": [ticket["upload_id"]]}}


def test_a_multipart_body_cut_short_inside_a_file_is_400_and_files_nothing(client, rpc, staff, ticket):
    body, headers = multipart(("file", "a.txt", b"hello"))
    resp = client.simulate_post(UPLOAD_URL, body=body[:-30], headers={**staff, **headers})
    assert resp.status_code == 400, resp.text
    assert not calls(rpc, "complete_uploads")
    assert rpc.last("cancel_uploads")[3] == {"payload": {"upload_ids": [ticket["upload_id"]]}}


def test_a_multipart_body_cut_short_inside_its_second_file_completes_neither(client, rpc, staff, tickets):
    body, headers = multipart(("file", "a.txt", b"first"), ("file", "b.txt", b"second"))
    resp = client.simulate_post(UPLOAD_URL, body=body[:body.index(b"second") + 3], headers={**staff, **headers})
    assert resp.status_code == 400, resp.text
    assert not calls(rpc, "complete_uploads")
    assert calls(rpc, "cancel_uploads") == [{"payload": {"upload_ids": [t["upload_id"] for t in tickets]}}]


class Breaks(io.RawIOBase):
    """What gunicorn's input does when a chunked body stops before its last chunk: it raises its own error."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.data.read(size)
        if not chunk:
            raise OSError("the chunked body ended before its last chunk")  # gunicorn's NoMoreData is an IOError
        return chunk


def test_a_body_whose_reading_fails_is_400_and_files_nothing(client, rpc, staff, tickets):
    # Files longer than the form parser reads ahead, so the break comes well inside the second.
    body, headers = multipart(("file", "a.txt", b"first file " * 20_000), ("file", "b.txt", b"second " * 20_000))
    resp = client.simulate_post(UPLOAD_URL, headers={**staff, **headers},
                                extras={**chunked(b""), "wsgi.input": Breaks(body[:body.index(b"second") + 70_000])})
    assert resp.status_code == 400, resp.text
    assert len(tickets) == 2
    assert not calls(rpc, "complete_uploads")
    assert calls(rpc, "cancel_uploads") == [{"payload": {"upload_ids": [t["upload_id"] for t in tickets]}}]


@pytest.mark.parametrize("url", [UPLOAD_URL, "/api/public/links/tok123/files"])
def test_a_file_part_named_in_latin_1_is_400_before_documents_hears_of_it(client, rpc, staff, ticket, url):
    boundary = "porta-test-boundary"
    body = (f"--{boundary}\r\n".encode() + b'Content-Disposition: form-data; name="file"; filename="r\xe9sum\xe9.pdf"'
            + b"\r\n\r\nhello\r\n" + f"--{boundary}--\r\n".encode())
    resp = client.simulate_post(url, body=body, headers={
        **staff, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert resp.status_code == 400, resp.text
    assert "UTF-8" in resp.json["description"]
    assert not [c for c in rpc.calls if c[1] in ("begin_upload", "begin_link_upload")]


def test_multipart_text_fields_before_the_file_go_along_with_it(client, rpc, ticket):
    rpc.answers[("documents", "begin_link_upload")] = ticket
    rpc.answers[("documents", "complete_link_uploads")] = {"items": [{"name": "a.txt", "size": 5, "duplicate": False,
                                                                     "received_at": "2026-11-23T10:00:00Z"}]}
    body, headers = multipart(("uploader_name", None, b"Jane Doe"), ("uploader_email", None, b"jane@example.com"),
                              ("file", "a.txt", b"hello"))
    resp = client.simulate_post("/api/public/links/tok123/files", body=body, headers=headers)
    assert resp.status_code == 201, resp.text
    payload = rpc.last("begin_link_upload")[3]["payload"]
    assert (payload["filename"], payload["uploader_name"], payload["uploader_email"]) == (
        "a.txt", "Jane Doe", "jane@example.com")


def test_the_first_bytes_are_read_while_documents_answers_begin(client, rpc, staff, ticket, store):
    read = threading.Event()

    class Watched(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            read.set()
            return super().read(size)

    seen: list[bool] = []

    def begin(**kwargs):
        seen.append(read.wait(timeout=2))  # sequential code would read only after this answer
        return ticket

    rpc.answers[("documents", "begin_upload")] = begin
    resp = client.simulate_post(UPLOAD_URL, params={"filename": "a.txt"}, headers=staff,
                                extras={**chunked(b""), "wsgi.input": Watched(DATA[:10])})
    assert resp.status_code == 201, resp.text
    assert store.read_range(ticket["object_key"], 0, 10) == DATA[:10]
    assert seen == [True]
