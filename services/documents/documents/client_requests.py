"""Client requests: a small questionnaire for an account, answered as the person types.

With `login_required` off the request goes out as a link (kind `client_request`, in the links service)
that anyone who has it can answer; with it on there is no link and only the account's portal users
answer it. Answers are saved question by question (`save_answers`: the questions named change, the
others keep their saved answers), so a closed tab loses nothing; `submit` checks the required questions
and makes the answers final: every later write is a Conflict (409). Files for a file question go into
the account's client root (where a client finds them in the portal) and the question's answer is the
list of their document ids.

Plain Python over a SQLAlchemy session, no nameko; the caller commits.
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from documents import archive, folders, uploads
from documents.models import ClientRequest, ClientRequestDocument, ClientRequestUpload, Document, Upload
from shared.context import Principal
from shared.contracts.documents import MAX_QUESTION_FILES, MAX_TEXT_ANSWER
from shared.errors import Conflict, Gone, NotFound, ValidationFailed
from shared.paging import newest_first
from shared.storage import ObjectStore

# What an unknown request, another firm's, or one on an account hidden from the caller answers alike.
NO_SUCH_REQUEST = "No such client request."
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Submitter:
    """Who answers: the person with the link (nobody we know), or a client user in the portal."""

    kind: str  # link | client
    user_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "user_id": str(self.user_id) if self.user_id else None, "name": self.name,
                "email": self.email}

    def uploader(self) -> uploads.Uploader:
        if self.kind == "client":
            return uploads.Uploader(kind="client", source="portal", user_id=self.user_id, name=self.name,
                                    email=self.email)
        return uploads.Uploader(kind="link", source="link")


LINK = Submitter(kind="link")


# -- making one -----------------------------------------------------------------------------------


def prepare_questions(questions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The questions as stored: labels and options trimmed, an id for each one that has none (unique)."""
    prepared: list[dict[str, Any]] = []
    taken = {q["id"] for q in questions if q.get("id")}
    for position, question in enumerate(questions):
        label = question["label"].strip()
        if not label:
            raise ValidationFailed("A question needs a label.", {"questions": {str(position): {"label": [
                "Must not be blank."]}}})
        question_id = question.get("id")
        while not question_id or question_id in taken - {question.get("id")}:
            question_id = f"q{uuid.uuid4().hex[:8]}"  # given ids are unique (the schema checks); made ones too
        taken.add(question_id)
        options = [o.strip() for o in question["options"]] if question.get("options") else None
        if options is not None and (not all(options) or len(set(options)) != len(options)):
            raise ValidationFailed("Each option once, none blank.", {"questions": {str(position): {"options": [
                "Each option once, none blank."]}}})
        prepared.append({"id": question_id, "kind": question["kind"], "label": label,
                         "required": bool(question.get("required")), "options": options})
    return prepared


def require_portal_recipients(recipients: Iterable[str], access_rows: Iterable[Mapping[str, Any]]) -> None:
    """With `login_required`, the request is answered in the portal only: each recipient must be an
    address of the account with portal LOGIN on (crm's access rows), or the email would lead nowhere."""
    with_login = {str(row["email"]).lower() for row in access_rows if row.get("login")}
    strangers = [r for r in recipients if r.lower() not in with_login]
    if strangers:
        raise ValidationFailed("With login required, send only to the account's portal users.",
                               {"recipients": [f"{r} has no portal access to this account." for r in strangers]})


def create(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, created_by: uuid.UUID | None,
           data: Mapping[str, Any]) -> ClientRequest:
    expires_at = data.get("expires_at")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise ValidationFailed("The request would be expired already.", {"expires_at": ["Must be in the future."]})
    message = (data.get("message") or "").strip() or None
    request = ClientRequest(id=uuid.uuid4(), firm_id=firm_id, account_id=account_id, title=data["title"].strip(),
                            message=message, questions=prepare_questions(data["questions"]), answers={},
                            status="sent", login_required=data["login_required"],
                            recipients=sorted({r.lower() for r in data.get("recipients") or []}),
                            expires_at=expires_at, created_by=created_by)
    if not request.title:
        raise ValidationFailed("Give the request a title.", {"title": ["Must not be blank."]})
    db.add(request)
    db.flush()
    return request


