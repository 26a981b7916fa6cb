"""CRM tests run on a real, migrated PostgreSQL database of this test run (devstack fixtures)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from devstack.fixtures import rolled_back
from nameko.standalone.rpc import ServiceRpcProxy

from crm import identity
from crm.service import CrmService


@pytest.fixture
def db(service_engine):
    with rolled_back(service_engine("crm")) as session:
        yield session


@pytest.fixture
def owner(db):
    """The owner of a new firm."""
    _, user, _ = identity.signup(db, "Firm A", "Olive Owner", "olive@a.example", "correct horse battery")
    return user


@pytest.fixture
def other_owner(db):
    _, user, _ = identity.signup(db, "Firm B", "Bob Owner", "bob@b.example", "correct horse battery")
    return user


@pytest.fixture
def employee_factory(db, owner):
    """An active employee of the owner's firm with the given rights."""

    def make(*rights: str, email: str = "emma@a.example"):
        member = identity.invite_team_member(db, owner, {"name": "Emma", "email": email, "role": "employee",
                                                         "rights": list(rights)})
        member.status = "active"
        db.flush()
        return member

    return make


@pytest.fixture
def crm_container(container_factory, service_config, migrated) -> Any:
    """A running crm service on this run's database (its nameko container; `.config` its config)."""
    config = service_config("crm", db_url=migrated("crm"))
    container = container_factory(CrmService, config)
    container.start()
    return container


@pytest.fixture
def crm(crm_container) -> Callable[..., Any]:
    """`crm(method, context=None, **kwargs)` calls the running crm service over RPC, `context` being the
    call's context data (the principal, as the gateway sends it)."""
    config = crm_container.config

    def call(method: str, context: dict[str, str] | None = None, **kwargs: Any) -> Any:
        with ServiceRpcProxy("crm", config, timeout=10, context_data=context or {}) as proxy:
            return getattr(proxy, method)(**kwargs)

    return call
