"""Applied to every request: request ids, the client address, input checks, bearer-token authentication,
security headers and metrics."""
from __future__ import annotations

import ipaddress
import re
import time
import uuid
from typing import Any

import falcon
from prometheus_client import Counter, Histogram

from gateway.checks import check_fields, check_query
from shared import context as ctx
from shared.errors import Forbidden, Unauthorized

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

HTTP_REQUESTS = Counter("porta_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram("porta_http_request_seconds", "Time to answer an HTTP request", ["method", "route"])


class RequestIdMiddleware:
    """Takes a sane X-Request-ID from the caller or makes one; every RPC and log line carries it."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header(REQUEST_ID_HEADER) or ""
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        req.context.request_id = request_id
        req.context.call_context = {ctx.REQUEST_ID: request_id}
        req.context.principal = None
        ctx.request_id_var.set(request_id)
        resp.set_header(REQUEST_ID_HEADER, request_id)


class ClientAddressMiddleware:
    """The caller's address, for throttling: behind `trusted_proxies` proxies, the address the
    outermost trusted one saw; X-Forwarded-For entries a client wrote itself are never believed."""

    def __init__(self, trusted_proxies: int) -> None:
        self.trusted_proxies = trusted_proxies

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        address = req.remote_addr or "127.0.0.1"
        forwarded = [hop.strip() for hop in (req.get_header("X-Forwarded-For") or "").split(",") if hop.strip()]
        if self.trusted_proxies and len(forwarded) >= self.trusted_proxies:
            candidate = forwarded[-self.trusted_proxies]
            try:
                address = str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # a proxy we trust wrote garbage: keep the connection's address
        req.context.client_address = address


class InputCheckMiddleware:
    """Refuses what no service should see (gateway.checks), before any call: a query parameter given
    twice (400), NUL or a lone surrogate in the query string or a path parameter (422 naming it).
    JSON bodies are checked where they are parsed (gateway.media), form fields where they are read."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        check_query(req.params)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict) -> None:
        check_fields((name, value) for name, value in params.items() if isinstance(value, str))


def required_auth(resource: Any) -> str | None:
    """Who may call `resource`: its `auth`, "staff" | "client" | "any" | None (public). A resource
    that declares nothing is for staff, so one added without a thought is closed, not open."""
    return getattr(resource, "auth", "staff")


class AuthMiddleware:
    """Checks the bearer token against the resource's `required_auth`; a token of the other kind is a 403."""

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict) -> None:
        # No resource: no route matched (a 404) or a static route (the docs page's files).
        if resource is None or req.method == "OPTIONS":
            return
        required = required_auth(resource)
        if required is None:
            return
        scheme, _, token = (req.auth or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send `Authorization: Bearer <token>` from a login.")
        principal = self.rpc.call("crm", "authenticate", context=req.context.call_context, token=token.strip())
        if required != "any" and principal["kind"] != required:
            raise Forbidden(f"This path is for {required} users.")
        req.context.principal = principal
        req.context.call_context.update({
            ctx.FIRM_ID: principal["firm_id"], ctx.USER_ID: principal["user_id"],
            ctx.USER_KIND: principal["kind"], ctx.SESSION_ID: principal["session_id"],
            # Lets services answer "may he open this account?" from what they cached under this version.
            ctx.ACCESS_VERSION: principal.get("access_version"),
        })


# Pages (`/p/`, `/portal`): scripts and styles only from our own files (gateway/static/), never inline;
# no frame may hold them. Every other answer (JSON, a downloaded file) may load nothing at all.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Static files (our pages' scripts, the docs page's) may be cached; any other answer may carry a token,
# a link or a firm's data: never stored (API.md).
STATIC_PREFIXES = ("/static/", "/docs/static/")


def is_page(req: falcon.Request, resource: Any) -> bool:
    """A page of ours: its responder is documented as one (`@operation(..., html=True)`). Not any HTML
    answer: a downloaded document may be HTML too, and it must run nothing."""
    responder = getattr(resource, f"on_{req.method.lower()}", None)
    return bool(getattr(responder, "openapi", {}).get("html"))


class SecurityHeadersMiddleware:
    """The headers API.md asks of every answer, set once here rather than per resource: nosniff always;
    `Cache-Control: no-store` unless a resource chose its own (a download's `private, no-store`);
    X-Frame-Options DENY and a Content-Security-Policy with `frame-ancestors 'none'`: PAGE_POLICY for
    our pages, the resource's own `content_security_policy` (the docs page), else API_POLICY."""

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("X-Frame-Options", "DENY")
        policy = PAGE_POLICY if is_page(req, resource) else getattr(resource, "content_security_policy", API_POLICY)
        resp.set_header("Content-Security-Policy", policy)
        if not req.path.startswith(STATIC_PREFIXES) and resp.get_header("Cache-Control") is None:
            resp.set_header("Cache-Control", "no-store")


class MetricsMiddleware:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool) -> None:
        # The route template, not the path: ids in paths would make one series per id.
        route = req.uri_template or "unmatched"
        HTTP_REQUESTS.labels(req.method, route, resp.status_code).inc()
        HTTP_SECONDS.labels(req.method, route).observe(time.perf_counter() - req.context.started)
