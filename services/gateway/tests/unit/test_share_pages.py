"""The share and approval pages over the fake RPC client, and the share's zip body over a fake store."""
from __future__ import annotations

import io
import zipfile

import pytest

from gateway.resources.shares import _ArchiveBody, in_words
from shared.errors import Gone

SHARE_LINK = {"id": "l1", "kind": "share", "firm_id": "f1", "target": {"type": "share_recipient", "id": "r1"}}
APPROVAL_LINK = {"id": "l2", "kind": "approval", "firm_id": "f1", "target": {"type": "approver", "id": "a1"}}


def document(name: str, content_type: str, *, available: bool = True) -> dict:
    return {"id": f"00000000-0000-4000-8000-{len(name):012d}", "name": name, "size": 2_500_000,
            "content_type": content_type, "viewable": content_type in ("application/pdf", "image/png"),
            "available": available}


@pytest.fixture
def shared(rpc):
    rpc.answers[("links", "describe_link")] = SHARE_LINK
    rpc.answers[("crm", "describe_firm")] = {"name": "Smith & <Sons> CPA"}
    rpc.answers[("documents", "open_share")] = {
        "message": "<b>For the loan</b>", "email": "banker@example.org", "expires_at": "2027-03-03T10:00:00Z",
        "documents": [document("return.pdf", "application/pdf"), document("notes.csv", "text/csv"),
                      document("held.png", "image/png", available=False)]}


def test_the_share_page_escapes_what_it_shows_and_offers_a_view_only_for_pdfs_and_images(client, shared):
    resp = client.simulate_get("/p/tok")
    assert resp.status_code == 200
    assert "Smith &amp; &lt;Sons&gt; CPA shared 3 documents with you" in resp.text
    assert "&lt;b&gt;For the loan&lt;/b&gt;" in resp.text and "<b>" not in resp.text
    assert "until 3 March 2027 at 10:00 UTC" in resp.text
    assert resp.text.count('class="secondary view"') == 1  # the PDF; the CSV is only downloaded, the PNG held
    assert "still being checked for viruses" in resp.text
    assert "/api/public/links/tok/archive" in resp.text and "2.5 MB" in resp.text
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_the_link_info_carries_the_share(client, shared):
    info = client.simulate_get("/api/public/links/tok").json
    assert info["kind"] == "share" and info["expires_at"] == "2027-03-03T10:00:00Z"
    assert [d["name"] for d in info["share"]["documents"]] == ["return.pdf", "notes.csv", "held.png"]


def test_an_expired_share_says_why(client, rpc, shared):
    rpc.answers[("documents", "open_share")] = Gone("This share has expired.")
    resp = client.simulate_get("/p/tok")
    assert resp.status_code == 410 and "This share has expired." in resp.text


@pytest.mark.parametrize("status, request_status, expected", [
    ("pending", "pending", "Your decision"),
    ("approved", "approved", "You approved this document on 1 February 2027 at 09:30 UTC"),
    ("pending", "disapproved", "This document was already disapproved"),
])
def test_the_approval_page_asks_only_while_a_decision_is_needed(client, rpc, status, request_status, expected):
    rpc.answers[("links", "describe_link")] = APPROVAL_LINK
    rpc.answers[("crm", "describe_firm")] = {"name": "Acme CPA"}
    rpc.answers[("documents", "describe_approval")] = {
        "message": None, "email": "p@example.org", "document_name": "return.pdf", "content_type": "application/pdf",
        "size": 10, "status": status, "request_status": request_status, "comment": None,
        "decided_at": "2027-02-01T09:30:00Z" if status != "pending" else None}
    resp = client.simulate_get("/p/tok")
    assert resp.status_code == 200 and expected in resp.text
    assert ('id="decide" hidden' in resp.text) is (request_status != "pending")
    assert 'class="pdf-pages"' in resp.text and "/static/approval.js" in resp.text


def test_times_in_words():
    assert in_words("2027-03-03T10:05:00Z") == "3 March 2027 at 10:05 UTC" and in_words(None) is None


class FakeDownload:
    def __init__(self, data: bytes, opened: list[str], key: str) -> None:
        self.chunks = iter([data[i:i + 4] for i in range(0, len(data), 4)])
        self.opened, self.key = opened, key

    def close(self) -> None:
        self.opened.remove(self.key)


class FakeStore:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects, self.opened, self.ever_opened = objects, [], []

    def open(self, key: str) -> FakeDownload:
        self.opened.append(key)
        self.ever_opened.append(key)
        return FakeDownload(self.objects[key], self.opened, key)


MEMBERS = [{"name": "a.pdf", "size": 10, "object_key": "k/a"}, {"name": "b.csv", "size": 6, "object_key": "k/b"}]


def test_the_zip_opens_each_object_only_when_it_gets_there_and_knows_its_length():
    store = FakeStore({"k/a": b"0123456789", "k/b": b"x,y\n1\n"})
    body = _ArchiveBody(store, MEMBERS)
    assert store.ever_opened == []  # nothing opened before the first byte is asked for
    data = b"".join(body)
    assert len(data) == len(body)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert [(i.filename, archive.read(i)) for i in archive.infolist()] == [("a.pdf", b"0123456789"),
                                                                         ("b.csv", b"x,y\n1\n")]
    assert store.ever_opened == ["k/a", "k/b"] and store.opened == []  # each closed when done


def test_a_client_that_leaves_mid_zip_leaves_no_object_open():
    store = FakeStore({"k/a": b"0123456789", "k/b": b"x,y\n1\n"})
    body = _ArchiveBody(store, MEMBERS)
    chunks = iter(body)
    while not store.opened:
        next(chunks)
    body.close()  # what the WSGI server does when the client goes away
    assert store.opened == [] and store.ever_opened == ["k/a"]
