"""nameko dependency providers: call context, settings and the database (every service), the object store.

`Database` is the one session provider: an engine per container, a session per worker,
opened on first use and closed at teardown. Its wrapper also writes outbox rows (`emit`) and
records handled calls and events, so a change, its events and its idempotency record commit
together. Every provider reads the container's one `Settings` (`shared.config.settings_of`).

What a call costs the database (bench/call_cost.py): a call that commits (shared.entrypoints:
`@write`, `@idempotent`, event handlers) runs in a read-write transaction (`BEGIN READ WRITE` ...
`COMMIT`); any other call only reads, and its session runs without a transaction, each query
on its own (autocommit), so a primary-key read is one round trip instead of four (pre-ping,
BEGIN, SELECT, ROLLBACK). PostgreSQL itself keeps such calls read-only: every pooled connection
opens with `default_transaction_read_only=on`, so a write outside a committing entrypoint fails
("cannot execute INSERT in a read-only transaction") instead of being silently rolled back. A
read that fails may still commit what it asked for with `on_failure` (`@read`): in a write
transaction of its own, after the failure (`UnitOfWork.compensate`).
Under READ COMMITTED, which the services use, the queries of a transaction saw one snapshot
each anyway, so a read loses nothing by running without one. The hottest reads (crm's
`describe_firm`, `authenticate`, `authorize_account`) skip the ORM as well: `UnitOfWork.connection`
runs Core statements built once at import, on a pooled connection without a Session.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from nameko.timer import Timer
from sqlalchemy import create_engine, event, exc, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from shared import context as ctx
from shared.config import Settings, settings_of
from shared.errors import Forbidden, ValidationFailed
from shared.events import EventLog, EventType, envelope
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

    def for_firm(self, firm_id: Any) -> uuid.UUID:
        """The firm a service-to-service call acts for. A principal that came along (the user whose
        request caused the call) must be of that firm; without one the firm is trusted, as only
        services reach such methods (the gateway routes no path to them)."""
        try:
            firm = uuid.UUID(str(firm_id))
        except ValueError:
            raise ValidationFailed("firm_id is not a UUID.", {"firm_id": ["Not a valid UUID."]}) from None
        principal = self.principal
        if principal is not None and principal.firm_id != str(firm):
            raise Forbidden("A service acted for another firm than its caller's.")
        return firm


class Config(DependencyProvider):
    """`self.settings`: the container's settings, read from the environment once."""

    def setup(self) -> None:
        self.settings = settings_of(self.container)

    def get_dependency(self, worker_ctx: Any) -> Settings:
        return self.settings


# `emit(..., actor=SYSTEM)`: the system's own work (a sweep, a verdict), whoever's call it follows.
SYSTEM = object()


