"""Client requests over RPC, on the run's broker, database and bucket (crm and links are test doubles):
staff send one, the person with the link answers as he types and uploads files per question, submits
once; a portal user answers his account's requests; a canceled request's link is gone."""
from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from documents.models import ClientRequest, Document, Folder, Upload
from shared.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from shared.storage import HEAD_BYTES

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TOKEN, ADDRESS = "a-client-request-token", "10.1.2.3"
STAFF, CLIENT = uuid.uuid4(), uuid.uuid4()
QUESTIONS = [
    {"id": "name", "kind": "text", "label": "Your name", "required": True},
    {"id": "kids", "kind": "number", "label": "How many children?"},
    {"id": "married", "kind": "yes_no", "label": "Married?", "required": True},
    {"id": "w2", "kind": "file", "label": "Your W-2"},
]


def create_request(documents: Any, **fields: Any) -> dict:
    """A request staff send for the test's account (`documents`: conftest's `Documents`)."""
    return documents.call("create_client_request", STAFF, account_id=str(documents.account_id), payload={
        "title": "2025 taxes", "questions": QUESTIONS, "login_required": False, **fields})


def answer(documents: Any, answers: dict, submit: bool = False) -> dict:
    return documents.call("save_link_answers", token=TOKEN, address=ADDRESS,
                          payload={"answers": answers, "submit": submit})


def as_client(documents: Any) -> None:
    """crm authorises the caller as a client of the account from now on."""
    documents.crm.authorize_account.return_value = {
        "account": {"id": str(documents.account_id), "name": "Smith Family", "guest": False},
        "principal_kind": "client", "user": {"name": "Jane Smith", "email": "jane@home.example"},
        "portal_settings": {}}


@pytest.fixture
def requests_removed(documents_engine: Engine, firm_id: uuid.UUID) -> Iterator[None]:
    yield
    with documents_engine.begin() as connection:
        connection.execute(delete(ClientRequest).where(ClientRequest.firm_id == firm_id))


@pytest.fixture
def documents(documents: Any, requests_removed: None) -> Any:
    """conftest's `Documents`, its doubles answering as crm and links do for client requests."""
    documents.crm.describe_firm.return_value = {"name": "Acme CPA"}
    documents.links.reveal_links.side_effect = lambda firm_id, link_ids: {
        "items": [{"id": i, "token": TOKEN, "live": True} for i in link_ids]}
    return documents




def upload_for(documents: Any, put_object: Callable[[str, bytes], None], question_id: str,
               data: bytes = PDF, name: str = "w2.pdf") -> dict:
    ticket = documents.call("begin_link_answer_upload", token=TOKEN, address=ADDRESS,
                            payload={"question_id": question_id, "filename": name, "size": len(data)})
    put_object(ticket["object_key"], data)
    return documents.call("complete_link_answer_uploads", token=TOKEN, address=ADDRESS, question_id=question_id,
                          payload={"items": [{"upload_id": ticket["upload_id"], "size": len(data),
                                              "sha256": hashlib.sha256(data).hexdigest(),
                                              "head": base64.b64encode(data[:HEAD_BYTES]).decode()}]})


# -- staff ---------------------------------------------------------------------------------------------


def test_a_request_goes_out_as_a_retrievable_link_and_is_emailed_to_its_recipients(documents, events):
    created = create_request(documents, recipients=["Jane@Home.example"], message="Before Friday, please.")
    issued = documents.links.issue_link.call_args.kwargs["payload"]
    assert (issued["kind"], issued["target"], issued["retrievable"], issued["single_use"]) == (
        "client_request", {"type": "client_request", "id": created["id"]}, True, False)
    assert created["status"] == "sent" and created["url"] is None  # the replayable reply holds no token
    got = documents.call("get_client_request", STAFF, client_request_id=created["id"])
    assert got["url"].endswith(f"/p/{TOKEN}")
    [sent] = events("client_request_sent")
    assert sent["data"]["recipients"] == ["jane@home.example"] and sent["data"]["firm_name"] == "Acme CPA"
    assert sent["data"]["message"] == "Before Friday, please." and "answers" not in sent["data"]["client_request"]


def test_login_required_sends_no_link_and_only_to_portal_users(documents):
    documents.crm.list_access.return_value = {"items": [
        {"email": "jane@home.example", "login": True}, {"email": "bob@home.example", "login": False}]}
    with pytest.raises(ValidationFailed) as refused:
        create_request(documents, login_required=True, recipients=["bob@home.example"])
    assert "bob@home.example" in refused.value.errors["recipients"][0]
    created = create_request(documents, login_required=True, recipients=["jane@home.example"])
    documents.links.issue_link.assert_not_called()
    assert documents.call("get_client_request", STAFF, client_request_id=created["id"])["url"] is None


