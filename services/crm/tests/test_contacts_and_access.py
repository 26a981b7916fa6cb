"""Contacts with several emails, links to accounts, and portal access per (account, email)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from crm import access, accounts, contacts, identity
from shared.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from shared.events import EventLog


@pytest.fixture
def account(db, owner):
    return accounts.create_account(db, owner, {"name": "Smith Family", "type": "family", "guest": False})


@pytest.fixture
def jane(db, owner):
    return contacts.create_contact(db, owner, {"first_name": "Jane", "last_name": "Smith",
                                               "emails": ["Jane@Home.example", "jane@work.example"]})


@pytest.fixture
def linked(db, owner, account, jane):
    contacts.link_contact(db, owner, account.id, jane.id)
    return jane


def test_a_contact_keeps_every_email_in_order_lower_cased(jane):
    assert [e.email for e in jane.emails] == ["jane@home.example", "jane@work.example"]


def test_an_address_belongs_to_one_contact_of_a_firm(db, owner, jane):
    with pytest.raises(Conflict):
        contacts.create_contact(db, owner, {"first_name": "J", "last_name": "", "emails": ["JANE@home.example"]})


def test_another_firm_may_have_a_contact_with_the_same_address(db, other_owner, jane):
    other = contacts.create_contact(db, other_owner, {"first_name": "J", "last_name": "",
                                                      "emails": ["jane@home.example"]})
    assert other.firm_id != jane.firm_id


def test_an_address_listed_twice_is_a_validation_error(db, owner):
    with pytest.raises(ValidationFailed):
        contacts.create_contact(db, owner, {"first_name": "A", "last_name": "", "emails": ["a@x.example",
                                                                                            "A@x.example"]})


def test_a_contact_can_be_linked_to_several_accounts(db, owner, account, jane):
    second = accounts.create_account(db, owner, {"name": "Smith LLC", "type": "company", "guest": False})
    contacts.link_contact(db, owner, account.id, jane.id)
    contacts.link_contact(db, owner, second.id, jane.id)
    assert [c.id for c in contacts.linked_contacts(db, second.id)] == [jane.id]


def test_linking_twice_is_harmless_and_unlinking_removes_the_rows(db, owner, account, linked):
    contacts.link_contact(db, owner, account.id, linked.id)
    assert len(access.list_access(db, owner, account.id)) == 2
    contacts.unlink_contact(db, owner, account.id, linked.id)
    assert access.list_access(db, owner, account.id) == []


def test_access_lists_every_email_of_every_linked_contact_switched_off(db, owner, account, linked):
    rows = access.list_access(db, owner, account.id)
    assert [(r.email, r.login, r.notify, r.email_sync, r.status) for r in rows] == [
        ("jane@home.example", False, False, False, "none"), ("jane@work.example", False, False, False, "none")]


def test_login_on_invites_a_new_client_user(db, owner, account, linked):
    log = EventLog()
    row = access.update_access(db, owner, account.id, "jane@home.example", {"login": True, "notify": True}, log)
    assert (row.login, row.notify, row.status) == (True, True, "invited")
    [(event, data)] = [(e.event.name, e.data) for e in log]
    assert event == "portal_invitation_requested" and data["email"] == "jane@home.example"
    assert data["account_name"] == "Smith Family"


def test_login_on_for_an_active_client_grants_access_without_an_invitation(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    identity_user = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    identity_user.status = "active"
    second = accounts.create_account(db, owner, {"name": "Smith LLC", "type": "company", "guest": False})
    contacts.link_contact(db, owner, second.id, linked.id)
    log = EventLog()
    row = access.update_access(db, owner, second.id, "jane@home.example", {"login": True}, log)
    assert row.status == "active" and [e.event.name for e in log] == ["portal_access_granted"]


def test_login_off_revokes_and_keeps_the_account(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    log = EventLog()
    row = access.update_access(db, owner, account.id, "jane@home.example", {"login": False}, log)
    assert (row.login, row.status) == (False, "none")
    assert [e.event.name for e in log] == ["portal_access_revoked"]
    assert accounts.get_account(db, owner, account.id).name == "Smith Family"


def test_an_email_of_no_linked_contact_has_no_access_row(db, owner, account, jane):
    with pytest.raises(NotFound):
        access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())


def test_a_staff_members_address_cannot_get_portal_login(db, owner, account):
    contact = contacts.create_contact(db, owner, {"first_name": "O", "last_name": "", "emails": [owner.email]})
    contacts.link_contact(db, owner, account.id, contact.id)
    with pytest.raises(Conflict):
        access.update_access(db, owner, account.id, owner.email, {"login": True}, EventLog())


def test_reinvite_asks_for_a_fresh_invitation(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    log = EventLog()
    access.reinvite(db, owner, account.id, "jane@home.example", log)
    assert [e.event.name for e in log] == ["portal_invitation_requested"]


def test_reinvite_without_a_pending_invitation_is_a_conflict(db, owner, account, linked):
    with pytest.raises(Conflict):
        access.reinvite(db, owner, account.id, "jane@home.example", EventLog())


def test_changing_a_pending_address_moves_the_invitation_to_the_new_one(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    contact, replaced = contacts.update_contact(db, owner, linked.id,
                                                {"emails": ["jane@new.example", "jane@work.example"]})
    log = EventLog()
    access.follow_email_change(db, owner, contact, replaced, log)
    rows = {r.email: r for r in access.list_access(db, owner, account.id)}
    assert replaced == {"jane@home.example": "jane@new.example"}
    assert (rows["jane@new.example"].login, rows["jane@new.example"].status) == (True, "invited")
    [(event, data)] = [(e.event.name, e.data) for e in log]
    assert event == "portal_invitation_requested" and data["email"] == "jane@new.example"


def test_bulk_update_is_all_or_nothing_and_names_the_failing_item(db, owner, account, linked):
    items = [{"account_id": account.id, "email": "jane@home.example", "notify": True},
             {"account_id": account.id, "email": "stranger@x.example", "notify": True}]
    with pytest.raises(NotFound) as failure:
        access.bulk_update_access(db, owner, items, EventLog())
    assert "items[1]" in str(failure.value)


def test_bulk_update_applies_every_item(db, owner, account, linked):
    items = [{"account_id": account.id, "email": e, "login": True, "email_sync": True}
             for e in ("jane@home.example", "jane@work.example")]
    log = EventLog()
    rows = access.bulk_update_access(db, owner, items, log)
    assert [(r.login, r.email_sync, r.status) for r in rows] == [(True, True, "invited")] * 2
    assert len(log) == 2


def statements_of(db, call):
    """How many SQL statements `call()` sends through the session's connection."""
    sent = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(db.connection(), "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(db.connection(), "before_cursor_execute", listener)
    return len(sent)


def test_bulk_update_sends_as_many_statements_for_a_hundred_accounts_as_for_one(db, owner):
    def firm_of(size):
        made = []
        for i in range(size):
            acc = accounts.create_account(db, owner, {"name": f"Client {size}-{i}", "type": "individual",
                                                      "guest": False})
            person = contacts.create_contact(db, owner, {"first_name": "C", "last_name": str(i),
                                                         "emails": [f"c{size}-{i}@x.example"]})
            contacts.link_contact(db, owner, acc.id, person.id)
            made.append({"account_id": acc.id, "email": f"c{size}-{i}@x.example", "login": True, "notify": True})
        return made

    one, hundred = firm_of(1), firm_of(100)
    assert statements_of(db, lambda: access.bulk_update_access(db, owner, hundred, EventLog())) == \
        statements_of(db, lambda: access.bulk_update_access(db, owner, one, EventLog()))


def test_bulk_update_applies_the_items_in_order_each_seeing_the_ones_before(db, owner, account, linked):
    items = [{"account_id": account.id, "email": "jane@home.example", "login": True},
             {"account_id": account.id, "email": "JANE@home.example", "login": False, "notify": True}]
    log = EventLog()
    rows = access.bulk_update_access(db, owner, items, log)
    assert [(r.login, r.notify, r.status) for r in rows] == [(True, False, "invited"), (False, True, "none")]
    assert [e.event.name for e in log] == ["portal_invitation_requested", "portal_access_revoked"]
    assert [(r.login, r.notify) for r in access.list_access(db, owner, account.id)][0] == (False, True)


def test_bulk_update_changes_rows_already_stored_and_leaves_their_categories(db, owner, account, linked):
    access.set_categories(db, owner, account.id, "jane@home.example", {"proposals": False})
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    before = access.list_access(db, owner, account.id)[0]
    items = [{"account_id": account.id, "email": "jane@home.example", "login": False, "email_sync": True}]
    [row] = access.bulk_update_access(db, owner, items, EventLog())
    after = access.list_access(db, owner, account.id)[0]
    assert (before.login, before.status) == (True, "invited")
    assert (row.login, row.email_sync, row.status) == (after.login, after.email_sync, after.status) == \
        (False, True, "none")
    assert after.categories["proposals"] is False


def test_bulk_invitation_voids_the_earlier_invitation_links_of_the_address(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    first_voided = client.invitations_valid_from
    second = accounts.create_account(db, owner, {"name": "Smith LLC", "type": "company", "guest": False})
    contacts.link_contact(db, owner, second.id, linked.id)
    log = EventLog()
    access.bulk_update_access(db, owner, [{"account_id": second.id, "email": "jane@home.example", "login": True}],
                              log)
    assert [(e.event.name, e.data["user_id"]) for e in log] == [("portal_invitation_requested", str(client.id))]
    db.expire(client)
    assert client.invitations_valid_from > first_voided


def test_bulk_update_of_a_team_members_address_is_a_conflict_naming_the_item(db, owner, account, linked):
    contact = contacts.create_contact(db, owner, {"first_name": "O", "last_name": "", "emails": [owner.email]})
    contacts.link_contact(db, owner, account.id, contact.id)
    items = [{"account_id": account.id, "email": "jane@home.example", "login": True},
             {"account_id": account.id, "email": owner.email, "login": True}]
    with pytest.raises(Conflict) as failure:
        access.bulk_update_access(db, owner, items, EventLog())
    assert "items[1]" in str(failure.value)


def test_notification_categories_default_on_and_change_one_by_one(db, owner, account, linked):
    assert set(access.get_categories(db, owner, account.id, "jane@home.example").values()) == {True}
    after = access.set_categories(db, owner, account.id, "jane@home.example", {"proposals": False})
    assert after["proposals"] is False and after["invoices_payments"] is True


def test_unknown_notification_category_is_a_validation_error(db, owner, account, linked):
    with pytest.raises(ValidationFailed):
        access.set_categories(db, owner, account.id, "jane@home.example", {"horoscopes": True})


def test_another_firms_account_access_is_not_found(db, other_owner, account, linked):
    with pytest.raises(NotFound):
        access.list_access(db, other_owner, account.id)


def test_an_accepted_portal_invitation_opens_the_account_in_the_portal(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    assert access.portal_accounts(db, client) == []
    identity.accept_invitation(db, owner.firm_id, client.id, "a good long password")
    assert [a.id for a in access.portal_accounts(db, client)] == [account.id]
    assert access.list_access(db, owner, account.id)[0].status == "active"


def test_login_off_takes_the_account_out_of_the_portal_at_once(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    identity.accept_invitation(db, owner.firm_id, client.id, "a good long password")
    access.update_access(db, owner, account.id, "jane@home.example", {"login": False}, EventLog())
    assert access.portal_accounts(db, client) == []
    with pytest.raises(NotFound):
        access.require_portal_account(db, client, account.id)


def test_one_client_user_sees_every_account_he_was_given(db, owner, account, linked):
    second = accounts.create_account(db, owner, {"name": "Smith LLC", "type": "company", "guest": False})
    contacts.link_contact(db, owner, second.id, linked.id)
    for acc in (account, second):
        access.update_access(db, owner, acc.id, "jane@home.example", {"login": True}, EventLog())
    client = db.scalar(identity.select(identity.User).where(identity.User.email == "jane@home.example"))
    identity.accept_invitation(db, owner.firm_id, client.id, "a good long password")
    assert {a.id for a in access.portal_accounts(db, client)} == {account.id, second.id}


def test_a_contact_of_an_account_hidden_from_the_employee_is_not_found(db, owner, account, linked,
                                                                       employee_factory):
    employee = employee_factory("manage_accounts")
    with pytest.raises(NotFound):
        contacts.get_contact(db, employee, linked.id)
    with pytest.raises(NotFound):
        contacts.update_contact(db, employee, linked.id, {"first_name": "Mine"})


def test_an_unlinked_contact_is_visible_so_it_can_be_linked(db, owner, jane, employee_factory):
    assert contacts.get_contact(db, employee_factory("manage_accounts"), jane.id).id == jane.id


def test_an_employee_cannot_move_invitations_of_accounts_he_does_not_see(db, owner, account, linked,
                                                                         employee_factory):
    """The escalation the permission matrix found: re-addressing a pending invitation to himself."""
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    mine = accounts.create_account(db, owner, {"name": "Mine", "type": "company", "guest": False})
    contacts.link_contact(db, owner, mine.id, linked.id)
    employee = employee_factory("manage_accounts")
    accounts.assign_team(db, owner, mine.id, [employee.id])
    assert contacts.get_contact(db, employee, linked.id).id == linked.id
    with pytest.raises(Forbidden):
        contacts.update_contact(db, employee, linked.id, {"emails": ["emma@a.example"]})
    assert contacts.update_contact(db, employee, linked.id, {"first_name": "Janet"})[0].first_name == "Janet"


# -- one address, several firms (issue 9, item 1) -----------------------------------------------------------


def test_a_login_of_the_address_in_another_firm_is_none_of_this_firms_business(db, owner, other_owner, account,
                                                                               linked):
    identity.invite_team_member(db, other_owner, {"name": "J", "email": "jane@home.example", "role": "admin",
                                                  "rights": []})
    row = access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    assert row.status == "invited"
    assert pending_client(db, owner).firm_id == owner.firm_id


# -- revocations hold as soon as their call returns (issue 9, item 4) ---------------------------------------


def pending_client(db, owner):
    return identity.user_with_email(db, owner.firm_id, "jane@home.example")


def issued_now():
    """When notifications would issue the link of an invitation just requested."""
    return datetime.now(UTC)


def test_a_reinvite_voids_the_earlier_links_at_once(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client, first_link = pending_client(db, owner), issued_now()
    access.reinvite(db, owner, account.id, "jane@home.example", EventLog())
    with pytest.raises(Gone):
        identity.describe_invitation(db, owner.firm_id, client.id, first_link)
    with pytest.raises(Gone):
        identity.accept_invitation(db, owner.firm_id, client.id, "a good long password", first_link)
    assert identity.accept_invitation(db, owner.firm_id, client.id, "a good long password", issued_now())


def test_login_off_voids_the_pending_invitation(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client, link = pending_client(db, owner), issued_now()
    access.update_access(db, owner, account.id, "jane@home.example", {"login": False}, EventLog())
    with pytest.raises(Gone):
        identity.accept_invitation(db, owner.firm_id, client.id, "a good long password", link)


def test_login_off_on_one_account_leaves_the_invitation_to_another(db, owner, account, linked):
    second = accounts.create_account(db, owner, {"name": "Smith LLC", "type": "company", "guest": False})
    contacts.link_contact(db, owner, second.id, linked.id)
    for acc in (account, second):
        access.update_access(db, owner, acc.id, "jane@home.example", {"login": True}, EventLog())
    client, link = pending_client(db, owner), issued_now()
    access.update_access(db, owner, account.id, "jane@home.example", {"login": False}, EventLog())
    identity.accept_invitation(db, owner.firm_id, client.id, "a good long password", link)
    assert [a.id for a in access.portal_accounts(db, client)] == [second.id]


def test_a_replaced_pending_address_voids_the_old_link_at_once(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    client, old_link = pending_client(db, owner), issued_now()
    contact, replaced = contacts.update_contact(db, owner, linked.id, {"emails": ["jane@new.example"]})
    access.follow_email_change(db, owner, contact, replaced, EventLog())
    with pytest.raises(Gone):
        identity.accept_invitation(db, owner.firm_id, client.id, "a good long password", old_link)
    _, user = identity.accept_invitation(db, owner.firm_id, client.id, "a good long password", issued_now())
    assert user.email == "jane@new.example"
    assert [a.id for a in access.portal_accounts(db, user)] == [account.id]


def test_a_pending_address_replaced_by_a_team_members_is_a_conflict(db, owner, account, linked):
    access.update_access(db, owner, account.id, "jane@home.example", {"login": True}, EventLog())
    contact, replaced = contacts.update_contact(db, owner, linked.id, {"emails": [owner.email, "jane@work.example"]})
    with pytest.raises(Conflict):
        access.follow_email_change(db, owner, contact, replaced, EventLog())
