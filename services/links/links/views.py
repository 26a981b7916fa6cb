"""What a link's public page shows, kept in the links service so one lookup answers `describe_link`.

- `view`: given by the link's owning service when it issues the link (a file request's message and limits,
  PublicFileRequestSchema's dump) and kept current by that service's declared events (a file request's
  message edited: `documents.file_request_updated`). An event older than the change the view last took in
  is dropped (`view_as_of`), as events may be handled out of order.
- A firm's name: from crm's `firm_created`, one row per firm, shared by every kind of link.

The view is what the page shows, never what decides: the owning service checks every action (an upload,
a signature, a payment) against its own state, so a view a few milliseconds behind an edit or a close can
show a stale message but never let an action through. A link that is revoked or expired refuses here at
once, as before (links.tokens): closing a file request revokes its link.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text, cast, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from links.models import FirmName, Link


def name_firm(db: DbSession, firm_id: uuid.UUID, name: str) -> None:
    """The name the firm's pages show from now on (an upsert: a redelivered or later event overwrites)."""
    stmt = insert(FirmName).values(firm_id=firm_id, name=name)
    db.execute(stmt.on_conflict_do_update(index_elements=[FirmName.firm_id], set_={"name": stmt.excluded.name}))


def take_message(db: DbSession, firm_id: uuid.UUID, link_id: uuid.UUID, message: str, as_of: datetime) -> bool:
    """A file request's new message into its link's view, unless the view took in a later change already (or
    the link has no view: it was issued before views, and its page asks documents). True when it changed."""
    stmt = (update(Link)
            .where(Link.id == link_id, Link.firm_id == firm_id, Link.kind == "file_request", Link.view.is_not(None),
                   or_(Link.view_as_of.is_(None), Link.view_as_of < as_of))
            .values(view=Link.view.op("||")(func.jsonb_build_object(cast("message", Text), cast(message, Text))),
                    view_as_of=as_of))
    return db.execute(stmt).rowcount == 1

