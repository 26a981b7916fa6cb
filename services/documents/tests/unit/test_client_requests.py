"""Client requests without a database: what a question takes, what a request's answers become, what
the create body may hold."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from documents import client_requests
from documents.models import ClientRequest
from shared.contracts.documents import AnswersSchema, ClientRequestCreateSchema
from shared.errors import Conflict, Gone, NotFound, ValidationFailed

QUESTIONS = [
    {"id": "name", "kind": "text", "label": "Your name", "required": True, "options": None},
    {"id": "income", "kind": "number", "label": "Income in 2025", "required": False, "options": None},
    {"id": "married", "kind": "yes_no", "label": "Married?", "required": True, "options": None},
    {"id": "filing", "kind": "choice", "label": "Filing status", "required": False,
     "options": ["Single", "Jointly"]},
    {"id": "moved", "kind": "date", "label": "Moved in on", "required": False, "options": None},
    {"id": "w2", "kind": "file", "label": "Your W-2", "required": False, "options": None},
]
DOC = uuid.UUID("00000000-0000-4000-8000-0000000000d1")


class Doc:
    """A document as documents_by_question gives them (only the id matters here)."""

    def __init__(self, document_id: uuid.UUID) -> None:
        self.id, self.name, self.size = document_id, "w2.pdf", 10


def request(**fields) -> ClientRequest:
    return ClientRequest(**{"id": uuid.uuid4(), "firm_id": uuid.uuid4(), "account_id": uuid.uuid4(),
                            "title": "2025 taxes", "questions": QUESTIONS, "answers": {}, "status": "sent",
                            "login_required": False, "expires_at": None, **fields})


def question(question_id: str) -> dict:
    return next(q for q in QUESTIONS if q["id"] == question_id)


# -- what each kind of question takes ---------------------------------------------------------------


@pytest.mark.parametrize(("question_id", "value"), [
    ("name", "Jane Smith"), ("income", 52000), ("income", 1200.5), ("income", 0), ("married", False),
    ("filing", "Jointly"), ("moved", "2025-02-28"), ("w2", [str(DOC)]),
])
def test_each_kind_takes_its_type(question_id, value):
    assert client_requests.check_answer(question(question_id), value, {str(DOC)}) == value


@pytest.mark.parametrize(("question_id", "value"), [
    ("name", 42), ("name", ["Jane"]), ("income", "52000"), ("income", True), ("income", float("inf")),
    ("married", "yes"), ("married", 1), ("filing", "Married"), ("filing", "jointly"), ("moved", "28/02/2025"),
    ("moved", "2025-02-30"), ("moved", 20250228), ("w2", str(DOC)), ("w2", [str(uuid.uuid4())]), ("w2", [1]),
])
def test_a_wrong_type_is_refused_in_plain_words(question_id, value):
    with pytest.raises(ValueError, match=r"^(Must|Name)"):
        client_requests.check_answer(question(question_id), value, {str(DOC)})


def test_too_long_a_text_is_refused():
    with pytest.raises(ValueError, match="At most"):
        client_requests.check_answer(question("name"), "x" * 10_001, set())


def test_null_clears_an_answer_of_any_kind():
    assert all(client_requests.check_answer(q, None, set()) is None for q in QUESTIONS)


def test_a_file_answer_names_each_document_once():
    assert client_requests.check_answer(question("w2"), [str(DOC), str(DOC).upper()], {str(DOC)}) == [str(DOC)]


# -- saving and submitting ---------------------------------------------------------------------------


def test_partial_answers_merge_with_those_saved_before():
    saved = request()
    client_requests.save_answers(saved, {"name": "Jane"}, {}, submit=False, submitter=client_requests.LINK)
    client_requests.save_answers(saved, {"income": 100}, {}, submit=False, submitter=client_requests.LINK)
    assert saved.answers == {"name": "Jane", "income": 100}
    assert saved.status == "sent" and saved.answered_at is not None


def test_null_removes_a_saved_answer():
    saved = request(answers={"name": "Jane", "income": 100})
    client_requests.save_answers(saved, {"income": None}, {}, submit=False, submitter=client_requests.LINK)
    assert saved.answers == {"name": "Jane"}


def test_a_wrong_answer_names_its_question_and_changes_nothing():
    saved = request(answers={"name": "Jane"})
    with pytest.raises(ValidationFailed) as refused:
        client_requests.save_answers(saved, {"name": "Janet", "income": "a lot"}, {}, submit=False,
                                     submitter=client_requests.LINK)
    assert list(refused.value.errors["answers"]) == ["income"]
    assert "Income in 2025" in refused.value.errors["answers"]["income"][0]
    assert saved.answers == {"name": "Jane"}


def test_an_unknown_question_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        client_requests.save_answers(request(), {"nope": "x"}, {}, submit=False, submitter=client_requests.LINK)
    assert refused.value.errors == {"answers": {"nope": ["No such question."]}}


def test_submit_names_every_required_question_left_unanswered():
    saved = request(answers={"name": "   "})
    with pytest.raises(ValidationFailed) as refused:
        client_requests.save_answers(saved, {}, {}, submit=True, submitter=client_requests.LINK)
    assert sorted(refused.value.errors["answers"]) == ["married", "name"]
    assert "Your name" in refused.value.description and "Married?" in refused.value.description
    assert saved.status == "sent"


def test_submit_with_every_required_answer_submits_once():
    saved = request(answers={"name": "Jane"})
    client = client_requests.Submitter(kind="client", user_id=uuid.uuid4(), name="Jane", email="jane@home.example")
    assert client_requests.save_answers(saved, {"married": True}, {}, submit=True, submitter=client) is True
    assert saved.status == "submitted" and saved.submitted_at is not None
    assert saved.submitted_by == client.as_dict()
    with pytest.raises(Conflict):
        client_requests.save_answers(saved, {}, {}, submit=True, submitter=client)


def test_after_submit_every_write_is_a_conflict():
    saved = request(status="submitted")
    with pytest.raises(Conflict):
        client_requests.save_answers(saved, {"name": "Changed"}, {}, submit=False, submitter=client_requests.LINK)


def test_a_file_answer_drops_documents_deleted_since():
    saved = request(answers={"w2": [str(DOC), str(uuid.uuid4())]})
    assert client_requests.current_answers(saved, {"w2": [Doc(DOC)]})["w2"] == [str(DOC)]


def test_submitted_counts_tell_what_was_answered():
    saved = request(answers={"name": "Jane", "married": False, "w2": [str(DOC)]})
    assert client_requests.submitted_counts(saved) == {"questions": 6, "answered": 3, "documents": 1}


# -- open, canceled, expired -------------------------------------------------------------------------


def test_a_canceled_request_is_gone_through_its_link():
    canceled = request()
    assert client_requests.cancel(canceled) is True and client_requests.cancel(canceled) is False
    with pytest.raises(Gone):
        client_requests.require_link_open(canceled)


def test_an_expired_request_is_gone_through_its_link_and_a_conflict_in_the_portal():
    expired = request(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(Gone):
        client_requests.require_link_open(expired)
    with pytest.raises(Conflict):
        client_requests.require_writable(expired)


def test_a_request_that_requires_login_is_no_link_target():
    with pytest.raises(NotFound):
        client_requests.require_link_open(request(login_required=True))


# -- making one ----------------------------------------------------------------------------------------


def test_questions_without_ids_get_unique_ones_and_given_ids_stay():
    prepared = client_requests.prepare_questions([
        {"id": None, "kind": "text", "label": " Name ", "required": False, "options": None},
        {"id": "q2", "kind": "choice", "label": "Status", "required": True, "options": [" A ", "B"]},
        {"id": None, "kind": "date", "label": "When", "required": False, "options": None},
    ])
    ids = [q["id"] for q in prepared]
    assert ids[1] == "q2" and len(set(ids)) == 3 and all(ids)
    assert prepared[0]["label"] == "Name" and prepared[1]["options"] == ["A", "B"]


def test_a_blank_label_is_refused():
    with pytest.raises(ValidationFailed):
        client_requests.prepare_questions([{"id": None, "kind": "text", "label": "  ", "required": False,
                                            "options": None}])


def test_login_required_recipients_must_have_portal_login():
    rows = [{"email": "jane@home.example", "login": True}, {"email": "bob@home.example", "login": False}]
    client_requests.require_portal_recipients(["Jane@home.example"], rows)
    with pytest.raises(ValidationFailed) as refused:
        client_requests.require_portal_recipients(["jane@home.example", "bob@home.example", "x@y.example"], rows)
    assert len(refused.value.errors["recipients"]) == 2


def body(**fields) -> dict:
    return {"title": "2025 taxes", "login_required": False,
            "questions": [{"kind": "text", "label": "Your name"}], **fields}


def test_the_create_body_needs_options_for_a_choice_and_only_there():
    schema = ClientRequestCreateSchema()
    with pytest.raises(ValidationError):
        schema.load(body(questions=[{"kind": "choice", "label": "Status"}]))
    with pytest.raises(ValidationError):
        schema.load(body(questions=[{"kind": "text", "label": "Name", "options": ["a"]}]))
    with pytest.raises(ValidationError):
        schema.load(body(questions=[{"kind": "choice", "label": "Status", "options": ["a", "a"]}]))
    assert schema.load(body(questions=[{"kind": "choice", "label": "S", "options": ["a", "b"]}]))["questions"]


def test_the_create_body_refuses_an_unknown_kind_and_a_repeated_id():
    schema = ClientRequestCreateSchema()
    with pytest.raises(ValidationError):
        schema.load(body(questions=[{"kind": "signature", "label": "Sign"}]))
    with pytest.raises(ValidationError):
        schema.load(body(questions=[{"id": "a", "kind": "text", "label": "A"}, {"id": "a", "kind": "text",
                                                                                 "label": "B"}]))
    with pytest.raises(ValidationError):
        schema.load(body(questions=[]))
    with pytest.raises(ValidationError):
        schema.load(body(login_required="no"))


def test_answers_and_submit_are_optional_but_submit_is_a_real_boolean():
    assert AnswersSchema().load({}) == {"answers": {}, "submit": False}
    with pytest.raises(ValidationError):
        AnswersSchema().load({"submit": "true"})
