"""Notifications tests run on this run's migrated database, RabbitMQ vhost and SMTP server (devstack fixtures).

Other services appear as stand-ins (`fake_crm`, `fake_links`: nameko services of the same name on the
run's vhost); their events are envelopes (`envelope`), published as their outbox relay publishes them (`fire`)."""
from __future__ import annotations

import contextlib
import socket
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import eventlet
import pytest
from devstack.environment import free_port, smtp_address
from devstack.mailserver import Refusals
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from notifications.models import Activity, InboxItem, SentEmail, messaging
from notifications.service import NotificationsService
from shared.errors import NotFound
from shared.rpc import rpc


@pytest.fixture(scope="session")
def notifications_url(migrated):
    return migrated("notifications")


@pytest.fixture(scope="session")
def session_engine(service_engine):
    return service_engine("notifications")


@pytest.fixture
def engine(session_engine):
    """The database, with no emails in it (a row left queued would be swept into another test's mailbox),
    no activity and no inbox items."""
    with session_engine.begin() as conn:
        for table in (SentEmail.__table__, Activity.__table__, InboxItem.__table__, *messaging):
            conn.execute(delete(table))
    return session_engine


@pytest.fixture
def db(engine):
    """A session that commits for real: delivery commits its claims, as it does in the service."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def notifications_config(service_config, notifications_url, engine):
    """`notifications_config(smtp_port=...)`: config of a NotificationsService on the run's vhost and database,
    with any settings field replaced (SMTP: the run's server unless replaced)."""
    return lambda **settings: service_config("notifications", db_url=notifications_url, **settings)


@pytest.fixture
def config(notifications_config):
    return notifications_config()


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
def smtp_refusals(porta_env):
    """The run's SMTP server refusing what the test says (`devstack.mailserver.Refusals`):
    `.refuse(pattern, code, message)`, `.accept(pattern)`, `.smtputf8(False)`; all undone afterwards."""
    refusals = Refusals(Path(porta_env["PORTA_MAIL_DIR"]))
    yield refusals
    refusals.clear()


@pytest.fixture
def smtp_gate(porta_env):
    gate = SmtpGate(smtp_address(porta_env))
    yield gate
    gate.close()


# -- other services ------------------------------------------------------------------------------------


class FakeCrm:
    """crm's answers to services: `recipients` (the user ids `list_account_recipients` answers), `preferences`
    (email -> `client_email_preferences`' answer; any other address is unknown) and `gone` (account ids that
    are NotFound). `calls` records (method, kwargs)."""

    name = "crm"
    recipients: list[str] = []
    preferences: dict[str, dict] = {}
    gone: set[str] = set()
    calls: list[tuple[str, dict]] = []

    @rpc
    def list_account_recipients(self, firm_id, account_id, also=None):
        FakeCrm.calls.append(("list_account_recipients", {"firm_id": firm_id, "account_id": account_id,
                                                          "also": also}))
        return {"user_ids": list(FakeCrm.recipients)}

    @rpc
    def client_email_preferences(self, firm_id, account_id, email):
        FakeCrm.calls.append(("client_email_preferences", {"firm_id": firm_id, "account_id": account_id,
                                                           "email": email}))
        if account_id in FakeCrm.gone:
            raise NotFound("No such account.")
        return FakeCrm.preferences.get(email) or {"known": False, "notify": False, "categories": {},
                                                  "status": "none", "user_id": None, "first_name": None}


class FakeLinks:
    """links' answers: `links` (link id -> `{"token", "live"}` for `reveal_links`); `issue_link` answers a new
    token each time. `calls` records (method, kwargs)."""

    name = "links"
    links: dict[str, dict] = {}
    calls: list[tuple[str, dict]] = []

    @rpc
    def reveal_links(self, firm_id, link_ids):
        FakeLinks.calls.append(("reveal_links", {"firm_id": firm_id, "link_ids": link_ids}))
        return {"items": [{"id": i, "token": FakeLinks.links[i]["token"], "live": FakeLinks.links[i]["live"]}
                          for i in link_ids if i in FakeLinks.links]}

    @rpc
    def issue_link(self, payload):
        FakeLinks.calls.append(("issue_link", {"payload": payload}))
        return {"id": str(uuid.uuid4()), "token": f"activate-{uuid.uuid4().hex}"}


@pytest.fixture
def fake_crm(container_factory, nameko_config, monkeypatch):
    for name, value in (("recipients", []), ("preferences", {}), ("gone", set()), ("calls", [])):
        monkeypatch.setattr(FakeCrm, name, value)
    container_factory(FakeCrm, nameko_config).start()
    return FakeCrm


@pytest.fixture
def fake_links(container_factory, nameko_config, monkeypatch):
    monkeypatch.setattr(FakeLinks, "links", {})
    monkeypatch.setattr(FakeLinks, "calls", [])
    container_factory(FakeLinks, nameko_config).start()
    return FakeLinks


@pytest.fixture
def notifications(container_factory, config):
    """The notifications service, started (after the stand-ins a test asked for before it)."""
    container = container_factory(NotificationsService, config)
    container.start()
    return container


OCCURRED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _envelope(source, event_type, data, *, firm_id=None, account_id=None, actor=None, occurred_at=OCCURRED):
    return {"id": str(uuid.uuid4()), "type": event_type, "source": source,
            "firm_id": str(firm_id) if firm_id else None, "account_id": str(account_id) if account_id else None,
            "occurred_at": occurred_at.isoformat(), "actor": actor, "request_id": None, "data": data}


@pytest.fixture
def envelope():
    """`envelope(source, type, data, firm_id=..., account_id=..., actor=...)`: an event body as the outbox relay
    publishes it (shared.events), made by hand so that a test may send any type and any data."""
    return _envelope


@pytest.fixture
def fire(notifications, nameko_config):
    """`fire(type, data, handler=..., firm_id=..., account_id=..., source="documents", body=...)`: one event as the
    outbox relay publishes it; returns its body once `handler` (the notifications method that takes it) finished
    with it."""
    publisher = Publisher(nameko_config["AMQP_URI"])

    def send(event_type, data, *, handler, firm_id=None, account_id=None, source="documents", body=None):
        body = body or _envelope(source, event_type, data, firm_id=firm_id, account_id=account_id)
        exchange = get_event_exchange(body["source"], nameko_config)

        def done(worker_ctx, result, exc_info):
            event = worker_ctx.args[0]
            return isinstance(event, dict) and event.get("id") == body["id"] and not exc_info

        with entrypoint_waiter(notifications, handler, callback=done, timeout=15):
            publisher.publish(body, exchange=exchange, routing_key=event_type, declare=[exchange])
        return body

    return send
