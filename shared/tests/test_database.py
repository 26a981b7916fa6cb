"""What a call costs the database, and what it may do there: a call that does not commit only reads,
without a transaction; a call that commits is one read-write transaction; pooled connections are
checked only after they sat idle."""
from __future__ import annotations

import time

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import Column, Integer, String, Table, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase

from shared import dependencies
from shared.dependencies import Database
from shared.entrypoints import idempotent, read, write
from shared.outbox import messaging_tables
from shared.rpc import rpc
from shared.service import PortaService


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
notes = Table("notes", Base.metadata, Column("id", Integer, primary_key=True, autoincrement=True),
              Column("body", String(50)))


class NotesService(PortaService):
    name = "notes"
    db = Database(messaging, relay_interval=60)  # the relay's own passes would share the pooled connection

    @rpc
    def where_am_i(self) -> dict:
        """The backend serving this read, and whether its query ran inside a transaction block (after a
        BEGIN, the query is not the transaction's first command, so its timestamps differ)."""
        row = self.db.session.execute(text(
            "SELECT pg_backend_pid() AS pid, transaction_timestamp() <> statement_timestamp() AS in_block")).one()
        return {"pid": row.pid, "in_block": row.in_block}

    @rpc
    def sneak_a_note(self, body: str) -> None:
        """A read that writes: a bug, which must fail rather than be rolled back in silence."""
        self.db.session.execute(insert(notes).values(body=body))

    @rpc
    @write
    def add_note(self, body: str) -> int:
        self.db.session.execute(insert(notes).values(body=body))
        return self.db.session.execute(text("SELECT pg_backend_pid()")).scalar()

    @rpc
    @write
    def add_note_then_fail(self, body: str) -> None:
        self.db.session.execute(insert(notes).values(body=body))
        self.db.session.flush()
        raise ValueError("no")

    @rpc
    @idempotent
    def touch(self) -> None:
        self.db.session.execute(insert(notes).values(body="touched"))

    @rpc
    @read
    def read_then_note(self, body: str | None = None, fail: bool = False) -> dict:
        """A read that asks for a note once it succeeded (db.on_success), when given one."""
        row = self.db.connection.execute(text(
            "SELECT pg_backend_pid() AS pid, transaction_timestamp() <> statement_timestamp() AS in_block")).one()
        if body:
            self.db.on_success(lambda session: session.execute(insert(notes).values(body=body)))
        if fail:
            raise ValueError("no")
        return {"pid": row.pid, "in_block": row.in_block}

    @rpc
    def note_on_success_without_read(self, body: str) -> None:
        """A plain read (no decorator) asking for a write on success: nothing would ever commit it."""
        self.db.on_success(lambda session: session.execute(insert(notes).values(body=body)))

    @rpc
    @write
    def add_note_on_success(self, body: str, fail: bool = False) -> None:
        self.db.on_success(lambda session: session.execute(insert(notes).values(body=body)))
        if fail:
            raise ValueError("no")

    # The same through `db.connection` (Core, no Session): what the hottest reads use.

    @rpc
    def where_am_i_on_the_connection(self) -> dict:
        row = self.db.connection.execute(text(
            "SELECT pg_backend_pid() AS pid, transaction_timestamp() <> statement_timestamp() AS in_block")).one()
        return {"pid": row.pid, "in_block": row.in_block}

    @rpc
    def sneak_a_note_on_the_connection(self, body: str) -> None:
        self.db.connection.execute(insert(notes).values(body=body))

    @rpc
    @write
    def add_notes_both_ways(self, body: str, fail: bool = False) -> int:
        """One note through the session, one through the connection; -> how many notes the connection sees."""
        self.db.session.execute(insert(notes).values(body=f"{body} (session)"))
        self.db.connection.execute(insert(notes).values(body=f"{body} (connection)"))
        if fail:
            raise ValueError("no")
        return self.db.connection.execute(select(func.count()).select_from(notes)).scalar()


@pytest.fixture
def engine(scratch_engine):
    return scratch_engine("sharednotes", Base.metadata)


@pytest.fixture
def notes_service(container_factory, service_config, engine):
    config = service_config("notes", db_urls={"notes": engine.url.render_as_string(hide_password=False)})
    container = container_factory(NotesService, config)
    container.start()
    with ServiceRpcProxy("notes", config, timeout=10) as proxy:
        yield proxy, container


def stored(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(notes.c.body).order_by(notes.c.id)))


def test_a_call_that_does_not_commit_cannot_write(notes_service, engine):
    proxy, _ = notes_service
    with pytest.raises(RemoteError) as refused:
        proxy.sneak_a_note("sneaky")
    assert "read-only transaction" in str(refused.value)
    assert stored(engine) == []


