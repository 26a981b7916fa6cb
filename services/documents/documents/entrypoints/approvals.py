"""Approval requests' entrypoints (documents/approvals.py): staff send a document for approval to emails;
each approver decides from his own link or, as a portal user of the account, from the portal.

A mixin of `DocumentsService`: it uses the service's `db`, `crm`, `links`, `settings` and caller checks.
Each approver's link is issued here, retrievable (its token stays sealed in the links service; his row
keeps only `link_id`): reads reveal it as his `url`, and the notifications service reveals it for his
email on `approver_email_due`, published only once the request is committed (the event carries the
link id, never a token). The create answers without urls, since its reply is stored and replayed; the
gateway reads the request after it.
"""
from __future__ import annotations

import uuid
from typing import Any

from documents import approvals, library
from documents.models import ApprovalRequest, Approver, Document
from shared.contracts.approvals import (
    APPROVAL_DECIDED,
    APPROVAL_REQUESTED,
    APPROVER_EMAIL_DUE,
    ApprovalCreateSchema,
    ApprovalDecisionSchema,
    ApprovalEventSchema,
    ApprovalRequestPageSchema,
    ApprovalRequestSchema,
    ApproverEventSchema,
    PortalApprovalPageSchema,
    PortalApprovalSchema,
    PublicApprovalSchema,
)
from shared.contracts.documents import DownloadSchema
from shared.contracts.links import live_page_urls
from shared.entrypoints import write
from shared.errors import NotFound
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated


