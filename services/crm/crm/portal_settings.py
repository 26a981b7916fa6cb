"""The firm's portal settings: nine switches (one of them for chat emails) and the announcement's text."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as DbSession

from crm import access  # a module import: access uses this module too (authorize_account)
from crm.models import Firm, PortalSettings, User
from crm.permissions import require_manager

SWITCHES = ("prepayment", "done_uploading", "auto_rename", "appointments", "announcement", "clients_create_chats",
            "client_organizers", "work_in_progress", "chat_email_content")
FIELDS = (*SWITCHES, "announcement_text")


# A client's every request on an account reads them (access.authorize_account): one statement built once,
# the firm's row with its settings' if any (Core, no ORM loading).
_SETTINGS = (select(*PortalSettings.__table__.columns, Firm.created_at.label("firm_created_at"))
             .select_from(Firm).outerjoin(PortalSettings, PortalSettings.firm_id == Firm.id)
             .where(Firm.id == bindparam("firm_id")))


def get_settings(db: DbSession | Connection, actor: Any) -> Any:
    """The firm's settings, for reading (a row of columns); a firm that never changed them reads the
    defaults, and a read writes nothing (reads run read-only: shared.dependencies)."""
    row = db.execute(_SETTINGS, {"firm_id": actor.firm_id}).one()
    return row if row.firm_id is not None else defaults(actor.firm_id, row.firm_created_at)


def defaults(firm_id: uuid.UUID, since: datetime) -> PortalSettings:
    """A firm's settings before its first change, unsaved: each column's own default, as of `since`."""
    values = {column.key: column.default.arg for column in PortalSettings.__table__.columns
              if column.default is not None and column.default.is_scalar}
    return PortalSettings(firm_id=firm_id, **{**values, "updated_at": since})


def update_settings(db: DbSession, actor: User, data: dict[str, Any]) -> tuple[PortalSettings, list[dict]]:
    """Applies `data`; returns the settings and what changed, each `{setting, old, new}`."""
    require_manager(actor)
    settings = db.get(PortalSettings, actor.firm_id, with_for_update=True)
    if settings is None:
        settings = defaults(actor.firm_id, datetime.now(UTC))
        db.add(settings)
    changes = []
    for name in FIELDS:
        if name in data and getattr(settings, name) != data[name]:
            changes.append({"setting": name, "old": getattr(settings, name), "new": data[name]})
            setattr(settings, name, data[name])
    db.flush()
    return settings, changes


def announcement(db: DbSession, client: User, account_id: uuid.UUID) -> dict[str, Any]:
    """What the portal shows a client user on this account: the firm's announcement while its switch is on.
    An account he has no access to (now) is not found."""
    access.require_portal_account(db, client, account_id)
    settings = get_settings(db, client)
    if not settings.announcement:
        return {"enabled": False, "text": None}
    return {"enabled": True, "text": settings.announcement_text}
