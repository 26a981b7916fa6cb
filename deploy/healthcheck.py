"""Container health check for Porta: exit 0 when healthy, 1 when not.

    python deploy/healthcheck.py rpc <service> [--timeout SECONDS]   # nameko `health()` RPC over the broker
    python deploy/healthcheck.py http <url> [--timeout SECONDS]      # HTTP GET, healthy on 2xx

Used by docker-compose health checks and Kubernetes exec/HTTP probes. The broker URI is read
the same way the services read it (`PORTA_AMQP_URI`, see shared/shared/config.py). A hard alarm
backs up the RPC timeout, so a broker that accepts the TCP connection but never answers cannot
hang the probe.
"""
from __future__ import annotations

import argparse
import signal
import sys
import urllib.error
import urllib.request
import warnings
from typing import Any

DEFAULT_TIMEOUT = 5.0


class _Deadline(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Deadline()


def check_rpc(service: str, timeout: float) -> str:
    """Call `<service>.health()`; returns its status or raises."""
    warnings.filterwarnings("ignore")  # eventlet's deprecation notice on import is noise in probe output
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.config import load_settings

    config = {"AMQP_URI": load_settings().amqp_uri}
    with ClusterRpcProxy(config, timeout=timeout) as proxy:
        reply = getattr(proxy, service).health()
    status = reply.get("status") if isinstance(reply, dict) else None
    if status != "ok":
        raise RuntimeError(f"health() answered {reply!r}")
    return status


def check_http(url: str, timeout: float) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        return f"HTTP {response.status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["rpc", "http"])
    parser.add_argument("target", help="service name (rpc) or URL (http)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(args.timeout) + 2)
    try:
        if args.mode == "rpc":
            result = check_rpc(args.target, args.timeout)
        else:
            result = check_http(args.target, args.timeout)
    except _Deadline:
        print(f"unhealthy: {args.target}: no answer within {args.timeout:g}s", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: {args.target}: HTTP {exc.code}", file=sys.stderr)
        return 1
    except Exception as exc:  # any failure at all means "not healthy"
        print(f"unhealthy: {args.target}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
    print(f"healthy: {args.target}: {result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
