"""The firm's client accounts. Every query is scoped to the actor's firm: another firm's id is a 404."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session as DbSession

from crm.models import Account, User
from crm.permissions import require_right, sees_all_accounts
from shared.errors import NotFound
from shared.paging import newest_first


def _visible(actor: User) -> Any:
    """The accounts this staff member may see. Assignments arrive with the team issue."""
    query = select(Account).where(Account.firm_id == actor.firm_id)
    if not sees_all_accounts(actor):
        query = query.where(false())
    return query


def create_account(db: DbSession, actor: User, data: dict[str, Any]) -> Account:
    require_right(actor, "manage_accounts")
    account = Account(id=uuid.uuid4(), firm_id=actor.firm_id, name=data["name"].strip(), type=data["type"],
                      guest=data["guest"])
    db.add(account)
    db.flush()
    db.refresh(account)
    return account


def list_accounts(db: DbSession, actor: User, limit: int, cursor: str | None, q: str | None
                  ) -> tuple[list[Account], str | None]:
    query = _visible(actor)
    if q:
        # Escape LIKE's wildcards: a search for "50%" means the text, not a pattern.
        pattern = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Account.name.ilike(f"%{pattern}%", escape="\\"))
    return newest_first(db, query, Account, limit, cursor)


def get_account(db: DbSession, actor: User, account_id: uuid.UUID) -> Account:
    account = db.scalar(_visible(actor).where(Account.id == account_id))
    if account is None:
        raise NotFound("No such account.")
    return account


def update_account(db: DbSession, actor: User, account_id: uuid.UUID, data: dict[str, Any]) -> Account:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    for field in ("name", "type"):
        if field in data:
            setattr(account, field, data[field].strip() if field == "name" else data[field])
    db.flush()
    db.refresh(account)
    return account


def delete_account(db: DbSession, actor: User, account_id: uuid.UUID) -> Account:
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    db.delete(account)
    db.flush()
    return account
