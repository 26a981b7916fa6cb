"""Team members assigned to accounts, and jobs on accounts."""
from __future__ import annotations

import uuid

import pytest

from crm import accounts, jobs
from shared.errors import Forbidden, NotFound, ValidationFailed


@pytest.fixture
def account(db, owner):
    return accounts.create_account(db, owner, {"name": "Acme", "type": "company", "guest": False})


def test_an_assigned_employee_sees_that_account_only(db, owner, account, employee_factory):
    other = accounts.create_account(db, owner, {"name": "Other", "type": "company", "guest": False})
    employee = employee_factory("manage_accounts")
    accounts.assign_team(db, owner, account.id, [employee.id])
    assert [a.id for a in accounts.list_accounts(db, employee, 50, None, None)[0]] == [account.id]
    with pytest.raises(NotFound):
        accounts.get_account(db, employee, other.id)


def test_assignment_replaces_the_previous_team(db, owner, account, employee_factory):
    first, second = employee_factory(email="e1@a.example"), employee_factory(email="e2@a.example")
    accounts.assign_team(db, owner, account.id, [first.id])
    assert [m.id for m in accounts.assign_team(db, owner, account.id, [second.id])] == [second.id]
    assert accounts.list_accounts(db, first, 50, None, None)[0] == []


def test_assigning_someone_outside_the_firm_is_a_validation_error(db, owner, other_owner, account):
    with pytest.raises(ValidationFailed):
        accounts.assign_team(db, owner, account.id, [other_owner.id, uuid.uuid4()])


def test_a_job_carries_an_internal_and_a_client_status(db, owner, account):
    job = jobs.create_job(db, owner, account.id, {"name": "2026 tax return", "status": "Preparing",
                                                  "client_status": "In progress"})
    updated = jobs.update_job(db, owner, job.id, {"client_status": "Ready to sign"})
    assert (updated.status, updated.client_status) == ("Preparing", "Ready to sign")
    assert [j.id for j in jobs.list_jobs(db, owner, account.id, 50, None)[0]] == [job.id]


def test_jobs_of_an_account_the_employee_cannot_see_are_not_found(db, owner, account, employee_factory):
    job = jobs.create_job(db, owner, account.id, {"name": "Audit", "status": "Open"})
    employee = employee_factory("manage_accounts")
    with pytest.raises(NotFound):
        jobs.update_job(db, employee, job.id, {"status": "Done"})


def test_a_job_on_a_hidden_account_answers_exactly_as_an_unknown_job(db, owner, account, employee_factory):
    """Issue 9, item 12: "No such account." would tell him the job exists."""
    job = jobs.create_job(db, owner, account.id, {"name": "Audit", "status": "Open"})
    employee = employee_factory("manage_accounts")
    with pytest.raises(NotFound) as hidden:
        jobs.update_job(db, employee, job.id, {"status": "Done"})
    with pytest.raises(NotFound) as unknown:
        jobs.update_job(db, employee, uuid.uuid4(), {"status": "Done"})
    assert (hidden.value.description, hidden.value.errors) == (unknown.value.description, unknown.value.errors)


def test_an_employee_without_manage_accounts_cannot_create_jobs(db, owner, account, employee_factory):
    employee = employee_factory("view_all_accounts")
    with pytest.raises(Forbidden):
        jobs.create_job(db, employee, account.id, {"name": "X", "status": "Open"})


def test_visible_accounts_is_none_for_managers_and_the_assigned_ids_for_employees(db, owner, account,
                                                                                   employee_factory):
    employee = employee_factory("manage_accounts")
    assert accounts.visible_accounts(db, owner) is None
    assert accounts.visible_accounts(db, employee) == []
    accounts.assign_team(db, owner, account.id, [employee.id])
    assert accounts.visible_accounts(db, employee) == [account.id]
