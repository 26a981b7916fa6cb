"""Shares' entrypoints (documents/shares.py): staff share documents of one account with recipients; each
recipient opens and downloads through his own link, every open and download counted and an event.

A mixin of `DocumentsService`: it uses the service's `db`, `crm`, `links`, `settings` and caller checks.
"""
from __future__ import annotations

import uuid
from typing import Any

from documents import library, shares
from documents.models import Share, ShareRecipient
from shared.contracts.documents import DownloadSchema
from shared.contracts.links import live_page_urls
from shared.contracts.shares import (
    SHARE_CREATED,
    SHARE_DOWNLOADED,
    SHARE_OPENED,
    SHARE_RECIPIENT_REVOKED,
    SHARE_RECIPIENT_UPDATED,
    SHARE_REVOKED,
    SHARE_SENT,
    PublicShareSchema,
    ShareArchiveSchema,
    ShareCreateSchema,
    ShareEventSchema,
    SharePageSchema,
    ShareRecipientPatchSchema,
    ShareSchema,
)
from shared.entrypoints import write
from shared.errors import Conflict, NotFound
from shared.events import EventType
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated


def _recipient_event(recipient: ShareRecipient) -> dict[str, Any]:
    return {"id": str(recipient.id), "email": recipient.email,
            "link_id": str(recipient.link_id) if recipient.link_id else None,
            "expires_at": recipient.expires_at.isoformat() if recipient.expires_at else None}


def _document_refs(documents: list[Any]) -> list[dict[str, str]]:
    return [{"id": str(d.id), "name": d.name} for d in documents]


