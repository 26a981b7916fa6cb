"""B3 (RPC part): the gateway-to-service RPC round trip against raw AMQP request/reply, same broker, same run.

    .venv/bin/python bench/rpc.py            # full run, about 2 minutes
    .venv/bin/python bench/rpc.py --quick    # smoke run, under a minute

See bench/README.md for what each row means. Talks to RabbitMQ on 127.0.0.1:5672 only, in a
throwaway vhost it creates with rabbitmqctl (or in "/" with unique names when rabbitmqctl is
not usable); starts its own responder and `nameko run` processes and stops them, and itself,
when done or after --limit seconds.

This file is also the module `nameko run` imports for the benchmark services (cwd=bench/, module
`rpc`), so importing it must not do any work.
"""
from __future__ import annotations

import sys

if sys.argv[1:2] == ["_responder"] and "--green" in sys.argv:
    import eventlet  # before anything imports socket/threading, as `nameko run` does

    eventlet.monkey_patch()

import argparse  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO / "services" / "gateway"), str(REPO / "shared")]

from nameko.rpc import rpc as nameko_rpc  # noqa: E402

from shared.rpc import rpc as porta_rpc  # noqa: E402

BROKER = "127.0.0.1:5672"
# The raw pair uses nameko's exchange and message shape, so RpcClient can call the raw responder too.
EXCHANGE = "nameko-rpc"
Call = Callable[[], object]


# --- the services `nameko run` starts ---------------------------------------------------------------


class StockBench:
    """nameko's own @rpc: reply through a pooled Publisher, with a publisher confirm."""

    name = os.environ.get("BENCH_STOCK_NAME", "bench_stock")

    @nameko_rpc
    def noop(self):
        return None


class PortaBench:
    """shared.rpc.rpc: reply on the container's kept connection, without a confirm."""

    name = os.environ.get("BENCH_PORTA_NAME", "bench_porta")

    @porta_rpc
    def noop(self):
        return None


# --- raw AMQP request/reply (kombu, no nameko) ----------------------------------------------------


def responder_main(uri: str, queue_name: str, confirm: bool, prefetch: int) -> None:
    """A tiny responder: consume `queue_name`, publish {"result": null} to reply_to, then ack.

    Shaped like nameko's RpcConsumer (durable queue on the topic exchange, prefetch, ack after
    the reply, a consuming and a publishing connection) minus everything else. With --green it
    runs under eventlet like a nameko service.
    """
    from kombu import Connection, Consumer, Exchange, Producer, Queue

    conn = Connection(uri)
    publish_conn = Connection(uri, transport_options={"confirm_publish": confirm})
    exchange = Exchange(EXCHANGE, "topic", durable=True)
    queue = Queue(queue_name, exchange, routing_key=f"{queue_name}.*", durable=True, auto_delete=True)
    producer = Producer(publish_conn.channel(), exchange, serializer="json")
    reply = {"result": None, "error": None}

    def on_message(body: dict, message) -> None:
        props = message.properties
        producer.publish(reply, routing_key=props["reply_to"], correlation_id=props["correlation_id"],
                         delivery_mode=1, retry=False)
        message.ack()

    consumer = Consumer(conn.channel(), [queue], callbacks=[on_message], no_ack=False, accept=["json"])
    consumer.qos(prefetch_count=prefetch)
    consumer.consume()
    print("ready", flush=True)
    while os.getppid() != 1:  # the bench died: do not linger
        try:
            conn.drain_events(timeout=1)
        except TimeoutError:
            pass


class RawClient:
    """kombu request/reply client: its own connection and exclusive reply queue; waits by draining."""

    def __init__(self, uri: str, service: str, confirm: bool = False, persistent: bool = False) -> None:
        from kombu import Connection, Consumer, Exchange, Producer, Queue

        self.conn = Connection(uri, transport_options={"confirm_publish": confirm})
        exchange = Exchange(EXCHANGE, "topic", durable=True)
        channel = self.conn.channel()
        self.reply_key = uuid.uuid4().hex
        queue = Queue(f"bench-raw-reply-{self.reply_key}", exchange, routing_key=self.reply_key,
                      exclusive=True, auto_delete=True)
        self.replies: dict[str, dict] = {}
        self.consumer = Consumer(channel, [queue], no_ack=True, accept=["json"], callbacks=[self._on_reply])
        self.consumer.consume()
        self.producer = Producer(channel, exchange, serializer="json")
        self.routing_key = f"{service}.noop"
        self.delivery_mode = 2 if persistent else 1

    def _on_reply(self, body: dict, message) -> None:
        self.replies[message.properties["correlation_id"]] = body

    def call(self) -> None:
        correlation_id = uuid.uuid4().hex
        self.producer.publish({"args": [], "kwargs": {}}, routing_key=self.routing_key, reply_to=self.reply_key,
                              correlation_id=correlation_id, delivery_mode=self.delivery_mode, retry=False)
        while correlation_id not in self.replies:
            self.conn.drain_events(timeout=10)
        self.replies.pop(correlation_id)

    def close(self) -> None:
        self.conn.close()


