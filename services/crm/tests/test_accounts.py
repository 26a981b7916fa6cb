"""Accounts: create, list with search and cursors, get, patch, delete, always within one firm."""
from __future__ import annotations

import pytest

from crm import accounts
from shared.errors import Forbidden, NotFound, ValidationFailed


def make(db, actor, name, type_="individual", guest=False):
    return accounts.create_account(db, actor, {"name": name, "type": type_, "guest": guest})


def test_created_account_has_its_fields(db, owner):
    account = make(db, owner, "  Smith Family ", "family")
    assert (account.name, account.type, account.guest, account.firm_id) == ("Smith Family", "family", False,
                                                                             owner.firm_id)
    assert account.created_at is not None


def test_guest_account_for_a_non_client(db, owner):
    assert make(db, owner, "Bank of X", "company", guest=True).guest is True


def test_list_is_newest_first_and_pages_with_a_cursor(db, owner):
    created = [make(db, owner, f"Client {i:02}") for i in range(7)]
    seen, cursor = [], None
    while True:
        page, cursor = accounts.list_accounts(db, owner, 3, cursor, None)
        seen += page
        if cursor is None:
            break
    assert [a.id for a in seen] == [a.id for a in sorted(created, key=lambda a: (a.created_at, a.id),
                                                         reverse=True)]


def test_search_is_case_insensitive_and_literal(db, owner):
    make(db, owner, "Acme 50% Holdings")
    make(db, owner, "Acme 500 Holdings")
    make(db, owner, "Beta")
    assert [a.name for a in accounts.list_accounts(db, owner, 50, None, "acme")[0]] == [
        "Acme 500 Holdings", "Acme 50% Holdings"]
    assert [a.name for a in accounts.list_accounts(db, owner, 50, None, "50%")[0]] == ["Acme 50% Holdings"]


def test_a_cursor_we_did_not_issue_is_a_validation_error(db, owner):
    with pytest.raises(ValidationFailed) as failure:
        accounts.list_accounts(db, owner, 50, "bm90IGEgY3Vyc29y", None)
    assert "cursor" in failure.value.errors


def test_another_firms_account_is_not_found_for_every_verb(db, owner, other_owner):
    theirs = make(db, other_owner, "Theirs")
    with pytest.raises(NotFound):
        accounts.get_account(db, owner, theirs.id)
    with pytest.raises(NotFound):
        accounts.update_account(db, owner, theirs.id, {"name": "Mine now"})
    with pytest.raises(NotFound):
        accounts.delete_account(db, owner, theirs.id)
    assert accounts.list_accounts(db, owner, 50, None, None)[0] == []


def test_patch_changes_only_what_was_sent(db, owner):
    account = make(db, owner, "Old", "company")
    updated = accounts.update_account(db, owner, account.id, {"name": "New"})
    assert (updated.name, updated.type) == ("New", "company")


def test_deleted_account_is_gone(db, owner):
    account = make(db, owner, "Gone")
    accounts.delete_account(db, owner, account.id)
    with pytest.raises(NotFound):
        accounts.get_account(db, owner, account.id)


def test_employee_needs_manage_accounts_to_create(db, employee_factory):
    with pytest.raises(Forbidden):
        make(db, employee_factory("view_all_accounts"), "X")


def test_employee_without_view_all_sees_no_unassigned_account(db, owner, employee_factory):
    make(db, owner, "Assigned to nobody")
    employee = employee_factory("manage_accounts")
    assert accounts.list_accounts(db, employee, 50, None, None)[0] == []


def test_employee_with_view_all_sees_the_firms_accounts(db, owner, employee_factory):
    account = make(db, owner, "Visible")
    employee = employee_factory("view_all_accounts")
    assert [a.id for a in accounts.list_accounts(db, employee, 50, None, None)[0]] == [account.id]
