"""The parts of portal-access decisions that need no database."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from crm import access
from shared.contracts.crm import NOTIFICATION_CATEGORIES
from shared.errors import Forbidden, ValidationFailed

NO_DATABASE = None  # these refusals come before any lookup


def test_an_unknown_right_is_a_validation_error_before_anything_is_looked_up():
    staff = SimpleNamespace(kind="staff", role="owner", rights=[])
    with pytest.raises(ValidationFailed):
        access.authorize_account(NO_DATABASE, staff, uuid.uuid4(), "fly")


def test_a_client_asking_for_a_staff_right_is_forbidden_whatever_the_account():
    client = SimpleNamespace(kind="client", role=None, rights=[])
    with pytest.raises(Forbidden):
        access.authorize_account(NO_DATABASE, client, uuid.uuid4(), "manage_documents")


def test_an_untouched_address_has_every_switch_off_and_every_category_on():
    view = access.AccessView("jane@home.example", uuid.uuid4())
    assert (view.login, view.notify, view.email_sync, view.status) == (False, False, False, "none")
    assert view.categories == dict.fromkeys(NOTIFICATION_CATEGORIES, True)
