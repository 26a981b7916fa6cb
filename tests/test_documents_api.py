"""Documents over the whole system: folders, uploads streamed into the real S3 server, downloads
with Range, zips unpacked, bad uploads refused with nothing stored (the portal's side is in
test_portal_documents.py)."""
from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.samples import PDF, employee, objects_under, private_root, upload, zip_of
from tests.waiting import eventually


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def test_every_account_has_a_private_and_a_client_root(firm, account):
    folders = firm["api"].get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
    assert {(f["root"], f["client_access"]) for f in folders} == {("private", "none"), ("client", "view_edit")}


def test_a_raw_upload_is_stored_with_its_sniffed_type_and_hash(firm, account):
    resp = upload(firm["api"], account, "return.pdf", PDF)
    assert resp.status_code == 201, resp.text
    [document] = resp.json()["items"]
    assert document["content_type"] == "application/pdf"
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["size"] == len(PDF)
    assert document["uploaded_by"]["kind"] == "staff"
    assert document["source"] == "staff"


def test_a_download_streams_the_bytes_back_and_honours_range(firm, account):
    [document] = upload(firm["api"], account, "return.pdf", PDF).json()["items"]
    whole = firm["api"].get(f"/api/v1/documents/{document['id']}/content")
    assert whole.status_code == 200
    assert whole.content == PDF
    assert whole.headers["Content-Type"] == "application/pdf"
    assert "attachment" in whole.headers["Content-Disposition"]
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    part = firm["api"].get(f"/api/v1/documents/{document['id']}/content", headers={"Range": "bytes=5-9"})
    assert part.status_code == 206
    assert part.content == PDF[5:10]
    assert part.headers["Content-Range"] == f"bytes 5-9/{len(PDF)}"
    beyond = firm["api"].get(f"/api/v1/documents/{document['id']}/content",
                             headers={"Range": f"bytes={len(PDF)}-"})
    assert beyond.status_code == 416


def test_a_multipart_upload_stores_every_file(firm, account):
    resp = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", files=[
        ("file", ("a.pdf", PDF, "application/pdf")), ("file", ("notes.txt", b"call the client\n", "text/plain"))])
    assert resp.status_code == 201, resp.text
    assert [d["name"] for d in resp.json()["items"]] == ["a.pdf", "notes.txt"]


def test_a_zip_is_unpacked_into_subfolders_and_kept(firm, account):
    data = zip_of({"2025/w2.pdf": PDF, "2025/receipts/r1.txt": b"coffee 3.50\n", "summary.txt": b"hello\n"})
    resp = upload(firm["api"], account, "taxes.zip", data)
    assert resp.status_code == 201, resp.text
    items = resp.json()["items"]
    assert [d["name"] for d in items] == ["taxes.zip", "w2.pdf", "r1.txt", "summary.txt"]
    assert all(d["archive_id"] == items[0]["id"] for d in items[1:])
    names = {f["name"] for f in firm["api"].get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]}
    assert {"2025", "receipts"} <= names


def test_unzip_false_keeps_the_zip_whole(firm, account):
    resp = upload(firm["api"], account, "taxes.zip", zip_of({"a.txt": b"a\n"}), unzip="false")
    assert [d["name"] for d in resp.json()["items"]] == ["taxes.zip"]


def test_rename_keeps_the_extension_and_move_stays_in_the_account(firm, account):
    api = firm["api"]
    [document] = upload(api, account, "return.pdf", PDF).json()["items"]
    folder = api.post(f"/api/v1/accounts/{account['id']}/folders",
                      json={"name": "2025", "client_access": "none"}).json()
    moved = api.patch(f"/api/v1/documents/{document['id']}", json={"name": "Return 2025.pdf",
                                                                 "folder_id": folder["id"]})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["name"], moved.json()["folder_id"]) == ("Return 2025.pdf", folder["id"])
    assert api.patch(f"/api/v1/documents/{document['id']}", json={"name": "return.exe"}).status_code == 409


def test_deleting_a_document_deletes_its_bytes(firm, account, s3_client, bucket):
    [document] = upload(firm["api"], account, "return.pdf", PDF).json()["items"]
    assert firm["api"].delete(f"/api/v1/documents/{document['id']}").status_code == 204
    assert firm["api"].get(f"/api/v1/documents/{document['id']}").status_code == 404
    eventually(lambda: objects_under(s3_client, bucket, firm) == [])


def test_a_folder_inside_a_private_folder_cannot_be_shown_to_clients(firm, account):
    resp = firm["api"].post(f"/api/v1/accounts/{account['id']}/folders",
                            json={"name": "Shared", "client_access": "view",
                                  "parent_id": private_root(firm["api"], account)["id"]})
    assert resp.status_code == 422


@pytest.mark.parametrize(("client_access", "root"), [("none", "private"), ("view", "client"),
                                                      ("view_edit", "client")])
def test_a_folder_without_a_parent_goes_under_the_root_matching_its_client_access(firm, account, client_access,
                                                                                   root):
    api = firm["api"]
    resp = api.post(f"/api/v1/accounts/{account['id']}/folders", json={"name": "2025", "client_access": client_access})
    assert resp.status_code == 201, resp.text
    roots = {f["root"]: f["id"] for f in api.get(f"/api/v1/accounts/{account['id']}/folders").json()["items"]
             if f["root"]}
    assert (resp.json()["parent_id"], resp.json()["client_access"]) == (roots[root], client_access)


