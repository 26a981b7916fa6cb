"""The fixed cost of one RPC call inside a service: crm's primary-key read against raw AMQP and `SELECT 1`.

    .venv/bin/python bench/call_cost.py                    # 4 rounds x 500 calls per row, about 2 minutes
    .venv/bin/python bench/call_cost.py --quick            # 2 rounds x 200 calls, about a minute
    .venv/bin/python bench/call_cost.py --profile /tmp/p   # then py-spy on crm while it answers describe_firm

See bench/README.md. Starts bulk_access.py's throwaway Porta (its own vhost, databases, var folder; all
removed at the end) plus one raw AMQP responder, and calls crm over RPC one call at a time. The service-side
time of a call is what crm itself logs (`duration_ms` of its one JSON line per call, matched by request id).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
from bounded import run, stop_after
from bulk_access import PASSWORD, Stack
from rpc import HERE, RawClient, Result, cpu_seconds  # also puts services/gateway on sys.path

from gateway.rpc import RpcClient  # noqa: E402  (found through rpc.py's sys.path)


class Row:
    """One measured variant: client round trips, and crm's own logged durations when it is a crm call."""

    def __init__(self, key: str, name: str, call: Callable[[str], object], logged: bool) -> None:
        self.key, self.name, self.call, self.logged = key, name, call, logged
        self.round_trips: list[float] = []
        self.request_ids: list[str] = []
        self.server_cpu = 0.0


def logged_durations(log_path: Path) -> dict[str, float]:
    """request id -> duration_ms of every call crm logged (one JSON line per call, shared.dependencies)."""
    found: dict[str, float] = {}
    with open(log_path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if '"duration_ms"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("request_id"):
                found[record["request_id"]] = float(record["duration_ms"])
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_rows(rows: list[Row], rounds: int, calls: int, crm_pid: int) -> None:
    """Every row `calls` times per round, rounds interleaved so that drift hits every row alike."""
    for _ in range(rounds):
        for row in rows:
            cpu_before = cpu_seconds(crm_pid)
            for _ in range(calls):
                request_id = f"bench-{row.key}-{uuid.uuid4().hex[:12]}"
                started = time.perf_counter()
                row.call(request_id)
                row.round_trips.append(time.perf_counter() - started)
                row.request_ids.append(request_id)
            row.server_cpu += cpu_seconds(crm_pid) - cpu_before


def report(rows: list[Row], log_path: Path, json_path: Path | None) -> None:
    time.sleep(0.5)  # the last lines reach the log file
    durations = logged_durations(log_path)
    by_key = {row.key: row for row in rows}
    raw, select1 = Result("raw", by_key["A"].round_trips, 1.0), Result("select1", by_key["S"].round_trips, 1.0)
    figures: dict[str, Any] = {}
    print(f"\n{'row':<52} {'round trip p50/p99 ms':>22}  {'RT/A':>5}  {'crm logged p50/p99 ms':>22}  "
          f"{'log/S':>6}  crm cpu/call")
    for row in rows:
        rt = Result(row.name, row.round_trips, 1.0)
        line = f"{row.key:<2} {row.name:<49} {rt.p50:9.3f} /{rt.p99:9.3f}  {rt.p50 / raw.p50:5.2f}"
        figure: dict[str, Any] = {"round_trip_p50_ms": round(rt.p50, 4), "round_trip_p99_ms": round(rt.p99, 4),
                                  "round_trip_vs_raw_amqp": round(rt.p50 / raw.p50, 3)}
        if row.logged:
            logged = [durations[r] for r in row.request_ids if r in durations]
            if len(logged) < len(row.request_ids):
                print(f"   ({len(row.request_ids) - len(logged)} of {len(row.request_ids)} calls not in the log)")
            p50, p99 = statistics.median(logged), percentile(logged, 0.99)
            cpu = row.server_cpu / len(row.request_ids) * 1e6
            line += f"  {p50:9.3f} /{p99:9.3f}  {p50 / select1.p50:6.1f}  {cpu:6.0f} us"
            figure.update(logged_p50_ms=p50, logged_p99_ms=p99, logged_vs_select1=round(p50 / select1.p50, 2),
                          crm_cpu_us_per_call=round(cpu, 1))
        print(line)
        figures[row.name] = figure
    subject = by_key["F"]
    logged = [durations[r] for r in subject.request_ids if r in durations]
    print(f"\nSubject: crm.describe_firm, crm's own time p50 {statistics.median(logged):.3f} ms "
          f"(budget 0.6 ms) = {statistics.median(logged) / select1.p50:.1f}x SELECT 1; round trip "
          f"{Result('', subject.round_trips, 1).p50 / raw.p50:.2f}x raw AMQP")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2))


