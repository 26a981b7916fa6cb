"""File requests over the whole system: the firm asks for files into a folder, a person with the
emailed link uploads them without logging in, the firm sees them and hears of them in its Inbox+.
The last test does the article's whole flow in Chromium."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.emails import link_in, to
from tests.samples import PDF, documents_of, employee, make_request, objects_under, token_of
from tests.waiting import eventually


@pytest.fixture
def account(firm):
    return firm["api"].post("/api/v1/accounts", json={"name": "Smith Family", "type": "family"}).json()


def send_file(anonymous, token, name, data, **params):
    return anonymous.post(f"/api/public/links/{token}/files", params={"filename": name, **params}, data=data,
                          headers={"Content-Type": "application/octet-stream"})


def inbox_item(api, request) -> dict | None:
    items = api.get("/api/v1/inbox").json()["items"]
    return next((i for i in items if i["subject_id"] == request["id"]), None)


def test_a_request_has_a_link_to_copy_in_the_requested_files_list(firm, account, anonymous):
    request = make_request(firm["api"], account)
    assert request["status"] == "open" and request["url"].startswith("http")
    listed = firm["api"].get(f"/api/v1/accounts/{account['id']}/file-requests").json()["items"]
    assert [(r["id"], r["url"]) for r in listed] == [(request["id"], request["url"])]
    info = anonymous.get(f"/api/public/links/{token_of(request)}").json()
    assert (info["kind"], info["firm_name"], info["message"]) == ("file_request", "Acme CPA",
                                                                  "Please send your W-2 for 2025.")


def test_sending_by_email_reaches_any_address_with_the_upload_link(firm, account, mailbox):
    request = make_request(firm["api"], account, send_email=True, recipients=["banker@example.org"])
    message = mailbox.wait_for(to("banker@example.org"), timeout=20)
    assert link_in(message) == request["url"]
    assert "Please send your W-2" in message.get_body(preferencelist=("plain",)).get_content()


def test_resend_emails_the_request_again(firm, account, mailbox):
    request = make_request(firm["api"], account, send_email=True, recipients=["banker@example.org"])
    mailbox.wait_for(to("banker@example.org"), timeout=20)
    assert firm["api"].post(f"/api/v1/file-requests/{request['id']}/resend", json={}).status_code == 200
    eventually(lambda: len([m for m in mailbox.messages() if to("banker@example.org")(m)]) == 2, timeout=20)


def test_an_upload_through_the_link_lands_in_the_folder_and_answers_only_what_was_sent(firm, account, anonymous):
    upload_documents = firm["api"].post(f"/api/v1/accounts/{account['id']}/documents",
                                        params={"filename": "internal.pdf"}, data=PDF)
    assert upload_documents.status_code == 201
    request = make_request(firm["api"], account)
    resp = send_file(anonymous, token_of(request), "w2.pdf", PDF + b"w2", uploader_name="Jane Smith",
                     uploader_email="jane@example.org")
    assert resp.status_code == 201, resp.text
    assert [(i["name"], i["duplicate"]) for i in resp.json()["items"]] == [("w2.pdf", False)]
    assert "internal.pdf" not in resp.text
    [received] = [d for d in documents_of(firm["api"], account) if d["name"] == "w2.pdf"]
    assert received["source"] == "link" and received["file_request_id"] == request["id"]
    assert received["uploaded_by"] == {"kind": "link", "user_id": None, "name": "Jane Smith",
                                       "email": "jane@example.org"}
    assert received["new"] is True


def test_every_arrival_updates_one_inbox_item_per_request(firm, account, anonymous):
    request = make_request(firm["api"], account)
    send_file(anonymous, token_of(request), "a.pdf", PDF + b"a")
    eventually(lambda: (inbox_item(firm["api"], request) or {}).get("count") == 1, timeout=20)
    send_file(anonymous, token_of(request), "b.pdf", PDF + b"b")
    eventually(lambda: (inbox_item(firm["api"], request) or {}).get("count") == 2, timeout=20)
    assert len([i for i in firm["api"].get("/api/v1/inbox").json()["items"] if i["subject_id"] == request["id"]]) == 1


def test_done_uploading_notifies_once_per_batch(firm, account, anonymous, service_engine):
    def done_events() -> int:
        """file_request_done events documents committed for this request (with the call that caused them)."""
        with service_engine("documents").connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM outbox WHERE event_type = 'file_request_done' "
                                    "AND payload -> 'data' -> 'file_request' ->> 'id' = :id"), {"id": request["id"]})

    request = make_request(firm["api"], account)
    token = token_of(request)
    send_file(anonymous, token, "a.pdf", PDF + b"a")
    eventually(lambda: inbox_item(firm["api"], request) is not None, timeout=20)
    assert anonymous.post(f"/api/public/links/{token}/done", json={}).status_code == 204
    eventually(lambda: "done" in inbox_item(firm["api"], request)["title"].lower(), timeout=20)
    events = inbox_item(firm["api"], request)["event_count"]
    assert anonymous.post(f"/api/public/links/{token}/done", json={}).status_code == 204
    # Nothing new since the first Done: no event at all (not merely none heard yet), so the inbox stays.
    assert done_events() == 1
    assert inbox_item(firm["api"], request)["event_count"] == events


def test_the_same_content_through_the_same_link_is_not_stored_twice(firm, account, anonymous):
    request = make_request(firm["api"], account)
    first = send_file(anonymous, token_of(request), "w2.pdf", PDF)
    again = send_file(anonymous, token_of(request), "w2 copy.pdf", PDF)
    assert again.status_code == 200
    [item] = again.json()["items"]
    assert item["duplicate"] is True and item["received_at"] == first.json()["items"][0]["received_at"]
    assert len(documents_of(firm["api"], account)) == 1


def test_after_revoke_the_link_answers_410_everywhere(firm, account, anonymous):
    request = make_request(firm["api"], account)
    token = token_of(request)
    revoked = firm["api"].post(f"/api/v1/file-requests/{request['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert anonymous.get(f"/p/{token}").status_code == 410
    assert "no longer valid" in anonymous.get(f"/p/{token}").text
    assert anonymous.get(f"/api/public/links/{token}").status_code == 410
    assert send_file(anonymous, token, "late.pdf", PDF).status_code == 410
    assert anonymous.post(f"/api/public/links/{token}/done", json={}).status_code == 410
    assert documents_of(firm["api"], account) == []


def test_an_expired_link_answers_410_and_stores_nothing(firm, account, anonymous, s3_client, bucket,
                                                        service_engine):
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    request = make_request(firm["api"], account, expires_at=expires)
    info = anonymous.get(f"/api/public/links/{token_of(request)}")
    assert info.status_code == 200 and info.json()["file_request"]["expires_at"] == request["expires_at"], info.text
    # The clock moved past the expiry instead of a sleep past a short one: where documents keeps the
    # request's expiry and where links keeps its link's, each compared with its own clock.
    for service, table, row in (("documents", "file_requests", "id = :id"),
                                ("links", "links", "target->>'id' = :id AND kind = 'file_request'")):
        with service_engine(service).begin() as conn:
            moved = conn.execute(text(f"UPDATE {table} SET expires_at = now() - interval '1 second' WHERE {row}"),
                                 {"id": request["id"]})
            assert moved.rowcount == 1, (service, moved.rowcount)
    assert send_file(anonymous, token_of(request), "late.pdf", PDF).status_code == 410
    assert objects_under(s3_client, bucket, firm) == []


def test_editing_the_message_changes_the_upload_page(firm, account, anonymous):
    request = make_request(firm["api"], account)
    edited = firm["api"].patch(f"/api/v1/file-requests/{request['id']}", json={"message": "Only the 1099 please."})
    assert edited.status_code == 200 and edited.json()["message"] == "Only the 1099 please."
    # The page answers from the links service's view, which documents' file_request_updated keeps current.
    eventually(lambda: "Only the 1099 please." in anonymous.get(f"/p/{token_of(request)}").text, timeout=20)


def test_the_upload_page_is_answered_by_the_links_service_alone(firm, account, anonymous, service_engine):
    request = make_request(firm["api"], account, max_files=3)
    with service_engine("documents").begin() as conn:  # documents could not answer it any more
        conn.execute(text("UPDATE file_requests SET message = 'not what the page shows' WHERE id = :id"),
                     {"id": request["id"]})
    info = anonymous.get(f"/api/public/links/{token_of(request)}").json()
    assert (info["firm_name"], info["message"]) == ("Acme CPA", "Please send your W-2 for 2025.")
    assert info["file_request"]["max_files"] == 3


def test_a_chunked_body_over_the_requests_limit_is_413_and_nothing_is_stored(firm, account, anonymous,
                                                                              s3_client, bucket):
    request = make_request(firm["api"], account, max_bytes=1000)

    def body():
        yield PDF
        yield b"x" * 2000

    resp = anonymous.post(f"/api/public/links/{token_of(request)}/files", params={"filename": "big.pdf"},
                          data=body())
    assert resp.status_code == 413
    assert documents_of(firm["api"], account) == []
    eventually(lambda: objects_under(s3_client, bucket, firm) == [])


def test_a_declared_length_over_the_requests_limit_is_413_before_any_byte_is_stored(firm, account, anonymous,
                                                                                     s3_client, bucket):
    request = make_request(firm["api"], account, max_bytes=1000)
    resp = send_file(anonymous, token_of(request), "big.pdf", PDF + b"x" * 2000)
    assert resp.status_code == 413
    assert documents_of(firm["api"], account) == []
    assert objects_under(s3_client, bucket, firm) == []


def test_a_request_limited_to_pdf_refuses_other_types(firm, account, anonymous):
    request = make_request(firm["api"], account, allowed_types=["pdf"])
    assert send_file(anonymous, token_of(request), "notes.txt", b"hello\n").status_code == 415


def test_a_request_limited_to_one_file_refuses_the_second(firm, account, anonymous):
    request = make_request(firm["api"], account, max_files=1)
    assert send_file(anonymous, token_of(request), "a.pdf", PDF + b"a").status_code == 201
    assert send_file(anonymous, token_of(request), "b.pdf", PDF + b"b").status_code == 409


@pytest.mark.parametrize("rights", [[], ["manage_documents"]], ids=["no rights", "manage_documents"])
def test_a_request_on_an_account_hidden_from_an_employee_answers_as_an_unknown_one(
        firm, account, mailbox, anonymous, api_for, rights):
    request = make_request(firm["api"], account)
    emma = employee(firm, mailbox, anonymous, api_for, rights=rights)
    for method, suffix, body in [("get", "", None), ("patch", "", {"message": "Mine now."}),
                                 ("post", "/resend", {}), ("post", "/revoke", None)]:
        hidden = getattr(emma, method)(f"/api/v1/file-requests/{request['id']}{suffix}", json=body)
        unknown = getattr(emma, method)(f"/api/v1/file-requests/{uuid.uuid4()}{suffix}", json=body)
        assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json()), (method, suffix)
        assert hidden.status_code == 404
    assert firm["api"].get(f"/api/v1/file-requests/{request['id']}").json()["status"] == "open"


def test_a_guest_account_files_each_uploader_into_his_own_folder(firm, anonymous):
    api = firm["api"]
    guest = api.post("/api/v1/accounts", json={"name": "Uploads from non-clients", "type": "company",
                                              "guest": True}).json()
    request = make_request(api, guest)
    token = token_of(request)
    assert send_file(anonymous, token, "a.pdf", PDF).status_code == 422  # who are you?
    send_file(anonymous, token, "a.pdf", PDF, uploader_name="Bob Banker", uploader_email="bob@bank.example")
    send_file(anonymous, token, "b.pdf", PDF + b"b", uploader_name="Lisa Lawyer", uploader_email="lisa@law.example")
    folders = {f["id"]: f["name"] for f in api.get(f"/api/v1/accounts/{guest['id']}/folders").json()["items"]}
    placed = {d["name"]: folders[d["folder_id"]] for d in documents_of(api, guest)}
    assert placed == {"a.pdf": "Bob Banker (bob@bank.example)", "b.pdf": "Lisa Lawyer (lisa@law.example)"}


def test_the_whole_article_flow_in_chromium(firm, account, mailbox, page, anonymous):
    """The firm asks, a third party opens the emailed link, drops two files, presses done; the firm
    sees them in the folder and in its inbox; after revoke the page says the link is dead."""
    api = firm["api"]
    request = make_request(api, account, send_email=True, recipients=["assistant@example.org"])
    link = link_in(mailbox.wait_for(to("assistant@example.org"), timeout=20))
    page.goto(link)
    assert "Acme CPA asks you for files" in page.inner_text("h1")
    assert "Please send your W-2 for 2025." in page.inner_text("#message")
    # A real drop: a DataTransfer holding two files, dispatched on the drop zone.
    files = page.evaluate_handle("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["%PDF-1.4\\nfirst\\n%%EOF\\n"], "w2.pdf", {type: "application/pdf"}));
        transfer.items.add(new File(["name,amount\\nrent,1200\\n"], "expenses.csv", {type: "text/csv"}));
        return transfer;
    }""")
    page.dispatch_event("#drop", "drop", {"dataTransfer": files})
    page.locator(".file .state.ok").nth(1).wait_for()  # not wait_for_function: the page's CSP forbids eval
    assert page.locator("progress").evaluate_all("bars => bars.map(b => b.value)") == [100, 100]
    page.click("#done")
    page.wait_for_selector("#done-note:has-text('Thank you')")
    names = sorted(d["name"] for d in documents_of(api, account))
    assert names == ["expenses.csv", "w2.pdf"]
    eventually(lambda: "done" in (inbox_item(api, request) or {}).get("title", "").lower(), timeout=20)
    assert inbox_item(api, request)["count"] == 2
    api.post(f"/api/v1/file-requests/{request['id']}/revoke")
    page.reload()
    assert "no longer valid" in page.content()