@pytest.mark.parametrize(("name", "data", "status"), [
    ("empty.pdf", b"", 422),
    ("", PDF, 422),
    ("program.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, 415),
    ("page.png", b"<html><script>alert(1)</script></html>", 415),
    ("script.exe", b"MZ\x90\x00" + b"\x00" * 100, 415),
    ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", 415),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(firm, account, s3_client, bucket, name, data, status):
    resp = upload(firm["api"], account, name, data)
    assert resp.status_code == status, resp.text
    assert resp.json()["title"]
    assert firm["api"].get(f"/api/v1/accounts/{account['id']}/documents").json()["items"] == []
    assert objects_under(s3_client, bucket, firm) == []


def test_a_path_in_the_filename_is_dropped(firm, account):
    [document] = upload(firm["api"], account, "../../etc/passwd.txt", b"root:x:0:0\n").json()["items"]
    assert document["name"] == "passwd.txt"


def test_a_pdf_declared_as_png_is_refused(firm, account, s3_client, bucket):
    resp = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents", params={"filename": "scan.pdf"},
                            data=PDF, headers={"Content-Type": "image/png"})
    assert resp.status_code == 415
    assert objects_under(s3_client, bucket, firm) == []


def test_a_zip_slip_archive_is_refused_whole(firm, account, s3_client, bucket):
    resp = upload(firm["api"], account, "evil.zip", zip_of({"ok.txt": b"fine\n", "../../evil.txt": b"x\n"}))
    assert resp.status_code == 422
    assert "evil" in resp.json()["description"]
    assert objects_under(s3_client, bucket, firm) == []


def test_a_zip_bomb_is_refused_whole(firm, account, s3_client, bucket):
    resp = upload(firm["api"], account, "bomb.zip", zip_of({"zeros.txt": b"\0" * (64 * 1024 * 1024)}))
    assert resp.status_code in (413, 422), resp.text
    assert objects_under(s3_client, bucket, firm) == []


@pytest.mark.parametrize("rights", [[], ["manage_documents"]], ids=["no rights", "manage_documents"])
def test_a_document_on_an_account_hidden_from_an_employee_answers_as_an_unknown_one(
        firm, account, mailbox, anonymous, api_for, rights):
    [document] = upload(firm["api"], account, "return.pdf", PDF).json()["items"]
    emma = employee(firm, mailbox, anonymous, api_for, rights=rights)
    for method, suffix, body in [("get", "", None), ("get", "/content", None),
                                 ("patch", "", {"name": "renamed.pdf"}), ("delete", "", None)]:
        hidden = getattr(emma, method)(f"/api/v1/documents/{document['id']}{suffix}", json=body)
        unknown = getattr(emma, method)(f"/api/v1/documents/{uuid.uuid4()}{suffix}", json=body)
        assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json()), (method, suffix)
        assert hidden.status_code == 404
    assert firm["api"].get(f"/api/v1/documents/{document['id']}").json()["name"] == "return.pdf"


def test_another_firms_documents_are_not_found(firm, signup, account):
    [document] = upload(firm["api"], account, "return.pdf", PDF).json()["items"]
    other = signup("Other CPA")["api"]
    assert other.get(f"/api/v1/documents/{document['id']}").status_code == 404
    assert other.get(f"/api/v1/documents/{document['id']}/content").status_code == 404
    assert upload(other, account, "x.pdf", PDF).status_code == 404


@pytest.fixture
def scanning_on(porta_system, clamd):
    """The documents service restarted with PORTA_CLAMD_ADDRESS (the run's clamd) for one test, then restarted
    without it, so every other test uploads with scanning off."""
    plain = porta_system.env
    porta_system.env = {**plain, "PORTA_CLAMD_ADDRESS": clamd.address}
    try:
        porta_system.restart("documents")
        yield clamd
    finally:
        porta_system.env = plain
        porta_system.restart("documents")


def test_with_a_virus_scanner_an_eicar_upload_is_quarantined_and_the_firm_sees_it(firm, account, scanning_on):
    from devstack.clamav import EICAR


    api = firm["api"]
    [infected] = upload(api, account, "eicar.txt", EICAR).json()["items"]
    [report] = upload(api, account, "return.pdf", PDF).json()["items"]
    assert (infected["scan_status"], report["scan_status"]) == ("pending", "pending")

    def status(document):
        return api.get(f"/api/v1/documents/{document['id']}").json()["scan_status"]

    eventually(lambda: status(infected) == "infected", timeout=30)
    assert api.get(f"/api/v1/documents/{infected['id']}/content").status_code == 409
    eventually(lambda: status(report) == "clean", timeout=30)
    assert api.get(f"/api/v1/documents/{report['id']}/content").content == PDF
    eventually(lambda: "document_infected" in {item["event_type"] for item in api.get(
        "/api/v1/activity", params={"account_id": account["id"]}).json()["items"]}, timeout=15)


def test_a_chunked_json_body_is_read_to_its_end(firm, account):
    def body():
        yield b'{"name": "2025", '
        yield b'"client_access": "none"}'

    resp = firm["api"].post(f"/api/v1/accounts/{account['id']}/folders", data=body(),
                            headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == "2025"