def test_question_ids_are_made_where_absent(documents):
    created = create_request(documents, questions=[{"kind": "text", "label": "A"}, {"kind": "date", "label": "B"}])
    ids = [q["id"] for q in created["questions"]]
    assert len(set(ids)) == 2 and all(ids)


def test_cancel_revokes_the_link_and_the_link_is_gone(documents, events):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    canceled = documents.call("cancel_client_request", STAFF, client_request_id=created["id"])
    assert canceled["status"] == "canceled" and canceled["canceled_at"]
    documents.links.revoke_link.assert_called_once()
    with pytest.raises(Gone):
        documents.call("describe_client_request", token=TOKEN, address=ADDRESS)
    with pytest.raises(Gone):
        answer(documents, {"name": "Jane"})
    documents.call("cancel_client_request", STAFF, client_request_id=created["id"])
    assert len(events("client_request_canceled")) == 1


def test_another_firms_request_is_not_found(documents):
    created = create_request(documents)
    documents.firm_id, mine = uuid.uuid4(), documents.firm_id
    with pytest.raises(NotFound):
        documents.call("get_client_request", STAFF, client_request_id=created["id"])
    documents.firm_id = mine


# -- the person with the link ----------------------------------------------------------------------------


def test_partial_answers_are_kept_between_visits(documents):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    answer(documents, {"name": "Jane Smith"})
    answer(documents, {"kids": 2})
    seen = documents.call("describe_client_request", token=TOKEN, address=ADDRESS)
    assert seen["answers"] == {"name": "Jane Smith", "kids": 2} and seen["status"] == "sent"
    staff = documents.call("get_client_request", STAFF, client_request_id=created["id"])
    assert staff["answers"] == {"name": "Jane Smith", "kids": 2} and staff["answered_at"]


def test_a_wrong_type_is_422_naming_the_question_and_nothing_is_saved(documents):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    with pytest.raises(ValidationFailed) as refused:
        answer(documents, {"name": "Jane", "kids": "two"})
    assert list(refused.value.errors["answers"]) == ["kids"]
    assert documents.call("describe_client_request", token=TOKEN, address=ADDRESS)["answers"] == {}


def test_submit_checks_required_questions_then_submits_once_and_the_answers_are_final(documents, events):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    answer(documents, {"name": "Jane"})
    with pytest.raises(ValidationFailed) as refused:
        answer(documents, {}, submit=True)
    assert list(refused.value.errors["answers"]) == ["married"]
    submitted = answer(documents, {"married": False}, submit=True)
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    with pytest.raises(Conflict):
        answer(documents, {"name": "Janet"})
    with pytest.raises(Conflict):
        answer(documents, {}, submit=True)
    [event] = events("client_request_submitted")
    assert event["data"]["submitted_by"]["kind"] == "link"
    assert (event["data"]["answered"], event["data"]["questions"]) == (2, 4)
    assert documents.call("describe_client_request", token=TOKEN, address=ADDRESS)["status"] == "submitted"


def test_files_for_a_file_question_land_in_the_client_root_and_are_its_answer(documents, put_object, read):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    answered = upload_for(documents, put_object, "w2")
    [item] = answered["items"]
    assert answered["answer"] == [item["id"]] and item["name"] == "w2.pdf"
    [document] = read(select(Document).where(Document.id == uuid.UUID(item["id"])))
    folder = read(select(Folder).where(Folder.id == document.folder_id))[0]
    assert folder.root == "client" and document.source == "link"
    staff = documents.call("get_client_request", STAFF, client_request_id=created["id"])
    assert staff["answers"]["w2"] == [item["id"]] and staff["document_ids"] == {"w2": [item["id"]]}
    seen = documents.call("describe_client_request", token=TOKEN, address=ADDRESS)
    assert seen["files"] == {"w2": [{"id": item["id"], "name": "w2.pdf", "size": len(PDF)}]}
    # Taken out of the answer: the document stays, the answer no longer holds it.
    assert answer(documents, {"w2": []})["files"] == {"w2": []}


def test_a_file_answer_may_name_only_that_questions_files(documents, put_object):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    with pytest.raises(ValidationFailed) as refused:
        answer(documents, {"w2": [str(uuid.uuid4())]})
    assert list(refused.value.errors["answers"]) == ["w2"]


