"""`create_stream_app(...)`: the streams as Falcon's ASGI app. Each open stream is a coroutine waiting on
its queue, so a thousand of them cost memory, not threads."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import falcon
import falcon.asgi
from marshmallow import Schema, ValidationError, fields, validate

from gateway.errors import HTTPDomainError, serialize_error
from gateway.middleware import API_POLICY, REQUEST_ID_HEADER
from gateway.openapi import operation
from gateway.stream.audience import EVENT_NAMES
from gateway.stream.hub import END, Call, Hub, Subscriber
from shared import context as ctx
from shared.errors import Forbidden, PortaError, Unauthorized, ValidationFailed

log = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
MAX_BODY = 64 * 1024
# Browsers reconnect this long after a stream ended (SSE `retry`, milliseconds).
RETRY_MS = 3000


def rpc_caller(rpc: Any, threads: int = 32) -> Call:
    """An async `call(service, method, context, **kwargs)` over the gateway's thread-safe RpcClient: each
    call waits on a thread of its own pool, never on the event loop."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stream-rpc")

    async def call(service: str, method: str, context: dict[str, str], **kwargs: Any) -> Any:
        context = {ctx.REQUEST_ID: uuid.uuid4().hex, **context}
        return await asyncio.get_running_loop().run_in_executor(
            pool, partial(rpc.call, service, method, context=context, **kwargs))

    return call


class StreamFilterSchema(Schema):
    """`POST /api/v1/stream`: only some events, or only some accounts' events."""

    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)), load_default=None,
                         validate=validate.Length(min=1, max=len(EVENT_NAMES)),
                         metadata={"description": "Only these events: " + ", ".join(EVENT_NAMES)})
    account_ids = fields.List(fields.UUID(), load_default=None, validate=validate.Length(min=1, max=200),
                              metadata={"description": "Only events of these accounts (Inbox+ items included)"})


class ReadyEventSchema(Schema):
    """The first event of every stream."""

    user_id = fields.UUID()
    kind = fields.String(metadata={"description": "`staff` or `client`"})


STREAM_DESCRIPTION = f"""Server-Sent Events (`text/event-stream`) for the caller, as things happen, from a process of
their own behind the same address (docs/realtime.md). A stream opens only for a request whose `Accept` names
`text/event-stream` (as EventSource sends it); any other gets 406.

Events (`event:` name, `data:` JSON, `id:` the event's id): `ready` (first, `{{user_id, kind}}`); `message`
`{{thread, message}}`; `message_updated` `{{thread_id, message}}`; `read` `{{thread_id, reader, message_ids,
read_at}}`; `task` `{{thread, task, change, progress}}`; `thread` `{{thread, changed, tasks?, reminders?}}`;
`inbox` (staff: the caller's own Inbox+ item); `end` `{{reason}}` just before the server closes the stream
(`signed_out`: the session ended; `too_slow`: the client fell more than 1,000 events behind). A comment line
every few seconds keeps idle connections open. Staff receive the events of accounts they may see; client
users those of their accounts' threads, without the firm's own details (linked jobs, reminder settings).
Access is checked with crm before each event: an event after a logout, a LOGIN turned off or a changed
assignment is not delivered. `retry` is {RETRY_MS} ms."""


