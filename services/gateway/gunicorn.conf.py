"""gunicorn settings for the gateway: gthread workers (never eventlet), bound from PORTA_* variables."""
import os
import tempfile

# Before prometheus_client is imported anywhere: it picks per-process metric files at import time.
# Each worker writes its metrics there; the master adds them up on the metrics port (when_ready).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="porta-gateway-metrics-"))

from prometheus_client import multiprocess  # noqa: E402

from shared.config import load_settings  # noqa: E402

# gunicorn's master is a composition root of its own; each worker reads settings again in gateway.wsgi.
settings = load_settings()
bind = f"{settings.http_host}:{settings.http_port}"
# gthread, with gunicorn's own refusals (a URL or headers over the limits below) answered in JSON, and
# stream requests handed to the stream process when PORTA_STREAM_HANDOFF names its socket (gateway/stream/handoff.py).
worker_class = "gateway.stream.handoff.HandoffWorker"
workers = int(os.environ.get("PORTA_GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("PORTA_GATEWAY_THREADS", "16"))
# Longer than the RPC timeout, so a slow service gets a 504 from us, not a killed worker.
timeout = int(settings.rpc_timeout) + 20
graceful_timeout = 20
accesslog = None  # the metrics middleware counts requests; paths may carry link tokens
# gunicorn's defaults: a request line of 4094 bytes (414 past it), 100 header fields of 8190 bytes (431).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# gunicorn 27 opens a control socket at one fixed path per user; several gateways would fight over it.
control_socket_disable = True


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Metrics on their own port, served by the master for every worker (gateway.metrics)."""
    if settings.metrics_port:
        from gateway.metrics import serve

        serve(settings.http_host, settings.metrics_port)
        from gateway.dead_letters import watch  # porta_dead_letters, asked of the broker by this master

        watch(settings.amqp_uri)
        server.log.info("metrics on http://%s:%s/metrics", settings.http_host, settings.metrics_port)


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Where a worker hands stream requests (gateway/stream/handoff.py): this machine's stream process, if any."""
    worker.handoff_path = settings.stream_handoff


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    multiprocess.mark_process_dead(worker.pid)
