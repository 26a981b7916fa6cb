"""The links service's entrypoints: validate, call the domain (links.tokens), emit, dump.

Callers are other services acting for a firm (they pass `firm_id`) and the gateway for the
public `/p/{token}` pages (it passes the token and the client's address). The raw token leaves
this service in `issue_link`'s reply and, for a link issued `retrievable`, in `reveal_links`'
replies to the link's own firm: it is in no event, no stored result and no log line.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from nameko.timer import timer

from links import throttle, tokens, views
from links.dependencies import LinkSealer
from links.models import Link, messaging
from shared.contracts.crm import FIRM_CREATED, USER_ACTIVATED
from shared.contracts.documents import FILE_REQUEST_UPDATED
from shared.contracts.links import (
    LINK_ISSUED,
    LINK_REDEEMED,
    LINK_REVOKED,
    IssuedLinkSchema,
    IssueLinkSchema,
    LinkListSchema,
    LinkSchema,
    LinkViewSchema,
    RevealedLinksSchema,
    RevealLinksSchema,
    TargetLinksSchema,
)
from shared.dependencies import Database
from shared.entrypoints import event_handler, idempotent, read, write
from shared.events import EventType
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import schema, validated
from shared.service import PortaService

PURGE_INTERVAL = 300  # seconds between sweeps of addresses whose wrong guesses are forgotten


class LinksService(PortaService):
    name = "links"
    db = Database(messaging)
    sealer = LinkSealer()

    def _emit(self, event: EventType, link: dict, **data: str) -> None:
        """One event about a dumped link: its firm in the envelope, and its account when it targets one."""
        self.db.emit(event, {"link": link, **data}, firm_id=link["firm_id"],
                     account_id=tokens.account_of(link["target"]))

    # -- for services acting for a firm -------------------------------------------------------

    @rpc
    # replay=False: the reply carries the raw token, and a replayable result would be stored in
    # handled_messages. A redelivered call (the service died after its commit, before its reply)
    # issues a second link instead; the first one's token was never seen by anyone.
    @write(replay=False)
    def issue_link(self, payload: dict) -> dict:
        data = validated(schema(IssueLinkSchema), payload)
        issued = tokens.issue(self.db.session, self.context.for_firm(data["firm_id"]), data["kind"], data["target"],
                              expires_at=data["expires_at"], single_use=data["single_use"],
                              replace=data["replace"], seal=self.sealer.seal if data["retrievable"] else None,
                              view=data["view"])
        for link in issued.replaced:
            self._emit(LINK_REVOKED, self._dump(link), reason="replaced")
        link = self._dump(issued.link)
        self._emit(LINK_ISSUED, link)
        return schema(IssuedLinkSchema).dump({**{name: getattr(issued.link, name) for name in link},
                                        "token": issued.token})

    @rpc
    # Not @write: it changes nothing, and a stored (replayable) result would hold the tokens.
    def reveal_links(self, firm_id: str, link_ids: list[str]) -> dict:
        """`{"items": [{"id", "token", "live"}]}`, one per asked id in order: the tokens of the firm's
        links issued `retrievable`; None for any other id (unknown, another firm's, not retrievable)."""
        data = validated(schema(RevealLinksSchema), {"firm_id": firm_id, "link_ids": link_ids})
        revealed = tokens.reveal(self.db.session, self.context.for_firm(data["firm_id"]), data["link_ids"],
                                 self.sealer.unseal)
        return schema(RevealedLinksSchema).dump({"items": revealed})

    @rpc
    @write
    def revoke_link(self, link_id: str, firm_id: str) -> dict:
        link, changed = tokens.revoke(self.db.session, self.context.for_firm(firm_id), parse_id(link_id, "link"))
        result = self._dump(link)
        if changed:
            self._emit(LINK_REVOKED, result, reason="revoked")
        return result

    @rpc
    @write
    def revoke_target_links(self, firm_id: str, kind: str | None, target: dict) -> dict:
        data = validated(schema(TargetLinksSchema), {"firm_id": firm_id, "kind": kind, "target": target})
        links = tokens.revoke_target(self.db.session, self.context.for_firm(data["firm_id"]), data["kind"],
                                     data["target"])
        result = schema(LinkListSchema).dump({"items": links})
        for link in result["items"]:
            self._emit(LINK_REVOKED, link, reason="target_revoked")
        return result

    @event_handler(FIRM_CREATED)
    def on_firm_created(self, event: dict) -> None:
        """The name every public page of the firm shows (links.views)."""
        firm = event["data"]["firm"]
        views.name_firm(self.db.session, uuid.UUID(firm["id"]), firm["name"])

    @event_handler(FILE_REQUEST_UPDATED)
    def on_file_request_updated(self, event: dict) -> None:
        """A file request's message edited: its upload page shows the new one."""
        request = event["data"]["file_request"]
        if request.get("link_id"):
            views.take_message(self.db.session, uuid.UUID(event["firm_id"]), uuid.UUID(request["link_id"]),
                               request["message"], datetime.fromisoformat(request["updated_at"]))

    @event_handler(USER_ACTIVATED)
    def on_user_activated(self, event: dict) -> None:
        """An accepted invitation is spent: every invitation link of that user stops working."""
        target = {"type": "user", "id": event["data"]["user"]["id"]}
        revoked = tokens.revoke_target(self.db.session, uuid.UUID(event["firm_id"]), "invitation", target)
        for link in schema(LinkListSchema).dump({"items": revoked})["items"]:
            self._emit(LINK_REVOKED, link, reason="target_revoked")

    # -- for the public pages (through the gateway) ---------------------------------------------

    @rpc
    # A wrong token fails the call, yet must count against its address: counted again after the rollback.
    @idempotent
    def resolve_link(self, token: str, address: str, kind: str | None = None) -> dict:
        self.db.on_failure(throttle.record_again)
        return self._dump(tokens.resolve(self.db.session, token, address, tokens.check_kind(kind)))

    @rpc
    # Reads only, on the call's read-only connection; a wrong token fails the call and is counted after it.
    @read
    def describe_link(self, token: str, address: str, kind: str | None = None) -> dict:
        """`resolve_link` with what the link's public page shows (LinkViewSchema), from one statement."""
        described = tokens.describe(self.db.connection, token, address, tokens.check_kind(kind),
                                    count_miss=self.db.on_failure)
        return schema(LinkViewSchema).dump(described)

    @rpc
    @write
    def redeem_link(self, token: str, address: str, kind: str | None = None) -> dict:
        self.db.on_failure(throttle.record_again)
        result = self._dump(tokens.redeem(self.db.session, token, address, tokens.check_kind(kind)))
        self._emit(LINK_REDEEMED, result)
        return result

    # -- housekeeping -------------------------------------------------------------------------

    @timer(interval=PURGE_INTERVAL)
    @idempotent
    def purge_failed_attempts(self) -> None:
        throttle.purge(self.db.session)

    def _dump(self, link: Link) -> dict:
        return schema(LinkSchema).dump(link)
