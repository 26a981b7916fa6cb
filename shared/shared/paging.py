"""Newest-first keyset paging, the order of every list in API.md."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from shared.schemas import decode_cursor, encode_cursor


def newest_first(
    db: Session, query: Select, model: Any, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by (created_at, id) descending, and the cursor of the next."""
    if cursor:
        query = query.where(tuple_(model.created_at, model.id) < tuple_(*decode_cursor(cursor)))
    rows = list(db.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id)
