"""B7: `PATCH /api/v1/access` with 500 rows in one request against 500 single PATCHes, same system, same run.

    .venv/bin/python bench/bulk_access.py            # 3 repeats of 4 variants x 500 rows, about 6 minutes
    .venv/bin/python bench/bulk_access.py --quick    # 1 repeat of 100 rows, about a minute
    .venv/bin/python bench/bulk_access.py --rows 1000 --bulk-only   # the bulk route alone (issue 10: < 2 s)

See bench/README.md. Starts a whole throwaway Porta (every service and the gateway, as `make run` does,
through devstack.system.PortaSystem) on 127.0.0.1 with its own RabbitMQ vhost, its own databases
`porta_b<id>_<service>`, its own SMTP server and var folder; removes all of it when done, when
interrupted, after --limit seconds, and (through a watchdog process) if the bench itself is killed.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests
from bounded import run, stop_after
from devstack import environment, infra
from devstack.system import PortaSystem, service_names
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

PASSWORD = "correct horse battery staple"
INVITATION = "portal_invitation_requested"


# --- the throwaway system ----------------------------------------------------------------------------


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess:
    ctl = infra.find_command("rabbitmqctl")
    if ctl is None:
        raise RuntimeError("rabbitmqctl not found: the bench makes its own vhost with it")
    return subprocess.run([ctl, "-q", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)


def drop_databases(template: str, run_id: str) -> None:
    server = make_url(template.format(service="x")).set(database="postgres")
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            names = connection.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                                       {"pattern": f"porta\\_b{run_id}\\_%"}).scalars().all()
            for name in names:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def cleanup(state: dict[str, Any]) -> None:
    """Everything the bench made, whatever exists of it: process groups, vhost, databases, folder."""
    steps = [lambda: [os.killpg(pgid, signal.SIGTERM) for pgid in state.get("pgids", []) if _alive(pgid)]]
    steps += [lambda pgid=pgid: infra.stop_process_group(pgid, timeout=10) for pgid in state.get("pgids", [])]
    if state.get("vhost"):
        steps.append(lambda: _rabbitmqctl("delete_vhost", state["vhost"]))
    if state.get("db_template"):
        steps.append(lambda: drop_databases(state["db_template"], state["run_id"]))
    if state.get("var_dir"):
        steps.append(lambda: shutil.rmtree(state["var_dir"], ignore_errors=True))
    for step in steps:
        try:
            step()
        except Exception as error:  # one leftover must not keep the others: say what is left and go on
            print(f"cleanup: {error!r}", file=sys.stderr, flush=True)


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def watchdog_main() -> None:
    """Reads the bench's state (JSON lines) on stdin; if stdin ends without "done", the bench died: clean up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the bench, which cleans up itself
    state: dict[str, Any] = {"pgids": []}
    for line in sys.stdin:
        message = json.loads(line)
        if message == "done":
            return
        pgids = message.pop("pgids", [])
        state["pgids"] = sorted({*state["pgids"], *pgids})
        state.update(message)
    cleanup(state)


