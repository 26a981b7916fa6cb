"""Chats tests: unit/ needs nothing running; the rest run on the run's real, migrated chats database
(devstack fixtures), the service-level ones on its RabbitMQ vhost too, with crm and documents as test
doubles and a clock the test drives.

Domain tests use `db` (rolled back at the end); service tests `start_chats()`.
"""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from devstack.fixtures import rolled_back
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from psycogreen.eventlet import patch_psycopg
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from chats import threads
from chats.models import BulkJob, Template, Thread
from chats.rendering import Member
from chats.service import ChatsService

# Tests run under eventlet (`nameko test`), as the service does: psycopg2 must yield to the hub.
patch_psycopg()

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STAFF_ID = uuid.UUID("00000000-0000-4000-8000-00000000aaaa")
ANN_ID = uuid.UUID("00000000-0000-4000-8000-00000000bbbb")
CLIENT_ID = uuid.UUID("00000000-0000-4000-8000-00000000cccc")
STAFF = threads.Author("staff", STAFF_ID, "Sam Staff")
CLIENT = threads.Author("client", CLIENT_ID, "Jane Smith")


@dataclass
class TestClock:
    """The service's clock, moved by the test."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def audience(clients: bool = True, job_ids: list[uuid.UUID] | None = None) -> threads.Audience:
    return threads.Audience(
        account_name="Smith Family", firm_name="Acme Tax", clients_create_chats=True, chat_email_content=False,
        clients=[{"user_id": str(CLIENT_ID), "email": "jane@example.com", "first_name": "Jane", "last_name": "Smith",
                  "notify": True}] if clients else [],
        team=[Member(STAFF_ID, "Sam Staff"), Member(ANN_ID, "Ann Lee")], job_ids=job_ids or [])


@pytest.fixture(scope="session")
def chats_engine(service_engine: Callable[[str], Engine]) -> Engine:
    return service_engine("chats")


@pytest.fixture
def db(chats_engine: Engine) -> Iterator[Session]:
    with rolled_back(chats_engine) as session:
        yield session


@pytest.fixture
def firm_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def account_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def firm() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def firm_rows_removed(chats_engine: Engine, firm_id: uuid.UUID) -> Iterator[None]:
    """Service tests commit for real: the firm's threads (and with them messages, tasks), templates and bulk
    jobs (with their items) go afterwards."""
    yield
    with chats_engine.begin() as connection:
        connection.execute(delete(BulkJob).where(BulkJob.firm_id == firm_id))
        connection.execute(delete(Thread).where(Thread.firm_id == firm_id))
        connection.execute(delete(Template).where(Template.firm_id == firm_id))


@dataclass
class Running:
    """A started ChatsService container: its config, its crm and documents doubles, its clock."""

    container: Any
    config: dict[str, Any]
    crm: Any
    documents: Any
    clock: TestClock
    firm_id: uuid.UUID
    account_id: uuid.UUID
    calls: list[Any] = field(default_factory=list)

    @contextlib.contextmanager
    def as_user(self, kind: str = "staff", user_id: uuid.UUID | None = None, timeout: float = 10) -> Iterator[Any]:
        caller = {"firm_id": str(self.firm_id), "user_id": str(user_id or (STAFF_ID if kind == "staff" else CLIENT_ID)),
                  "user_kind": kind}
        with ServiceRpcProxy("chats", self.config, timeout=timeout, context_data=caller) as proxy:
            yield proxy


def crm_answers(crm: Any, account_id: uuid.UUID, *, clients: bool = True, clients_create_chats: bool = True) -> None:
    """crm's double: the caller (staff Sam or client Jane, as the context says) sees the test's account."""
    def authorize(account_id: str, right: str | None = None) -> dict:
        return {"account": {"id": account_id, "name": "Smith Family"}, "principal_kind": "staff",
                "user": {"id": str(STAFF_ID), "name": "Sam Staff", "email": "sam@firm.example"},
                "portal_settings": None}

    crm.authorize_account.side_effect = authorize
    crm.chat_audience.return_value = {
        "account_name": "Smith Family", "firm_name": "Acme Tax", "clients_create_chats": clients_create_chats,
        "chat_email_content": False, "job_ids": [],
        "clients": [{"user_id": str(CLIENT_ID), "email": "jane@example.com", "first_name": "Jane",
                     "last_name": "Smith", "notify": True}] if clients else [],
        "team": [{"id": str(STAFF_ID), "name": "Sam Staff"}, {"id": str(ANN_ID), "name": "Ann Lee"}]}
    crm.list_visible_account_ids.return_value = {"all": True, "ids": []}


def as_client(crm: Any, *, clients_create_chats: bool = True) -> None:
    """From now on crm authorises the caller as Jane, a client user of the account."""
    def authorize(account_id: str, right: str | None = None) -> dict:
        return {"account": {"id": account_id, "name": "Smith Family"}, "principal_kind": "client",
                "user": {"id": str(CLIENT_ID), "name": "Jane Smith", "email": "jane@example.com"},
                "portal_settings": {"clients_create_chats": clients_create_chats}}

    crm.authorize_account.side_effect = authorize


@pytest.fixture
def start_chats(container_factory: Callable[..., Any], service_config: Callable[..., dict[str, Any]],
                migrated: Callable[[str], str], firm_id: uuid.UUID, account_id: uuid.UUID,
                firm_rows_removed: None) -> Callable[..., Running]:
    """`start_chats()`: the service on the run's broker and database; crm sees the test's account with Jane
    as its activated client; documents is a double; the clock starts at START."""

    def start(clock: TestClock | None = None) -> Running:
        config = service_config("chats", db_url=migrated("chats"))
        container = container_factory(ChatsService, config)
        clock = clock or TestClock()
        crm, documents = replace_dependencies(container, "crm", "documents")
        replace_dependencies(container, clock=clock)
        crm_answers(crm, account_id)
        container.start()
        return Running(container, config, crm, documents, clock, firm_id, account_id)

    return start


@pytest.fixture
def known() -> SimpleNamespace:
    """The tests' people, time and helpers (test modules cannot import the conftest under importlib mode)."""
    return SimpleNamespace(START=START, STAFF_ID=STAFF_ID, ANN_ID=ANN_ID, CLIENT_ID=CLIENT_ID, STAFF=STAFF,
                           CLIENT=CLIENT, audience=audience, TestClock=TestClock, as_client=as_client,
                           crm_answers=crm_answers)
