"""Declared events: a name, a payload schema and one envelope, the same for every event.

A service declares its events in its contract (`shared.contracts.<service>`) with `declare`;
`UnitOfWork.emit` takes such a declaration, checks the payload against its schema and wraps
it in the envelope that every consumer reads:

    {id, type, source, firm_id, account_id, occurred_at, actor, request_id, data}

`firm_id` is always there and `account_id` whenever the event concerns one account, so a
consumer never looks inside `data` to learn whose event it is. `actor` is who caused it
(`{id, kind}`), null for the system's own work (a sweep, a virus verdict).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from shared import schemas

ACTOR_KINDS = ("staff", "client", "link", "system")


class ActorSchema(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACTOR_KINDS))


class EnvelopeSchema(Schema):
    """What every consumer receives."""

    id = fields.UUID(required=True)
    type = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "The emitting service"})
    firm_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True, allow_none=True)
    occurred_at = fields.DateTime(required=True)
    actor = fields.Nested(ActorSchema, required=True, allow_none=True)
    request_id = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True)


class InvalidEvent(Exception):
    """An event whose payload does not match its declaration: a programming error, never published."""


@dataclass(frozen=True)
class EventType:
    """One declared event: who emits it, its name (the routing key) and what its data holds."""

    source: str
    name: str
    schema: type[Schema]
    description: str

    @property
    def key(self) -> str:
        return f"{self.source}.{self.name}"

    def check(self, data: dict[str, Any]) -> None:
        """Raise InvalidEvent unless `data` is exactly what the schema declares."""
        errors = schemas.schema(self.schema).validate(data)
        if errors:
            raise InvalidEvent(f"{self.key}: payload does not match its schema: {errors}")


_DECLARED: dict[str, EventType] = {}


def declare(source: str, name: str, schema: type[Schema], description: str) -> EventType:
    """Declare one event of `source`; a name declared twice is a mistake caught at import."""
    event = EventType(source, name, schema, description)
    if event.key in _DECLARED:
        raise ValueError(f"event {event.key} is declared twice")
    _DECLARED[event.key] = event
    return event


def declared(source: str | None = None) -> Iterator[EventType]:
    """Every declared event (of one service), in declaration order. Import the contracts first
    (`shared.contracts.load_all`) to see every service's."""
    return (event for event in _DECLARED.values() if source is None or event.source == source)


def lookup(source: str, name: str) -> EventType | None:
    return _DECLARED.get(f"{source}.{name}")


@dataclass(frozen=True)
class Occurred:
    """An event domain code decided on; the entrypoint emits it (`UnitOfWork.emit_all`)."""

    event: EventType
    data: dict[str, Any]
    firm_id: Any
    account_id: Any = None


class EventLog:
    """What a domain function that may cause several events (or none) hands back to its entrypoint:
    domain code never writes to the outbox itself, so it stays callable without a database."""

    def __init__(self) -> None:
        self.occurred: list[Occurred] = []

    def add(self, event: EventType, data: dict[str, Any], *, firm_id: Any, account_id: Any = None) -> None:
        event.check(data)  # a wrong payload fails where it was built, not at commit
        self.occurred.append(Occurred(event, data, firm_id, account_id))

    def __iter__(self) -> Iterator[Occurred]:
        return iter(self.occurred)

    def __len__(self) -> int:
        return len(self.occurred)


def envelope(event: EventType, data: dict[str, Any], *, firm_id: Any, account_id: Any = None,
             actor: dict[str, Any] | None = None, request_id: str | None = None,
             event_id: uuid.UUID | None = None, occurred_at: datetime | None = None) -> dict[str, Any]:
    """The JSON-ready envelope of one event, checked against its declaration."""
    event.check(data)
    body = {
        "id": str(event_id or uuid.uuid4()), "type": event.name, "source": event.source,
        "firm_id": str(firm_id) if firm_id is not None else None,
        "account_id": str(account_id) if account_id is not None else None,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "actor": {"id": str(actor["id"]), "kind": actor["kind"]} if actor else None,
        "request_id": request_id, "data": data,
    }
    try:
        schemas.schema(EnvelopeSchema).load(body)
    except ValidationError as error:
        raise InvalidEvent(f"{event.key}: envelope is not valid: {error.messages}") from None
    return body


__all__ = ["ACTOR_KINDS", "EnvelopeSchema", "EventLog", "EventType", "InvalidEvent", "Occurred", "declare",
           "declared", "envelope", "lookup"]
