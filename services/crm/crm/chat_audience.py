"""What the chats service asks crm about an account before a message goes out: who receives chats there
(client users with LOGIN on and an activated account: the article's rule), who may be `@mentioned`
(the firm's team), the names its templates fill in, the account's jobs, and the firm's chat switches.

Plain Python over the session; the caller names the firm (no actor: the scheduler asks too).
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from crm.contacts import linked_contacts
from crm.identity import get_firm
from crm.models import Account, Job, PortalAccess, PortalSettings, User
from shared.errors import NotFound


def _switches(db: DbSession, firm_id: uuid.UUID) -> PortalSettings:
    settings = db.get(PortalSettings, firm_id)
    return settings if settings is not None else PortalSettings(firm_id=firm_id, clients_create_chats=True,
                                                                 chat_email_content=False)


def chat_audience(db: DbSession, firm_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Any]:
    """`{account_name, firm_name, clients_create_chats, chat_email_content, clients, team, job_ids}` for an
    account of the firm (NotFound otherwise). `clients`: the activated portal users of the account, each
    `{user_id, email, first_name, last_name, notify}`, in the order their contacts were linked."""
    account = db.scalar(select(Account).where(Account.id == account_id, Account.firm_id == firm_id))
    if account is None:
        raise NotFound("No such account.")
    rows = {row.email: row for row in db.scalars(select(PortalAccess).where(
        PortalAccess.account_id == account.id, PortalAccess.login.is_(True), PortalAccess.status == "active",
        PortalAccess.user_id.is_not(None)))}
    clients = []
    for contact in linked_contacts(db, account.id):
        for address in contact.emails:
            row = rows.pop(address.email, None)
            if row is not None:
                clients.append({"user_id": row.user_id, "email": row.email, "first_name": contact.first_name,
                                "last_name": contact.last_name, "notify": row.notify})
    team = db.scalars(select(User).where(User.firm_id == firm_id, User.kind == "staff")
                      .order_by(User.created_at, User.id))
    jobs = db.scalars(select(Job.id).where(Job.account_id == account.id))
    switches = _switches(db, firm_id)
    return {"account_name": account.name, "firm_name": get_firm(db, firm_id).name,
            "clients_create_chats": bool(switches.clients_create_chats),
            "chat_email_content": bool(switches.chat_email_content), "clients": clients,
            "team": [{"id": user.id, "name": user.name} for user in team], "job_ids": list(jobs)}

