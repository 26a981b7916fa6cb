"""The one error mapping: every failure becomes API.md's `{title, description[, errors]}`."""
from __future__ import annotations

import logging
from typing import Any

import falcon

from shared.errors import PortaError, Throttled

log = logging.getLogger(__name__)


class HTTPDomainError(falcon.HTTPError):
    """A falcon error that also carries per-field messages (422) in `errors`."""

    def __init__(self, exc: PortaError) -> None:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
        if exc.status == 401:  # API.md, RFC 9110: a 401 names the scheme that opens the door
            headers = {"WWW-Authenticate": "Bearer"}
        super().__init__(falcon.code_to_http_status(exc.status), title=exc.title, description=exc.description,
                         headers=headers)
        # The wait travels in `errors` across RPC; the client reads it from Retry-After.
        self.errors = {k: v for k, v in (exc.errors or {}).items() if k != "retry_after"} or None

    def to_dict(self, obj_type: type = dict) -> Any:
        body = super().to_dict(obj_type)
        if self.errors:
            body["errors"] = self.errors
        return body


def handle_domain_error(req: falcon.Request, resp: falcon.Response, exc: PortaError, params: dict) -> None:
    raise HTTPDomainError(exc)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict) -> None:
    """Anything unforeseen is logged with the request id and answered as JSON, never as a traceback."""
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(description="Something went wrong on our side; it has been logged.")


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Always JSON, whatever the client's Accept header says."""
    resp.content_type = falcon.MEDIA_JSON
    resp.media = exc.to_dict()


def install(app: falcon.App) -> None:
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(PortaError, handle_domain_error)
    app.set_error_serializer(serialize_error)