class ShareEntrypoints:
    db: Any
    crm: Any
    links: Any
    settings: Any

    # -- staff ------------------------------------------------------------------------------

    def _share(self, share_id: Any, *, lock: bool = False) -> tuple[Share, Any]:
        """The caller's firm's share, if he may manage the documents of its account (404 as unknown otherwise)."""
        principal = self._principal().require_staff()
        share = shares.find(self.db.session, uuid.UUID(principal.firm_id), parse_id(share_id, "share"), lock=lock)
        return share, self._authorize_as(shares.NO_SUCH_SHARE, share.account_id, "manage_documents")

    def _share_fields(self, share: Share, *, with_urls: bool) -> dict:
        """The share as staff see it; urls only in reads (a stored, replayable write reply holds no token)."""
        view = shares.view(self.db.session, share)
        urls: dict[str, str] = {}
        if with_urls:
            ids = shares.links_to_reveal(self.db.session, [share])
            urls = live_page_urls(self.links, str(share.firm_id), ids, self.settings.base_url)
        return view.fields(urls)

    def _share_answer(self, share: Share, *, with_urls: bool) -> dict:
        return schema(ShareSchema).dump(self._share_fields(share, with_urls=with_urls))

    def _emit_share(self, event: EventType, share: Share, **data: Any) -> None:
        self.db.emit(event, {"share": schema(ShareEventSchema).dump(share), **data}, firm_id=share.firm_id,
                     account_id=share.account_id)

    @rpc
    @write
    def create_share(self, payload: dict) -> dict:
        """Documents of one account (the caller needs `manage_documents` on it) to recipients, each with
        his own link. The reply has no urls (it is stored for replay); `get_share` has them."""
        data = validated(schema(ShareCreateSchema), payload)
        principal = self._principal().require_staff()
        documents = shares.find_documents(self.db.session, uuid.UUID(principal.firm_id), data["document_ids"])
        # Each account named is authorised first, so a hidden one answers as an unknown document would.
        callers = {d.account_id: self._authorize_as(library.NO_SUCH_DOCUMENT, d.account_id, "manage_documents")
                   for d in documents}
        account_id = shares.one_account(documents)
        caller = callers[account_id]
        shares.check_shareable(documents)
        share = shares.create(self.db.session, caller.firm_id, account_id, documents, caller.user_id, data)
        recipients = shares.recipients_of(self.db.session, share)
        for recipient in recipients:
            link = self.links.issue_link(payload=shares.link_payload(recipient))
            shares.attach_link(recipient, uuid.UUID(link["id"]))
        events = [_recipient_event(r) for r in recipients]
        self._emit_share(SHARE_CREATED, share, recipients=events, documents=_document_refs(documents))
        if data["send_email"]:
            firm = self.crm.describe_firm(firm_id=str(caller.firm_id))
            self._emit_share(SHARE_SENT, share, recipients=events, documents=_document_refs(documents),
                             firm_name=firm["name"], sender_name=(caller.user or {}).get("name"))
        return self._share_answer(share, with_urls=False)

    @rpc
    def list_shares(self, account_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        caller = self._staff_writer(account_id)
        items, cursor = shares.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                params["limit"], params["cursor"])
        return schema(SharePageSchema).dump({"items": [self._share_fields(s, with_urls=True) for s in items],
                                       "next_cursor": cursor})

    @rpc
    def get_share(self, share_id: str) -> dict:
        share, _ = self._share(share_id)
        return self._share_answer(share, with_urls=True)

    @rpc
    @write
    def update_share_recipient(self, share_id: str, recipient_id: str, payload: dict) -> dict:
        data = validated(schema(ShareRecipientPatchSchema), payload)
        share, _ = self._share(share_id, lock=True)
        recipient = shares.find_recipient(self.db.session, share, parse_id(recipient_id, "recipient"), lock=True)
        shares.set_expiry(share, recipient, data["expires_at"])
        self._emit_share(SHARE_RECIPIENT_UPDATED, share, recipient=_recipient_event(recipient))
        return self._share_answer(share, with_urls=False)

    @rpc
    @write
    def revoke_share_recipient(self, share_id: str, recipient_id: str) -> dict:
        """His link stops at once (links revokes it too; doing it again is harmless)."""
        share, _ = self._share(share_id, lock=True)
        recipient = shares.find_recipient(self.db.session, share, parse_id(recipient_id, "recipient"), lock=True)
        if recipient.link_id is not None:
            self.links.revoke_link(link_id=str(recipient.link_id), firm_id=str(share.firm_id))
        if shares.revoke_recipient(share, recipient):
            self._emit_share(SHARE_RECIPIENT_REVOKED, share, recipient=_recipient_event(recipient))
        return self._share_answer(share, with_urls=False)

    @rpc
    @write
    def revoke_share(self, share_id: str) -> dict:
        """Every recipient's link stops at once."""
        share, _ = self._share(share_id, lock=True)
        recipients = shares.recipients_of(self.db.session, share)
        for recipient in recipients:
            if recipient.link_id is not None and recipient.revoked_at is None:
                self.links.revoke_link(link_id=str(recipient.link_id), firm_id=str(share.firm_id))
        was_active = share.status == "active"
        revoked = shares.revoke(share, recipients)
        if was_active:
            self._emit_share(SHARE_REVOKED, share, recipients=[_recipient_event(r) for r in revoked])
        return self._share_answer(share, with_urls=False)

    # -- the recipient, through his link (the gateway) -----------------------------------------

    def _linked_share(self, token: str, address: str, *, lock: bool = False) -> tuple[Share, ShareRecipient]:
        """The share and recipient a live link stands for (links counts wrong guesses; 410 once expired
        or revoked, whatever links has heard yet)."""
        link = self.links.resolve_link(token=token, address=address, kind="share")
        if link["target"].get("type") != shares.LINK_TARGET:
            raise NotFound(shares.NO_SUCH_RECIPIENT)
        return shares.find_linked(self.db.session, uuid.UUID(link["firm_id"]),
                                  parse_id(link["target"]["id"], "recipient"), lock=lock)

    def _emit_recipient(self, event: EventType, share: Share, recipient: ShareRecipient, **data: Any) -> None:
        self._emit_share(event, share, recipient=_recipient_event(recipient), **data)

    @rpc
    @write
    def open_share(self, token: str, address: str) -> dict:
        """What the share page shows; the open is counted for this recipient and is an event."""
        share, recipient = self._linked_share(token, address, lock=True)
        documents = shares.documents_of(self.db.session, share)
        shares.note_open(recipient)
        self._emit_recipient(SHARE_OPENED, share, recipient, document=None)
        return schema(PublicShareSchema).dump(shares.public_fields(share, recipient, documents))

    @rpc
    @write
    def open_shared_document(self, token: str, address: str, document_id: str, inline: bool = False,
                             range_start: int | None = None) -> dict:
        """Where one shared document's bytes are. Viewing it in the browser counts as an open, downloading
        it as a download, each once per request from its first byte (a resumed range is not counted)."""
        share, recipient = self._linked_share(token, address, lock=True)
        document = shares.shared_document(self.db.session, share, parse_id(document_id, "document"))
        if shares.counts_as_download(range_start):
            if inline and shares.is_viewable(document):
                shares.note_open(recipient)
                self._emit_recipient(SHARE_OPENED, share, recipient, document=_document_refs([document])[0])
            else:
                shares.note_download(recipient)
                self._emit_recipient(SHARE_DOWNLOADED, share, recipient, documents=_document_refs([document]),
                                     archive=False)
        return {**schema(DownloadSchema).dump(document), "viewable": shares.is_viewable(document)}

    @rpc
    @write
    def open_share_archive(self, token: str, address: str) -> dict:
        """Every downloadable document of the share, for the gateway to stream as one zip; a download."""
        share, recipient = self._linked_share(token, address, lock=True)
        documents = shares.documents_of(self.db.session, share)
        members = shares.archive_members(documents)
        if not members:
            raise Conflict("Nothing in this share can be downloaded yet.")
        included = {m["document_id"] for m in members}
        shares.note_download(recipient)
        self._emit_recipient(SHARE_DOWNLOADED, share, recipient,
                             documents=_document_refs([d for d in documents if str(d.id) in included]), archive=True)
        return schema(ShareArchiveSchema).dump({"name": "shared documents.zip", "items": members})
