"""The firm's portal settings: eight switches and the announcement's text."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session as DbSession

from crm.models import PortalSettings, User
from crm.permissions import require_manager

SWITCHES = ("prepayment", "done_uploading", "auto_rename", "appointments", "announcement", "clients_create_chats",
            "client_organizers", "work_in_progress")
FIELDS = (*SWITCHES, "announcement_text")


def get_settings(db: DbSession, actor: User) -> PortalSettings:
    settings = db.get(PortalSettings, actor.firm_id)
    if settings is None:
        settings = PortalSettings(firm_id=actor.firm_id)
        db.add(settings)
        db.flush()
        db.refresh(settings)
    return settings


def update_settings(db: DbSession, actor: User, data: dict[str, Any]) -> tuple[PortalSettings, list[dict]]:
    """Applies `data`; returns the settings and what changed, each `{setting, old, new}`."""
    require_manager(actor)
    settings = get_settings(db, actor)
    changes = []
    for name in FIELDS:
        if name in data and getattr(settings, name) != data[name]:
            changes.append({"setting": name, "old": getattr(settings, name), "new": data[name]})
            setattr(settings, name, data[name])
    db.flush()
    return settings, changes
