"""crm's invitations become emails: each with a fresh invitation link of the envelope's firm.

crm's events are published as its outbox relay publishes them (`fire(..., source="crm")`); the links
service is a stand-in (`fake_links`)."""
from __future__ import annotations

import uuid

import pytest

from shared.config import SETTINGS_KEY
from shared.contracts.crm import PORTAL_INVITATION_REQUESTED, TEAM_MEMBER_INVITED
from shared.events import envelope

FIRM = str(uuid.uuid4())
ACCOUNT = str(uuid.uuid4())


@pytest.fixture
def address():
    return f"invited-{uuid.uuid4().hex[:8]}@example.com"


def to(address):
    return lambda message: message["X-RcptTo"] == address


def test_a_portal_invitation_carries_an_activation_link_issued_for_the_firm(fake_links, fire, mailbox, config,
                                                                             address):
    user_id = str(uuid.uuid4())
    data = {"firm_name": "Acme CPA", "account_id": ACCOUNT, "account_name": "Smith Family", "email": address,
            "user_id": user_id, "first_name": "Jane"}
    fire(PORTAL_INVITATION_REQUESTED.name, data, handler="on_portal_invitation_requested",
         body=envelope(PORTAL_INVITATION_REQUESTED, data, firm_id=FIRM, account_id=ACCOUNT))
    message = mailbox.wait_for(to(address))
    [(_, issued)] = fake_links.calls
    assert issued["payload"]["firm_id"] == FIRM
    assert issued["payload"]["target"] == {"type": "user", "id": user_id}
    assert f"{config[SETTINGS_KEY].base_url}/p/activate-" in message.get_body(("plain",)).get_content()


def test_a_team_invitation_carries_an_accept_link_issued_for_the_firm(fake_links, fire, mailbox, config, address):
    member = {"id": str(uuid.uuid4()), "firm_id": FIRM, "kind": "staff", "email": address, "name": "Emma",
              "role": "employee", "rights": [], "status": "invited", "created_at": "2026-11-23T10:00:00Z"}
    data = {"member": member, "firm_name": "Acme CPA", "inviter_name": "Olive Owner"}
    fire(TEAM_MEMBER_INVITED.name, data, handler="on_team_member_invited",
         body=envelope(TEAM_MEMBER_INVITED, data, firm_id=FIRM))
    message = mailbox.wait_for(to(address))
    assert message["Subject"] == "Olive Owner invited you to join Acme CPA on Porta"
    [(_, issued)] = fake_links.calls
    assert issued["payload"]["firm_id"] == FIRM and issued["payload"]["target"] == {"type": "user", "id": member["id"]}
    assert f"{config[SETTINGS_KEY].base_url}/p/activate-" in message.get_body(("plain",)).get_content()
