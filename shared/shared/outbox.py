"""The one event path: outbox rows written with the change, relayed to RabbitMQ with confirms.

A service never publishes an event directly. `UnitOfWork.emit` adds an outbox row in the
same transaction as the change; `OutboxRelay` publishes committed rows to the service's
`<service>.events` exchange (nameko's topic exchange, so `@event_handler` consumers get
them) with publisher confirms and `mandatory`, and marks a row published only after the
broker confirmed it was routed. Several relays (one per service instance) share the work
through `FOR UPDATE SKIP LOCKED`; a crash between publish and mark re-publishes, which
consumers absorb through `handled_messages` (see shared.entrypoints).
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=5)


def messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and the record of handled messages, declared in a service's own metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True, default=uuid.uuid4),
        Column("event_type", String(100), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default="{}"),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True)),
        Column("last_error", Text),
    )
    Index("ix_outbox_pending", outbox.c.created_at, postgresql_where=outbox.c.published_at.is_(None))
    handled = Table(
        "handled_messages",
        metadata,
        # consumer: "event:<source>.<type>:<handler>" or "rpc:<method>"; message_id: event id or call key
        Column("consumer", String(200), primary_key=True),
        Column("message_id", String(200), primary_key=True),
        Column("result", JSONB),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, handled


class OutboxRelay:
    """Publishes committed outbox rows; safe to run in every instance of a service at once."""

    def __init__(self, engine: Engine, outbox: Table, publisher: Any, exchange: Any) -> None:
        self.engine = engine
        self.outbox = outbox
        self.publisher = publisher  # nameko.amqp.publish.Publisher(use_confirms=True, mandatory=True)
        self.exchange = exchange

    def publish_pending(self, limit: int = 200) -> int:
        """Publish up to `limit` due rows; returns how many the broker confirmed."""
        now = datetime.now(UTC)
        t = self.outbox
        published = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(t)
                .where(t.c.published_at.is_(None))
                .where((t.c.next_attempt_at.is_(None)) | (t.c.next_attempt_at <= now))
                .order_by(t.c.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                try:
                    self.publisher.publish(
                        row.payload,  # the event's envelope (shared.events), built and checked by emit
                        exchange=self.exchange,
                        routing_key=row.event_type,
                        headers=dict(row.headers),
                        message_id=str(row.id),
                        # Consumers declare it too, but the first event may come before any consumer did.
                        declare=[self.exchange],
                    )
                except Exception as exc:  # broker down or no queue bound yet: keep the row, retry later
                    backoff = min(timedelta(seconds=2 ** min(row.attempts, 8)), MAX_BACKOFF)
                    conn.execute(
                        update(t).where(t.c.id == row.id).values(
                            attempts=t.c.attempts + 1, next_attempt_at=now + backoff,
                            last_error=f"{type(exc).__name__}: {exc}"[:500],
                        )
                    )
                    # Warn once; after that the row just waits for its next attempt (or for a consumer queue).
                    (log.warning if row.attempts == 0 else log.debug)(
                        "event %s %s not published yet: %r", row.event_type, row.id, exc)
                    continue
                conn.execute(
                    update(t).where(t.c.id == row.id).values(published_at=func.clock_timestamp(), last_error=None))
                published += 1
        return published
