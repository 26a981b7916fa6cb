"""Streams: 1,000 open Server-Sent Event streams against the gateway's other requests, same system, same run.

    .venv/bin/python bench/stream.py            # 1,000 streams, 30 messages: about 4 minutes
    .venv/bin/python bench/stream.py --quick    # 200 streams, 10 messages

A throwaway Porta (bench/bulk.py's `start_stack`), every request at the gateway's one address (the gateway
hands stream connections to the stream process). Measures, in one run:

- `GET /healthz` p50/p99, sequential, without any stream open (the baseline), then with all streams open;
- delivery latency of a staff message (from the POST to its arrival on each stream) with ONE stream open
  (the baseline) and with all of them open, p50/p99 over every (message, stream) pair.

The streams are the owner's, spread over `--sessions` logins (several tabs per session, as people have).
Access checks cost two crm calls per session per event, so the session count is what the fan-out pays for.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).parent))
from bulk import ClientFirm, ok, start_stack  # noqa: E402
from bulk_access import PASSWORD  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def healthz(url: str, count: int) -> list[float]:
    http, took = requests.Session(), []
    for _ in range(count):
        started = time.perf_counter()
        ok(http.get(f"{url}/healthz", timeout=30))
        took.append(time.perf_counter() - started)
    return took


class Streams:
    """`count` raw HTTP/1.1 event streams opened with asyncio in a thread of their own; records when each
    message (by body) reached each stream."""

    def __init__(self, url: str, tokens: list[str], count: int) -> None:
        self.host, self.port = urlsplit(url).hostname, urlsplit(url).port
        self.tokens, self.count = tokens, count
        self.arrivals: dict[str, list[float]] = {}
        self.ready = 0
        self.loop = asyncio.new_event_loop()
        self.writers: list[asyncio.StreamWriter] = []

    async def _one(self, token: str) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
        self.writers.append(writer)
        writer.write((f"GET /api/v1/stream HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {token}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        event = None
        while line := await reader.readline():
            line = line.rstrip(b"\r\n")
            if line.startswith(b"event: "):
                event = line[7:].decode()
            elif line.startswith(b"data: ") and event == "ready":
                self.ready += 1
            elif line.startswith(b"data: ") and event == "message":
                body = json.loads(line[6:])["message"]["body"]
                self.arrivals.setdefault(body, []).append(time.perf_counter())

    def open(self) -> None:
        import threading

        async def run() -> None:
            await asyncio.gather(*(self._one(self.tokens[i % len(self.tokens)]) for i in range(self.count)),
                                 return_exceptions=True)

        threading.Thread(target=lambda: self.loop.run_until_complete(run()), daemon=True).start()
        deadline = time.monotonic() + 120
        while self.ready < self.count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.ready} of {self.count} streams opened")
            time.sleep(0.1)

    def close(self) -> None:
        for writer in self.writers:
            self.loop.call_soon_threadsafe(writer.close)


def deliveries(firm: ClientFirm, streams: Streams, thread_id: str, messages: int, tag: str) -> list[float]:
    http, latencies = firm.session(), []
    for n in range(messages):
        body = f"{tag} {n}"
        sent = time.perf_counter()
        ok(http.post(f"{firm.url}/api/v1/chats/{thread_id}/messages", json={"body": body}))
        deadline = time.monotonic() + 60
        while len(streams.arrivals.get(body, ())) < streams.count and time.monotonic() < deadline:
            time.sleep(0.005)
        arrived = streams.arrivals.get(body, [])
        if len(arrived) < streams.count:
            raise RuntimeError(f"{body!r} reached {len(arrived)} of {streams.count} streams")
        latencies.extend(t - sent for t in arrived)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=20, help="logins the streams are spread over")
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--healthz", type=int, default=500, help="GET /healthz per measurement")
    parser.add_argument("--limit", type=float, default=900)
    parser.add_argument("--quick", action="store_true", help="200 streams, 10 messages")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.messages, args.healthz = 200, 10, 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def too_long(signum: int, frame: object) -> None:
        raise TimeoutError(f"bench exceeded --limit {args.limit:g} s")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(int(args.limit))
    stack = start_stack()
    try:
        firm = ClientFirm(stack, 1)
        owner_email = ok(firm.session().get(f"{firm.url}/api/v1/me"))["email"]
        tokens = [ok(requests.post(f"{firm.url}/api/v1/auth/login", timeout=30,
                                   json={"email": owner_email, "password": PASSWORD}))["token"]
                  for _ in range(args.sessions)]
        thread = ok(firm.session().post(f"{firm.url}/api/v1/accounts/{firm.accounts[0]}/chats",
                                        json={"subject": "Bench", "body": "Start"}))
        stack.settle()
        print(f"Porta {stack.url}; {os.cpu_count()} CPUs; {args.streams} streams over {args.sessions} sessions",
              flush=True)

        health_before = healthz(stack.url, args.healthz)
        one = Streams(stack.url, tokens[:1], 1)
        one.open()
        single = deliveries(firm, one, thread["id"], args.messages, "single")
        one.close()
        time.sleep(1)

        many = Streams(stack.url, tokens, args.streams)
        opened = time.perf_counter()
        many.open()
        print(f"{args.streams} streams open in {time.perf_counter() - opened:.1f} s", flush=True)
        health_during = healthz(stack.url, args.healthz)
        fanned = deliveries(firm, many, thread["id"], args.messages, "many")
        many.close()

        p50 = statistics.median
        print(f"\nGET /healthz p50 {p50(health_before) * 1000:6.2f} ms, "
              f"p99 {percentile(health_before, .99) * 1000:6.2f} ms without streams (baseline)")
        print(f"GET /healthz p50 {p50(health_during) * 1000:6.2f} ms, p99 {percentile(health_during, .99) * 1000:6.2f}"
              f" ms with {args.streams} streams open: {p50(health_during) / p50(health_before):.2f}x the baseline")
        print(f"delivery p50 {p50(single) * 1000:6.1f} ms, p99 {percentile(single, .99) * 1000:6.1f} ms to 1 stream"
              f" (baseline)")
        print(f"delivery p50 {p50(fanned) * 1000:6.1f} ms, p99 {percentile(fanned, .99) * 1000:6.1f} ms to each of "
              f"{args.streams} streams: p50 {p50(fanned) / p50(single):.2f}x the baseline")
    finally:
        signal.alarm(0)
        stack.close()


if __name__ == "__main__":
    main()
