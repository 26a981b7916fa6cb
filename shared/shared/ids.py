"""The one id parser: an id that is not a UUID names nothing, so it is a 404 like another firm's."""
from __future__ import annotations

import uuid
from typing import Any

from shared.errors import NotFound


def parse_id(value: Any, what: str = "resource") -> uuid.UUID:
    """`value` as a UUID, or NotFound("No such <what>.")."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {what}.") from None