def test_files_only_for_a_file_question(documents):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    with pytest.raises(ValidationFailed):
        documents.call("begin_link_answer_upload", token=TOKEN, address=ADDRESS,
                       payload={"question_id": "name", "filename": "a.pdf", "size": 10})


def test_an_upload_for_another_question_is_not_found_and_leaves_nothing(documents, put_object, read, keys_under):
    created = create_request(documents, questions=[*QUESTIONS, {"id": "id_card", "kind": "file", "label": "ID"}])
    documents.link_resolves_to("client_request", created["id"])
    ticket = documents.call("begin_link_answer_upload", token=TOKEN, address=ADDRESS,
                            payload={"question_id": "w2", "filename": "w2.pdf", "size": len(PDF)})
    put_object(ticket["object_key"], PDF)
    with pytest.raises(NotFound):
        documents.call("complete_link_answer_uploads", token=TOKEN, address=ADDRESS, question_id="id_card",
                       payload={"items": [{"upload_id": ticket["upload_id"], "size": len(PDF),
                                           "sha256": hashlib.sha256(PDF).hexdigest(),
                                           "head": base64.b64encode(PDF).decode()}]})
    assert read(select(Upload.id).where(Upload.id == uuid.UUID(ticket["upload_id"]))) == []
    assert keys_under(ticket["object_key"]) == []
    assert documents.call("describe_client_request", token=TOKEN, address=ADDRESS)["answers"] == {}


def test_after_submit_no_file_is_taken(documents):
    created = create_request(documents)
    documents.link_resolves_to("client_request", created["id"])
    answer(documents, {"name": "Jane", "married": True}, submit=True)
    with pytest.raises(Conflict):
        documents.call("begin_link_answer_upload", token=TOKEN, address=ADDRESS,
                       payload={"question_id": "w2", "filename": "w2.pdf", "size": 10})


# -- the portal ---------------------------------------------------------------------------------------------


def test_a_portal_user_lists_answers_and_submits_his_accounts_requests(documents, events, put_object):
    created = create_request(documents, login_required=True)
    canceled = create_request(documents)
    documents.call("cancel_client_request", STAFF, client_request_id=canceled["id"])
    as_client(documents)
    listed = documents.call("list_portal_client_requests", CLIENT, "client", account_id=str(documents.account_id),
                            query={})["items"]
    assert [r["id"] for r in listed] == [created["id"]]
    account, request = str(documents.account_id), created["id"]
    documents.call("save_portal_answers", CLIENT, "client", account_id=account, client_request_id=request,
                   payload={"answers": {"name": "Jane"}})
    ticket = documents.call("begin_portal_answer_upload", CLIENT, "client", account_id=account,
                            client_request_id=request, payload={"question_id": "w2", "filename": "w2.pdf",
                                                                "size": len(PDF)})
    put_object(ticket["object_key"], PDF)
    files = documents.call("complete_portal_answer_uploads", CLIENT, "client", account_id=account,
                           client_request_id=request, question_id="w2",
                           payload={"items": [{"upload_id": ticket["upload_id"], "size": len(PDF),
                                               "sha256": hashlib.sha256(PDF).hexdigest(),
                                               "head": base64.b64encode(PDF).decode()}]})
    done = documents.call("save_portal_answers", CLIENT, "client", account_id=account, client_request_id=request,
                          payload={"answers": {"married": True}, "submit": True})
    assert done["status"] == "submitted" and done["answers"]["w2"] == files["answer"]
    [event] = events("client_request_submitted")
    assert event["data"]["submitted_by"] == {"kind": "client", "user_id": str(CLIENT), "name": "Jane Smith",
                                             "email": "jane@home.example"}
    with pytest.raises(NotFound):
        documents.call("save_portal_answers", CLIENT, "client", account_id=account,
                       client_request_id=canceled["id"], payload={"answers": {"name": "Jane"}})


def test_staff_cannot_answer_in_the_portal(documents):
    created = create_request(documents)
    with pytest.raises(Forbidden):
        documents.call("save_portal_answers", STAFF, account_id=str(documents.account_id),
                       client_request_id=created["id"], payload={"answers": {"name": "Jane"}})


def test_the_list_shows_each_request_with_its_url_newest_first(documents):
    first, second = create_request(documents), create_request(documents, title="Second")
    listed = documents.call("list_client_requests", STAFF, account_id=str(documents.account_id), query={})
    assert [r["id"] for r in listed["items"]] == [second["id"], first["id"]]
    assert all(r["url"].endswith(f"/p/{TOKEN}") for r in listed["items"]) and listed["next_cursor"] is None