def proxy_without_request_confirm(proxy, service: str) -> Call:
    """nameko's standalone proxy with `use_confirms=False` on the request: prices that confirm.

    (nameko cannot then report an unknown service; it warns about it, and we silence that here.)
    """
    from nameko.amqp.publish import Publisher
    from nameko.rpc import MethodProxy

    class NoConfirmPublisher(Publisher):
        use_confirms = False

    class NoConfirmMethodProxy(MethodProxy):
        publisher_cls = NoConfirmPublisher

    warnings.filterwarnings("ignore", message="Mandatory delivery was requested")
    return lambda: NoConfirmMethodProxy(proxy._worker_ctx, service, "noop", proxy._reply_listener)()


# --- harness ---------------------------------------------------------------------------------------


class Broker:
    """A throwaway vhost on the local broker, or "/" when rabbitmqctl cannot be used."""

    def __init__(self) -> None:
        self.vhost = f"porta-bench-{uuid.uuid4().hex[:8]}"
        ctl = shutil.which("rabbitmqctl")
        ok = False
        if ctl:
            ok = subprocess.run([ctl, "-q", "add_vhost", self.vhost], capture_output=True).returncode == 0
            ok = ok and subprocess.run([ctl, "-q", "set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"],
                                       capture_output=True).returncode == 0
        if not ok:
            self.vhost = "/"
        self.ctl = ctl if ok else None
        self.uri = f"pyamqp://guest:guest@{BROKER}/" + ("" if self.vhost == "/" else self.vhost)

    def close(self) -> None:
        if self.ctl:
            subprocess.run([self.ctl, "-q", "delete_vhost", self.vhost], capture_output=True)


def _die_with_parent() -> None:
    """Children get SIGTERM if the bench itself is killed (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except Exception:  # noqa: S110 - not Linux: the explicit stop() below still applies
        pass


class Procs:
    """Child processes, always stopped (TERM, then KILL) however the bench ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, preexec_fn=_die_with_parent)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Result:
    def __init__(self, name: str, lat: list[float], elapsed: float, server_cpu: float | None = None,
                 client_cpu: float | None = None) -> None:
        self.name, self.lat, self.elapsed, self.server_cpu, self.client_cpu = name, lat, elapsed, server_cpu, client_cpu

    @property
    def p50(self) -> float:
        return statistics.median(self.lat) * 1000

    @property
    def p99(self) -> float:
        ordered = sorted(self.lat)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return len(self.lat) / self.elapsed

    def row(self, base: Result) -> str:
        line = (f"  {self.name:<48} p50 {self.p50:6.3f} ms  p99 {self.p99:7.3f} ms  {self.rate:6.0f} calls/s"
                f"  p50 {self.p50 / base.p50:4.2f}x")
        if self.server_cpu is not None:
            line += f"  cpu/call: server {self.server_cpu / len(self.lat) * 1e6:4.0f} us"
        if self.client_cpu is not None:
            line += f", client {self.client_cpu / len(self.lat) * 1e6:4.0f} us"
        return line

    def as_dict(self) -> dict:
        out = {"p50_ms": round(self.p50, 4), "p99_ms": round(self.p99, 4), "calls_per_s": round(self.rate, 1)}
        if self.server_cpu is not None:
            out["server_cpu_us_per_call"] = round(self.server_cpu / len(self.lat) * 1e6, 1)
        if self.client_cpu is not None:
            out["client_cpu_us_per_call"] = round(self.client_cpu / len(self.lat) * 1e6, 1)
        return out


def sequential(name: str, call: Call, n: int, server_pid: int) -> Result:
    lat = []
    s0, c0 = cpu_seconds(server_pid), time.process_time()
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        call()
        lat.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - t0
    return Result(name, lat, elapsed, cpu_seconds(server_pid) - s0, time.process_time() - c0)