def test_a_read_runs_its_query_without_a_transaction_block(notes_service):
    proxy, _ = notes_service
    assert proxy.where_am_i()["in_block"] is False


def test_calls_that_commit_write_in_one_transaction(notes_service, engine):
    proxy, _ = notes_service
    proxy.add_note("kept")
    proxy.touch()
    with pytest.raises(RemoteError):
        proxy.add_note_then_fail("undone")
    assert stored(engine) == ["kept", "touched"]


def test_a_write_after_a_read_on_the_same_connection_is_still_one_transaction(notes_service, engine):
    """Reads switch their pooled connection to autocommit; it must come back to the pool without it."""
    proxy, _ = notes_service
    read_on = proxy.where_am_i()["pid"]
    with pytest.raises(RemoteError):
        proxy.add_note_then_fail("undone")
    written_on = proxy.add_note("kept")
    assert read_on == written_on  # one connection served all three (the pool hands out its last one first)
    assert stored(engine) == ["kept"]


def test_a_connection_in_use_is_not_pinged_an_idle_one_is(notes_service, monkeypatch):
    proxy, container = notes_service
    dialect = next(d for d in container.dependencies if isinstance(d, Database)).engine.dialect
    pings = []
    ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda dbapi: pings.append(1) or ping(dbapi))
    monkeypatch.setattr(dependencies, "PING_AFTER_IDLE", 60.0)
    proxy.where_am_i()
    proxy.where_am_i()
    assert pings == []
    monkeypatch.setattr(dependencies, "PING_AFTER_IDLE", 0.0)  # whatever it sat idle is now too long
    proxy.where_am_i()
    assert pings == [1]


def test_a_connection_that_died_while_idle_is_replaced_before_a_call_uses_it(notes_service, engine, monkeypatch):
    proxy, _ = notes_service
    dead = proxy.where_am_i()["pid"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.pg_terminate_backend(dead)))
        deadline = time.monotonic() + 10
        while True:
            conn.rollback()  # a transaction reads pg_stat_activity once: only a new one sees the backend go
            if not conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": dead}):
                break
            assert time.monotonic() < deadline, "the backend outlived pg_terminate_backend"
            time.sleep(0.02)
    monkeypatch.setattr(dependencies, "PING_AFTER_IDLE", 0.0)
    assert proxy.where_am_i()["pid"] != dead


def test_the_connection_of_a_read_has_no_transaction_block_and_cannot_write(notes_service, engine):
    proxy, _ = notes_service
    assert proxy.where_am_i_on_the_connection()["in_block"] is False
    with pytest.raises(RemoteError) as refused:
        proxy.sneak_a_note_on_the_connection("sneaky")
    assert "read-only transaction" in str(refused.value)
    assert stored(engine) == []


def test_the_connection_of_a_call_that_commits_is_its_sessions_transaction(notes_service, engine):
    proxy, _ = notes_service
    with pytest.raises(RemoteError):
        proxy.add_notes_both_ways("undone", fail=True)
    assert stored(engine) == []
    assert proxy.add_notes_both_ways("kept") == 2  # it sees the session's uncommitted note
    assert stored(engine) == ["kept (session)", "kept (connection)"]


def test_the_connection_of_a_read_goes_back_to_the_pool_without_autocommit(notes_service, engine):
    proxy, _ = notes_service
    read_on = proxy.where_am_i_on_the_connection()["pid"]
    with pytest.raises(RemoteError):
        proxy.add_note_then_fail("undone")
    assert proxy.add_note("kept") == read_on
    assert stored(engine) == ["kept"]


def test_a_read_that_asks_for_a_write_once_it_succeeded_commits_it_after_reading_without_a_transaction(
        notes_service, engine):
    proxy, _ = notes_service
    assert proxy.read_then_note("noted")["in_block"] is False
    assert stored(engine) == ["noted"]


def test_a_read_that_fails_after_asking_for_a_write_on_success_stores_nothing(notes_service, engine):
    proxy, _ = notes_service
    with pytest.raises(RemoteError):
        proxy.read_then_note("not noted", fail=True)
    assert stored(engine) == []


def test_a_write_on_success_in_a_call_that_writes_is_part_of_its_transaction(notes_service, engine):
    proxy, _ = notes_service
    with pytest.raises(RemoteError):
        proxy.add_note_on_success("undone", fail=True)
    proxy.add_note_on_success("kept")
    assert stored(engine) == ["kept"]


def test_a_write_on_success_in_an_entrypoint_that_commits_nothing_is_an_error_not_a_silent_drop(
        notes_service, engine):
    proxy, _ = notes_service
    with pytest.raises(RemoteError, match="decorate it with `read`"):
        proxy.note_on_success_without_read("lost")
    assert stored(engine) == []
