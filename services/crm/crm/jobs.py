"""Jobs: the work in progress on an account, with the status the portal shows."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from crm.access import require_portal_account
from crm.accounts import get_account, visible_account_ids
from crm.models import Job, User
from crm.permissions import require_right, sees_all_accounts
from crm.portal_settings import get_settings
from shared.errors import Forbidden, NotFound
from shared.paging import newest_first


def create_job(db: DbSession, actor: User, account_id: uuid.UUID, data: dict[str, Any]) -> Job:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    job = Job(id=uuid.uuid4(), firm_id=actor.firm_id, account_id=account.id, name=data["name"].strip(),
              status=data["status"], client_status=data.get("client_status"))
    db.add(job)
    db.flush()
    return job


def list_jobs(db: DbSession, actor: User, account_id: uuid.UUID, limit: int, cursor: str | None
              ) -> tuple[list[Job], str | None]:
    account = get_account(db, actor, account_id)
    return newest_first(db, select(Job).where(Job.account_id == account.id), Job, limit, cursor)


def list_client_jobs(db: DbSession, client: User, account_id: uuid.UUID, limit: int, cursor: str | None
                     ) -> tuple[list[Job], str | None]:
    """The account's jobs as its client user sees them, newest first: only those with a client status, and
    only while the firm has work in progress on. An account he has no access to (now) is not found, before
    the switch is looked at, so the 403 never tells a stranger that the account exists."""
    account = require_portal_account(db, client, account_id)
    if not get_settings(db, client).work_in_progress:
        raise Forbidden("The firm has not turned on work in progress in the portal.")
    query = select(Job).where(Job.account_id == account.id, Job.client_status.is_not(None), Job.client_status != "")
    return newest_first(db, query, Job, limit, cursor)


def update_job(db: DbSession, actor: User, job_id: uuid.UUID, data: dict[str, Any]) -> Job:
    query = select(Job).where(Job.id == job_id, Job.firm_id == actor.firm_id)
    if not sees_all_accounts(actor):
        query = query.where(Job.account_id.in_(visible_account_ids(actor)))
    job = db.scalar(query)
    if job is None:  # unknown, another firm's, or on an account hidden from him: one answer, telling nothing
        raise NotFound("No such job.")
    require_right(actor, "manage_accounts")
    for field in ("name", "status", "client_status"):
        if field in data:
            setattr(job, field, data[field])
    db.flush()
    return job
