"""Approval requests: a document sent to people who approve it, or disapprove it saying why.

Each approver has his own link (links kind `approval`, target `{"type": "approver", "id": <his row>}`),
retrievable: his row keeps only its id (`link_id`); staff reads reveal it as his url while he may still
decide, and notifications reveals it for his email. An approver decides once, from the link or, when he
is a portal user of the account, from the portal.
The request is `approved` once every approver approved, `disapproved` as soon as one disapproved;
after that nobody decides any more (409). Deleting the document deletes its requests.

Plain Python over a SQLAlchemy session, no nameko; the caller commits.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from documents.models import ApprovalRequest, Approver, Document
from shared.errors import Conflict, NotFound
from shared.paging import newest_first

NO_SUCH_REQUEST = "No such approval request."
LINK_TARGET = "approver"


def _now() -> datetime:
    return datetime.now(UTC)


def create(db: DbSession, document: Document, created_by: uuid.UUID, data: Mapping[str, Any]) -> ApprovalRequest:
    """The request (`ApprovalCreateSchema`'s data) and one approver row per address, without links yet."""
    request = ApprovalRequest(id=uuid.uuid4(), firm_id=document.firm_id, account_id=document.account_id,
                              document_id=document.id, message=(data["message"] or "").strip() or None,
                              status="pending", created_by=created_by)
    db.add(request)
    db.flush()
    for email in data["emails"]:
        db.add(Approver(id=uuid.uuid4(), firm_id=document.firm_id, approval_request_id=request.id,
                        email=email.strip().lower(), status="pending"))
    db.flush()
    return request


def link_payload(approver: Approver) -> dict[str, Any]:
    """His link: reusable (he may look at the document several times first), never expiring by itself;
    retrievable, so staff can copy his url from the request and notifications can email it."""
    return {"firm_id": str(approver.firm_id), "kind": "approval",
            "target": {"type": LINK_TARGET, "id": str(approver.id)}, "single_use": False, "retrievable": True,
            "expires_at": None}


def links_to_reveal(pairs: Iterable[tuple[ApprovalRequest, Iterable[Approver]]]) -> list[str]:
    """The links whose url staff may copy: those of approvers still to decide on a pending request."""
    return [str(approver.link_id) for request, approvers in pairs if request.status == "pending"
            for approver in approvers if approver.link_id is not None and approver.status == "pending"]


def find(db: DbSession, firm_id: uuid.UUID, request_id: uuid.UUID, *, lock: bool = False) -> ApprovalRequest:
    query = select(ApprovalRequest).where(ApprovalRequest.firm_id == firm_id, ApprovalRequest.id == request_id)
    request = db.scalar(query.with_for_update() if lock else query)
    if request is None:
        raise NotFound(NO_SUCH_REQUEST)
    return request


def approvers_of(db: DbSession, request: ApprovalRequest) -> list[Approver]:
    return list(db.scalars(select(Approver).where(Approver.approval_request_id == request.id)
                           .order_by(Approver.created_at, Approver.email)))


def list_for_account(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, limit: int,
                     cursor: str | None) -> tuple[list[ApprovalRequest], str | None]:
    query = select(ApprovalRequest).where(ApprovalRequest.firm_id == firm_id, ApprovalRequest.account_id == account_id)
    return newest_first(db, query, ApprovalRequest, limit, cursor)


def list_for_approver(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID, email: str, limit: int,
                      cursor: str | None) -> tuple[list[ApprovalRequest], str | None]:
    """The account's requests sent to this address (what the portal shows its user)."""
    query = (select(ApprovalRequest).join(Approver, Approver.approval_request_id == ApprovalRequest.id)
             .where(ApprovalRequest.firm_id == firm_id, ApprovalRequest.account_id == account_id,
                    Approver.email == email.strip().lower()))
    return newest_first(db, query, ApprovalRequest, limit, cursor)


def approver_by_email(db: DbSession, request: ApprovalRequest, email: str, *, lock: bool = False) -> Approver:
    """The request's approver with this address: a request not sent to him is not found (for the portal)."""
    query = select(Approver).where(Approver.approval_request_id == request.id,
                                   Approver.email == email.strip().lower())
    approver = db.scalar(query.with_for_update() if lock else query)
    if approver is None:
        raise NotFound(NO_SUCH_REQUEST)
    return approver


def find_linked(db: DbSession, firm_id: uuid.UUID, approver_id: uuid.UUID, *,
                lock: bool = False) -> tuple[ApprovalRequest, Approver]:
    """The request and approver a live link stands for (404 once the document, and so the request, is gone)."""
    query = select(Approver).where(Approver.firm_id == firm_id, Approver.id == approver_id)
    approver = db.scalar(query.with_for_update() if lock else query)
    if approver is None:
        raise NotFound("This approval request no longer exists.")
    return find(db, firm_id, approver.approval_request_id, lock=lock), approver


def overall_status(approvers: Iterable[Approver]) -> str:
    """`disapproved` once one disapproved, `approved` once all approved, else `pending`."""
    statuses = [a.status for a in approvers]
    if "disapproved" in statuses:
        return "disapproved"
    if statuses and all(s == "approved" for s in statuses):
        return "approved"
    return "pending"


def decide(request: ApprovalRequest, approver: Approver, approvers: list[Approver], decision: str,
           comment: str | None, *, through: str, user_id: uuid.UUID | None = None) -> None:
    """His decision (the schema made sure a disapproval says why); the request's status follows. He
    decides once, and nobody decides once the request is settled (409)."""
    if approver.status != "pending":
        raise Conflict(f"You already {approver.status} this document.")
    if request.status != "pending":
        raise Conflict(f"This document was already {request.status}; no more decisions are needed.")
    now = _now()
    approver.status, approver.comment = decision, (comment or "").strip() or None
    approver.decided_at, approver.decided_through, approver.decided_by = now, through, user_id
    request.status = overall_status(approvers)
    request.updated_at = now
    if request.status != "pending":
        request.decided_at = now


def fields(request: ApprovalRequest, document_name: str, approvers: list[Approver],
           link_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The request with its approvers, each with his url where `link_urls` (link id -> url) has it."""
    columns = {column.key: getattr(request, column.key) for column in ApprovalRequest.__table__.columns}
    return {**columns, "document_name": document_name,
            "approvers": [{**{c.key: getattr(a, c.key) for c in Approver.__table__.columns},
                           "url": (link_urls or {}).get(str(a.link_id)) if a.link_id else None}
                          for a in approvers]}


def portal_fields(request: ApprovalRequest, document_name: str, approver: Approver) -> dict[str, Any]:
    return {"id": request.id, "document_id": request.document_id, "document_name": document_name,
            "message": request.message, "status": request.status, "my_status": approver.status,
            "my_comment": approver.comment, "decided_at": approver.decided_at, "created_at": request.created_at}


def public_fields(request: ApprovalRequest, approver: Approver, document: Document) -> dict[str, Any]:
    return {"message": request.message, "email": approver.email, "document_name": document.name,
            "content_type": document.content_type, "size": document.size, "status": approver.status,
            "request_status": request.status, "comment": approver.comment, "decided_at": approver.decided_at}
