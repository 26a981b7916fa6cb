"""Links tests run on a real, migrated PostgreSQL database of this test run (devstack fixtures),
and the service-level ones on the run's RabbitMQ vhost."""
from __future__ import annotations

import secrets
import uuid
from contextlib import contextmanager

import pytest
from devstack.fixtures import rolled_back
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from psycogreen.eventlet import patch_psycopg
from sqlalchemy.orm import Session

from links.service import LinksService
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
