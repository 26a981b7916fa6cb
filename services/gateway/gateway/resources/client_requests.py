"""Client requests (documents service): staff send questionnaires; the person with the link answers on
`/p/{token}` (answers saved as he types, files per question), a portal user answers in the portal.

The link's side: `ClientRequestLink` is the `client_request` kind of `public.LinkInfo`/`LinkPage`,
`LinkAnswers` saves answers, and `LinkQuestionFiles` takes `POST /api/public/links/{token}/files?question_id=`
(public.LinkFiles hands such a request over). Its answers carry the same headers as every link answer.
"""
from __future__ import annotations

from typing import Any

import falcon
from marshmallow import Schema, fields

from gateway.openapi import operation
from gateway.resources.paging import page_query
from gateway.resources.public import _private, pages
from gateway.transfer import COMPLETE_TIMEOUT, FileTransfer, IncomingFile
from shared.contracts.documents import (
    QUESTION_ID,
    AnswerFilesSchema,
    AnswersSchema,
    ClientRequestCreateSchema,
    ClientRequestPageSchema,
    ClientRequestSchema,
    LinkClientRequestSchema,
    PortalClientRequestPageSchema,
    PortalClientRequestSchema,
)
from shared.schemas import PageQuerySchema, schema

FILE_ERRORS = (404, 409, 413, 415, 422)


class QuestionFilesQuerySchema(Schema):
    question_id = fields.String(required=True, validate=QUESTION_ID,
                                metadata={"description": "The file question these files answer"})
    filename = fields.String(metadata={"description": "Required with a raw body; multipart parts name themselves"})


# -- staff ------------------------------------------------------------------------------------------


class AccountClientRequests:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Send a client request: a questionnaire, as a link (`login_required` false) or to the portal only",
               body=ClientRequestCreateSchema, response=ClientRequestSchema, status=201,
               description="Question ids are made up where absent. With `login_required` there is no link (`url` "
                           "null) and every recipient must be an address of the account with portal LOGIN on "
                           "(else 422 naming it); their email points to the portal. Needs `manage_documents`.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        context = req.context.call_context
        created = self.rpc.call("documents", "create_client_request", context=context, account_id=str(account_id),
                                payload=req.get_media())
        # The create's reply is replayable and so holds no token; the url comes with a read.
        resp.media = self.rpc.call("documents", "get_client_request", context=context,
                                   client_request_id=created["id"])
        resp.status = falcon.HTTP_201

    @operation("The account's client requests, newest first, with their answers", query=PageQuerySchema,
               response=ClientRequestPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_client_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class ClientRequest:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("A client request with its answers and, per file question, the uploaded `document_ids`",
               response=ClientRequestSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response, client_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "get_client_request", context=req.context.call_context,
                                   client_request_id=str(client_request_id))


class ClientRequestCancel:
    auth = "staff"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Cancel: the link answers 410 from now on; saved answers and files stay",
               response=ClientRequestSchema)
    def on_post(self, req: falcon.Request, resp: falcon.Response, client_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "cancel_client_request", context=req.context.call_context,
                                   client_request_id=str(client_request_id))


# -- the person with the link -------------------------------------------------------------------------


class ClientRequestLink:
    """The `client_request` kind of link (gateway.app.link_kinds): its description and its page."""

    def describe(self, rpc: Any, req: falcon.Request, token: str, link: dict) -> dict:
        request = rpc.call("documents", "describe_client_request", context=req.context.call_context, token=token,
                           address=req.context.client_address)
        return {"message": request["message"],
                "expires_at": request["expires_at"] or link.get("expires_at"), "client_request": request}

    def page(self, info: dict, token: str) -> str:
        return pages.get_template("questionnaire.html").render(info=info, request=info["client_request"],
                                                               token=token)


class LinkAnswers:
    auth = None

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Save answers to a client request (partial answers are kept between visits); `submit: true` "
               "checks the required questions and submits", body=AnswersSchema, response=LinkClientRequestSchema,
               errors=(404, 409, 410, 422, 429),
               description="A wrong type names its question in `errors.answers`; so does a required question left "
                           "unanswered on submit. After the submit every write is 409.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.media = self.rpc.call("documents", "save_link_answers", context=req.context.call_context, token=token,
                                   address=req.context.client_address, payload=req.get_media())


