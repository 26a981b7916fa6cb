"""Client requests' entrypoints (a mixin of `DocumentsService`): staff send and cancel questionnaires,
the person with the link or a portal user answers them (documents/client_requests.py decides).

Link calls carry the token, resolved with the links service on every call, so a canceled or expired
request stops at once (410). Like the service module, these only pass `self.db.session` to domain code.
"""
from __future__ import annotations

import uuid
from typing import Any

from documents import client_requests
from documents.models import ClientRequest, Document
from shared.access import Caller
from shared.contracts.documents import (
    CLIENT_REQUEST_CANCELED,
    CLIENT_REQUEST_CREATED,
    CLIENT_REQUEST_SENT,
    CLIENT_REQUEST_SUBMITTED,
    AnswerFilesSchema,
    AnswersSchema,
    ClientRequestCreateSchema,
    ClientRequestEventSchema,
    ClientRequestPageSchema,
    ClientRequestSchema,
    PortalClientRequestPageSchema,
    PortalClientRequestSchema,
    PublicClientRequestSchema,
    QuestionUploadSchema,
    UploadBatchSchema,
)
from shared.contracts.links import live_page_urls
from shared.entrypoints import write
from shared.events import EventType
from shared.ids import parse_id
from shared.rpc import rpc
from shared.schemas import PageQuerySchema, schema, validated


