"""B5: a 200 MB download through a share link (and as its "download all" zip) against a direct GET of the same
bytes from the same S3 server, in the same run.

    .venv/bin/python bench/shares.py                 # 200 MB x 7 rounds: ~2 min
    .venv/bin/python bench/shares.py --quick         # 20 MB x 2 rounds: < 1 min
    .venv/bin/python bench/shares.py --size 1GB      # another size

Starts the throwaway Porta of bench/upload.py (`UploadStack`: every service and the gateway, its own vhost,
databases, SMTP server, var folder and s3rver) and removes all of it when done, interrupted, after --limit
seconds, or (through bulk_access's watchdog) if the bench itself is killed. The file goes in once through the
gateway (a staff upload) and once straight into the bucket; a share of it gives one recipient's link. Each
round downloads, in turn: the object directly (baseline), the document through its staff route, the document
through the share link, the share's zip through the link; the median MB/s of each and the ratios against the
baseline are printed. Then one more link download and one zip on a freshly started one-worker gateway, its RSS
sampled: it must stay flat (streamed, no temporary file, nothing held).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import time
from typing import Any

import requests
from bounded import run, stop_after
from upload import (
    CLIENT_CHUNK,
    KB,
    MB,
    MIB,
    Direct,
    Gateway,
    RssSampler,
    Sample,
    UploadStack,
    Watched,
    cpu_seconds,
    idle_rss,
    label,
    make_file,
    parse_size,
    timed,
)

GOAL = 0.8  # performance.md B5: the link streams at >= 0.8x a direct GET for files of 10 MB and more


class Recipient:
    """The third party: his link's document and zip, no login."""

    def __init__(self, page_url: str, document_id: str) -> None:
        self.http = requests.Session()
        self.api = page_url.replace("/p/", "/api/public/links/")
        self.document_id = document_id

    def _get(self, path: str) -> int:
        with self.http.get(self.api + path, stream=True, timeout=(10, 900)) as resp:
            resp.raise_for_status()
            return sum(len(chunk) for chunk in resp.iter_content(CLIENT_CHUNK))

    def document(self) -> int:
        return self._get(f"/documents/{self.document_id}/content")

    def archive(self) -> int:
        return self._get("/archive")


def shared(gateway: Gateway, document_id: str) -> str:
    resp = gateway.http.post(f"{gateway.url}/api/v1/shares", timeout=30, json={
        "document_ids": [document_id], "recipients": [{"email": "banker@example.org"}], "send_email": False})
    resp.raise_for_status()
    return resp.json()["recipients"][0]["url"]


def rate(samples: list[Sample], size: int) -> float:
    return statistics.median(size * s.ops / s.seconds for s in samples) / MB


def memory(stack: UploadStack, gateway: Gateway, page_url: str, document_id: str, size: int) -> list[str]:
    """One link download and one zip, each on a fresh one-worker gateway: the worker's RSS growth."""
    lines = []
    for what in ("document", "archive"):
        workers = stack.fresh_gateway(workers=1)
        recipient = Recipient(page_url, document_id)
        recipient.http.get(recipient.api, timeout=30).raise_for_status()  # first-request work, untimed
        idle = idle_rss(workers)
        cpu = sum(cpu_seconds(pid) for pid in workers)
        started = time.perf_counter()
        with RssSampler(workers) as sampler:
            got = getattr(recipient, what)()
        seconds = time.perf_counter() - started
        worker = workers[0]
        if what == "document" and got != size:
            raise RuntimeError(f"downloaded {got} bytes of {size}")
        lines.append(f"  {what:<8} {label(size):>7}: worker RSS +{(sampler.peaks[worker] - idle[worker]) / MIB:5.1f} "
                     f"MiB (idle {idle[worker] / MIB:.0f} MiB, {sampler.samples} samples), {got / seconds / MB:6.1f} "
                     f"MB/s, gateway cpu {sum(cpu_seconds(pid) for pid in workers) - cpu:.2f} s")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=parse_size, default=200 * MB)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each way (median printed)")
    parser.add_argument("--limit", type=float, default=900, help="stop (and clean up) after this many seconds")
    parser.add_argument("--quick", action="store_true", help="20 MB, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.size, args.rounds = 20 * MB, 2

    stop_after(args.limit)  # unwinds through the finally below: everything removed
    stack = UploadStack()
    try:
        stack.start()
        files_dir = stack.var_dir / "files"
        files_dir.mkdir()
        print(f"Porta {stack.url}, s3rver 127.0.0.1:{stack.s3_port}, gateway workers {stack.workers}; "
              f"{os.cpu_count()} CPUs shared by everything; load average {os.getloadavg()[0]:.1f}", flush=True)
        direct, gateway = Direct(f"127.0.0.1:{stack.s3_port}", stack.bucket), Gateway(stack.url)
        watched = Watched(stack.workers, stack.s3rver.pid)
        warm = make_file(files_dir, 100 * KB, prefix="warm")
        warm_url = shared(gateway, warm_id := gateway.upload(warm))
        for _ in range(3):  # connections, imports, first-request work: untimed
            direct.delete(direct.upload(warm))
            Recipient(warm_url, warm_id).document()
            Recipient(warm_url, warm_id).archive()
        file = make_file(files_dir, args.size)
        key, document_id = direct.upload(file), gateway.upload(file)
        page_url = shared(gateway, document_id)
        recipient = Recipient(page_url, document_id)
        # "staff GET" (the document's own route, bench/upload.py's subject) tells the link's cost apart from
        # the gateway's streaming, which both share (gateway/transfer.py).
        ways: dict[str, Any] = {"direct GET": lambda i: direct.download(key),
                                "staff GET": lambda i: gateway.download(document_id),
                                "share link": lambda i: recipient.document(),
                                "share zip": lambda i: recipient.archive()}
        results: dict[str, list[Sample]] = {name: [] for name in ways}
        for round_number in range(args.rounds):
            order = list(ways) if round_number % 2 == 0 else list(reversed(ways))  # A B C D, D C B A: drift hits all
            for name in order:
                results[name].append(timed(watched, 1, ways[name]))
            print(f"  #{round_number + 1}: " + "  ".join(
                f"{name} {args.size / results[name][-1].seconds / MB:7.1f} MB/s" for name in ways), flush=True)
        baseline = rate(results["direct GET"], args.size)
        print(f"\n{label(args.size)}, median of {args.rounds} (MB = 10^6 bytes):")
        print(f"  direct GET from s3rver   {baseline:7.1f} MB/s")
        for name in ("staff GET", "share link", "share zip"):
            ratio = rate(results[name], args.size) / baseline
            verdict = "meets" if ratio >= GOAL else "MISSES"
            print(f"  {name:<24} {rate(results[name], args.size):7.1f} MB/s  ratio {ratio:5.2f}x  "
                  f"({verdict} the {GOAL}x goal)")
        print("\nMemory: one transfer each on a freshly started one-worker gateway")
        memory(stack, gateway, page_url, document_id, args.size)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        signal.alarm(0)
        stack.close()


if __name__ == "__main__":
    run(main)