class Stream:
    """What both streams do: authenticate like any request, subscribe, write the subscriber's events."""

    auth = "staff"

    def __init__(self, hub: Hub | None, call: Call | None, heartbeat: float = 15.0) -> None:
        self.hub, self.call, self.heartbeat = hub, call, heartbeat

    @operation("The caller's events, as they happen (Server-Sent Events)", response=ReadyEventSchema,
               errors=(406,), description=STREAM_DESCRIPTION)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        principal, token = await self._open(req)
        self._stream(req, resp, Subscriber(principal, token))

    async def _open(self, req: falcon.asgi.Request) -> tuple[dict[str, Any], str]:
        """crm authenticates the bearer token like the gateway does for every request."""
        scheme, _, token = (req.auth or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send `Authorization: Bearer <token>` from a login.")
        principal = await self.call("crm", "authenticate", {ctx.REQUEST_ID: req.context.request_id},
                                    token=token.strip())
        if principal["kind"] != self.auth:
            raise Forbidden(f"This path is for {self.auth} users.")
        if req.method == "GET":
            accepts_stream(req)
        return principal, token.strip()

    def _stream(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, subscriber: Subscriber) -> None:
        self.hub.subscribe(subscriber)
        resp.set_header("X-Accel-Buffering", "no")  # nginx passes events on at once
        resp.sse = self._events(subscriber)

    async def _events(self, subscriber: Subscriber) -> AsyncIterator[falcon.asgi.SSEvent | None]:
        try:
            principal = subscriber.principal
            yield falcon.asgi.SSEvent(event="ready", retry=RETRY_MS,
                                      json={"user_id": str(principal["user_id"]), "kind": principal["kind"]})
            while True:
                try:
                    item = await asyncio.wait_for(subscriber.queue.get(), self.heartbeat)
                except TimeoutError:
                    yield None  # Falcon writes a comment line: keeps proxies from closing an idle stream
                    continue
                if item is END:
                    yield falcon.asgi.SSEvent(event="end", json={"reason": subscriber.ended})
                    return
                yield falcon.asgi.SSEvent(event=item.event, event_id=item.id, json=item.payload_for(subscriber.kind))
        finally:
            self.hub.unsubscribe(subscriber)


class StaffStream(Stream):
    """`/api/v1/stream`: staff, everything (GET) or only what a filter names (POST)."""

    auth = "staff"

    @operation("The caller's events, only those asked for (Server-Sent Events)", body=StreamFilterSchema,
               response=ReadyEventSchema, errors=(406,), description=STREAM_DESCRIPTION)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        principal, token = await self._open(req)
        filters = await _filters(req)
        accepts_stream(req)
        self._stream(req, resp, Subscriber(
            principal, token,
            events=frozenset(filters["events"]) if filters["events"] else None,
            account_ids=frozenset(str(i) for i in filters["account_ids"]) if filters["account_ids"] else None))


class PortalStream(Stream):
    """`/portal/v1/stream`: client users."""

    auth = "client"


def accepts_stream(req: falcon.asgi.Request) -> None:
    accept = (req.get_header("Accept") or "").lower()
    if EVENT_STREAM not in accept:
        raise falcon.HTTPNotAcceptable(description="This is a stream of events: send `Accept: text/event-stream`.")


async def _filters(req: falcon.asgi.Request) -> dict[str, Any]:
    if req.content_length and req.content_length > MAX_BODY:
        raise falcon.HTTPContentTooLarge(description=f"The body may hold at most {MAX_BODY} bytes.")
    if not (req.content_type or "").lower().startswith("application/json"):
        raise falcon.HTTPUnsupportedMediaType(description="Send the filters as application/json.")
    try:
        body = await req.get_media()
    except falcon.MediaMalformedError as error:
        raise falcon.HTTPBadRequest(description="The body is not valid JSON.") from error
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.", {"_schema": ["Must be a JSON object."]})
    try:
        return StreamFilterSchema().load(body)
    except ValidationError as error:
        raise ValidationFailed("The filters are not valid.", error.messages) from None


class Health:
    """The stream process's own `/healthz` (its port only: on the shared address `/healthz` is the
    gateway's): 200 once its consumer is bound to the events, else 503."""

    auth = None

    def __init__(self, hub: Hub, ready: Callable[[], bool]) -> None:
        self.hub, self.ready = hub, ready

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        ready = self.ready()
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"status": "ok" if ready else "starting", "streams": self.hub.count()}


class RequestMiddleware:
    """What the gateway's middleware does for every answer, for this app: a request id, the security
    headers, never a cached answer."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        given = req.get_header(REQUEST_ID_HEADER) or ""
        req.context.request_id = given if given.replace("-", "").replace("_", "").isalnum() and len(given) <= 64 \
            else uuid.uuid4().hex
        resp.set_header(REQUEST_ID_HEADER, req.context.request_id)

    async def process_response(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: Any,
                               req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("Content-Security-Policy", API_POLICY)
        resp.set_header("Cache-Control", "no-store")
        # One request per connection, whatever the answer: a connection the gateway handed over must not
        # carry the client's next request here (docs/realtime.md).
        resp.set_header("Connection", "close")


def stream_routes(hub: Hub | None = None, call: Call | None = None, heartbeat: float = 15.0) -> list[tuple[str, Any]]:
    """The stream routes; also what the gateway's OpenAPI document describes (gateway.stream.docs)."""
    return [
        ("/api/v1/stream", StaffStream(hub, call, heartbeat)),
        ("/portal/v1/stream", PortalStream(hub, call, heartbeat)),
    ]


def create_stream_app(hub: Hub, call: Call, heartbeat: float = 15.0,
                      ready: Callable[[], bool] = lambda: True) -> falcon.asgi.App:
    """`call` is an async `call(service, method, context, **kwargs)` (`rpc_caller(RpcClient(...))`, or a
    test's fake); `hub` receives the events (gateway.stream.consumer feeds it); `ready` says whether they
    arrive yet (the consumer is bound)."""
    app = falcon.asgi.App(middleware=[RequestMiddleware()])
    app.add_error_handler(PortaError, _domain_error)
    app.add_error_handler(Exception, _unexpected)
    app.set_error_serializer(serialize_error)
    for template, resource in stream_routes(hub, call, heartbeat):
        app.add_route(template, resource)
    app.add_route("/healthz", Health(hub, ready))
    return app


async def _domain_error(req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: PortaError, params: dict) -> None:
    raise HTTPDomainError(exc)


async def _unexpected(req: falcon.asgi.Request, resp: falcon.asgi.Response, exc: Exception, params: dict) -> None:
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(description="Something went wrong on our side; it has been logged.")
