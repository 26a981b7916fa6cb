"""Bulk messages: `POST /api/v1/chats/bulk` to 1,000 and to 10,000 accounts, same system, same run.

    .venv/bin/python bench/bulk.py            # 1,000 and 10,000 accounts: 20-25 minutes at load 12-19
    .venv/bin/python bench/bulk.py --quick    # 100 and 1,000 accounts: about 3 minutes

Starts a throwaway Porta like bench/bulk_access.py does (its Stack: own vhost, databases, var folder; all
removed at the end), with the stream process on its own port and hand-off socket. One firm; one client user
(Jane) activated on every account, so every thread can be made; all but the first account are written straight
into crm's database (ClientFirm). Reports, per size: the time the request took to answer (the target: under a
second either way), the time until the job says `done` and the CPU the system spent per thread; then the
ratio of the large job's time (and CPU) to the small one's (target: at most 11 for 10x the accounts), and as
the same-run baseline the rate of threads started one request at a time through `POST /accounts/{id}/chats`.
While each job runs it reads the job's progress every 0.2 s and reports those reads' p50/p99/max and any 5xx
(target: none; the gateway's own RPC timeout, 10 s), against the same read on the idle system after the job.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as DbSession

sys.path.insert(0, str(Path(__file__).parent))
from bulk_access import PASSWORD, Stack  # noqa: E402  (bench/ is not a package)
from devstack import environment  # noqa: E402
from devstack.fixtures import Mailbox  # noqa: E402

from crm.models import Account, AccountContact, PortalAccess  # noqa: E402  (crm's own tables: see ClientFirm)


def start_stack() -> Stack:
    """bench/bulk_access.py's Stack, with the stream process on a free port and its hand-off socket."""
    os.environ["PORTA_STREAM_PORT"] = str(environment.free_port())
    os.environ["PORTA_STREAM_HANDOFF"] = str(Path(tempfile.mkdtemp(prefix="porta-bench-stream-")) / "stream.sock")
    stack = Stack()
    stack.start()
    return stack


class ClientFirm:
    """A firm (its owner's `token`) and `size` accounts on which Jane, one client user, is active.

    The firm, Jane (a contact, then an activated portal user) and the first account are made over HTTP; the
    other accounts are copies of that first one written straight into crm's database: their `accounts` rows,
    and copies of the first account's `account_contacts` and `portal_access` rows (what `crm.chat_audience`
    reads) in set-based INSERTs through crm's own models, so a change of those tables breaks this loudly.
    Over HTTP, 10,000 accounts took about 45 minutes; nothing of the seeding is measured.
    """

    def __init__(self, stack: Stack, size: int) -> None:
        self.url, tag = stack.url, os.urandom(4).hex()
        signed = requests.post(f"{self.url}/api/v1/auth/signup", timeout=30, json={
            "firm_name": f"Bench {tag}", "name": "Bench Owner", "email": f"owner-{tag}@example.com",
            "password": PASSWORD})
        signed.raise_for_status()
        self.token, self.firm_id, self.owner_id = (signed.json()["token"], signed.json()["firm"]["id"],
                                                   signed.json()["user"]["id"])
        http = self.session()
        self.jane = f"jane-{tag}@example.com"
        self.contact = ok(http.post(f"{self.url}/api/v1/contacts", json={
            "first_name": "Jane", "last_name": "Smith", "emails": [self.jane]}))
        first = self._account(http, 0)
        mailbox = Mailbox(stack.mail_dir)
        ok(http.patch(f"{self.url}/api/v1/accounts/{first}/access/{self.jane}", json={"login": True}))
        message = mailbox.wait_for(lambda m: self.jane in m["To"], timeout=60)
        token = re.search(r"/p/([A-Za-z0-9_-]+)", message.get_body(("plain",)).get_content()).group(1)
        accepted = ok(requests.post(f"{self.url}/api/public/invitations/{token}", timeout=30,
                                    json={"password": "jane's long password"}))
        self.client_token = accepted["token"]
        self.accounts = [first, *copy_accounts(stack.engines["crm"], uuid.UUID(first), size - 1)]

    def _account(self, http: requests.Session, n: int) -> str:
        account = ok(http.post(f"{self.url}/api/v1/accounts", json={"name": f"Client {n}", "type": "individual"}))
        ok(http.post(f"{self.url}/api/v1/accounts/{account['id']}/contacts", json={"contact_id": self.contact["id"]}))
        return account["id"]

    def session(self) -> requests.Session:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token}"
        return http