def concurrent(name: str, make_caller: Callable[[], tuple[Call, Call]], threads: int, seconds: float) -> Result:
    """`threads` threads call in a loop for `seconds`; make_caller() gives each thread (call, close)."""
    callers = [make_caller() for _ in range(threads)]
    lats: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        call, out = callers[i][0], lats[i]
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                t = time.perf_counter()
                call()
                out.append(time.perf_counter() - t)
        except BaseException as exc:  # the step is invalid; reported below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in pool:
        t.join(seconds + 30)
    elapsed = time.perf_counter() - t0
    for _, close in callers:
        close()
    if errors:
        raise RuntimeError(f"{name} x{threads}: {errors[0]!r}")
    return Result(f"{name} x{threads}", [x for out in lats for x in out], elapsed)


def wait_ready(check: Call, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready after {seconds:g} s") from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per variant, after warm-up")
    parser.add_argument("--warmup", type=int, default=300, help="calls per variant before measuring")
    parser.add_argument("--rounds", type=int, default=4, help="sequential runs are interleaved in this many rounds")
    parser.add_argument("--threads", default="1,10,50", help="concurrency sweep steps")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each concurrency step")
    parser.add_argument("--only", help="comma-separated sequential variant ids to run (A is always run)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the concurrency sweep")
    parser.add_argument("--quick", action="store_true", help="500 calls, 2 rounds, 1.5 s steps")
    parser.add_argument("--limit", type=float, default=600.0, help="hard stop after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.warmup, args.rounds, args.seconds = 500, 100, 2, 1.5

    def too_long(*_: object) -> None:
        raise TimeoutError(f"bench exceeded --limit {args.limit:g} s")

    signal.signal(signal.SIGALRM, too_long)  # unwinds through the finally below: children stopped
    signal.alarm(int(args.limit))

    from nameko.standalone.rpc import ClusterRpcProxy

    from gateway.rpc import RpcClient

    broker, procs = Broker(), Procs()
    suffix = uuid.uuid4().hex[:6]
    svc = {"raw": f"raw_{suffix}", "raw_confirm": f"raw_confirm_{suffix}", "raw_green": f"raw_green_{suffix}",
           "stock": f"bench_stock_{suffix}", "porta": f"bench_porta_{suffix}"}
    pid: dict[str, int] = {}
    closers: list[Call] = []
    try:
        print(f"broker {BROKER} vhost {broker.vhost!r}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs")
        for key, extra in (("raw", []), ("raw_confirm", ["--confirm"]), ("raw_green", ["--green"])):
            proc = procs.start([sys.executable, str(HERE / "rpc.py"), "_responder", broker.uri, svc[key], *extra], REPO)
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"responder {key} did not start")
            pid[key] = proc.pid
        nameko = str(Path(sys.executable).with_name("nameko"))
        env = {"BENCH_STOCK_NAME": svc["stock"], "BENCH_PORTA_NAME": svc["porta"]}
        for key, cls in (("stock", "StockBench"), ("porta", "PortaBench")):
            pid[key] = procs.start([nameko, "run", "--broker", broker.uri, f"rpc:{cls}"], HERE, env).pid

        client = RpcClient(broker.uri, timeout=10, client_name="bench")
        closers.append(client.close)
        for key in ("stock", "porta"):
            wait_ready(lambda key=key: client.call(svc[key], "noop"), f"nameko service {svc[key]}")

        def raw(service: str, **options: bool) -> Call:
            c = RawClient(broker.uri, service, **options)
            closers.append(c.close)
            return c.call

        def proxy() -> ClusterRpcProxy:
            p = ClusterRpcProxy({"AMQP_URI": broker.uri}, timeout=10)
            closers.append(p.stop)
            return p

        stock_proxy = proxy()
        stock = stock_proxy.start()[svc["stock"]]
        nc_proxy = proxy()
        nc_proxy.start()

        variants: list[tuple[str, Call, int]] = [
            ("A  raw kombu request/reply (BASELINE)", raw(svc["raw"]), pid["raw"]),
            ("A1 raw + publisher confirm on request", raw(svc["raw"], confirm=True), pid["raw"]),
            ("A2 raw + persistent request", raw(svc["raw"], persistent=True), pid["raw"]),
            ("A5 raw + persistent + confirm (nameko's request)", raw(svc["raw"], confirm=True, persistent=True),
             pid["raw"]),
            ("A3 raw + publisher confirm on reply", raw(svc["raw_confirm"]), pid["raw_confirm"]),
            ("A4 raw, responder under eventlet", raw(svc["raw_green"]), pid["raw_green"]),
            ("R  RpcClient -> raw responder", lambda: client.call(svc["raw"], "noop"), pid["raw"]),
            ("C1 ClusterRpcProxy -> nameko @rpc (DEFAULTS)", lambda: stock.noop(), pid["stock"]),
            ("C2 ClusterRpcProxy, no request confirm", proxy_without_request_confirm(nc_proxy, svc["stock"]),
             pid["stock"]),
            ("B1 RpcClient -> nameko @rpc", lambda: client.call(svc["stock"], "noop"), pid["stock"]),
            ("B2 RpcClient -> shared.rpc @rpc (SUBJECT)", lambda: client.call(svc["porta"], "noop"), pid["porta"]),
        ]
        if args.only:
            keep = {"A", *args.only.split(",")}
            variants = [v for v in variants if v[0].split()[0] in keep]
        for _, call, _ in variants:
            for _ in range(args.warmup):
                call()

        # Sequential, interleaved in rounds so that drift hits every variant alike.
        per_round = max(1, args.calls // args.rounds)
        parts: dict[str, list[Result]] = {name: [] for name, _, _ in variants}
        for _ in range(args.rounds):
            for name, call, server in variants:
                parts[name].append(sequential(name, call, per_round, server))
        seq = {
            name.split()[0]: Result(name, [x for r in rs for x in r.lat], sum(r.elapsed for r in rs),
                                    sum(r.server_cpu for r in rs), sum(r.client_cpu for r in rs))
            for name, rs in parts.items()
        }
        base = seq["A"]
        print(f"\nSequential: one thread, {per_round * args.rounds} calls per variant in {args.rounds} interleaved "
              f"rounds; ratios against A")
        for result in seq.values():
            print(result.row(base))

        conc: dict[int, dict[str, Result]] = {}
        if not args.no_sweep:
            def raw_caller() -> tuple[Call, Call]:
                c = RawClient(broker.uri, svc["raw"])
                return c.call, c.close

            def shared_client(service: str) -> Callable[[], tuple[Call, Call]]:
                return lambda: ((lambda: client.call(service, "noop")), lambda: None)

            def proxy_per_thread() -> tuple[Call, Call]:
                p = ClusterRpcProxy({"AMQP_URI": broker.uri}, timeout=10)
                target = p.start()[svc["stock"]]
                return (lambda: target.noop()), p.stop

            sweep = [
                ("A  raw kombu, a connection per thread", raw_caller),
                ("C1 ClusterRpcProxy per thread -> nameko @rpc", proxy_per_thread),
                ("B1 one RpcClient -> nameko @rpc", shared_client(svc["stock"])),
                ("B2 one RpcClient -> shared.rpc @rpc", shared_client(svc["porta"])),
            ]
            for threads in (int(x) for x in args.threads.split(",")):
                conc[threads] = {name.split()[0]: concurrent(name, make, threads, args.seconds) for name, make in sweep}
            print(f"\nConcurrency: {args.seconds:g} s per step; ratios against A at the same step; "
                  f"each service has nameko's default max_workers=10 (= prefetch)")
            for step in conc.values():
                for result in step.values():
                    print(result.row(step["A"]))

        if {"B1", "B2", "C1"} <= seq.keys():
            c1, b1, b2 = seq["C1"], seq["B1"], seq["B2"]
            print(f"\nnameko defaults (C1): p50 {c1.p50:.3f} ms = {c1.p50 / base.p50:.2f}x baseline")
            print(f"  client ClusterRpcProxy -> RpcClient (B1): p50 {b1.p50:.3f} ms = {b1.p50 / base.p50:.2f}x")
            print(f"  service nameko @rpc -> shared.rpc (B2):    p50 {b2.p50:.3f} ms = {b2.p50 / base.p50:.2f}x"
                  f"  (target <= 1.6x, issue 10)")
        if args.json:
            args.json.write_text(json.dumps({
                "sequential": {r.name: r.as_dict() for r in seq.values()},
                "concurrency": {str(t): {r.name: r.as_dict() for r in step.values()} for t, step in conc.items()},
            }, indent=2))
    finally:
        signal.alarm(0)
        for close in closers:
            try:
                close()
            except Exception:  # noqa: S110 - tearing down; the broker drops what is left with the vhost
                pass
        procs.stop()
        broker.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["_responder"]:
        p = argparse.ArgumentParser()
        p.add_argument("cmd")
        p.add_argument("uri")
        p.add_argument("queue")
        p.add_argument("--confirm", action="store_true")
        p.add_argument("--green", action="store_true")
        p.add_argument("--prefetch", type=int, default=10)
        a = p.parse_args()
        responder_main(a.uri, a.queue, a.confirm, a.prefetch)
    else:
        main()