class Stack:
    """One Porta of the bench's own: its env, its running system, and what to remove afterwards."""

    def __init__(self) -> None:
        self.run_id = secrets.token_hex(4)
        self.state: dict[str, Any] = {"pgids": []}
        self.watchdog = subprocess.Popen([sys.executable, __file__, "_watchdog"], stdin=subprocess.PIPE, text=True,
                                         start_new_session=True)
        self._remember(run_id=self.run_id)
        self.system: PortaSystem | None = None
        self.engines: dict[str, Engine] = {}

    def _remember(self, **items: Any) -> None:
        if "pgids" in items:
            self.state["pgids"] = sorted({*self.state["pgids"], *items["pgids"]})
        self.state.update({k: v for k, v in items.items() if k != "pgids"})
        self.watchdog.stdin.write(json.dumps(items) + "\n")
        self.watchdog.stdin.flush()

    def start(self) -> None:
        base = environment.porta_env(service_db_urls=False)
        var_dir = Path(tempfile.mkdtemp(prefix=f"porta-bench-{self.run_id}-"))
        self._remember(var_dir=str(var_dir))
        http_port = environment.free_port()
        db_server = make_url(base["PORTA_DB_URL_TEMPLATE"].format(service="postgres"))
        amqp_host, _ = environment.amqp_address(base)
        for what, host in (("PostgreSQL", db_server.host or "127.0.0.1"), ("RabbitMQ", amqp_host)):
            if not environment.is_local(host):
                raise RuntimeError(f"{what} is at {host}: this bench talks to 127.0.0.1 only")
        vhost = f"porta-bench-{self.run_id}"
        if _rabbitmqctl("add_vhost", vhost).returncode != 0:
            raise RuntimeError(f"cannot add vhost {vhost}: is RabbitMQ up? (python -m devstack.infra up)")
        self._remember(vhost=vhost)
        amqp = urlsplit(base["PORTA_AMQP_URI"])
        _rabbitmqctl("set_permissions", "-p", vhost, unquote(amqp.username or "guest"), ".*", ".*", ".*")
        db_template = db_server.set(database=f"porta_b{self.run_id}_SERVICE").render_as_string(hide_password=False)
        db_template = db_template.replace("SERVICE", "{service}")
        self._remember(db_template=db_template)
        env = environment.porta_env({
            "PORTA_VAR_DIR": str(var_dir), "PORTA_MAIL_DIR": str(var_dir / "mail"),
            "PORTA_LOG_DIR": str(var_dir / "log"),
            "PORTA_S3_BUCKET": f"porta-bench-{self.run_id}",  # no route of this bench touches object storage
            "PORTA_SMTP_HOST": "127.0.0.1", "PORTA_SMTP_PORT": str(environment.free_port()),
            "PORTA_HTTP_HOST": "127.0.0.1", "PORTA_HTTP_PORT": str(http_port),
            "PORTA_STREAM_PORT": str(environment.free_port()),  # not 8081: `make run` may hold it
            "PORTA_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
            "PORTA_DB_URL_TEMPLATE": db_template,
            "PORTA_AMQP_URI": urlunsplit(amqp._replace(path=f"/{vhost}")),
        }, service_db_urls=False)
        self.mail_dir = var_dir / "mail"
        host, port = environment.smtp_address(env)
        smtp = infra.start_daemon("smtp", infra.mail_server_command(host, port, self.mail_dir), env)
        self._remember(pgids=[smtp.pid])
        environment.wait_for_port(host, port, timeout=30, process=smtp)
        self.system = PortaSystem(env)
        self.system.migrate()
        try:
            self.system.start_all()
        finally:
            self._remember(pgids=[p.popen.pid for running in self.system.processes.values() for p in running])
        self.url = self.system.url
        self.engines = {name: create_engine(db_template.format(service=name), pool_size=2)
                        for name in service_names()}

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        if self.system is not None:
            self.system.stop_all()
        cleanup(self.state)
        self.watchdog.stdin.write(json.dumps("done") + "\n")
        self.watchdog.stdin.close()
        self.watchdog.wait(10)

    # -- what the measurements read ----------------------------------------------------------------------

    def mail_count(self) -> int:
        return sum(len(os.listdir(self.mail_dir / sub)) for sub in ("new", "cur") if (self.mail_dir / sub).is_dir())

    def invitations(self, firm_id: str, pending: bool) -> int:
        """crm's outbox: how many invitation events of this firm (only the unpublished ones: `pending`).

        The pending count reads only the partial index of unpublished rows, so polling it is cheap.
        """
        where = "published_at IS NULL AND " if pending else ""
        with self.engines["crm"].connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM outbox WHERE {where}event_type = :type "
                                           "AND payload->>'firm_id' = :firm"),
                                      {"type": INVITATION, "firm": firm_id}).scalar()

    def quiet(self) -> bool:
        """No unpublished outbox row in any service, no message in any queue of the vhost."""
        for engine in self.engines.values():
            with engine.connect() as connection:
                if connection.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar():
                    return False
        listed = _rabbitmqctl("list_queues", "-p", self.state["vhost"], "messages")
        return all(int(line) == 0 for line in listed.stdout.split() if line.isdigit())

    def settle(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        calm = 0
        while calm < 2:
            calm = calm + 1 if self.quiet() else 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"the system did not settle within {timeout:.0f}s")
            time.sleep(0.5)


