"""The rights in effect and how a user is dumped with them: pure, no database."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from crm.permissions import effective_rights, require_manager, require_right, sees_all_accounts, with_rights
from shared.contracts.crm import RIGHTS, MeSchema, UserSchema
from shared.errors import Forbidden


def user(kind="staff", role="employee", rights=(), **more):
    return SimpleNamespace(id=uuid.uuid4(), firm_id=uuid.uuid4(), kind=kind, email="u@a.example", name="U",
                           role=role, rights=list(rights), status="active", created_at=datetime.now(UTC), **more)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admins_hold_every_right_whatever_is_stored(role):
    assert effective_rights(user(role=role, rights=[])) == list(RIGHTS)


def test_an_employee_holds_the_known_rights_he_was_given_sorted():
    employee = user(rights=["view_all_accounts", "manage_documents", "fly", "manage_documents"])
    assert effective_rights(employee) == ["manage_documents", "view_all_accounts"]


def test_a_client_user_holds_no_staff_right_even_if_some_were_stored():
    assert effective_rights(user(kind="client", role=None, rights=["manage_accounts"])) == []


def test_a_missing_right_is_forbidden_and_a_held_one_passes():
    employee = user(rights=["manage_billing"])
    require_right(employee, "manage_billing")
    with pytest.raises(Forbidden):
        require_right(employee, "manage_accounts")


def test_only_owner_and_admins_manage_and_only_view_all_sees_every_account():
    require_manager(user(role="admin"))
    with pytest.raises(Forbidden):
        require_manager(user(rights=list(RIGHTS)))
    assert sees_all_accounts(user(rights=["view_all_accounts"])) and not sees_all_accounts(user())


def test_a_user_is_dumped_with_his_rights_in_effect_not_the_stored_ones():
    admin = user(role="admin", rights=["manage_billing"])
    dumped = UserSchema().dump(with_rights(admin))
    assert dumped["rights"] == list(RIGHTS)
    assert (dumped["id"], dumped["role"], dumped["kind"]) == (str(admin.id), "admin", "staff")
    assert admin.rights == ["manage_billing"]  # the stored grants are untouched


def test_me_is_dumped_with_his_firm_and_his_rights():
    firm = SimpleNamespace(id=uuid.uuid4(), name="Firm A", created_at=datetime.now(UTC))
    me = MeSchema().dump(with_rights(user(rights=["manage_documents"], firm=firm)))
    assert me["firm"]["name"] == "Firm A" and me["rights"] == ["manage_documents"]


def test_the_contract_dumps_rights_as_given_so_crm_must_compute_them():
    assert UserSchema().dump({"rights": ["anything"]}) == {"rights": ["anything"]}
