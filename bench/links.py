"""B2: `GET /api/public/links/{token}` (a valid file-request link) against a bare Falcon hello app, same run,
same gunicorn settings.

    .venv/bin/python bench/links.py            # 10 s per measurement: ~2 min with start-up
    .venv/bin/python bench/links.py --quick    # 3 s per measurement: < 1 min with start-up

Starts bulk_access's throwaway Porta (every service and the gateway, its own vhost, databases, SMTP server and
var folder, removed at the end, on Ctrl-C, after --limit seconds, or through the watchdog if the bench is killed),
with `PORTA_TRUSTED_PROXIES=1` so the bench may name each request's client address in X-Forwarded-For, as a
proxy would. Beside it, the hello app runs under gunicorn with the gateway's own gunicorn.conf.py (worker class,
workers, threads), on another port. One firm, one account, one file request: its link is the subject.

Measured, each for --seconds over keep-alive HTTP/1.1 connections of one load process (non-blocking sockets):
- closed loop at 1 and at 16 connections: req/s, p50, p99 (hello and the link alike);
- open loop at 70% of the rate each reached at 16 connections (constant arrival rate; latency from the time a
  request was due, so a stall counts in full): p50, p99;
- the link with 90% wrong tokens, each from a random address of 10.0.0.0/8 (X-Forwarded-For), at 16
  connections: req/s against the valid-only run (performance.md B2: no lower).
Goals (issue 10): link >= 0.2x hello at 16 connections; p99 < 10 ms at 70% of its own max.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from bounded import run, stop_after
from bulk_access import PASSWORD, Stack
from devstack import environment

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "services" / "gateway" / "gunicorn.conf.py"
HELLO_APP = '''"""The baseline: a bare Falcon app answering a constant (bench/links.py)."""
import falcon


class Hello:
    def on_get(self, req, resp):
        resp.media = {"hello": "world"}


app = falcon.App()
app.add_route("/hello", Hello())
'''
WRONG_SHARE = 0.9


@dataclass
class Run:
    """What one measurement saw."""

    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class Connection:
    """One keep-alive connection: sends a request, reads one response (Content-Length bodies only).

    gunicorn closes a connection left idle past its keepalive (the open loop leaves some idle): such a
    connection is opened again, on the spot or before its next request. A connection closed while a request
    is in flight is an error."""

    def __init__(self, port: int, selector: selectors.BaseSelector) -> None:
        self.port = port
        self.selector = selector
        self.buffer = b""
        self.started = 0.0
        self.in_flight = False
        self._open()

    def _open(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.selector.register(self.sock, selectors.EVENT_READ, self)

    def reopen(self) -> None:
        self.close()
        self.buffer = b""
        self._open()

    def close(self) -> None:
        self.selector.unregister(self.sock)
        self.sock.close()

    def _closed_by_server(self) -> bool:
        """Whether the server has closed this (idle) connection: an end of stream waits to be read."""
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except ConnectionError:
            return True

    def send(self, request: bytes, started: float) -> None:
        if self._closed_by_server():
            self.reopen()
        self.started = started
        self.in_flight = True
        self.sock.sendall(request)

    def response(self) -> int | None:
        """The status once a whole response is in, else None (read what is there first)."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if not self.in_flight:  # an idle connection past the server's keepalive
                self.reopen()
                return None
            raise ConnectionError("the server closed a keep-alive connection with a request in flight")
        self.buffer += chunk
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        length = next((int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:")),
                      None)
        if length is None:
            raise ValueError(f"a response without Content-Length: {head[0]}")
        if len(self.buffer) < end + 4 + length:
            return None
        self.buffer = self.buffer[end + 4 + length:]
        self.in_flight = False
        return int(head[0].split()[1])


def load(port: int, requests_: list[bytes], connections: int, seconds: float, rate: float | None = None) -> Run:
    """Closed loop (`rate` None: each connection sends again as soon as it is answered) or open loop (`rate`
    requests per second, due at fixed intervals, each sent on the first idle connection)."""
    selector = selectors.DefaultSelector()
    conns = [Connection(port, selector) for _ in range(connections)]
    idle = list(conns)
    run, sent, due_index = Run(), 0, 0
    start = time.perf_counter()
    end = start + seconds
    waiting: list[float] = []  # open loop: due times of requests no connection was free for

    def send(conn: Connection, due: float) -> None:
        nonlocal sent
        conn.send(requests_[sent % len(requests_)], due)
        sent += 1

    if rate is None:
        for conn in idle:
            send(conn, time.perf_counter())
        idle.clear()
    try:
        while True:
            now = time.perf_counter()
            if now >= end and len(idle) == connections:
                break
            if rate is not None and now < end:
                while start + due_index / rate <= now:
                    waiting.append(start + due_index / rate)
                    due_index += 1
                while waiting and idle:
                    send(idle.pop(), waiting.pop(0))
                timeout = max(0.0, min(start + due_index / rate, end) - time.perf_counter())
            else:
                timeout = 0.05
            for key, _ in selector.select(timeout):
                conn = key.data
                status = conn.response()
                if status is None:
                    continue
                done = time.perf_counter()
                run.statuses[status] += 1
                run.latencies.append(done - conn.started)
                if rate is None and done < end:
                    send(conn, done)
                else:
                    idle.append(conn)
        run.seconds = time.perf_counter() - start
    finally:
        for conn in conns:
            conn.close()
        selector.close()
    return run


def get(path: str, forwarded_for: str | None = None) -> bytes:
    extra = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def random_address(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def mixed_requests(token: str, count: int = 20000) -> list[bytes]:
    """`count` requests of the link, WRONG_SHARE of them with a random token of the right shape, every one
    from a random address (as many as there are requests: each wrong one is a first, answered, counted miss)."""
    rng = random.Random(7)
    return [get(f"/api/public/links/{secrets.token_urlsafe(32) if rng.random() < WRONG_SHARE else token}",
                random_address(rng)) for _ in range(count)]


def file_request_link(url: str) -> str:
    """A fresh firm, one account, one file request into its private root: the token of its link."""
    tag = secrets.token_hex(4)
    signed = requests.post(f"{url}/api/v1/auth/signup", timeout=30, json={
        "firm_name": f"Bench {tag}", "name": "Bench Owner", "email": f"owner-{tag}@example.com",
        "password": PASSWORD})
    signed.raise_for_status()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {signed.json()['token']}"
    account = http.post(f"{url}/api/v1/accounts", json={"name": "Bench client", "type": "individual"}, timeout=30)
    account.raise_for_status()
    folders = http.get(f"{url}/api/v1/accounts/{account.json()['id']}/folders", timeout=30).json()["items"]
    root = next(f for f in folders if f["root"] == "private")
    created = http.post(f"{url}/api/v1/accounts/{account.json()['id']}/file-requests", timeout=30,
                        json={"folder_id": root["id"], "message": "Please send your W-2 for 2025."})
    created.raise_for_status()
    return created.json()["url"].rsplit("/", 1)[1]


def start_hello(stack: Stack) -> tuple[subprocess.Popen, int]:
    """The hello app under gunicorn with the gateway's gunicorn.conf.py, on a port of its own."""
    assert stack.system is not None
    folder = Path(stack.state["var_dir"]) / "hello"
    folder.mkdir()
    (folder / "bench_hello.py").write_text(HELLO_APP)
    port = environment.free_port()
    env = {**os.environ, **stack.system.env, "PORTA_HTTP_PORT": str(port), "PORTA_METRICS_PORT": "0",
           "PYTHONPATH": str(folder)}
    log = open(Path(stack.state["var_dir"]) / "hello.log", "ab")  # noqa: SIM115 - open while gunicorn runs
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "bench_hello:app"],
                               cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    stack._remember(pgids=[process.pid])
    environment.wait_for_port("127.0.0.1", port, timeout=30, process=process)
    return process, port


def line(name: str, run: Run, baseline: Run | None = None) -> str:
    text = (f"  {name:<34} {run.rate:8.0f} req/s  p50 {run.percentile(50):7.2f} ms  p99 {run.percentile(99):7.2f} ms"
            f"  {dict(sorted(run.statuses.items()))}")
    if baseline is not None:
        text += f"  {run.rate / baseline.rate:6.3f}x req/s"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--limit", type=float, default=600, help="stop (and clean up) after this many seconds")
    parser.add_argument("--quick", action="store_true", help="3 s per measurement")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 3.0

    stop_after(args.limit)  # unwinds through the finally below: everything removed
    os.environ["PORTA_TRUSTED_PROXIES"] = "1"  # the bench is the proxy: it names each request's address
    stack = Stack()
    try:
        stack.start()
        _, hello_port = start_hello(stack)
        token = file_request_link(stack.url)
        gateway_port = int(stack.system.env["PORTA_HTTP_PORT"])
        stack.settle()  # signup's and the request's events handled everywhere before the clock starts
        env = stack.system.env
        print(f"Porta {stack.url}, hello on port {hello_port}; gunicorn {env.get('PORTA_GATEWAY_WORKERS', 2)} workers "
              f"x {env.get('PORTA_GATEWAY_THREADS', 16)} threads each; {os.cpu_count()} CPUs "
              f"shared by everything; load average {os.getloadavg()[0]:.1f}", flush=True)
        link = [get(f"/api/public/links/{token}", random_address(random.Random(i))) for i in range(64)]
        hello_get = [get("/hello")]
        mixed = mixed_requests(token)
        for port, reqs in ((hello_port, hello_get), (gateway_port, link), (gateway_port, mixed)):
            load(port, reqs, args.connections, 1.0)  # connections, imports, first-request work: untimed
        runs: dict[str, Run] = {}
        for connections in (1, args.connections):
            # hello and the link in turn, so that drift on the box hits both alike
            runs[f"hello {connections}"] = load(hello_port, hello_get, connections, args.seconds)
            print(line(f"hello, {connections} conn", runs[f"hello {connections}"]), flush=True)
            runs[f"link {connections}"] = load(gateway_port, link, connections, args.seconds)
            print(line(f"link, {connections} conn", runs[f"link {connections}"], runs[f"hello {connections}"]),
                  flush=True)
        for name, port, reqs in (("hello", hello_port, hello_get), ("link", gateway_port, link)):
            rate = 0.7 * runs[f"{name} {args.connections}"].rate
            runs[f"{name} 70%"] = load(port, reqs, args.connections, args.seconds, rate=rate)
            print(line(f"{name}, open loop at {rate:.0f} req/s (70%)", runs[f"{name} 70%"]), flush=True)
        runs["mixed"] = load(gateway_port, mixed, args.connections, args.seconds)
        print(line(f"link, 90% wrong tokens, {args.connections} conn", runs["mixed"], runs[f"link {args.connections}"])
              + " (ratio against valid only)", flush=True)
        valid = runs[f"link {args.connections}"]
        print(f"\nSummary (load average {os.getloadavg()[0]:.1f}; {args.seconds:g} s per measurement):")
        print(f"  link/hello req/s: 1 conn {runs['link 1'].rate / runs['hello 1'].rate:.3f}x, "
              f"{args.connections} conn {valid.rate / runs[f'hello {args.connections}'].rate:.3f}x (goal >= 0.2x)")
        print(f"  link p50 1 conn {runs['link 1'].percentile(50):.2f} ms (hello {runs['hello 1'].percentile(50):.2f});"
              f" p99 at 70% of max {runs['link 70%'].percentile(99):.2f} ms (goal < 10 ms; hello "
              f"{runs['hello 70%'].percentile(99):.2f} ms)")
        print(f"  90% wrong tokens / valid only, req/s: {runs['mixed'].rate / valid.rate:.3f}x (goal >= 1)")
    finally:
        signal.alarm(0)
        stack.close()


if __name__ == "__main__":
    run(main)