def profile(call: Callable[[str], object], crm_pid: int, seconds: float, out: Path) -> None:
    """py-spy (CPU samples, idle excluded) on crm while describe_firm is called in a loop; prints the top frames."""
    spy = Path(sys.executable).with_name("py-spy")
    raw = out.with_suffix(".txt")
    recorder = subprocess.Popen([str(spy), "record", "--pid", str(crm_pid), "--duration", str(int(seconds)),
                                 "--rate", "500", "--nonblocking", "--format", "raw", "--output", str(raw)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # py-spy attaches
    calls = 0
    while recorder.poll() is None:
        call(f"bench-profile-{calls}")
        calls += 1
    if recorder.returncode != 0:
        raise RuntimeError(f"py-spy failed: {recorder.stderr.read()[-500:]}")
    print(f"\nProfile: {calls} describe_firm calls under py-spy; collapsed stacks in {raw}")
    print_top(raw)


def print_top(raw: Path, limit: int = 30) -> None:
    """Inclusive share of the busy samples per function (a frame counted once per stack), from py-spy's
    raw format. py-spy does not see eventlet's hub waiting in epoll as idle: those samples are dropped."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack.strip() or stack.endswith("(eventlet/hubs/epolls.py:31)"):
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].split(":")[0].rstrip(")")
                  for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"  {total} busy samples; inclusive share (self share)")
    for frame, n in inclusive.most_common(limit):
        print(f"  {100 * n / total:5.1f}% ({100 * own[frame] / total:4.1f}%)  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per row and round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, rows interleaved in each")
    parser.add_argument("--warmup", type=int, default=200, help="calls per row before measuring")
    parser.add_argument("--quick", action="store_true", help="200 calls, 2 rounds, 50 warm-up calls")
    parser.add_argument("--profile", type=Path, help="afterwards, py-spy on crm; collapsed stacks to this path")
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument("--limit", type=float, default=600, help="stop (and clean up) after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.rounds, args.warmup = 200, 2, 50

    stop_after(args.limit)  # unwinds through the finally below: everything removed
    stack = Stack()
    closers: list[Callable[[], object]] = []
    try:
        started = time.perf_counter()
        stack.start()
        assert stack.system is not None
        env = stack.system.env
        crm = stack.system.processes["crm"][0]
        print(f"Porta up in {time.perf_counter() - started:.1f} s (vhost {stack.state['vhost']}); python "
              f"{sys.version.split()[0]}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")

        client = RpcClient(env["PORTA_AMQP_URI"], timeout=10, client_name="bench")
        closers.append(client.close)
        tag = uuid.uuid4().hex[:8]
        signup = client.call("crm", "signup", payload={
            "firm_name": f"Bench {tag}", "name": "Bench Owner", "email": f"owner-{tag}@example.com",
            "password": PASSWORD})
        firm_id = signup["firm"]["id"]

        queue = f"raw_{tag}"
        responder = subprocess.Popen([sys.executable, str(HERE / "rpc.py"), "_responder", env["PORTA_AMQP_URI"],
                                      queue], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        closers.append(lambda: (responder.terminate(), responder.wait(10)))
        if responder.stdout.readline().strip() != "ready":
            raise RuntimeError("the raw responder did not start")
        raw = RawClient(env["PORTA_AMQP_URI"], queue)
        closers.append(raw.close)
        pg = psycopg2.connect(env["PORTA_DB_URL_TEMPLATE"].format(service="crm").replace("+psycopg2", ""))
        pg.autocommit = True
        closers.append(pg.close)
        cursor = pg.cursor()

        def select1(_: str) -> None:
            cursor.execute("SELECT 1")
            cursor.fetchone()

        def crm_call(method: str, **kwargs: Any) -> Callable[[str], object]:
            return lambda request_id: client.call("crm", method, {"request_id": request_id}, **kwargs)

        rows = [
            Row("A", "raw AMQP request/reply (BASELINE round trip)", lambda _: raw.call(), False),
            Row("S", "SELECT 1, psycopg2, autocommit (BASELINE db)", select1, False),
            Row("H", "crm.health (one SELECT 1 on its connection)", crm_call("health"), True),
            Row("T", "crm.authenticate (every authenticated request)", crm_call("authenticate",
                                                                                 token=signup["token"]), True),
            Row("F", "crm.describe_firm (one primary-key read) SUBJECT", crm_call("describe_firm", firm_id=firm_id),
                True),
        ]
        for row in rows:
            for i in range(args.warmup):
                row.call(f"warmup-{i}")
        run_rows(rows, args.rounds, args.calls, crm.popen.pid)
        print(f"{args.rounds} rounds x {args.calls} sequential calls per row; load average "
              f"{os.getloadavg()[0]:.2f} at the end")
        report(rows, crm.log_path, args.json)
        if args.profile:
            profile(rows[-1].call, crm.popen.pid, args.profile_seconds, args.profile)
    finally:
        signal.alarm(0)
        for close in closers:
            try:
                close()
            except Exception as error:  # tearing down: say it and go on
                print(f"cleanup: {error!r}", file=sys.stderr)
        stack.close()


if __name__ == "__main__":
    run(main)
