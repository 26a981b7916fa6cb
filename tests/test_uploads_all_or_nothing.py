"""A multi-file upload (multipart, several files; staff, portal and link) is all or nothing: every file
is stored and the answer lists them, or none is (no object in the store, no row) and the answer is the
error. A body that cannot be read (a part's name that is not UTF-8, a body that stops early, chunked or
not) is a 400 that stores nothing."""
from __future__ import annotations

import pytest

from tests.samples import PDF, documents_of, form, make_request, objects_under, post_cut_short, token_of

FILES = (("file", "a.pdf", PDF + b"a"), ("file", "b.pdf", PDF + b"b"), ("file", "c.pdf", PDF + b"c"))


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def staff_path(account: dict) -> str:
    return f"/api/v1/accounts/{account['id']}/documents"


def link_path(request: dict) -> str:
    return f"/api/public/links/{token_of(request)}/files"


def assert_nothing_stored(firm, account, s3_client, bucket) -> None:
    assert documents_of(firm["api"], account) == []
    assert objects_under(s3_client, bucket, firm) == []


def test_three_files_from_staff_are_stored_and_listed(firm, account):
    body, headers = form(*FILES)
    resp = firm["api"].post(staff_path(account), data=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert [d["name"] for d in resp.json()["items"]] == ["a.pdf", "b.pdf", "c.pdf"]
    assert sorted(d["name"] for d in documents_of(firm["api"], account)) == ["a.pdf", "b.pdf", "c.pdf"]


def test_three_files_through_a_link_are_stored_and_listed(firm, account, anonymous):
    request = make_request(firm["api"], account, max_files=3)
    body, headers = form(*FILES)
    resp = anonymous.post(link_path(request), data=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert [(i["name"], i["duplicate"]) for i in resp.json()["items"]] == [
        ("a.pdf", False), ("b.pdf", False), ("c.pdf", False)]
    assert sorted(d["name"] for d in documents_of(firm["api"], account)) == ["a.pdf", "b.pdf", "c.pdf"]


def test_three_files_from_the_portal_are_stored_and_listed(client_portal):
    body, headers = form(*FILES)
    resp = client_portal["client"].post(f"{client_portal['base']}/documents", data=body, headers=headers)
    assert resp.status_code == 201, resp.text
    assert [d["name"] for d in resp.json()["items"]] == ["a.pdf", "b.pdf", "c.pdf"]
    listed = client_portal["client"].get(f"{client_portal['base']}/documents").json()["items"]
    assert sorted(d["name"] for d in listed) == ["a.pdf", "b.pdf", "c.pdf"]


def test_three_files_through_a_link_taking_two_are_409_and_none_is_stored(firm, account, anonymous, s3_client,
                                                                          bucket):
    request = make_request(firm["api"], account, max_files=2)
    body, headers = form(*FILES)
    resp = anonymous.post(link_path(request), data=body, headers=headers)
    assert resp.status_code == 409, resp.text
    assert_nothing_stored(firm, account, s3_client, bucket)
    # The request took nothing: two files still fit.
    body, headers = form(*FILES[:2])
    assert anonymous.post(link_path(request), data=body, headers=headers).status_code == 201


def test_a_link_upload_of_two_files_with_one_file_left_is_409_and_none_is_stored(firm, account, anonymous,
                                                                                 s3_client, bucket):
    request = make_request(firm["api"], account, max_files=2)
    body, headers = form(FILES[0])
    assert anonymous.post(link_path(request), data=body, headers=headers).status_code == 201
    body, headers = form(*FILES[1:])
    resp = anonymous.post(link_path(request), data=body, headers=headers)
    assert resp.status_code == 409, resp.text
    assert [d["name"] for d in documents_of(firm["api"], account)] == ["a.pdf"]


def test_a_refused_last_file_refuses_the_files_before_it(firm, account, s3_client, bucket):
    body, headers = form(FILES[0], FILES[1], ("file", "program.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200))
    resp = firm["api"].post(staff_path(account), data=body, headers=headers)
    assert resp.status_code == 415, resp.text
    assert_nothing_stored(firm, account, s3_client, bucket)


def test_a_refused_last_file_from_the_portal_refuses_the_files_before_it(firm, client_portal, s3_client, bucket):
    body, headers = form(FILES[0], FILES[1], ("file", "empty.pdf", b""))
    resp = client_portal["client"].post(f"{client_portal['base']}/documents", data=body, headers=headers)
    assert resp.status_code == 422, resp.text
    assert_nothing_stored(firm, client_portal["account"], s3_client, bucket)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_cut_short_inside_its_second_part_is_400_and_stores_nothing(firm, account, base_url, s3_client,
                                                                          bucket, chunked):
    body, headers = form(*FILES)
    cut = body[:body.index(b"b.pdf") + 40]  # inside the second file's bytes
    status, answer = post_cut_short(base_url, staff_path(account),
                                    {**headers, "Authorization": firm["api"].session.headers["Authorization"]},
                                    cut, chunked=chunked)
    assert status == 400, answer
    assert answer["title"]
    assert_nothing_stored(firm, account, s3_client, bucket)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_link_upload_cut_short_inside_its_second_part_is_400_and_stores_nothing(firm, account, base_url,
                                                                                 s3_client, bucket, chunked):
    request = make_request(firm["api"], account)
    body, headers = form(*FILES)
    cut = body[:body.index(b"b.pdf") + 40]
    status, answer = post_cut_short(base_url, link_path(request), headers, cut, chunked=chunked)
    assert status == 400, answer
    assert_nothing_stored(firm, account, s3_client, bucket)


def test_a_raw_chunked_body_that_stops_before_its_last_chunk_is_400_and_stores_nothing(firm, account, base_url,
                                                                                      s3_client, bucket):
    status, answer = post_cut_short(base_url, f"{staff_path(account)}?filename=big.pdf",
                                    {"Authorization": firm["api"].session.headers["Authorization"],
                                     "Content-Type": "application/pdf"}, PDF + b"x" * 5000, chunked=True)
    assert status == 400, answer
    assert_nothing_stored(firm, account, s3_client, bucket)


def test_a_chunked_json_body_that_stops_before_its_last_chunk_is_400(firm, account, base_url):
    status, answer = post_cut_short(base_url, f"/api/v1/accounts/{account['id']}/folders",
                                    {"Authorization": firm["api"].session.headers["Authorization"],
                                     "Content-Type": "application/json"}, b'{"name": "2025", "client_acc',
                                    chunked=True)
    assert status == 400, answer
    assert all(f["root"] for f in firm["api"].get(f"/api/v1/accounts/{account['id']}/folders").json()["items"])


NOT_UTF8 = "résumé.pdf".encode("latin-1")


def test_a_file_part_named_in_latin_1_is_400_and_stores_nothing(firm, account, s3_client, bucket):
    body, headers = form(FILES[0], ("file", NOT_UTF8, PDF))
    resp = firm["api"].post(staff_path(account), data=body, headers=headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["title"]
    assert_nothing_stored(firm, account, s3_client, bucket)


def test_a_file_part_named_in_latin_1_through_a_link_is_400_and_stores_nothing(firm, account, anonymous,
                                                                                s3_client, bucket):
    request = make_request(firm["api"], account)
    body, headers = form(("uploader_name", None, b"Jane"), ("file", NOT_UTF8, PDF))
    resp = anonymous.post(link_path(request), data=body, headers=headers)
    assert resp.status_code == 400, resp.text
    assert_nothing_stored(firm, account, s3_client, bucket)
