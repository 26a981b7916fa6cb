"""Every crm event, emitted through the service's RPCs, is the declared event in its envelope.

`emit` checks each payload against its declaration (shared.contracts.crm), so one walk through
the RPCs that emit shows every declared schema matches what crm sends; the outbox rows then show
the envelope consumers read: firm, account, actor.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.models import messaging
from shared.contracts.crm import NOTIFICATION_CATEGORIES
from shared.events import EnvelopeSchema, declared, lookup
from shared.rpc import rpc

OUTBOX = messaging[0]
ABOUT_ONE_ACCOUNT = {"account_created", "account_updated", "account_deleted", "account_team_assigned",
                     "contact_linked", "contact_unlinked", "portal_invitation_requested", "portal_access_granted",
                     "portal_access_revoked", "notification_categories_changed", "job_created", "job_updated"}


class FakeLinks:
    """links' resolve_link for accept_invitation: the token is `<firm_id>:<user_id>`."""

    name = "links"

    @rpc
    def resolve_link(self, token, address, kind):
        firm_id, user_id = token.split(":")
        # Issued just now: after any earlier invitation of the user was voided.
        return {"firm_id": firm_id, "target": {"type": "user", "id": user_id},
                "created_at": datetime.now(UTC).isoformat()}


@pytest.fixture
def links(container_factory, nameko_config):
    container_factory(FakeLinks, nameko_config).start()


def outbox_of(engine, firm_id):
    with engine.connect() as connection:
        return connection.execute(select(OUTBOX).where(OUTBOX.c.payload["firm_id"].astext == firm_id)
                                  .order_by(OUTBOX.c.created_at)).all()


@pytest.fixture
def walked(crm, links, service_engine):
    """A new firm taken through every RPC that emits: its outbox rows and what the calls returned."""
    unique = uuid.uuid4().hex[:12]
    signup = crm("signup", payload={"firm_name": "Events CPA", "name": "Eve Owner",
                                    "email": f"eve-{unique}@events.example", "password": "correct horse battery"})
    firm, owner = signup["firm"]["id"], signup["user"]["id"]
    staff = {"firm_id": firm, "user_id": owner, "user_kind": "staff"}

    def as_owner(method, **kwargs):
        return crm(method, staff, **kwargs)

    def accept(user_id):
        crm("accept_invitation", token=f"{firm}:{user_id}", payload={"password": "a good long password"},
            address="203.0.113.9")

    member = as_owner("invite_team_member", payload={"name": "Ivy", "email": f"ivy-{unique}@events.example",
                                                     "role": "employee", "rights": []})
    as_owner("update_team_member", member_id=member["id"], payload={"rights": ["manage_billing"]})
    accept(member["id"])
    as_owner("remove_team_member", member_id=member["id"])

    account = as_owner("create_account", payload={"name": "Smith Family", "type": "family"})
    as_owner("update_account", account_id=account["id"], payload={"name": "The Smiths"})
    as_owner("assign_account_team", account_id=account["id"], payload={"user_ids": [owner]})

    home, new = f"jane-{unique}@home.example", f"jane-{unique}@new.example"
    contact = as_owner("create_contact", payload={"first_name": "Jane", "last_name": "Smith", "emails": [home]})
    as_owner("link_contact", account_id=account["id"], payload={"contact_id": contact["id"]})
    as_owner("update_access", account_id=account["id"], email=home, payload={"login": True})
    as_owner("update_contact", contact_id=contact["id"], payload={"emails": [new]})  # moves the invitation
    as_owner("set_notification_categories", account_id=account["id"], email=new,
             payload={"categories": {"proposals": False}})
    client = as_owner("client_email_preferences", firm_id=firm, account_id=account["id"], email=new)["user_id"]
    accept(client)
    as_owner("update_access", account_id=account["id"], email=new, payload={"login": False})
    as_owner("update_access", account_id=account["id"], email=new, payload={"login": True})  # he is active

    job = as_owner("create_job", account_id=account["id"], payload={"name": "Return", "status": "Started"})
    as_owner("update_job", job_id=job["id"], payload={"client_status": "In progress"})
    as_owner("update_portal_settings", payload={"announcement": True})
    as_owner("unlink_contact", account_id=account["id"], contact_id=contact["id"])
    as_owner("delete_account", account_id=account["id"])
    rows = outbox_of(service_engine("crm"), firm)
    return {"rows": rows, "firm": firm, "owner": owner, "member": member["id"], "client": client,
            "account": account, "contact": contact}


def test_every_declared_crm_event_is_emitted_and_matches_its_declaration(walked):
    rows = walked["rows"]
    assert {row.event_type for row in rows} == {event.name for event in declared("crm")}
    for row in rows:
        envelope = EnvelopeSchema().load(row.payload)
        assert (row.payload["source"], row.payload["type"]) == ("crm", row.event_type)
        assert str(envelope["firm_id"]) == walked["firm"]
        lookup("crm", row.event_type).check(row.payload["data"])
        assert "firm_id" not in row.payload["data"]


def test_an_account_created_row_carries_firm_account_and_actor_in_its_envelope(walked):
    [row] = [row for row in walked["rows"] if row.event_type == "account_created"]
    assert row.payload["type"] == "account_created"
    assert row.payload["firm_id"] == walked["firm"]
    assert row.payload["account_id"] == walked["account"]["id"]
    assert row.payload["actor"] == {"id": walked["owner"], "kind": "staff"}
    assert row.payload["data"] == {"account": walked["account"]}


def test_every_event_about_one_account_names_it_in_the_envelope(walked):
    for row in walked["rows"]:
        expected = walked["account"]["id"] if row.event_type in ABOUT_ONE_ACCOUNT else None
        assert row.payload["account_id"] == expected, row.event_type


def test_signup_and_activation_are_caused_by_the_new_owner_and_the_activated_user(walked):
    actors = [(row.event_type, row.payload["actor"]) for row in walked["rows"]
              if row.event_type in ("firm_created", "user_activated")]
    assert actors == [("firm_created", {"id": walked["owner"], "kind": "staff"}),
                      ("user_activated", {"id": walked["member"], "kind": "staff"}),
                      ("user_activated", {"id": walked["client"], "kind": "client"})]


def test_event_data_keeps_the_keys_consumers_read(walked):
    data = {}
    for row in walked["rows"]:
        data.setdefault(row.event_type, row.payload["data"])
    assert data["firm_created"]["owner"]["rights"] == ["manage_accounts", "manage_documents", "manage_billing",
                                                       "view_all_accounts"]
    assert data["team_member_updated"]["member"]["rights"] == ["manage_billing"]
    assert set(data["portal_invitation_requested"]) == {"firm_name", "account_id", "account_name", "email",
                                                        "user_id", "first_name"}
    assert data["portal_access_revoked"]["user_id"] == walked["client"]
    assert data["contact_updated"]["replaced_emails"] == {walked["contact"]["emails"][0]:
                                                          data["contact_updated"]["contact"]["emails"][0]}
    assert set(data["notification_categories_changed"]["categories"]) == set(NOTIFICATION_CATEGORIES)
    assert data["portal_settings_changed"] == {"changes": [{"setting": "announcement", "old": False, "new": True}]}
