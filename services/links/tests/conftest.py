"""Links tests run on a real, migrated PostgreSQL database of this test run (devstack fixtures),
and the service-level ones on the run's RabbitMQ vhost."""
from __future__ import annotations

import secrets
import time
import uuid
from contextlib import contextmanager

import eventlet
import pytest
from devstack.fixtures import rolled_back
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from psycogreen.eventlet import patch_psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from links import throttle
from links.service import LinksService
from shared.addresses import client_key
from shared.errors import PortaError

# Tests run under eventlet (`nameko test`), as the service does: with psycopg2's green wait
# callback a query waiting on a lock yields to the other green threads instead of blocking them.
patch_psycopg()


@pytest.fixture(scope="session")
def links_url(migrated):
    return migrated("links")


@pytest.fixture(scope="session")
def links_engine(service_engine):
    return service_engine("links")


@pytest.fixture
def db(links_engine):
    with rolled_back(links_engine) as session:
        yield session


@pytest.fixture
def committed(links_engine):
    """`committed()`: a session of its own that really commits, for tests of concurrent transactions.
    Their rows stay in the run's database; tests using them work on a firm and address of their own."""
    sessions = []

    def make() -> Session:
        sessions.append(Session(bind=links_engine, expire_on_commit=False))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def wait_until_blocked(links_engine):
    """`wait_until_blocked(session)`: returns once the session's connection waits on a lock held by another
    transaction (PostgreSQL says so in pg_stat_activity), so a race test knows the racer got there. The
    session must already be in its transaction (it ran a statement); it may be busy in another green thread."""

    def wait(session: Session, timeout: float = 10.0) -> None:
        pid = session.connection().connection.dbapi_connection.get_backend_pid()  # no round trip
        deadline = time.monotonic() + timeout
        with links_engine.connect() as conn:
            while True:
                waiting = conn.scalar(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                                      {"pid": pid})
                conn.rollback()
                if waiting == "Lock":
                    return
                assert time.monotonic() < deadline, f"the session never waited on a lock (waiting: {waiting})"
                eventlet.sleep(0.01)

    return wait


class Failures:
    """Wrong guesses of an address as the running service committed them, and time passing for them."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def count(self, address: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.scalar(text("SELECT failures FROM failed_attempts WHERE address = :a"),
                               {"a": client_key(address)})

    def pass_the_wait(self, address: str) -> None:
        """Move the address's last wrong guess back by the longest wait, as if it had passed."""
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE failed_attempts SET last_failure_at = last_failure_at - :by WHERE address = :a"),
                         {"by": throttle.MAX_DELAY, "a": client_key(address)})


@pytest.fixture
def failures(links_engine) -> Failures:
    return Failures(links_engine)


@pytest.fixture
def firm():
    return uuid.uuid4()


@pytest.fixture
def other_firm():
    return uuid.uuid4()


def _new_address() -> str:
    """An IPv4 address no other test uses (10.0.0.0/8 holds 16 million)."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


@pytest.fixture
def address():
    """The client address of this test."""
    return _new_address()


@pytest.fixture
def new_address():
    """`new_address()`: one more client address of its own."""
    return _new_address


@pytest.fixture
def user_target():
    return {"type": "user", "id": str(uuid.uuid4())}


@pytest.fixture
def links_config(service_config, links_url):
    """`links_config(link_sealing_key=...)`: config of a links container on the run's database, with any
    settings field replaced."""
    return lambda **settings: service_config("links", db_url=links_url, **settings)


@pytest.fixture
def config(links_config):
    return links_config()


@pytest.fixture
def links(container_factory, config):
    """The links service in a container on the run's broker, and a proxy to call it."""
    container_factory(LinksService, config).start()
    with ServiceRpcProxy("links", config, timeout=10) as proxy:
        yield proxy


def remote_error_name(error: Exception) -> str:
    """shared.errors registers its errors with nameko, so a caller gets them as themselves;
    anything else arrives as a RemoteError naming its type."""
    return error.exc_type if isinstance(error, RemoteError) else type(error).__name__


@contextmanager
def _raises_remote(exc_type: str):
    with pytest.raises((PortaError, RemoteError)) as info:
        yield info
    assert remote_error_name(info.value) == exc_type, info.value


@pytest.fixture
def error_name():
    return remote_error_name


@pytest.fixture
def raises_remote():
    """`with raises_remote("Gone"):` a domain error as an RPC caller sees it."""
    return _raises_remote
