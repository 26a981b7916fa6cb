"""Notifications tests run on this run's migrated database, RabbitMQ vhost and SMTP server (devstack fixtures)."""
from __future__ import annotations

import contextlib
import socket
import time

import eventlet
import pytest
from devstack.environment import free_port, smtp_address
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from notifications.models import Activity, SentEmail, messaging


@pytest.fixture(scope="session")
def notifications_url(migrated):
    return migrated("notifications")


@pytest.fixture(scope="session")
def session_engine(service_engine):
    return service_engine("notifications")


@pytest.fixture
def engine(session_engine):
    """The database, with no emails in it (a row left queued would be swept into another test's mailbox)
    and no activity."""
    with session_engine.begin() as conn:
        for table in (SentEmail.__table__, Activity.__table__, *messaging):
            conn.execute(delete(table))
    return session_engine


@pytest.fixture
def db(engine):
    """A session that commits for real: delivery commits its claims, as it does in the service."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def config(nameko_config, notifications_url, engine):
    """nameko config of a NotificationsService on the run's vhost and database (SMTP: the run's server)."""
    return {**nameko_config, "DB_URI": notifications_url}


@pytest.fixture
def emails(engine):
    """`emails()`: every sent_emails row, oldest first."""

    def read() -> list[SentEmail]:
        with Session(engine) as session:
            return list(session.scalars(select(SentEmail).order_by(SentEmail.created_at)))

    return read


@pytest.fixture
def eventually():
    """`eventually(check, timeout)`: the first truthy value of `check()`, polled for up to `timeout` seconds."""

    def poll(check, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                assert value, f"still {value!r} after {timeout}s"
                return value
            time.sleep(0.05)

    return poll


class SmtpGate:
    """A port where no SMTP server answers until `open()`; then it leads to the run's SMTP server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._threads: list = []
        self._listener = None

    def open(self) -> None:
        self._listener = eventlet.listen(("127.0.0.1", self.port))
        self._threads.append(eventlet.spawn(self._serve))

    def close(self) -> None:
        for thread in self._threads:
            thread.kill()
        if self._listener is not None:
            self._listener.close()

    def _serve(self) -> None:
        while True:
            client, _ = self._listener.accept()
            upstream = eventlet.connect(self.target)
            self._threads += [eventlet.spawn(_pipe, client, upstream), eventlet.spawn(_pipe, upstream, client)]


def _pipe(source, sink) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def smtp_gate(porta_env):
    gate = SmtpGate(smtp_address(porta_env))
    yield gate
    gate.close()