def copy_accounts(engine: Engine, first: uuid.UUID, count: int) -> list[str]:
    """`count` new accounts of `first`'s firm, named `Client 1`..., each with copies of `first`'s contact links
    and portal access rows (Jane: LOGIN on, active); their ids, in the order made."""
    ids = [uuid.uuid4() for _ in range(count)]
    with DbSession(engine) as db, db.begin():
        template = db.get(Account, first)
        if template is None:
            raise RuntimeError(f"account {first} is not in crm's database")
        db.execute(insert(Account), [{"id": account, "firm_id": template.firm_id, "name": f"Client {n}",
                                      "type": template.type, "guest": template.guest}
                                     for n, account in enumerate(ids, start=1)])
        for model in (AccountContact, PortalAccess):  # every column of the first account's rows but account_id
            table = model.__table__
            copied = select(*[Account.id if column.name == "account_id" else column for column in table.c]) \
                .join(Account, Account.firm_id == table.c.firm_id) \
                .where(table.c.account_id == first, Account.id.in_(ids))
            made = db.execute(insert(table).from_select([column.name for column in table.c], copied)).rowcount
            if made != count * db.scalar(select(func.count()).select_from(table).where(table.c.account_id == first)):
                raise RuntimeError(f"copied {made} {table.name} rows for {count} accounts")
    with engine.connect() as connection:  # planner statistics as a system that grew to this size would have
        for model in (Account, AccountContact, PortalAccess):
            connection.exec_driver_sql(f"ANALYZE {model.__table__.name}")
        connection.commit()
    return [str(account) for account in ids]


def ok(resp: requests.Response) -> Any:
    if resp.status_code >= 300:
        raise RuntimeError(f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:300]}")
    return resp.json() if resp.content else None


def cpu_seconds(stack: Stack) -> float:
    """CPU (user+sys) spent so far by the stack's own processes (services, gateway, stream process) and by the
    PostgreSQL backends serving its databases: what the jobs cost, whatever else the shared box runs."""
    pgids, tag, ticks = set(stack.state["pgids"]), f"porta_b{stack.run_id}_".encode(), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, ...
            if int(fields[2]) in pgids or tag in Path(entry.path, "cmdline").read_bytes():
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # a process that ended meanwhile
    return ticks / os.sysconf("SC_CLK_TCK")


def bulk_job(stack: Stack, firm: ClientFirm, accounts: list[str]) -> dict[str, Any]:
    """One job of `accounts`: the request, the job until `done` (its progress read every 0.2 s meanwhile, each
    read timed), then `IDLE_READS` reads of the finished job's progress with nothing running."""
    http = firm.session()
    load, cpu = os.getloadavg()[0], cpu_seconds(stack)
    started = time.perf_counter()
    job = ok(http.post(f"{firm.url}/api/v1/chats/bulk", timeout=60, json={
        "account_ids": accounts, "subject": "Documents for [ACCOUNT_NAME]", "body": "Dear [CONTACT_FIRST_NAME], ..."}))
    answered = time.perf_counter() - started
    reads, errors = [], 0
    while job["status"] != "done":
        time.sleep(0.2)
        asked = time.perf_counter()
        progress = http.get(f"{firm.url}/api/v1/chats/bulk/{job['id']}", timeout=120)
        reads.append(time.perf_counter() - asked)
        if progress.status_code >= 500:  # a 504: the gateway gave up waiting for chats; ask again
            errors += 1
            continue
        job = ok(progress)
    finished = time.perf_counter() - started
    if job["failed"]:
        raise RuntimeError(f"{job['failed']} accounts failed: {job['failures'][:3]}")
    cpu_ms = 1000 * (cpu_seconds(stack) - cpu) / len(accounts)
    load_after = os.getloadavg()[0]
    stack.settle(timeout=600)
    idle = []
    for _ in range(IDLE_READS):
        asked = time.perf_counter()
        ok(http.get(f"{firm.url}/api/v1/chats/bulk/{job['id']}", timeout=30))
        idle.append(time.perf_counter() - asked)
    return {"answered_s": answered, "done_s": finished, "threads_per_s": len(accounts) / finished,
            "cpu_ms": cpu_ms, "load": (load, load_after), "reads": reads, "read_errors": errors, "idle_reads": idle}