# --- seeding and the measured variants ---------------------------------------------------------------


class Firm:
    """A fresh firm with `rows` accounts, each with one contact with one email, made over HTTP."""

    def __init__(self, url: str, rows: int, threads: int) -> None:
        self.url, self.tag = url, uuid.uuid4().hex[:8]
        started = time.perf_counter()
        signed = requests.post(f"{url}/api/v1/auth/signup", timeout=30, json={
            "firm_name": f"Bench {self.tag}", "name": "Bench Owner", "email": f"owner-{self.tag}@example.com",
            "password": PASSWORD})
        signed.raise_for_status()
        self.token, self.firm_id = signed.json()["token"], signed.json()["firm"]["id"]
        local = threading.local()

        def one(i: int) -> tuple[str, str]:
            if not hasattr(local, "http"):
                local.http = self.session()
            address = f"c{i}-{self.tag}@example.com"
            account = self._ok(local.http.post(f"{url}/api/v1/accounts", json={"name": f"Client {i}",
                                                                               "type": "individual"}))
            contact = self._ok(local.http.post(f"{url}/api/v1/contacts", json={
                "first_name": "Client", "last_name": str(i), "emails": [address]}))
            self._ok(local.http.post(f"{url}/api/v1/accounts/{account['id']}/contacts",
                                     json={"contact_id": contact["id"]}))
            return account["id"], address

        with ThreadPoolExecutor(threads) as pool:
            self.rows = list(pool.map(one, range(rows)))
        self.seed_seconds = time.perf_counter() - started

    def session(self) -> requests.Session:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token}"
        return http

    @staticmethod
    def _ok(resp: requests.Response) -> Any:
        if resp.status_code >= 300:
            raise RuntimeError(f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:300]}")
        return resp.json()


def run_variant(stack: Stack, firm: Firm, bulk: bool, login: bool) -> dict[str, Any]:
    """One measured write of every row of `firm`: LOGIN on (invitations) or NOTIFY on only."""
    switch = {"login": True} if login else {"notify": True}
    http = firm.session()
    mail_before = stack.mail_count()
    latencies: list[float] = []
    t0 = time.perf_counter()
    if bulk:
        resp = http.patch(f"{firm.url}/api/v1/access", timeout=120,
                          json={"items": [{"account_id": a, "email": e, **switch} for a, e in firm.rows]})
        Firm._ok(resp)
        latencies.append(time.perf_counter() - t0)
    else:
        for account_id, address in firm.rows:
            t = time.perf_counter()
            Firm._ok(http.patch(f"{firm.url}/api/v1/accounts/{account_id}/access/{address}", json=switch, timeout=30))
            latencies.append(time.perf_counter() - t)
    answered = time.perf_counter() - t0
    result = {"answered_s": answered, "published_s": answered, "mailed_s": None, "latencies": latencies}
    if login:
        # The last of the rows' invitation events is published when crm's outbox has none pending left.
        while stack.invitations(firm.firm_id, pending=True):
            time.sleep(0.02)
        result["published_s"] = time.perf_counter() - t0
        total = stack.invitations(firm.firm_id, pending=False)
        if total != len(firm.rows):
            raise RuntimeError(f"expected {len(firm.rows)} invitation events, crm's outbox holds {total}")
        # For orientation: the invitations reach the SMTP server (notifications, links, templates, SMTP).
        deadline = time.monotonic() + 180
        while stack.mail_count() - mail_before < len(firm.rows) and time.monotonic() < deadline:
            time.sleep(0.1)
        if stack.mail_count() - mail_before >= len(firm.rows):
            result["mailed_s"] = time.perf_counter() - t0
    return result


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500, help="rows per variant (<= 1000, the bulk route's cap)")
    parser.add_argument("--repeats", type=int, default=3, help="each variant this many times, fresh data each")
    parser.add_argument("--seed-threads", type=int, default=6, help="concurrent HTTP clients while seeding")
    parser.add_argument("--limit", type=float, default=900, help="stop (and clean up) after this many seconds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 rows, 1 repeat")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--bulk-only", action="store_true",
                        help="only the two bulk variants (no singles baseline: no bulk/singles ratio)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats = 100, 1
    if not 1 <= args.rows <= 1000:
        parser.error("--rows must be 1..1000")

    stop_after(args.limit)  # unwinds through the finally below: everything removed
    stack = Stack()
    variants = [("singles login", False, True), ("bulk login", True, True),
                ("singles notify", False, False), ("bulk notify", True, False)]
    if args.bulk_only:
        variants = [variant for variant in variants if variant[1]]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in variants}
    seeding: list[float] = []
    try:
        started = time.perf_counter()
        stack.start()
        print(f"Porta {stack.url} (vhost {stack.state['vhost']}, databases porta_b{stack.run_id}_*) up in "
              f"{time.perf_counter() - started:.1f} s; python {sys.version.split()[0]}; {os.cpu_count()} CPUs")
        print(f"{args.rows} rows per variant, {args.repeats} repeats, fresh firm per variant and repeat\n")
        for repeat in range(args.repeats):
            # Alternate the order (A B C D, D C B A, ...) so that drift on the box hits every variant alike.
            for name, bulk, login in (variants if repeat % 2 == 0 else variants[::-1]):
                firm = Firm(stack.url, args.rows, args.seed_threads)
                seeding.append(firm.seed_seconds)
                stack.settle()  # seeding's own events handled everywhere before the clock starts
                result = run_variant(stack, firm, bulk, login)
                results[name].append(result)
                mailed = f", last mail {result['mailed_s']:6.2f} s" if result["mailed_s"] is not None else ""
                print(f"  repeat {repeat + 1} {name:<15} answered {result['answered_s']:6.2f} s, "
                      f"last event published {result['published_s']:6.2f} s{mailed}  "
                      f"(seeded in {firm.seed_seconds:.1f} s)", flush=True)
                stack.settle(timeout=240)
        report(args.rows, results, seeding, args.json)
    finally:
        signal.alarm(0)
        stack.close()


