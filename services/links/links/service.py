"""The links service's entrypoints: validate, call the domain, commit (with events), dump.

Callers are other services acting for a firm (they pass `firm_id`) and the gateway for the
public `/p/{token}` pages (it passes the token and the client's address). The raw token leaves
this service in `issue_link`'s reply and, for a link issued `retrievable`, in `reveal_links`'
replies to the link's own firm: it is in no event, no stored result and no log line.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nameko.timer import timer

from links import throttle, tokens
from links.dependencies import LinkSealer
from links.models import KINDS, Link, messaging
from links.schemas import (
    IssuedLinkSchema,
    IssueLinkSchema,
    LinkListSchema,
    LinkSchema,
    RevealedLinksSchema,
    RevealLinksSchema,
    TargetLinksSchema,
)
from shared.dependencies import Database
from shared.entrypoints import event_handler, write
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.rpc import rpc
from shared.schemas import validated
from shared.service import PortaService

PURGE_INTERVAL = 300  # seconds between sweeps of addresses whose wrong guesses are forgotten


def _id(value: Any) -> uuid.UUID:
    """An id that is not a UUID names nothing: 404, like an id of another firm."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such link.") from None


def _kind(kind: Any) -> str | None:
    if kind is not None and kind not in KINDS:
        raise ValidationFailed("Unknown link kind.", {"kind": [f"Must be one of: {', '.join(KINDS)}."]})
    return kind


def _firm_id(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("firm_id is not a UUID.", {"firm_id": ["Not a valid UUID."]}) from None


class LinksService(PortaService):
    name = "links"
    db = Database(messaging)
    sealer = LinkSealer()

    def _for_firm(self, firm_id: uuid.UUID) -> uuid.UUID:
        """When the call carries a principal (a request of a firm's user, passed on by the calling
        service), it must be of the firm the call acts for."""
        principal = self.context.principal
        if principal is not None and principal.firm_id != str(firm_id):
            raise Forbidden("A service acted for another firm than its caller's.")
        return firm_id

    @contextmanager
    def _wrong_guesses_counted(self) -> Iterator[None]:
        """A wrong token must count against its address although the call fails: the domain
        recorded it in this transaction (and nothing else), so commit before the error goes out."""
        try:
            yield
        except NotFound:
            self.db.commit()
            raise

    def _dump(self, link: Link) -> dict:
        return LinkSchema().dump(link)

    # -- for services acting for a firm -------------------------------------------------------

    @rpc
    # replay=False: the reply carries the raw token, and a replayable result would be stored in
    # handled_messages. A redelivered call (the service died after its commit, before its reply)
    # issues a second link instead; the first one's token was never seen by anyone.
    @write(replay=False)
    def issue_link(self, payload: dict) -> dict:
        data = validated(IssueLinkSchema(), payload)
        issued = tokens.issue(self.db.session, self._for_firm(data["firm_id"]), data["kind"], data["target"],
                              expires_at=data["expires_at"], single_use=data["single_use"],
                              replace=data["replace"], seal=self.sealer.seal if data["retrievable"] else None)
        for link in issued.replaced:
            self.db.emit("link_revoked", {"link": self._dump(link), "reason": "replaced"})
        link = self._dump(issued.link)
        self.db.emit("link_issued", {"link": link})
        return IssuedLinkSchema().dump({**{name: getattr(issued.link, name) for name in link},
                                        "token": issued.token})

    @rpc
    # Not @write: it changes nothing, and a stored (replayable) result would hold the tokens.
    def reveal_links(self, firm_id: str, link_ids: list[str]) -> dict:
        """`{"items": [{"id", "token", "live"}]}`, one per asked id in order: the tokens of the firm's
        links issued `retrievable`; None for any other id (unknown, another firm's, not retrievable)."""
        data = validated(RevealLinksSchema(), {"firm_id": firm_id, "link_ids": link_ids})
        revealed = tokens.reveal(self.db.session, self._for_firm(data["firm_id"]), data["link_ids"],
                                 self.sealer.unseal)
        return RevealedLinksSchema().dump({"items": revealed})

    @rpc
    @write
    def revoke_link(self, link_id: str, firm_id: str) -> dict:
        link, changed = tokens.revoke(self.db.session, self._for_firm(_firm_id(firm_id)), _id(link_id))
        result = self._dump(link)
        if changed:
            self.db.emit("link_revoked", {"link": result, "reason": "revoked"})
        return result

    @rpc
    @write
    def revoke_target_links(self, firm_id: str, kind: str | None, target: dict) -> dict:
        data = validated(TargetLinksSchema(), {"firm_id": firm_id, "kind": kind, "target": target})
        links = tokens.revoke_target(self.db.session, self._for_firm(data["firm_id"]), data["kind"],
                                     data["target"])
        result = LinkListSchema().dump({"items": links})
        for link in result["items"]:
            self.db.emit("link_revoked", {"link": link, "reason": "target_revoked"})
        return result

    @event_handler("crm", "user_activated")
    def on_user_activated(self, event: dict) -> None:
        """An accepted invitation is spent: every invitation link of that user stops working."""
        user = event["data"]["user"]
        revoked = tokens.revoke_target(self.db.session, uuid.UUID(user["firm_id"]), "invitation",
                                       {"type": "user", "id": user["id"]})
        for link in LinkListSchema().dump({"items": revoked})["items"]:
            self.db.emit("link_revoked", {"link": link, "reason": "target_revoked"})

    # -- for the public pages (through the gateway) ---------------------------------------------

    @rpc
    def resolve_link(self, token: str, address: str, kind: str | None = None) -> dict:
        with self._wrong_guesses_counted():
            link = tokens.resolve(self.db.session, token, address, _kind(kind))
        return self._dump(link)

    @rpc
    @write
    def redeem_link(self, token: str, address: str, kind: str | None = None) -> dict:
        with self._wrong_guesses_counted():
            link = tokens.redeem(self.db.session, token, address, _kind(kind))
        result = self._dump(link)
        self.db.emit("link_redeemed", {"link": result})
        return result

    # -- housekeeping -------------------------------------------------------------------------

    @timer(interval=PURGE_INTERVAL)
    def purge_failed_attempts(self) -> None:
        throttle.purge(self.db.session)
        self.db.commit()
