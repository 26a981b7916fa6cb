"""CRM tests run on a real, migrated PostgreSQL database of this test run (devstack fixtures)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from crm import identity


@pytest.fixture(scope="session")
def crm_engine(migrated):
    engine = create_engine(migrated("crm"))
    yield engine
    engine.dispose()


@pytest.fixture
def db(crm_engine):
    """A session whose work is rolled back after each test, so tests never see each other's rows."""
    connection = crm_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    outer.rollback()
    connection.close()


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
