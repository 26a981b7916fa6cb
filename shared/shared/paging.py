"""Newest-first keyset paging, the order of every list in API.md."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from shared.schemas import decode_cursor, encode_cursor


def newest_first(
    db: Session, query: Select, model: Any, limit: int, cursor: str | None, *, by: str = "created_at"
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by (`by`, id) descending, and the cursor of the next.

    `by` is a timestamp column of `model`: `created_at` for every list but those ordered by their
    latest change (the Inbox+ uses `updated_at`)."""
    column = getattr(model, by)
    if cursor:
        query = query.where(tuple_(column, model.id) < tuple_(*decode_cursor(cursor)))
    rows = list(db.scalars(query.order_by(column.desc(), model.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(getattr(rows[-1], by), rows[-1].id)
