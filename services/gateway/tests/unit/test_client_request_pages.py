"""The questionnaire page of a client request's link, and its answers endpoint, over the fake RPC client."""
from __future__ import annotations

import pytest

from shared.errors import Conflict, Gone

LINK = {"id": "l1", "kind": "client_request", "firm_id": "f1", "target": {"type": "client_request", "id": "r1"}}
QUESTIONS = [
    {"id": "name", "kind": "text", "label": "Your <name>", "required": True, "options": None},
    {"id": "kids", "kind": "number", "label": "Children", "required": False, "options": None},
    {"id": "married", "kind": "yes_no", "label": "Married?", "required": True, "options": None},
    {"id": "status", "kind": "choice", "label": "Filing", "required": False, "options": ["Single", "Jointly"]},
    {"id": "moved", "kind": "date", "label": "Moved in on", "required": False, "options": None},
    {"id": "w2", "kind": "file", "label": "Your W-2", "required": False, "options": None},
]
REQUEST = {"title": "2025 taxes", "message": "Before Friday.", "status": "sent", "questions": QUESTIONS,
           "answers": {"name": "Jane", "kids": 2, "married": False, "status": "Jointly", "moved": "2025-02-28",
                       "w2": ["0b0c0f0e-0000-4000-8000-000000000001"]},
           "files": {"w2": [{"id": "0b0c0f0e-0000-4000-8000-000000000001", "name": "w2.pdf", "size": 10}]},
           "expires_at": None, "submitted_at": None}


@pytest.fixture
def questionnaire(rpc):
    rpc.answers[("links", "describe_link")] = LINK
    rpc.answers[("crm", "describe_firm")] = {"name": "Acme CPA"}
    rpc.answers[("documents", "describe_client_request")] = REQUEST


def test_the_page_shows_each_question_with_its_saved_answer(client, questionnaire):
    resp = client.simulate_get("/p/tok123")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    page = resp.text
    assert "<h1>2025 taxes</h1>" in page and "Acme CPA asks you" in page
    assert "Your &lt;name&gt;" in page and ">Jane</textarea>" in page
    assert 'type="number"' in page and 'value="2"' in page and 'value="2025-02-28"' in page
    assert 'value="no" checked' in page and 'value="Jointly" checked' in page
    assert "w2.pdf" in page and 'src="/static/questionnaire.js"' in page and "<script>" not in page


def test_a_submitted_request_shows_its_answers_read_only(client, rpc, questionnaire):
    rpc.answers[("documents", "describe_client_request")] = {**REQUEST, "status": "submitted"}
    page = client.simulate_get("/p/tok123").text
    assert "Send my answers" not in page and "disabled" in page and "can no longer be changed" in page


def test_the_link_info_carries_the_questions(client, questionnaire):
    info = client.simulate_get("/api/public/links/tok123").json
    assert info["kind"] == "client_request" and info["firm_name"] == "Acme CPA"
    assert info["client_request"]["questions"][0]["id"] == "name" and info["message"] == "Before Friday."


def test_a_canceled_request_shows_the_dead_link_page(client, rpc, questionnaire):
    rpc.answers[("documents", "describe_client_request")] = Gone("This request was canceled.")
    resp = client.simulate_get("/p/tok123")
    assert resp.status_code == 410 and "no longer valid" in resp.text


def test_answers_after_submit_are_409(client, rpc):
    rpc.answers[("documents", "save_link_answers")] = Conflict("submitted already")
    resp = client.simulate_post("/api/public/links/tok123/answers", json={"answers": {"name": "x"}})
    assert resp.status_code == 409 and resp.headers["Referrer-Policy"] == "no-referrer"