class ApprovalEntrypoints:
    db: Any
    crm: Any
    links: Any
    settings: Any

    def _approval_event(self, request: ApprovalRequest, document_name: str) -> dict:
        return schema(ApprovalEventSchema).dump(approvals.fields(request, document_name, []))

    def _emit_decided(self, request: ApprovalRequest, approver: Approver, document: Document, **kwargs: Any) -> None:
        self.db.emit(APPROVAL_DECIDED, {"approval_request": self._approval_event(request, document.name),
                                        "approver": schema(ApproverEventSchema).dump(approver)},
                     firm_id=request.firm_id, account_id=request.account_id, **kwargs)

    def _request_document(self, request: ApprovalRequest) -> Document:
        return library.find_document(self.db.session, request.firm_id, request.document_id)

    def _approval_urls(self, firm_id: uuid.UUID,
                       pairs: list[tuple[ApprovalRequest, list[Approver]]]) -> dict[str, str]:
        """link id -> url of the live links of these requests' approvers still to decide (links reveals them;
        a page of 200 requests of 20 approvers each takes several calls)."""
        ids = approvals.links_to_reveal(pairs)
        return live_page_urls(self.links, str(firm_id), ids, self.settings.base_url)

    # -- staff ------------------------------------------------------------------------------

    @rpc
    @write  # the reply holds no url (no token), so it may be stored and replayed; the urls come with a read
    def create_approval_request(self, document_id: str, payload: dict) -> dict:
        data = validated(schema(ApprovalCreateSchema), payload)
        document, caller = self._document(document_id, "manage_documents")
        request = approvals.create(self.db.session, document, caller.user_id, data)
        approvers = approvals.approvers_of(self.db.session, request)
        firm_name = self.crm.describe_firm(firm_id=str(caller.firm_id))["name"]
        for approver in approvers:  # only the link's id is kept: its token stays sealed in the links service
            approver.link_id = uuid.UUID(self.links.issue_link(payload=approvals.link_payload(approver))["id"])
        event_request = self._approval_event(request, document.name)
        self.db.emit(APPROVAL_REQUESTED, {"approval_request": event_request,
                                          "approvers": schema(ApproverEventSchema, many=True).dump(approvers)},
                     firm_id=request.firm_id, account_id=request.account_id)
        # The emails leave from notifications once this commits: a create that fails has emailed nobody.
        sender_name = (caller.user or {}).get("name") or None
        for approver in approvers:
            self.db.emit(APPROVER_EMAIL_DUE, {"approval_request": event_request,
                                              "approver": schema(ApproverEventSchema).dump(approver),
                                              "firm_name": firm_name, "sender_name": sender_name},
                         firm_id=request.firm_id, account_id=request.account_id)
        return schema(ApprovalRequestSchema).dump(approvals.fields(request, document.name, approvers))

    def _staff_request(self, request_id: Any) -> ApprovalRequest:
        principal = self._principal().require_staff()
        request = approvals.find(self.db.session, uuid.UUID(principal.firm_id),
                                 parse_id(request_id, "approval request"))
        self._authorize_as(approvals.NO_SUCH_REQUEST, request.account_id, "manage_documents")
        return request

    def _staff_fields(self, requests: list[ApprovalRequest]) -> list[dict]:
        """The requests as staff read them, each approver still to decide with his url (one reveal for all)."""
        pairs = [(r, approvals.approvers_of(self.db.session, r)) for r in requests]
        link_urls = self._approval_urls(requests[0].firm_id, pairs) if requests else {}
        return [approvals.fields(r, self._request_document(r).name, approvers, link_urls) for r, approvers in pairs]

    @rpc
    def get_approval_request(self, approval_request_id: str) -> dict:
        return schema(ApprovalRequestSchema).dump(self._staff_fields([self._staff_request(approval_request_id)])[0])

    @rpc
    def list_approval_requests(self, account_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        caller = self._staff_writer(account_id)
        items, cursor = approvals.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                   params["limit"], params["cursor"])
        return schema(ApprovalRequestPageSchema).dump({"items": self._staff_fields(items), "next_cursor": cursor})

    # -- the portal -------------------------------------------------------------------------

    @rpc
    def list_portal_approval_requests(self, account_id: str, query: dict) -> dict:
        """The account's requests sent to the caller's own address."""
        params = validated(schema(PageQuerySchema), query)
        caller = self._authorize(account_id)
        self._principal().require_client()
        email = caller.user["email"]
        items, cursor = approvals.list_for_approver(self.db.session, caller.firm_id, caller.account_id, email,
                                                    params["limit"], params["cursor"])
        rows = [approvals.portal_fields(r, self._request_document(r).name,
                                        approvals.approver_by_email(self.db.session, r, email)) for r in items]
        return schema(PortalApprovalPageSchema).dump({"items": rows, "next_cursor": cursor})

    @rpc
    @write
    def decide_portal_approval(self, account_id: str, approval_request_id: str, payload: dict) -> dict:
        data = validated(schema(ApprovalDecisionSchema), payload)
        caller = self._authorize(account_id)
        self._principal().require_client()
        request = approvals.find(self.db.session, caller.firm_id, parse_id(approval_request_id, "approval request"),
                                 lock=True)
        if request.account_id != caller.account_id:
            raise NotFound(approvals.NO_SUCH_REQUEST)
        approver = approvals.approver_by_email(self.db.session, request, caller.user["email"], lock=True)
        document = self._request_document(request)
        approvals.decide(request, approver, approvals.approvers_of(self.db.session, request), data["decision"],
                         data["comment"], through="portal", user_id=caller.user_id)
        self._emit_decided(request, approver, document)
        return schema(PortalApprovalSchema).dump(approvals.portal_fields(request, document.name, approver))

    # -- the approver, through his link (the gateway) ------------------------------------------

    def _linked_approval(self, token: str, address: str, *, lock: bool = False) -> tuple[ApprovalRequest, Approver]:
        link = self.links.resolve_link(token=token, address=address, kind="approval")
        if link["target"].get("type") != approvals.LINK_TARGET:
            raise NotFound("This approval request no longer exists.")
        return approvals.find_linked(self.db.session, uuid.UUID(link["firm_id"]),
                                     parse_id(link["target"]["id"], "approver"), lock=lock)

    @rpc
    def describe_approval(self, token: str, address: str) -> dict:
        """What the approval page shows: the document's name and type, the message, his own decision."""
        request, approver = self._linked_approval(token, address)
        return schema(PublicApprovalSchema).dump(approvals.public_fields(request, approver,
                                                                   self._request_document(request)))

    @rpc
    def open_approval_document(self, token: str, address: str) -> dict:
        """Where the document to approve is (refused while quarantined), for the page to show it."""
        request, _ = self._linked_approval(token, address)
        document = self._request_document(request)
        library.open_document(document, None)
        return schema(DownloadSchema).dump(document)

    @rpc
    @write
    def decide_approval(self, token: str, address: str, payload: dict) -> dict:
        """Approve, or disapprove saying why (422 without a comment); once (409 after)."""
        data = validated(schema(ApprovalDecisionSchema), payload)
        request, approver = self._linked_approval(token, address, lock=True)
        document = self._request_document(request)
        approvals.decide(request, approver, approvals.approvers_of(self.db.session, request), data["decision"],
                         data["comment"], through="link")
        self._emit_decided(request, approver, document)
        return schema(PublicApprovalSchema).dump(approvals.public_fields(request, approver, document))