class UnitOfWork:
    """One worker's session plus the outbox and handled-message records that commit with it."""

    def __init__(self, make_session: Callable[[bool], Session], make_connection: Callable[[], Connection],
                 tables: Any, worker_ctx: Any, relay_kick: Any) -> None:
        self._make_session = make_session
        self._make_connection = make_connection
        self._session: Session | None = None
        self._connection: Connection | None = None
        self._writes = False
        self._outbox, self._handled = tables
        self._worker_ctx = worker_ctx
        self._relay_kick = relay_kick
        self._emitted = False
        self._compensations: list[Callable[[Session], None]] = []
        self._after_success: list[Callable[[Session], None]] = []
        self._commits_after_read = False

    @property
    def session(self) -> Session:
        """The call's session, opened on first use: read-only, without a transaction, unless the
        entrypoint commits (`begin_writes`)."""
        if self._session is None:
            self._session = self._make_session(self._writes)
        return self._session

    @property
    def connection(self) -> Connection:
        """A Core connection for the call's hot reads (module-level statements, no ORM loading): the
        session's own when the call writes or already has one, so it sees the call's changes; else a
        pooled read-only connection without a transaction and without a Session (module doc)."""
        if self._session is not None or self._writes:
            return self.session.connection()
        if self._connection is None:
            self._connection = self._make_connection()
        return self._connection

    def begin_writes(self, *, after_reads: bool = False) -> None:
        """This call commits: its session is a read-write transaction. shared.entrypoints calls it
        before the entrypoint runs; services never do. `after_reads`: a call that only read now needs a
        write transaction (its compensations, `compensate`): its read-only session is closed and the
        next one writes. Without it, a session used before is an error: a committing entrypoint's reads
        belong to its transaction."""
        if self._session is not None and not self._writes:
            if not after_reads:
                raise RuntimeError("the call read the database before its entrypoint began writing")
            self._session.close()
            self._session = None
        if after_reads and self._connection is not None:
            # Back to the pool first: a call holding two under load made the pool open a backend per miss.
            self._connection.close()
            self._connection = None
        self._writes = True

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._session is not None:
            self._session.close()

    def emit(self, event: EventType, data: dict[str, Any], *, firm_id: Any, account_id: Any = None,
             actor: Any = None) -> None:
        """Record a declared event; it is published only if this transaction commits.

        `data` must match the event's schema (InvalidEvent otherwise: nothing is written).
        `actor`: who caused it, `{id, kind}`; by default the call's principal; SYSTEM for none."""
        self.session.execute(insert(self._outbox), [self._outbox_row(event, data, firm_id, account_id, actor)])
        self._emitted = True

    def emit_all(self, log: EventLog) -> None:
        """Emit every event a domain function recorded, in order, in one statement: a bulk change's
        thousand events are one round trip, not a thousand."""
        rows = [self._outbox_row(o.event, o.data, o.firm_id, o.account_id, None) for o in log]
        if rows:
            self.session.execute(insert(self._outbox), rows)
            self._emitted = True

    def _outbox_row(self, event: EventType, data: dict[str, Any], firm_id: Any, account_id: Any, actor: Any
                    ) -> dict[str, Any]:
        if event.source != self._worker_ctx.service_name:
            raise ValueError(f"{self._worker_ctx.service_name} cannot emit {event.key}: only its owner does")
        if actor is None:
            principal = ctx.principal_from(self._worker_ctx.data)
            actor = principal.as_actor() if principal else None
        elif actor is SYSTEM:
            actor = None
        event_id = uuid.uuid4()
        now = datetime.now(UTC)
        body = envelope(event, data, firm_id=firm_id, account_id=account_id, actor=actor,
                        request_id=self._worker_ctx.data.get(ctx.REQUEST_ID), event_id=event_id, occurred_at=now)
        # The call's context data travels with the event, so consumers log the same request id.
        headers = {f"nameko.{k}": v for k, v in self._worker_ctx.data.items() if isinstance(v, str)}
        return {"id": event_id, "event_type": event.name, "payload": body, "headers": headers, "created_at": now}

    def on_failure(self, compensation: Callable[[Session], None]) -> None:
        """Run `compensation(session)` if this call fails, after its rollback, and commit it: for
        cleanup the error must not undo (an upload's stored bytes and row, refused), or a failure that
        must leave a trace (a wrong token counted against its address). Entrypoints under
        shared.entrypoints' `write`, `idempotent` or `read` run them."""
        self._compensations.append(compensation)

    def begin_read(self) -> None:
        """This call only reads, but commits what it asks for with `on_failure` or `on_success` after it:
        shared.entrypoints' `read` calls it before the entrypoint runs; services never do."""
        self._commits_after_read = True

    def on_success(self, write: Callable[[Session], None]) -> None:
        """Run `write(session)` once this call succeeded: a read that now and then leaves a trace (a bearer
        session's last use, written at most once a minute) pays for a write transaction only then. Under
        shared.entrypoints' `read` it commits after the call, in a transaction of its own; in a call that
        writes it is part of the call's transaction. Elsewhere nothing would commit it: an error."""
        if self._writes:
            write(self.session)
        elif self._commits_after_read:
            self._after_success.append(write)
        else:
            raise RuntimeError("db.on_success in an entrypoint that commits nothing: decorate it with `read`")

    def commit_after_success(self) -> None:
        """After a read succeeded: what it asked for with `on_success`, committed in one write transaction."""
        writes, self._after_success = self._after_success, []
        if not writes:
            return
        self.begin_writes(after_reads=True)
        try:
            for write in writes:
                write(self.session)
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def compensate(self) -> None:
        """After a failed call (and its rollback): its compensations, committed in a write transaction of
        their own, also when the call only read (`begin_writes(after_reads=True)`)."""
        compensations, self._compensations = self._compensations, []
        if not compensations:
            return
        try:
            self.begin_writes(after_reads=True)
            for compensation in compensations:
                compensation(self.session)
            self.session.commit()
        except Exception:  # the error on its way out matters more; a sweep cleans up what is left
            log.exception("compensation after a failed call failed")
            self.session.rollback()

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

    def ping(self) -> None:
        """One round trip to the database (health checks)."""
        self.connection.execute(text("SELECT 1"))

    def commit(self) -> None:
        self.session.commit()
        if self._emitted:
            self._emitted = False
            self._relay_kick()

    def rollback(self) -> None:
        self.session.rollback()


