"""Billing tests: unit/ needs nothing running; the rest run on the run's real, migrated PostgreSQL database
(devstack fixtures), the service-level ones in a container on the run's RabbitMQ vhost.

Domain tests use `db` (a session rolled back at the end) or `engine` (real commits, for concurrency).
Service tests start the service with `billing`: crm and links are test doubles. crm authorises any
account (and names it), lists one client address per account, names the firm; links issues, reveals
and resolves tokens it keeps in memory.
"""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from devstack.fixtures import rolled_back
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from psycogreen.eventlet import patch_psycopg
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from billing.service import BillingService
from shared.errors import Gone, NotFound

# Tests run under eventlet (`nameko test`), as the service does: psycopg2 must yield to the hub.
patch_psycopg()

CLIENT_EMAIL = "client@example.com"


@pytest.fixture(scope="session")
def billing_url(migrated: Callable[[str], str]) -> str:
    return migrated("billing")


@pytest.fixture(scope="session")
def engine(service_engine: Callable[[str], Engine], billing_url: str) -> Engine:
    return service_engine("billing")


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work, commits included, is rolled back at the end of the test."""
    with rolled_back(engine) as session:
        yield session


@pytest.fixture
def firm() -> str:
    return str(uuid.uuid4())


class FakeLinks:
    """The links service's part billing uses: tokens issued, revealed, resolved and revoked in memory."""

    def __init__(self) -> None:
        self.links: dict[str, dict[str, Any]] = {}

    def issue_link(self, payload: dict) -> dict:
        link_id, token = str(uuid.uuid4()), uuid.uuid4().hex
        self.links[link_id] = {"id": link_id, "token": token, "live": True, **payload}
        return {"id": link_id, "token": token, **payload}

    def reveal_links(self, firm_id: str, link_ids: list[str]) -> dict:
        return {"items": [{"id": i, "token": self.links[i]["token"] if i in self.links else None,
                           "live": self.links.get(i, {}).get("live", False)} for i in link_ids]}

    def revoke_link(self, link_id: str, firm_id: str) -> dict:
        self.links[link_id]["live"] = False
        return {}

    def resolve_link(self, token: str, address: str, kind: str | None = None) -> dict:
        for link in self.links.values():
            if link["token"] == token and (kind is None or link["kind"] == kind):
                if not link["live"]:
                    raise Gone("This link was revoked.")
                return link
        raise NotFound("No such link.")

    def token_of(self, link_id: str) -> str:
        return self.links[link_id]["token"]


@pytest.fixture
def billing(container_factory: Any, service_config: Callable[..., dict[str, Any]],
            billing_url: str) -> Callable[..., Any]:
    """`with billing(firm_id, kind="staff", user_id=None) as proxy:` the running service, called as that user
    of that firm (no firm: no principal at all). `billing.links` is the links double, `billing.crm` crm's."""
    config = service_config("billing", db_url=billing_url)
    container = container_factory(BillingService, config)
    crm, links = replace_dependencies(container, "crm", "links")
    crm.authorize_account.side_effect = lambda account_id, right=None: {
        "account": {"id": account_id, "name": "Smith Family"}, "principal_kind": "staff",
        "user": {"name": "Sam Staff", "email": "sam@firm.example"}, "portal_settings": None}
    crm.list_access.side_effect = lambda account_id: {"items": [{"email": CLIENT_EMAIL, "notify": True}]}
    crm.describe_firm.return_value = {"name": "Ledger & Co"}
    fake = FakeLinks()
    for method in ("issue_link", "reveal_links", "revoke_link", "resolve_link"):
        getattr(links, method).side_effect = getattr(fake, method)
    container.start()

    @contextlib.contextmanager
    def call_as(firm_id: str | None = None, kind: str = "staff", user_id: str | None = None) -> Iterator[Any]:
        caller = {"firm_id": firm_id, "user_id": user_id or str(uuid.uuid4()), "user_kind": kind} if firm_id else {}
        with ServiceRpcProxy("billing", config, timeout=30, context_data=caller) as proxy:
            yield proxy

    call_as.links = fake  # type: ignore[attr-defined]
    call_as.crm = crm  # type: ignore[attr-defined]
    call_as.container = container  # type: ignore[attr-defined]
    return call_as
