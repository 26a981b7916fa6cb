"""marshmallow pieces every service's schemas use: UTC timestamps, pages, validation."""
from __future__ import annotations

import base64
import binascii
import functools
import json
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, validate

from shared.errors import ValidationFailed


class Timestamp(fields.DateTime):
    """ISO 8601 in UTC with a `Z`, as API.md writes times."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class StrictBoolean(fields.Boolean):
    """A JSON boolean, `true` or `false`, and nothing else: marshmallow's Boolean also takes 0, 1, "yes",
    "on"... For JSON bodies; a query string's booleans are the words `true` and `false` (fields.Boolean)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class PageQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """`{items: [...], next_cursor}`: the shape of every list in API.md."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item)), "next_cursor": fields.String(allow_none=True)}, name=name
    )


S = TypeVar("S", bound=Schema)


@functools.cache
def schema(cls: type[S], **options: Any) -> S:
    """The one instance of a schema class (with these constructor options) every call shares: building
    one costs 100-400 us, a dump with it about 20. A marshmallow 4 schema keeps no per-call state."""
    return cls(**options)


def validated(schema: Schema, data: Any) -> dict[str, Any]:
    """Load `data` or raise ValidationFailed with marshmallow's messages per field (a 422)."""
    if not isinstance(data, dict):
        raise ValidationFailed("Expected a JSON object.", {"_schema": ["Expected a JSON object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed("The request has invalid fields.", messages) from None


def encode_cursor(created_at: datetime, row_id: Any) -> str:
    """The position after a row in a newest-first list: its (created_at, id)."""
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a cursor carries; a cursor we did not issue is a 422 on `cursor`."""
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not one this API issued.", {"cursor": ["Invalid cursor."]}) from None
