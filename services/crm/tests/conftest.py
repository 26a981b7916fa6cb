"""CRM tests run on a real, migrated PostgreSQL database of this test run (devstack fixtures)."""
from __future__ import annotations

import pytest
from devstack.fixtures import rolled_back

from crm import identity


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
