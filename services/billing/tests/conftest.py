"""Billing tests: unit/ needs nothing running; the rest run the service in a container on the run's
RabbitMQ vhost with its real, migrated database (devstack fixtures)."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from psycogreen.eventlet import patch_psycopg

from billing.service import BillingService

# Tests run under eventlet (`nameko test`), as the service does: psycopg2 must yield to the hub.
patch_psycopg()


@pytest.fixture
def firm() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def billing(started_service) -> Callable:
    """`with billing(firm_id, kind="staff", user_id=None) as proxy:` the running service, called as that user
    of that firm (no firm: no principal at all)."""
    return started_service(BillingService)