IDLE_READS = 30


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_by_one(stack: Stack, firm: ClientFirm, accounts: list[str]) -> dict[str, float]:
    """The baseline: threads started one request at a time; threads per second and CPU per thread."""
    http = firm.session()
    cpu = cpu_seconds(stack)
    started = time.perf_counter()
    for account in accounts:
        ok(http.post(f"{firm.url}/api/v1/accounts/{account}/chats", json={"subject": "One", "body": "One"}))
    return {"threads_per_s": len(accounts) / (time.perf_counter() - started),
            "cpu_ms": 1000 * (cpu_seconds(stack) - cpu) / len(accounts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--baseline", type=int, default=100, help="threads started one by one for the baseline")
    parser.add_argument("--limit", type=float, default=1800, help="stop (and clean up) after this many seconds")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 accounts")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large, args.baseline = 100, 1000, 50

    def too_long(signum: int, frame: object) -> None:
        raise TimeoutError(f"bench exceeded --limit {args.limit:g} s")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(int(args.limit))
    stack = start_stack()
    try:
        seeded = time.perf_counter()
        firm = ClientFirm(stack, args.large)
        print(f"Porta {stack.url}; {args.large} accounts seeded in {time.perf_counter() - seeded:.0f} s; "
              f"{os.cpu_count()} CPUs", flush=True)
        stack.settle(timeout=600)
        baseline = one_by_one(stack, firm, firm.accounts[-args.baseline:])
        stack.settle(timeout=600)
        small = bulk_job(stack, firm, firm.accounts[:args.small])
        stack.settle(timeout=600)
        large = bulk_job(stack, firm, firm.accounts)
        print(f"\nbaseline: {args.baseline} threads one request at a time: {baseline['threads_per_s']:7.1f} threads/s, "
              f"{baseline['cpu_ms']:5.1f} ms CPU/thread")
        for name, size, result in (("small", args.small, small), ("large", args.large, large)):
            print(f"{name}: {size:>6} accounts: request answered in {result['answered_s']:.3f} s, done in "
                  f"{result['done_s']:7.1f} s, {result['threads_per_s']:7.1f} threads/s "
                  f"({result['threads_per_s'] / baseline['threads_per_s']:.2f}x the baseline), "
                  f"{result['cpu_ms']:5.1f} ms CPU/thread; load average {result['load'][0]:.1f} -> "
                  f"{result['load'][1]:.1f}")
            reads, idle_p50 = result["reads"], statistics.median(result["idle_reads"])
            print(f"{'':7}progress read while it ran ({len(reads)}): p50 {1000 * statistics.median(reads):.0f} ms "
                  f"({statistics.median(reads) / idle_p50:.1f}x idle), p99 {1000 * quantile(reads, 0.99):.0f} ms, "
                  f"max {1000 * max(reads):.0f} ms, 5xx: {result['read_errors']}; idle p50 {1000 * idle_p50:.1f} ms")
        ratio = large["done_s"] / small["done_s"]
        cpu_ratio = (large["cpu_ms"] * args.large) / (small["cpu_ms"] * args.small)
        print(f"large/small time: {ratio:.2f} for {args.large / args.small:.0f}x the accounts "
              f"(target <= {1.1 * args.large / args.small:.0f}); CPU: {cpu_ratio:.2f}; both answered under 1 s: "
              f"{max(small['answered_s'], large['answered_s']) < 1}")
        print(f"median request time: {statistics.median([small['answered_s'], large['answered_s']]):.3f} s")
    finally:
        signal.alarm(0)
        stack.close()


if __name__ == "__main__":
    main()
