"""The links service's declared events (shared.contracts.links): their data is a link as LinkSchema dumps
it, never its token. No database."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from shared.contracts.links import LINK_ISSUED, LINK_REDEEMED, LINK_REVOKED, LinkSchema
from shared.events import InvalidEvent, envelope


def dumped(**changes):
    link = SimpleNamespace(id=uuid.uuid4(), firm_id=uuid.uuid4(), kind="share", target={"type": "user", "id": "u1"},
                           expires_at=None, single_use=False, used_at=None, revoked_at=None,
                           created_at=datetime.now(UTC))
    return {**LinkSchema().dump(link), **changes}


@pytest.mark.parametrize("event", [LINK_ISSUED, LINK_REDEEMED])
def test_an_event_carries_the_dumped_link(event):
    link = dumped()
    body = envelope(event, {"link": link}, firm_id=link["firm_id"])
    assert (body["source"], body["type"], body["firm_id"], body["data"]) == (
        "links", event.name, link["firm_id"], {"link": link})


def test_a_revocation_says_why():
    LINK_REVOKED.check({"link": dumped(), "reason": "replaced"})
    for data in ({"link": dumped()}, {"link": dumped(), "reason": "bored"}):
        with pytest.raises(InvalidEvent):
            LINK_REVOKED.check(data)


def test_a_token_or_any_other_extra_key_is_refused():
    with pytest.raises(InvalidEvent):
        LINK_ISSUED.check({"link": dumped(token="x" * 43)})
    with pytest.raises(InvalidEvent):
        LINK_ISSUED.check({"link": dumped(), "firm_id": str(uuid.uuid4())})
