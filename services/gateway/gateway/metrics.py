"""Prometheus metrics of the gateway, for the operator only: never on the public port.

Each gunicorn worker counts its requests (gateway.middleware.MetricsMiddleware) into files under
PROMETHEUS_MULTIPROC_DIR; gunicorn's master adds them up and serves them on `PORTA_METRICS_PORT`
(gunicorn.conf.py), a port that only the cluster's network reaches (deploy/README.md). 0 serves none.
"""
from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess, start_http_server


def registry() -> CollectorRegistry:
    """Every worker's metrics when gunicorn runs several (a shared directory), else this process's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def exposition() -> str:
    """The metrics in Prometheus' text format, as the metrics port serves them."""
    return generate_latest(registry()).decode()


def serve(host: str, port: int) -> Any:
    """Serve `registry()` on host:port from a thread of this process; returns the server."""
    server, _ = start_http_server(port, addr=host, registry=registry())
    return server