# A pooled connection used within this many seconds is handed out without a ping; one idle longer
# is pinged first and replaced if dead (pool_pre_ping's check, without its round trip on every call).
# A connection that died in the meantime fails one query; the pool then replaces all it holds.
PING_AFTER_IDLE = 1.0
_READ_ONLY = "porta_read_only"  # execution option of the sessions of calls that do not commit
_IDLE_SINCE = "porta_idle_since"


def make_engine(url: str) -> Engine:
    """The engine of a service's database: read-only unless a transaction says READ WRITE (module doc)."""
    options = " ".join(filter(None, [make_url(url).query.get("options"), "-c default_transaction_read_only=on"]))
    # LIFO: under light load the same few connections stay in use, the others idle (and get pinged).
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_use_lifo=True,
                           connect_args={"options": options})

    @event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        dbapi = connection.connection.dbapi_connection
        if connection.get_execution_options().get(_READ_ONLY):
            dbapi.autocommit = True  # psycopg2 sends no BEGIN; local, no round trip
        else:
            dbapi.readonly = False  # psycopg2 sends BEGIN READ WRITE

    @event.listens_for(engine, "checkin")
    def checkin(dbapi: Any, record: Any) -> None:
        # Back to psycopg2's defaults, which it changes without a round trip.
        if dbapi is not None and not dbapi.closed:
            dbapi.autocommit = False
            dbapi.readonly = None
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checkout(dbapi: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)  # None: a new connection, just made
        if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"a pooled connection is dead: {error}") from error  # the pool retries

    return engine


class Database(DependencyProvider):
    """`self.db`: the service's own PostgreSQL database (its URL from the settings), with its outbox relay."""

    def __init__(self, tables: tuple[Any, Any], relay_interval: float = 1.0) -> None:
        self.tables = tables  # (outbox, handled_messages) from shared.outbox.messaging_tables
        self.relay_interval = relay_interval

    def setup(self) -> None:
        _make_psycopg2_green()
        config = self.container.config
        service = self.container.service_name
        url = settings_of(self.container).db_url(service)
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(bind=self.engine.execution_options(**{_READ_ONLY: True}))
        publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
        self.relay = OutboxRelay(self.engine, self.tables[0], publisher, get_event_exchange(service, config))
        self._wake = Event()
        self._units: dict[Any, UnitOfWork] = {}

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
        unit = UnitOfWork(self._session, self._read_connection, self.tables, worker_ctx, self.kick)
        self._units[worker_ctx] = unit
        return unit

    def _session(self, writes: bool) -> Session:
        return self.sessionmaker() if writes else self.read_sessionmaker()

    def _read_connection(self) -> Connection:
        # The option set on the connection, not through an option engine, whose connections each build
        # their own joined event dispatcher (bench/call_cost.py's profile).
        return self.engine.connect().execution_options(**{_READ_ONLY: True})

    def worker_teardown(self, worker_ctx: Any) -> None:
        unit = self._units.pop(worker_ctx, None)
        if unit is not None:
            unit.close()


class Storage(DependencyProvider):
    """The object store (shared.storage.ObjectStore): one client per container, configured once."""

    def setup(self) -> None:
        self.store = ObjectStore.from_settings(settings_of(self.container))

    def get_dependency(self, worker_ctx: Any) -> ObjectStore:
        return self.store