def receive_question_files(req: falcon.Request, rpc: Any, transfer: FileTransfer, *, begin_method: str,
                           complete_method: str, question_id: str, **where: Any) -> dict:
    """Store the request's files for one file question, all or none: documents' `begin_method` and
    `complete_method`, called with `where` (a link's token and address, or a portal path's ids)."""
    context = req.context.call_context

    def begin(incoming: IncomingFile) -> dict:
        return rpc.call("documents", begin_method, context=context, **where, payload={
            "question_id": question_id, "filename": incoming.filename, "content_type": incoming.content_type,
            "size": incoming.size, "files_before": incoming.position})

    answered: dict = {}  # complete's whole reply: the question's answer comes with the files

    def complete(stored: list[dict]) -> dict:
        answered.update(rpc.call("documents", complete_method, context=context, timeout=COMPLETE_TIMEOUT, **where,
                                 question_id=question_id, payload={"items": stored}))
        return answered

    def cancel(tickets: list[dict]) -> None:
        rpc.call("documents", "cancel_uploads", context=context,
                 payload={"upload_ids": [ticket["upload_id"] for ticket in tickets]})

    transfer.receive(req, begin, complete, cancel)
    return answered


class LinkQuestionFiles:
    """`POST /api/public/links/{token}/files?question_id=`: files for a client request's file question
    (public.LinkFiles, which documents the route, hands these requests over)."""

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        _private(resp)
        resp.media = schema(AnswerFilesSchema).dump(receive_question_files(
            req, self.rpc, self.transfer, begin_method="begin_link_answer_upload",
            complete_method="complete_link_answer_uploads", question_id=req.get_param("question_id"),
            token=token, address=req.context.client_address))
        resp.status = falcon.HTTP_201


# -- the portal ---------------------------------------------------------------------------------------


class PortalClientRequests:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("The account's client requests to answer or answered (canceled ones are not listed), newest "
               "first, with the answers saved so far", query=PageQuerySchema,
               response=PortalClientRequestPageSchema, errors=(422,))
    def on_get(self, req: falcon.Request, resp: falcon.Response, account_id: Any) -> None:
        resp.media = self.rpc.call("documents", "list_portal_client_requests", context=req.context.call_context,
                                   account_id=str(account_id), query=page_query(req))


class PortalClientRequestAnswers:
    auth = "client"

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    @operation("Save answers (kept between visits); `submit: true` checks required questions and submits",
               body=AnswersSchema, response=PortalClientRequestSchema, errors=(409,),
               description="As the link's answers: 422 naming the question; 409 once submitted or expired.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, client_request_id: Any) -> None:
        resp.media = self.rpc.call("documents", "save_portal_answers", context=req.context.call_context,
                                   account_id=str(account_id), client_request_id=str(client_request_id),
                                   payload=req.get_media())


class PortalClientRequestFiles:
    auth = "client"

    def __init__(self, rpc: Any, transfer: FileTransfer) -> None:
        self.rpc = rpc
        self.transfer = transfer

    @operation("Upload files for a file question (raw body with `?filename=`, or multipart), all or none: they "
               "go into the account's client folder and the question's answer holds their ids",
               query=QuestionFilesQuerySchema, response=AnswerFilesSchema, status=201, files=True,
               errors=FILE_ERRORS)
    def on_post(self, req: falcon.Request, resp: falcon.Response, account_id: Any, client_request_id: Any) -> None:
        resp.media = schema(AnswerFilesSchema).dump(receive_question_files(
            req, self.rpc, self.transfer, begin_method="begin_portal_answer_upload",
            complete_method="complete_portal_answer_uploads", question_id=req.get_param("question_id") or "",
            account_id=str(account_id), client_request_id=str(client_request_id)))
        resp.status = falcon.HTTP_201
