"""The firm's client accounts. Every query is scoped to the actor's firm: another firm's id is a 404."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, bindparam, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as DbSession

from crm.models import Account, AccountAssignment, User
from crm.permissions import MANAGERS, require_right, sees_all_accounts
from shared.errors import NotFound, ValidationFailed
from shared.paging import newest_first


def visible_account_ids(actor: User) -> Any:
    """The ids of the accounts an employee without view_all_accounts is assigned to (a subquery)."""
    return select(AccountAssignment.account_id).where(AccountAssignment.user_id == actor.id)


def visible_accounts(db: DbSession, actor: User) -> list[uuid.UUID] | None:
    """The ids of the accounts the actor may see, or None when he sees all of the firm's."""
    if sees_all_accounts(actor):
        return None
    return list(db.scalars(visible_account_ids(actor)))


def _visible(actor: User) -> Any:
    """The accounts this staff member may see: all of the firm's, or those he is assigned to."""
    query = select(Account).where(Account.firm_id == actor.firm_id)
    if not sees_all_accounts(actor):
        query = query.where(Account.id.in_(visible_account_ids(actor)))
    return query


# authorize_account asks on every request on an account: statements built once, rows of columns (Core,
# no ORM loading), the same visibility as _visible: the firm's account, assigned unless he sees all.
_FIRM_ACCOUNT = select(*Account.__table__.columns).where(Account.id == bindparam("account_id"),
                                                         Account.firm_id == bindparam("firm_id"))
_ASSIGNED_ACCOUNT = _FIRM_ACCOUNT.where(Account.id.in_(
    select(AccountAssignment.account_id).where(AccountAssignment.user_id == bindparam("user_id"))))


def visible_account(db: DbSession | Connection, actor: Any, account_id: uuid.UUID) -> Row:
    """get_account's answer as a row of the account's columns, for reading only; NotFound the same way."""
    statement = _FIRM_ACCOUNT if sees_all_accounts(actor) else _ASSIGNED_ACCOUNT
    row = db.execute(statement, {"account_id": account_id, "firm_id": actor.firm_id, "user_id": actor.id}).first()
    if row is None:
        raise NotFound("No such account.")
    return row


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


def get_accounts(db: DbSession, actor: User, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, Account]:
    """The ones of these accounts the actor may see, in one query (get_account for many); unseen ones are left out."""
    return {a.id: a for a in db.scalars(_visible(actor).where(Account.id.in_(list(account_ids))))}


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


def assign_team(db: DbSession, actor: User, account_id: uuid.UUID, user_ids: list[uuid.UUID]) -> list[User]:
    """Replace the account's assigned team members with `user_ids` (staff of the same firm)."""
    account = get_account(db, actor, account_id)
    require_right(actor, "manage_accounts")
    wanted = set(user_ids)
    members = list(db.scalars(select(User).where(User.firm_id == actor.firm_id, User.kind == "staff",
                                                 User.id.in_(wanted))))
    unknown = wanted - {m.id for m in members}
    if unknown:
        raise ValidationFailed("Some ids are not members of this firm's team.",
                               {"user_ids": [f"Unknown team member {u}." for u in sorted(map(str, unknown))]})
    db.execute(delete(AccountAssignment).where(AccountAssignment.account_id == account.id))
    db.add_all(AccountAssignment(firm_id=actor.firm_id, account_id=account.id, user_id=m.id) for m in members)
    db.flush()
    return sorted(members, key=lambda m: m.created_at)


def notification_recipients(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID,
                            also: list[uuid.UUID] | None = None) -> list[User]:
    """The active staff to tell about something on this account: those of `also` (e.g. who made a file
    request) who are still on the firm's team, and the account's assigned team; when that is nobody, the
    firm's owner and admins. No actor: the caller names the firm, and only its staff can come out."""
    staff = (select(User).where(User.firm_id == firm_id, User.kind == "staff", User.status == "active")
             .order_by(User.created_at, User.id))
    assigned = select(AccountAssignment.user_id).where(AccountAssignment.firm_id == firm_id,
                                                       AccountAssignment.account_id == account_id)
    people = list(db.scalars(staff.where(User.id.in_(list(also or [])) | User.id.in_(assigned))))
    return people or list(db.scalars(staff.where(User.role.in_(MANAGERS))))
