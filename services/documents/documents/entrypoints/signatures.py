"""Signature requests' entrypoints (documents/signatures.py decides): staff ask for signatures on a PDF,
resend and cancel; each signer signs or declines through his link or, as a portal user, in the portal;
the last signature's event writes the sealed copy once; a timer reminds who has not signed; anyone may
check a PDF at `verify_sealed_pdf`.

A mixin of `DocumentsService`: it uses the service's `db`, `store`, `crm`, `links`, `settings` and
caller checks. Each signer's link is issued here, retrievable (its token stays sealed in the links
service; his row keeps only `link_id`): reads reveal it as his `url`, and the notifications service
reveals it for each email (`signer_email_due` carries the link id, never a token). Writes answer
without urls, since their replies are stored and replayed; the gateway reads the request after them.
Every public call resolves the token through links, then checks the request here.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from documents import library, scanning, sealing, signatures
from documents.models import Document, SignatureRequest, Signer
from shared.access import Caller
from shared.contracts.documents import (
    DOCUMENT_CREATED,
    SIGNATURE_DECLINED,
    SIGNATURE_REQUEST_CANCELED,
    SIGNATURE_REQUEST_COMPLETED,
    SIGNATURE_REQUEST_CREATED,
    SIGNATURE_REQUEST_SIGNED,
    SIGNATURE_SIGNED,
    SIGNER_EMAIL_DUE,
    DeclineSchema,
    DocumentSchema,
    DownloadSchema,
    PortalSignatureRequestPageSchema,
    PortalSignatureRequestSchema,
    PublicSignatureRequestSchema,
    SignatureRequestCreateSchema,
    SignatureRequestEventSchema,
    SignatureRequestPageSchema,
    SignatureRequestSchema,
    SignatureSchema,
    SignerEventSchema,
    VerifyResultSchema,
)
from shared.contracts.links import live_page_urls
from shared.dependencies import SYSTEM
from shared.entrypoints import event_handler, idempotent, write
from shared.errors import NotFound
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated

log = logging.getLogger(__name__)

REMIND_INTERVAL = 300  # seconds between two looks for signers to remind
# Where the gateway parks a PDF to verify: the only keys `verify_sealed_pdf` reads (and removes).
VERIFY_PREFIX = "verify/"


def utc_now() -> datetime:
    return datetime.now(UTC)


class SignatureClock(DependencyProvider):
    """`self.signature_clock()`: the time signatures act at; tests swap it (`replace_dependencies`)."""

    def get_dependency(self, worker_ctx: Any) -> Callable[[], datetime]:
        return utc_now


class SignatureEntrypoints:
    db: Any
    store: Any
    crm: Any
    links: Any
    settings: Any
    signature_clock = SignatureClock()

    # -- helpers --------------------------------------------------------------------------------

    def _reminder_every(self) -> timedelta:
        return timedelta(days=self.settings.signature_reminder_days)

    def _signature_request(self, request_id: Any, right: str | None = None, *,
                           lock: bool = False) -> tuple[SignatureRequest, Caller]:
        """A request of the caller's firm on an account he sees (and may write to, with `right`)."""
        principal = self._principal().require_staff()
        request = signatures.find(self.db.session, uuid.UUID(principal.firm_id),
                                  parse_id(request_id, "signature request"), lock=lock)
        return request, self._authorize_as(signatures.NO_SUCH_REQUEST, request.account_id, right)

    def _dump_request(self, request: SignatureRequest, signers: list[Signer]) -> dict:
        """A write's reply: no url, as a stored (replayable) reply must not hold a link's token."""
        return schema(SignatureRequestSchema).dump(signatures.as_fields(request, signers, self.signature_clock()))

    def _signing_urls(self, firm_id: uuid.UUID,
                      pairs: list[tuple[SignatureRequest, list[Signer]]]) -> dict[str, str]:
        """link id -> url of the live links of these requests' signers still to act (links reveals them)."""
        ids = signatures.links_to_reveal(pairs)
        return live_page_urls(self.links, str(firm_id), ids, self.settings.base_url)

    def _issue_signing_link(self, signer: Signer) -> None:
        """His new link (the links service revokes any earlier one: `replace`); only its id is kept."""
        signer.link_id = uuid.UUID(self.links.issue_link(payload=signatures.link_payload(signer))["id"])

    def _event_request(self, request: SignatureRequest, signers: list[Signer]) -> dict:
        fields = signatures.event_fields(request, signers, self.signature_clock())
        return schema(SignatureRequestEventSchema).dump(fields)

    def _emit_signature(self, event: Any, request: SignatureRequest, rows: list[Signer], *,
                        actor: Any = None, **data: Any) -> None:
        kwargs = {"actor": actor} if actor is not None else {}
        self.db.emit(event, {"signature_request": self._event_request(request, rows), **data},
                     firm_id=request.firm_id, account_id=request.account_id, **kwargs)

    def _email_signer(self, request: SignatureRequest, signers: list[Signer], signer: Signer, reason: str,
                      firm_name: str, *, actor: Any = None) -> None:
        self._emit_signature(SIGNER_EMAIL_DUE, request, signers, actor=actor,
                             signer=schema(SignerEventSchema).dump(signatures.signer_fields(signer)), reason=reason,
                             firm_name=firm_name)

    def _firm_name(self, firm_id: uuid.UUID) -> str:
        return self.crm.describe_firm(firm_id=str(firm_id))["name"]

    # -- staff ----------------------------------------------------------------------------------

    @rpc
    @write  # the reply holds no url (no token), so it may be stored and replayed; the url comes with a read
    def create_signature_request(self, document_id: str, payload: dict) -> dict:
        data = validated(schema(SignatureRequestCreateSchema), payload)
        document, caller = self._document(document_id, "manage_documents")
        signatures.require_signable(document)
        sealing.check_signable(signatures.read_pdf(self.store, document))
        request, signers = signatures.create(self.db.session, document, caller.user_id, data,
                                             now=self.signature_clock(), reminder_every=self._reminder_every())
        for signer in signers:
            self._issue_signing_link(signer)
        self._emit_signature(SIGNATURE_REQUEST_CREATED, request, signers)
        firm_name = self._firm_name(caller.firm_id)
        for signer in signers:
            self._email_signer(request, signers, signer, "request", firm_name)
        return self._dump_request(request, signers)

    @rpc
    def list_signature_requests(self, account_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        self._principal().require_staff()
        caller = self._authorize(account_id)
        items, cursor = signatures.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                    params["limit"], params["cursor"])
        by_request = signatures.signers_by_request(self.db.session, items)
        urls = self._signing_urls(caller.firm_id, [(r, by_request[r.id]) for r in items])
        now = self.signature_clock()
        return schema(SignatureRequestPageSchema).dump({
            "items": [signatures.as_fields(r, by_request[r.id], now, urls) for r in items],
            "next_cursor": cursor})

    @rpc
    def get_signature_request(self, signature_request_id: str) -> dict:
        request, caller = self._signature_request(signature_request_id)
        signers = signatures.signers_of(self.db.session, request)
        urls = self._signing_urls(caller.firm_id, [(request, signers)])
        return schema(SignatureRequestSchema).dump(signatures.as_fields(request, signers, self.signature_clock(), urls))

    @rpc
    @write
    def resend_signature_link(self, signature_request_id: str, signer_id: str) -> dict:
        """A fresh seven days for one signer and a new link: his old one stops now (links revokes it as it
        issues the new one, before this commit; a retry after a crash just replaces it again), and the new
        one goes out with the email. The reply has no url (it is stored); the gateway reads it after."""
        request, caller = self._signature_request(signature_request_id, "manage_documents", lock=True)
        signers = signatures.signers_of(self.db.session, request, lock=True)
        signer = signatures.signer_in(signers, parse_id(signer_id, "signer"))
        signatures.resend(request, signer, now=self.signature_clock(), reminder_every=self._reminder_every())
        self._issue_signing_link(signer)
        self._email_signer(request, signers, signer, "resend", self._firm_name(caller.firm_id))
        return self._dump_request(request, signers)

    @rpc
    @write
    def cancel_signature_request(self, signature_request_id: str) -> dict:
        request, _ = self._signature_request(signature_request_id, "manage_documents", lock=True)
        signers = signatures.signers_of(self.db.session, request, lock=True)
        if signatures.cancel(request, signers, self.signature_clock()):
            for signer in signers:  # the links stop now; documents would refuse them anyway (canceled)
                self.links.revoke_target_links(firm_id=str(request.firm_id), kind="signature",
                                               target=signatures.link_target(signer))
            self._emit_signature(SIGNATURE_REQUEST_CANCELED, request, signers)
        return self._dump_request(request, signers)

    # -- the signer, through his link -------------------------------------------------------------

    def _linked_signer(self, token: str, address: str, *,
                       lock: bool = False) -> tuple[SignatureRequest, list[Signer], Signer]:
        """The signer a live link stands for (links counts wrong guesses), still able to use it (410 not)."""
        link = self.links.resolve_link(token=token, address=address, kind="signature")
        target = link["target"]
        if target.get("type") != "signer":
            raise NotFound(signatures.NO_SUCH_SIGNER)
        found = signatures.find_signer(self.db.session, uuid.UUID(link["firm_id"]),
                                       parse_id(target["id"], "signer"), lock=lock)
        signatures.require_open_for(found[0], found[2], self.signature_clock())
        return found

    def _original(self, request: SignatureRequest) -> Document:
        return library.find_document(self.db.session, request.firm_id, request.document_id)

    @rpc
    def describe_signature(self, token: str, address: str) -> dict:
        """What the signing page shows: the document, the firm's message, the signer himself."""
        request, signers, signer = self._linked_signer(token, address)
        return schema(PublicSignatureRequestSchema).dump(signatures.public_fields(
            request, signers, signer, self._original(request).size, self.signature_clock()))

    @rpc
    def open_signature_document(self, token: str, address: str) -> dict:
        """Where the PDF to sign is (the original, as it was sent)."""
        request, _, _ = self._linked_signer(token, address)
        document = self._original(request)
        signatures.require_signable(document)
        return schema(DownloadSchema).dump(document)

    def _signed(self, request: SignatureRequest, signers: list[Signer], signer: Signer, last: bool,
                actor: Any) -> None:
        signed = schema(SignerEventSchema).dump(signatures.signer_fields(signer))
        self._emit_signature(SIGNATURE_SIGNED, request, signers, actor=actor, signer=signed)
        if last:
            self._emit_signature(SIGNATURE_REQUEST_SIGNED, request, signers, actor=actor)

    @rpc
    @write
    def sign_through_link(self, token: str, address: str, user_agent: str | None, payload: dict) -> dict:
        data = validated(schema(SignatureSchema), payload)
        request, signers, signer = self._linked_signer(token, address, lock=True)
        last = signatures.sign(request, signers, signer, name=data["name"], address=address, user_agent=user_agent,
                               through="link", user_id=None, now=self.signature_clock())
        self._signed(request, signers, signer, last, SYSTEM)
        return schema(PublicSignatureRequestSchema).dump(signatures.public_fields(
            request, signers, signer, self._original(request).size, self.signature_clock()))

    @rpc
    @write
    def decline_through_link(self, token: str, address: str, payload: dict) -> dict:
        data = validated(schema(DeclineSchema), payload)
        request, signers, signer = self._linked_signer(token, address, lock=True)
        signatures.decline(request, signers, signer, reason=data["reason"], now=self.signature_clock())
        for other in signers:  # nobody else can sign a declined request: every link of it stops now
            if other.id != signer.id:
                self.links.revoke_target_links(firm_id=str(request.firm_id), kind="signature",
                                               target=signatures.link_target(other))
        self._emit_signature(SIGNATURE_DECLINED, request, signers, actor=SYSTEM,
                             signer=schema(SignerEventSchema).dump(signatures.signer_fields(signer)),
                             reason=signer.decline_reason)
        return schema(PublicSignatureRequestSchema).dump(signatures.public_fields(
            request, signers, signer, self._original(request).size, self.signature_clock()))

    # -- the signer, in the portal ---------------------------------------------------------------

    def _portal_signer(self, account_id: str) -> tuple[Caller, str]:
        self._principal().require_client()
        caller = self._authorize(account_id)
        return caller, (caller.user.get("email") or "").strip().lower()

    @rpc
    def list_portal_signature_requests(self, account_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        caller, email = self._portal_signer(account_id)
        items, cursor = signatures.list_for_signer(self.db.session, caller.firm_id, caller.account_id, email,
                                                   params["limit"], params["cursor"])
        by_request = signatures.signers_by_request(self.db.session, items)
        now = self.signature_clock()
        return schema(PortalSignatureRequestPageSchema).dump({
            "items": [signatures.portal_fields(r, by_request[r.id], email, now) for r in items],
            "next_cursor": cursor})

    @rpc
    @write
    def sign_in_portal(self, account_id: str, signature_request_id: str, payload: dict, address: str | None = None,
                       user_agent: str | None = None) -> dict:
        """A portal user signs a request of this account that names his address as a signer."""
        data = validated(schema(SignatureSchema), payload)
        caller, email = self._portal_signer(account_id)
        request = signatures.find(self.db.session, caller.firm_id, parse_id(signature_request_id, "signature request"),
                                  lock=True)
        signers = signatures.signers_of(self.db.session, request, lock=True)
        signer = next((s for s in signers if s.email == email), None)
        if request.account_id != caller.account_id or signer is None:
            raise NotFound(signatures.NO_SUCH_REQUEST)
        last = signatures.sign(request, signers, signer, name=data["name"], address=address, user_agent=user_agent,
                               through="portal", user_id=caller.user_id, now=self.signature_clock())
        self.links.revoke_target_links(firm_id=str(request.firm_id), kind="signature",
                                       target=signatures.link_target(signer))
        self._signed(request, signers, signer, last, None)
        return schema(PortalSignatureRequestSchema).dump(
            signatures.portal_fields(request, signers, email, self.signature_clock()))

    # -- the sealed copy ---------------------------------------------------------------------------

    @event_handler(SIGNATURE_REQUEST_SIGNED)
    def seal_signed_request(self, event: dict) -> None:
        """Every signer signed: write the sealed PDF beside the original, once. The request row is locked,
        and one already sealed is left alone, so a redelivery (or a second instance) never makes another."""
        request = signatures.find(self.db.session, uuid.UUID(event["firm_id"]),
                                  parse_id(event["data"]["signature_request"]["id"], "signature request"), lock=True)
        sealed = signatures.seal(self.db.session, self.store, request, sealing.seal_of(self.settings),
                                 firm_name=self._firm_name(request.firm_id), now=self.signature_clock(),
                                 scan_status=scanning.first_status(self.settings.clamd_address))
        if sealed is None:
            return
        document = schema(DocumentSchema).dump(sealed.document)
        self.db.emit(DOCUMENT_CREATED, {"document": document}, firm_id=request.firm_id,
                     account_id=request.account_id, actor=SYSTEM)
        self._emit_signature(SIGNATURE_REQUEST_COMPLETED, request, sealed.signers, actor=SYSTEM,
                             signed_document=document,
                             signers=[schema(SignerEventSchema).dump(signatures.signer_fields(signer))
                                      for signer in sealed.signers])

    # -- reminders ----------------------------------------------------------------------------------

    @timer(interval=REMIND_INTERVAL)
    @idempotent  # claimed with SKIP LOCKED: another instance's timer takes other signers
    def remind_signers(self) -> None:
        self.send_due_reminders()

    def send_due_reminders(self) -> int:
        """Email every signer whose reminder is due (category `documents_signature`: notifications applies
        NOTIFY and the categories) and move him to his next one. How many were claimed."""
        now = self.signature_clock()
        claimed = signatures.claim_due_reminders(self.db.session, now, self._reminder_every())
        signatures.clear_stale_reminders(self.db.session, now)
        firm_names: dict[uuid.UUID, str] = {}
        for request, signer in claimed:
            if request.firm_id not in firm_names:
                firm_names[request.firm_id] = self._firm_name(request.firm_id)
            signers = signatures.signers_of(self.db.session, request)
            self._email_signer(request, signers, signer, "reminder", firm_names[request.firm_id], actor=SYSTEM)
        return len(claimed)

    # -- anyone: is this PDF ours, and intact? --------------------------------------------------------

    @rpc
    def verify_sealed_pdf(self, object_key: str) -> dict:
        """The PDF the gateway parked at `object_key` (under `verify/`), checked and then removed."""
        if not object_key.startswith(VERIFY_PREFIX) or ".." in object_key:
            raise NotFound("No such file to verify.")
        try:
            download = self.store.open(object_key)
            try:
                data = b"".join(download.chunks)
            finally:
                download.close()
        finally:
            self.store.remove(object_key)
        checked = sealing.verify(data, sealing.seal_of(self.settings))
        result: dict[str, Any] = {"sealed": checked.sealed, "intact": checked.intact,
                                  "signature_request_id": None, "signers": None,
                                  "sealed_at": checked.sealed_at if checked.sealed else None}
        if checked.sealed and checked.intact:
            found = signatures.find_sealed(self.db.session, hashlib.sha256(data).hexdigest())
            if found is not None:
                request, signers = found
                result["signature_request_id"] = request.id
                result["signers"] = [{"name": s.signed_name, "email": s.email, "signed_at": s.signed_at}
                                     for s in signers if s.signed_at is not None]
        return schema(VerifyResultSchema).dump(result)
