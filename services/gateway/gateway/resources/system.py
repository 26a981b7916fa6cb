"""Liveness, readiness, metrics, the OpenAPI document and its Swagger UI page: all public."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import falcon
from marshmallow import Schema, fields
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from gateway.openapi import operation
from shared.config import SERVICES
from shared.errors import PortaError


class HealthSchema(Schema):
    status = fields.String()


class ReadySchema(Schema):
    status = fields.String(metadata={"description": "`ready` or `unavailable`"})
    services = fields.Dict(keys=fields.String(), values=fields.String())


class Health:
    auth = None

    @operation("The gateway process is up", response=HealthSchema)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Ready:
    """Ready when the broker carries an RPC to every service and each answers from its database."""

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
        resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
        resp.media = {"status": "ready" if ready else "unavailable", "services": states}


class Metrics:
    auth = None

    @operation("Prometheus metrics of every gateway worker")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # gunicorn runs several worker processes: add up what each wrote to the shared directory.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(registry)


class OpenApi:
    auth = None

    def __init__(self, spec: dict) -> None:
        self.spec = spec

    @operation("This document")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.spec


class DocsPage:
    """Swagger UI's page (from swagger_ui), showing the OpenAPI document; not itself in that document."""

    auth = None

    def __init__(self, html: str) -> None:
        self.html = html

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.html