def report(rows: int, results: dict[str, list[dict[str, Any]]], seeding: list[float], json_path: Path | None) -> None:
    figures: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        singles = [x for r in runs for x in r["latencies"]] if name.startswith("singles") else []
        figures[name] = {
            "answered_s": median([r["answered_s"] for r in runs]),
            "published_s": median([r["published_s"] for r in runs]),
            "mailed_s": median([r["mailed_s"] for r in runs]),
            "runs_published_s": [round(r["published_s"], 3) for r in runs],
            "single_p50_ms": statistics.median(singles) * 1000 if singles else None,
            "single_p99_ms": sorted(singles)[int(0.99 * (len(singles) - 1))] * 1000 if singles else None,
        }
    print(f"\nMedian of {len(next(iter(results.values())))} runs; {rows} rows each; wall time from the first byte sent"
          f"\n  'done' = last invitation event published by crm's outbox relay (LOGIN on), or the response (NOTIFY)")
    for name, f in figures.items():
        line = (f"  {name:<15} answered {f['answered_s']:7.2f} s  done {f['published_s']:7.2f} s  "
                f"{rows / f['published_s']:7.1f} rows/s")
        if f["mailed_s"] is not None:
            line += f"  (last mail {f['mailed_s']:6.2f} s)"
        if f["single_p50_ms"] is not None:
            line += f"  one call p50 {f['single_p50_ms']:.1f} ms p99 {f['single_p99_ms']:.1f} ms"
        print(line)
    for kind in ("login", "notify"):
        if f"singles {kind}" not in figures:  # --bulk-only
            continue
        bulk, singles = figures[f"bulk {kind}"], figures[f"singles {kind}"]
        print(f"  bulk/singles {kind:<6}: done {bulk['published_s'] / singles['published_s']:.3f}x, "
              f"answered {bulk['answered_s'] / singles['answered_s']:.3f}x "
              f"(bulk {singles['published_s'] / bulk['published_s']:.1f} times faster)")
    print(f"  seeding (not measured above): median {statistics.median(seeding):.1f} s per firm of {rows} accounts "
          f"({3 * rows / statistics.median(seeding):.0f} HTTP writes/s)")
    if json_path:
        json_path.write_text(json.dumps({"rows": rows, "variants": figures, "seeding_s": seeding}, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["_watchdog"]:
        watchdog_main()
    else:
        run(main)