class ClientRequestEntrypoints:
    """Needs what `DocumentsService` has: db, store, crm, links, settings and its caller and upload helpers."""

    # -- staff --------------------------------------------------------------------------------

    def _client_request(self, client_request_id: Any, *, lock: bool = False) -> tuple[ClientRequest, Caller]:
        """Everything staff do with a request, reads included, needs `manage_documents` (its url is a credential)."""
        principal = self._principal().require_staff()
        request = client_requests.find(self.db.session, uuid.UUID(principal.firm_id),
                                       parse_id(client_request_id, "client request"), lock=lock)
        return request, self._authorize_as(client_requests.NO_SUCH_REQUEST, request.account_id, "manage_documents")

    def _client_request_views(self, firm_id: uuid.UUID, requests: list[ClientRequest], *,
                              with_urls: bool = True) -> list[dict]:
        """What staff see of each request (ClientRequestSchema's fields, not dumped yet), with its url."""
        documents = client_requests.documents_by_question(self.db.session, requests)
        urls: dict[str, str] = {}
        ids = client_requests.links_to_reveal(requests) if with_urls else []
        if ids:
            urls = live_page_urls(self.links, str(firm_id), ids, self.settings.base_url)
        return [{**client_requests.as_fields(r, documents.get(r.id, {})), "url": urls.get(str(r.link_id))}
                for r in requests]

    def _emit_client_request(self, event: EventType, request: ClientRequest, **data: Any) -> None:
        self.db.emit(event, {"client_request": schema(ClientRequestEventSchema).dump(request), **data},
                     firm_id=request.firm_id, account_id=request.account_id)

    @rpc
    @write
    def create_client_request(self, account_id: str, payload: dict) -> dict:
        """The request, its link (unless login is required) and its emails. The reply has no url: a stored
        (replayable) reply must not hold the link's token; the caller reads it with `get_client_request`."""
        data = validated(schema(ClientRequestCreateSchema), payload)
        caller = self._staff_writer(account_id)
        if data["login_required"] and data["recipients"]:
            access = self.crm.list_access(account_id=str(caller.account_id))["items"]
            client_requests.require_portal_recipients(data["recipients"], access)
        request = client_requests.create(self.db.session, caller.firm_id, caller.account_id, caller.user_id, data)
        if not request.login_required:
            link = self.links.issue_link(payload=client_requests.link_payload(request))
            client_requests.attach_link(request, uuid.UUID(link["id"]))
        self._emit_client_request(CLIENT_REQUEST_CREATED, request)
        if request.recipients:
            firm = self.crm.describe_firm(firm_id=str(caller.firm_id))
            self._emit_client_request(CLIENT_REQUEST_SENT, request, recipients=list(request.recipients),
                                      firm_name=firm["name"], account_name=caller.account["name"],
                                      message=request.message)
        view = self._client_request_views(caller.firm_id, [request], with_urls=False)[0]
        return schema(ClientRequestSchema).dump(view)

    @rpc
    def list_client_requests(self, account_id: str, query: dict) -> dict:
        params = validated(schema(PageQuerySchema), query)
        caller = self._staff_writer(account_id)
        items, cursor = client_requests.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                         params["limit"], params["cursor"])
        return schema(ClientRequestPageSchema).dump({"items": self._client_request_views(caller.firm_id, items),
                                               "next_cursor": cursor})

    @rpc
    def get_client_request(self, client_request_id: str) -> dict:
        request, caller = self._client_request(client_request_id)
        return schema(ClientRequestSchema).dump(self._client_request_views(caller.firm_id, [request])[0])

    @rpc
    @write
    def cancel_client_request(self, client_request_id: str) -> dict:
        """The link stops at once (links revokes it first; doing it again after a crash is harmless)."""
        request, caller = self._client_request(client_request_id, lock=True)
        if request.link_id is not None:
            self.links.revoke_link(link_id=str(request.link_id), firm_id=str(caller.firm_id))
        if client_requests.cancel(request):
            self._emit_client_request(CLIENT_REQUEST_CANCELED, request)
        view = self._client_request_views(caller.firm_id, [request], with_urls=False)[0]
        return schema(ClientRequestSchema).dump(view)

    # -- answering: shared by the link and the portal -----------------------------------------

    def _public(self, request: ClientRequest, schema: type = PublicClientRequestSchema) -> dict:
        documents = client_requests.documents_by_question(self.db.session, [request]).get(request.id, {})
        return schema().dump(client_requests.public_view(request, documents))

    def _save_answers(self, request: ClientRequest, payload: dict, submitter: client_requests.Submitter) -> None:
        data = validated(schema(AnswersSchema), payload)
        documents = client_requests.documents_by_question(self.db.session, [request]).get(request.id, {})
        if client_requests.save_answers(request, data["answers"], documents, submit=data["submit"],
                                        submitter=submitter):
            self._emit_client_request(CLIENT_REQUEST_SUBMITTED, request, submitted_by=submitter.as_dict(),
                                      **client_requests.submitted_counts(request))

    def _begin_answer_upload(self, request: ClientRequest, payload: dict,
                             submitter: client_requests.Submitter) -> dict:
        data = validated(schema(QuestionUploadSchema), payload)
        upload = client_requests.begin_upload(self.db.session, request, data, submitter,
                                              max_upload_bytes=self.settings.max_upload_bytes,
                                              files_before=data["files_before"])
        return self._ticket(upload)

    def _complete_answer_uploads(self, request: ClientRequest, question_id: Any, items: list[dict]) -> dict:
        """Every file of one HTTP request for one file question, in this one transaction, or none."""
        upload_ids, request_id = [item["upload_id"] for item in items], request.id
        # Refused for any reason (another question's, a bad file): what was begun for this request goes.
        self.db.on_failure(lambda session: client_requests.discard_tied(session, self.store, request_id, upload_ids))
        question = client_requests.file_question(request, str(question_id))
        batch = client_requests.find_uploads(self.db.session, request, question["id"], upload_ids,
                                             self.context.principal)
        stored: list[Document] = []
        for upload, item in zip(batch, items, strict=True):
            stored.append(client_requests.receive(self.db.session, self.store, request, question["id"], upload,
                                                  size=item["size"], sha256=item["sha256"], head=item["head"],
                                                  **self._completion()))
        self._emit_stored(stored)
        return schema(AnswerFilesSchema).dump({"items": stored, "question_id": question["id"],
                                         "answer": request.answers[question["id"]]})

    # -- the person with the link, through the gateway ----------------------------------------

    def _linked_client_request(self, token: str, address: str, *, lock: bool = False) -> ClientRequest:
        """The request a live link token stands for, if it is not canceled or expired (410 otherwise)."""
        link = self.links.resolve_link(token=token, address=address, kind="client_request")
        request = client_requests.find(self.db.session, uuid.UUID(link["firm_id"]),
                                       parse_id(link["target"]["id"], "client request"), lock=lock)
        client_requests.require_link_open(request)
        return request

    @rpc
    def describe_client_request(self, token: str, address: str) -> dict:
        """What the questionnaire page shows: the questions and the answers saved so far."""
        return self._public(self._linked_client_request(token, address))

    @rpc
    @write
    def save_link_answers(self, token: str, address: str, payload: dict) -> dict:
        """Save answers (`AnswersSchema`), and submit when asked: the firm hears of a submission once."""
        request = self._linked_client_request(token, address, lock=True)
        self._save_answers(request, payload, client_requests.LINK)
        return self._public(request)

    @rpc
    @write
    def begin_link_answer_upload(self, token: str, address: str, payload: dict) -> dict:
        return self._begin_answer_upload(self._linked_client_request(token, address), payload, client_requests.LINK)

    @rpc
    @write
    def complete_link_answer_uploads(self, token: str, address: str, question_id: str, payload: dict) -> dict:
        items = validated(schema(UploadBatchSchema), payload)["items"]
        upload_ids = [item["upload_id"] for item in items]
        # Before the link is resolved: a Gone link's uploads can never complete, so they are discarded too.
        self.db.on_failure(lambda session: client_requests.discard_if_closed(session, self.store, upload_ids))
        request = self._linked_client_request(token, address, lock=True)
        return self._complete_answer_uploads(request, question_id, items)

    # -- the portal -----------------------------------------------------------------------------

    def _portal_caller(self, account_id: Any) -> Caller:
        self._principal().require_client()
        return self._authorize(account_id)

    def _portal_request(self, account_id: Any, client_request_id: Any, *,
                        lock: bool = False) -> tuple[ClientRequest, client_requests.Submitter]:
        caller = self._portal_caller(account_id)
        request = client_requests.find_in_portal(self.db.session, caller.firm_id, caller.account_id,
                                                 parse_id(client_request_id, "client request"), lock=lock)
        return request, client_requests.Submitter(kind="client", user_id=caller.user_id,
                                                  name=caller.user.get("name"), email=caller.user.get("email"))

    @rpc
    def list_portal_client_requests(self, account_id: str, query: dict) -> dict:
        """The account's requests a portal user answers (those with a link too), newest first."""
        params = validated(schema(PageQuerySchema), query)
        caller = self._portal_caller(account_id)
        items, cursor = client_requests.list_for_account(self.db.session, caller.firm_id, caller.account_id,
                                                         params["limit"], params["cursor"], portal=True)
        documents = client_requests.documents_by_question(self.db.session, items)
        return schema(PortalClientRequestPageSchema).dump(
            {"items": [client_requests.public_view(r, documents.get(r.id, {})) for r in items],
             "next_cursor": cursor})

    @rpc
    @write
    def save_portal_answers(self, account_id: str, client_request_id: str, payload: dict) -> dict:
        request, submitter = self._portal_request(account_id, client_request_id, lock=True)
        self._save_answers(request, payload, submitter)
        return self._public(request, PortalClientRequestSchema)

    @rpc
    @write
    def begin_portal_answer_upload(self, account_id: str, client_request_id: str, payload: dict) -> dict:
        request, submitter = self._portal_request(account_id, client_request_id)
        return self._begin_answer_upload(request, payload, submitter)

    @rpc
    @write
    def complete_portal_answer_uploads(self, account_id: str, client_request_id: str, question_id: str,
                                       payload: dict) -> dict:
        items = validated(schema(UploadBatchSchema), payload)["items"]
        request, _ = self._portal_request(account_id, client_request_id, lock=True)
        return self._complete_answer_uploads(request, question_id, items)
