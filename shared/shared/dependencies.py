"""nameko dependency providers: call context and the database (every service), the object store.

`Database` is the one session provider: an engine per container, a session per worker,
closed at teardown. Its wrapper also writes outbox rows (`emit`) and records handled
calls and events, so a change, its events and its idempotency record commit together.
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from nameko.timer import Timer
from sqlalchemy import create_engine, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from shared import context as ctx
from shared.config import load_settings
from shared.outbox import OutboxRelay
from shared.storage import ObjectStore

log = logging.getLogger(__name__)

_green_driver_patched = False


def _make_psycopg2_green() -> None:
    """psycopg2 is a C driver: without a wait callback it blocks the whole eventlet hub."""
    global _green_driver_patched
    if not _green_driver_patched:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
        _green_driver_patched = True


class CallContext(DependencyProvider):
    """`self.context`: the request id, the principal and the idempotency key of this call."""

    def worker_setup(self, worker_ctx: Any) -> None:
        # The call key identifies this one call; nested calls must not inherit it.
        key = worker_ctx.data.pop(ctx.CALL_KEY, None)
        worker_ctx.porta_call_key = key
        worker_ctx.porta_started = time.perf_counter()
        ctx.request_id_var.set(worker_ctx.data.get(ctx.REQUEST_ID))

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        """One log line per call: what ran and how it ended; never its arguments (passwords, tokens)."""
        error = exc_info[0].__name__ if exc_info else None
        # A timer's quiet tick every few seconds is noise; its failures are not.
        quiet = error is None and isinstance(worker_ctx.entrypoint, Timer)
        (log.debug if quiet else log.info)(
            "%s.%s %s", worker_ctx.service_name, worker_ctx.entrypoint.method_name, error or "ok",
            extra={"entrypoint": worker_ctx.entrypoint.method_name, "outcome": error or "ok",
                   "duration_ms": round((time.perf_counter() - worker_ctx.porta_started) * 1000, 2)},
        )

    def get_dependency(self, worker_ctx: Any) -> CallContextData:
        return CallContextData(worker_ctx)


class CallContextData:
    def __init__(self, worker_ctx: Any) -> None:
        self._worker_ctx = worker_ctx

    @property
    def request_id(self) -> str | None:
        return self._worker_ctx.data.get(ctx.REQUEST_ID)

    @property
    def principal(self) -> ctx.Principal | None:
        return ctx.principal_from(self._worker_ctx.data)

    @property
    def call_key(self) -> str | None:
        return getattr(self._worker_ctx, "porta_call_key", None)

    @property
    def method(self) -> str:
        return self._worker_ctx.entrypoint.method_name



class UnitOfWork:
    """One worker's session plus the outbox and handled-message records that commit with it."""

    def __init__(self, session: Session, tables: Any, worker_ctx: Any, relay_kick: Any) -> None:
        self.session = session
        self._outbox, self._handled = tables
        self._worker_ctx = worker_ctx
        self._relay_kick = relay_kick
        self._emitted = False

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record an event; it is published only if this transaction commits."""
        # The call's context data travels with the event, so consumers log the same request id.
        headers = {f"nameko.{k}": v for k, v in self._worker_ctx.data.items() if isinstance(v, str)}
        self.session.execute(
            insert(self._outbox).values(
                id=uuid.uuid4(), event_type=event_type, payload=data, headers=headers,
                created_at=datetime.now(UTC),
            )
        )
        self._emitted = True

    def previous_result(self, consumer: str, message_id: str) -> tuple[bool, Any]:
        """(True, result) when this consumer already handled this message."""
        row = self.session.execute(
            select(self._handled.c.result).where(
                self._handled.c.consumer == consumer, self._handled.c.message_id == message_id
            )
        ).first()
        return (True, row.result) if row else (False, None)

    def mark_handled(self, consumer: str, message_id: str, result: Any = None) -> bool:
        """Record the message as handled; False when another delivery got there first."""
        inserted = self.session.execute(
            pg_insert(self._handled)
            .values(consumer=consumer, message_id=message_id, result=result)
            .on_conflict_do_nothing()
        )
        return inserted.rowcount == 1

    def commit(self) -> None:
        self.session.commit()
        if self._emitted:
            self._emitted = False
            self._relay_kick()

    def rollback(self) -> None:
        self.session.rollback()


class Database(DependencyProvider):
    """`self.db`: the service's own PostgreSQL database, with its outbox relay.

    Config: `DB_URI` (else the shared template for this service), `AMQP_URI`.
    """

    def __init__(self, tables: tuple[Any, Any], relay_interval: float = 1.0) -> None:
        self.tables = tables  # (outbox, handled_messages) from shared.outbox.messaging_tables
        self.relay_interval = relay_interval

    def setup(self) -> None:
        _make_psycopg2_green()
        config = self.container.config
        service = self.container.service_name
        url = config.get("DB_URI") or load_settings().db_url(service)
        self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
        self.relay = OutboxRelay(self.engine, self.tables[0], publisher, get_event_exchange(service, config))
        self._wake = Event()
        self._sessions: dict[Any, Session] = {}

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._relay_loop)

    def stop(self) -> None:
        self._running = False
        self.kick()

    def kill(self) -> None:
        self._running = False

    def kick(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def _relay_loop(self) -> None:
        # Woken right after a commit that emitted; otherwise a periodic sweep picks up
        # rows left by a crashed instance or waiting for their retry time.
        while self._running:
            try:
                while self.relay.publish_pending():
                    pass
            except Exception:
                log.exception("outbox relay pass failed; retrying")
            with eventlet.Timeout(self.relay_interval, False):
                self._wake.wait()
            self._wake = Event()

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        session = self.sessionmaker()
        self._sessions[worker_ctx] = session
        return UnitOfWork(session, self.tables, worker_ctx, self.kick)

    def worker_teardown(self, worker_ctx: Any) -> None:
        session = self._sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()


class Storage(DependencyProvider):
    """The object store (shared.storage.ObjectStore): one client per container, configured once."""

    def setup(self) -> None:
        self.store = ObjectStore.from_settings(load_settings())

    def get_dependency(self, worker_ctx: Any) -> ObjectStore:
        return self.store