def link_payload(request: ClientRequest) -> dict[str, Any]:
    """A reusable link, retrievable so staff can copy it again, that expires with the request."""
    return {"firm_id": str(request.firm_id), "kind": "client_request",
            "target": {"type": "client_request", "id": str(request.id)}, "single_use": False, "retrievable": True,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None}


def attach_link(request: ClientRequest, link_id: uuid.UUID) -> None:
    request.link_id = link_id
    _touch(request)


def _touch(request: ClientRequest) -> None:
    """Set here rather than at the flush, so an event dumped before the commit tells the stored time."""
    request.updated_at = datetime.now(UTC)


# -- finding --------------------------------------------------------------------------------------


def find(db: DbSession, firm_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False) -> ClientRequest:
    query = select(ClientRequest).where(ClientRequest.firm_id == firm_id, ClientRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    request = db.scalar(query)
    if request is None:
        raise NotFound(NO_SUCH_REQUEST)
    return request


def find_in_portal(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, request_id: uuid.UUID, *,
                   lock: bool = False) -> ClientRequest:
    """A request of this account as its portal users see it: a canceled one is not found."""
    request = find(db, firm_id, request_id, lock=lock)
    if request.account_id != account_id or request.status == "canceled":
        raise NotFound(NO_SUCH_REQUEST)
    return request


def list_for_account(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int, cursor: str | None,
                     *, portal: bool = False) -> tuple[list[ClientRequest], str | None]:
    """Newest first; the portal does not list canceled requests."""
    query = select(ClientRequest).where(ClientRequest.firm_id == firm_id, ClientRequest.account_id == account_id)
    if portal:
        query = query.where(ClientRequest.status != "canceled")
    return newest_first(db, query, ClientRequest, limit, cursor)


# -- what each side sees --------------------------------------------------------------------------


def documents_by_question(db: DbSession, requests: Iterable[ClientRequest]) -> dict[uuid.UUID, dict[str, list]]:
    """Per request, per file question, the documents uploaded for it (oldest first)."""
    by_request: dict[uuid.UUID, dict[str, list]] = {}
    ids = [r.id for r in requests]
    if not ids:
        return by_request
    rows = db.execute(select(ClientRequestDocument, Document)
                      .join(Document, Document.id == ClientRequestDocument.document_id)
                      .where(ClientRequestDocument.client_request_id.in_(ids))
                      .order_by(ClientRequestDocument.created_at, Document.id))
    for link, document in rows:
        by_request.setdefault(link.client_request_id, {}).setdefault(link.question_id, []).append(document)
    return by_request


def current_answers(request: ClientRequest, documents: Mapping[str, list]) -> dict[str, Any]:
    """The saved answers, a file question's ids limited to its documents that still exist (staff may delete one)."""
    answers = dict(request.answers or {})
    for question in request.questions:
        if question["kind"] == "file" and question["id"] in answers:
            existing = {str(d.id) for d in documents.get(question["id"], [])}
            answers[question["id"]] = [i for i in answers[question["id"]] if i in existing]
    return answers


def as_fields(request: ClientRequest, documents: Mapping[str, list]) -> dict[str, Any]:
    """What staff see (ClientRequestSchema), `url` aside."""
    fields = {column.key: getattr(request, column.key) for column in ClientRequest.__table__.columns}
    return {**fields, "answers": current_answers(request, documents),
            "document_ids": {q: [d.id for d in found] for q, found in documents.items()}}


def public_view(request: ClientRequest, documents: Mapping[str, list]) -> dict[str, Any]:
    """What the person answering sees (PublicClientRequestSchema): the questions, his answers and files."""
    answers = current_answers(request, documents)
    files = {}
    for question in request.questions:
        if question["kind"] == "file":
            chosen = set(answers.get(question["id"]) or [])
            files[question["id"]] = [{"id": d.id, "name": d.name, "size": d.size}
                                     for d in documents.get(question["id"], []) if str(d.id) in chosen]
    return {**{column.key: getattr(request, column.key) for column in ClientRequest.__table__.columns},
            "answers": answers, "files": files}


def links_to_reveal(requests: Iterable[ClientRequest]) -> list[str]:
    """The links staff may copy: those of requests still waiting for answers."""
    return [str(r.link_id) for r in requests if r.link_id is not None and r.status == "sent"]


# -- open, submitted, canceled --------------------------------------------------------------------


def closed_because(request: ClientRequest) -> str | None:
    """Why the request takes no answers at all any more, or None."""
    if request.status == "canceled":
        return "This request was canceled."
    if request.expires_at is not None and request.expires_at <= datetime.now(UTC):
        return "This request has expired."
    return None


def require_link_open(request: ClientRequest) -> None:
    """Through a link, a canceled or expired request is Gone (410), whatever links has heard yet."""
    reason = closed_because(request)
    if reason is not None:
        raise Gone(reason)
    if request.login_required:  # never had a link; a token naming it is not one of its own
        raise NotFound("No such link.")


def require_writable(request: ClientRequest) -> None:
    """Answers and files change only while the request waits for them (a Conflict once submitted; a
    closed one answers as `closed_because` says, 409 in the portal: the link's side raised 410 before)."""
    reason = closed_because(request)
    if reason is not None:
        raise Conflict(reason)
    if request.status == "submitted":
        raise Conflict("These answers were submitted already and cannot change.")


def cancel(request: ClientRequest) -> bool:
    """True when this call canceled it (False: canceled before). A submitted request can still be
    canceled: its answers stay, its link stops."""
    if request.status == "canceled":
        return False
    request.status = "canceled"
    request.canceled_at = datetime.now(UTC)
    _touch(request)
    return True


# -- answers --------------------------------------------------------------------------------------


def _question(request: ClientRequest, question_id: str) -> dict[str, Any] | None:
    return next((q for q in request.questions if q["id"] == question_id), None)


def check_answer(question: Mapping[str, Any], value: Any, uploaded: set[str]) -> Any:
    """The answer as stored, or ValueError saying in plain words what this question takes. None clears it."""
    if value is None:
        return None
    kind = question["kind"]
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        if len(value) > MAX_TEXT_ANSWER:
            raise ValueError(f"At most {MAX_TEXT_ANSWER:,} characters.")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("Must be a number.")
        return value
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise ValueError("Must be true (yes) or false (no).")
        return value
    if kind == "choice":
        if not isinstance(value, str) or value not in question["options"]:
            raise ValueError(f"Must be one of: {', '.join(question['options'])}.")
        return value
    if kind == "date":
        if not isinstance(value, str) or not DATE.match(value):
            raise ValueError("Must be a date as YYYY-MM-DD.")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError("Must be a real date as YYYY-MM-DD.") from None
        return value
    if kind == "file":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("Must be a list of the ids of files uploaded for this question.")
        chosen = list(dict.fromkeys(v.lower() for v in value))
        if any(v not in uploaded for v in chosen):
            raise ValueError("Name only files uploaded for this question.")
        return chosen
    raise ValueError("This question takes no answer.")


def unanswered(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def missing_required(request: ClientRequest, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [q for q in request.questions if q["required"] and unanswered(answers.get(q["id"]))]


def save_answers(request: ClientRequest, given: Mapping[str, Any], documents: Mapping[str, list], *,
                 submit: bool, submitter: Submitter) -> bool:
    """Save the answers given (each checked against its question; a refused one names its question), then
    submit if asked: True when this call submitted the request. Nothing changes when anything is refused."""
    require_writable(request)
    errors: dict[str, list[str]] = {}
    answers = current_answers(request, documents)
    for question_id, value in given.items():
        question = _question(request, question_id)
        if question is None:
            errors[question_id] = ["No such question."]
            continue
        uploaded = {str(d.id) for d in documents.get(question_id, [])}
        try:
            answers[question_id] = check_answer(question, value, uploaded)
        except ValueError as exc:
            errors[question_id] = [f"{question['label']}: {exc}"]
    if errors:
        raise ValidationFailed("Some answers are not what their questions take.", {"answers": errors})
    answers = {k: v for k, v in answers.items() if v is not None}
    if submit:
        missing = missing_required(request, answers)
        if missing:
            raise ValidationFailed(f"Please answer: {', '.join(q['label'] for q in missing)}.",
                                   {"answers": {q["id"]: [f"{q['label']}: required."] for q in missing}})
    now = datetime.now(UTC)
    if given:
        request.answers = answers  # a new dict: the JSONB column is written whole
        request.answered_at = now
    if submit:
        request.status, request.submitted_at, request.submitted_by = "submitted", now, submitter.as_dict()
    if given or submit:
        _touch(request)
    return submit


def submitted_counts(request: ClientRequest) -> dict[str, int]:
    """What the firm hears with the submission: questions asked and answered, files held."""
    answers = request.answers or {}
    files = sum(len(answers.get(q["id"]) or []) for q in request.questions if q["kind"] == "file")
    return {"questions": len(request.questions), "documents": files,
            "answered": len([q for q in request.questions if not unanswered(answers.get(q["id"]))])}


# -- files for a file question --------------------------------------------------------------------


def file_question(request: ClientRequest, question_id: str) -> dict[str, Any]:
    question = _question(request, question_id)
    if question is None or question["kind"] != "file":
        raise ValidationFailed("Name a file question of this request.",
                               {"question_id": [f"{question_id!r} is not a file question of this request."]})
    return question


def begin_upload(db: DbSession, request: ClientRequest, data: Mapping[str, Any], submitter: Submitter, *,
                 max_upload_bytes: int, files_before: int = 0) -> Upload:
    """A file for a file question (`QuestionUploadSchema`): into the account's client root, never unpacked."""
    require_writable(request)
    question = file_question(request, data["question_id"])
    held = db.scalars(select(ClientRequestDocument.document_id).where(
        ClientRequestDocument.client_request_id == request.id,
        ClientRequestDocument.question_id == question["id"])).all()
    if len(held) + files_before >= MAX_QUESTION_FILES:
        raise Conflict(f"A question takes at most {MAX_QUESTION_FILES} files.")
    folder = folders.ensure_roots(db, request.firm_id, request.account_id)["client"]
    upload = uploads.begin(db, folder=folder, filename=data["filename"], declared_type=data["content_type"],
                           size=data["size"], unzip=False, uploader=submitter.uploader(),
                           max_bytes=max_upload_bytes)
    db.add(ClientRequestUpload(upload_id=upload.id, firm_id=request.firm_id, client_request_id=request.id,
                               question_id=question["id"]))
    db.flush()
    return upload


def find_uploads(db: DbSession, request: ClientRequest, question_id: str, upload_ids: list[uuid.UUID],
                 principal: Principal | None) -> list[Upload]:
    """The caller's uploads begun for this request's question (a portal user's own, or the link's), locked
    for completing them together; any other is not found."""
    batch = uploads.find_batch(db, upload_ids)
    tied = {row.upload_id: row for row in db.scalars(select(ClientRequestUpload).where(
        ClientRequestUpload.upload_id.in_(upload_ids)))}
    for upload in batch:
        row = tied.get(upload.id)
        if (row is None or row.client_request_id != request.id or row.question_id != question_id
                or not uploads.belongs_to(upload, principal)):
            raise NotFound("No such upload.")
    return batch


def receive(db: DbSession, store: ObjectStore, request: ClientRequest, question_id: str, upload: Upload, *,
            size: int, sha256: str, head: bytes, limits: archive.ArchiveLimits, scan_status: str) -> Document:
    """Complete one upload for the question: its document is tied to the question and added to its
    answer. Anything refused raises; the caller discards it."""
    require_writable(request)
    completed = uploads.complete(db, store, upload, size=size, sha256=sha256, head=head, limits=limits,
                                 scan_status=scan_status)
    [document] = completed.documents  # never unpacked: one file, one document
    db.add(ClientRequestDocument(document_id=document.id, firm_id=request.firm_id, client_request_id=request.id,
                                 question_id=question_id))
    answers = dict(request.answers or {})
    answers[question_id] = [*(answers.get(question_id) or []), str(document.id)]
    request.answers = answers
    request.answered_at = datetime.now(UTC)
    _touch(request)
    db.flush()
    return document


def discard_if_closed(db: DbSession, store: ObjectStore, upload_ids: Iterable[uuid.UUID]) -> None:
    """Uploads for a request that takes no more files can never complete: they go now, not with the
    sweeper (it was canceled, expired or submitted while their bytes were on their way)."""
    for upload_id in upload_ids:
        row = db.get(ClientRequestUpload, upload_id)
        if row is None:
            continue
        request = db.get(ClientRequest, row.client_request_id)
        if request is None or closed_because(request) is not None or request.status != "sent":
            uploads.discard(db, store, upload_id)


def discard_tied(db: DbSession, store: ObjectStore, request_id: uuid.UUID, upload_ids: Iterable[uuid.UUID]) -> None:
    """After a refused completion: the named uploads begun for this request go with their bytes now."""
    for upload_id in upload_ids:
        row = db.get(ClientRequestUpload, upload_id)
        if row is not None and row.client_request_id == request_id:
            uploads.discard(db, store, upload_id)
