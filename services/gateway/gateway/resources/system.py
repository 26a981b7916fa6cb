"""Liveness, readiness, the OpenAPI document and its Swagger UI page: all public. Metrics are not
(gateway.metrics serves them on their own port)."""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import falcon
from marshmallow import Schema, fields

from gateway.openapi import operation
from shared.config import SERVICES
from shared.errors import PortaError

log = logging.getLogger(__name__)


class HealthSchema(Schema):
    status = fields.String()


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "`ready` or `unavailable`"})


class Health:
    auth = None

    @operation("The gateway process is up", response=HealthSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Ready:
    """Ready when the broker carries an RPC to every service and each answers from its database. The
    answer says only that: which service is down is for the operator (the log), not the public."""

    auth = None

    def __init__(self, rpc: Any, services: tuple[str, ...] = SERVICES, timeout: float = 3.0) -> None:
        self.rpc = rpc
        self.services = services
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(max_workers=len(services), thread_name_prefix="readyz")

    def _check(self, service: str, context: dict) -> str:
        try:
            self.rpc.call(service, "health", context=context)
            return "ok"
        except PortaError as exc:
            return exc.title.lower()

    @operation("The broker and every service answer", response=ReadySchema, errors=(503,))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        futures = {s: self.pool.submit(self._check, s, dict(req.context.call_context)) for s in self.services}
        wait(futures.values(), timeout=self.timeout)
        states = {s: f.result() if f.done() else "timeout" for s, f in futures.items()}
        ready = all(state == "ok" for state in states.values())
        if not ready:
            log.warning("not ready: %s", ", ".join(f"{s} {state}" for s, state in states.items() if state != "ok"))
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"status": "ready" if ready else "unavailable"}


class OpenApi:
    auth = None

    def __init__(self, spec: dict) -> None:
        self.spec = spec

    @operation("This document")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.spec


class DocsPage:
    """Swagger UI's page (from swagger_ui), showing the OpenAPI document; not itself in that document.
    Its one inline script is allowed by its hash; Swagger UI styles its elements inline."""

    auth = None

    def __init__(self, html: str) -> None:
        self.html = html
        hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
                          for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL))
        self.content_security_policy = (
            f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.html
