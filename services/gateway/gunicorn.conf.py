"""gunicorn settings for the gateway: gthread workers (never eventlet), bound from PORTA_* variables."""
import os
import tempfile

# Before prometheus_client is imported anywhere: it picks per-process metric files at import time.
# Each worker writes its metrics there and /metrics adds them up.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="porta-gateway-metrics-"))

from prometheus_client import multiprocess  # noqa: E402

from shared.config import load_settings  # noqa: E402

# gunicorn's master is a composition root of its own; each worker reads settings again in gateway.wsgi.
settings = load_settings()
bind = f"{settings.http_host}:{settings.http_port}"
worker_class = "gthread"
workers = int(os.environ.get("PORTA_GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("PORTA_GATEWAY_THREADS", "16"))
# Longer than the RPC timeout, so a slow service gets a 504 from us, not a killed worker.
timeout = int(settings.rpc_timeout) + 20
graceful_timeout = 20
accesslog = None  # the metrics middleware counts requests; paths may carry link tokens
# gunicorn 27 opens a control socket at one fixed path per user; several gateways would fight over it.
control_socket_disable = True


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    multiprocess.mark_process_dead(worker.pid)
