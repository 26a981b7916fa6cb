"""Bulk messages: `POST /api/v1/chats/bulk` to 1,000 and to 10,000 accounts, same system, same run.

    .venv/bin/python bench/bulk.py            # 1,000 and 10,000 accounts: about 10 minutes
    .venv/bin/python bench/bulk.py --quick    # 100 and 1,000 accounts: about 3 minutes

Starts a throwaway Porta like bench/bulk_access.py does (its Stack: own vhost, databases, var folder; all
removed at the end), with the stream process on its own port and hand-off socket. One firm; one client user
(Jane) activated on every account, so every thread can be made. Reports, per size: the time the request
took to answer (the target: under a second either way) and the time until the job says `done`; then the
ratio of the large job's time to the small one's (target: at most 11 for 10x the accounts), and as the
same-run baseline the rate of threads started one request at a time through `POST /accounts/{id}/chats`.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).parent))
from bulk_access import PASSWORD, Stack  # noqa: E402  (bench/ is not a package)
from devstack import environment  # noqa: E402
from devstack.fixtures import Mailbox  # noqa: E402


def start_stack() -> Stack:
    """bench/bulk_access.py's Stack, with the stream process on a free port and its hand-off socket."""
    os.environ["PORTA_STREAM_PORT"] = str(environment.free_port())
    os.environ["PORTA_STREAM_HANDOFF"] = str(Path(tempfile.mkdtemp(prefix="porta-bench-stream-")) / "stream.sock")
    os.environ.setdefault("PORTA_RPC_TIMEOUT", "60")  # seeding's bulk writes on a busy 2-core box
    stack = Stack()
    stack.start()
    return stack


class ClientFirm:
    """A firm (its owner's `token`) and `size` accounts on which Jane, one client user, is active."""

    def __init__(self, stack: Stack, size: int, threads: int = 8) -> None:
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
        with ThreadPoolExecutor(threads) as pool:
            rest = list(pool.map(lambda n: self._account(self.session(), n), range(1, size)))
        self.accounts = [first, *rest]
        for start in range(1, size, 100):  # LOGIN for an active user: access at once, no email
            ok(http.patch(f"{self.url}/api/v1/access", timeout=120, json={"items": [
                {"account_id": a, "email": self.jane, "login": True} for a in self.accounts[start:start + 100]]}))

    def _account(self, http: requests.Session, n: int) -> str:
        account = ok(http.post(f"{self.url}/api/v1/accounts", json={"name": f"Client {n}", "type": "individual"}))
        ok(http.post(f"{self.url}/api/v1/accounts/{account['id']}/contacts", json={"contact_id": self.contact["id"]}))
        return account["id"]

    def session(self) -> requests.Session:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {self.token}"
        return http


def ok(resp: requests.Response) -> Any:
    if resp.status_code >= 300:
        raise RuntimeError(f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text[:300]}")
    return resp.json() if resp.content else None


def bulk_job(firm: ClientFirm, accounts: list[str]) -> dict[str, float]:
    http = firm.session()
    started = time.perf_counter()
    job = ok(http.post(f"{firm.url}/api/v1/chats/bulk", timeout=60, json={
        "account_ids": accounts, "subject": "Documents for [ACCOUNT_NAME]", "body": "Dear [CONTACT_FIRST_NAME], ..."}))
    answered = time.perf_counter() - started
    while job["status"] != "done":
        time.sleep(0.2)
        progress = http.get(f"{firm.url}/api/v1/chats/bulk/{job['id']}", timeout=120)
        if progress.status_code < 500:  # a 504 while every chats worker makes threads: ask again
            job = ok(progress)
    finished = time.perf_counter() - started
    if job["failed"]:
        raise RuntimeError(f"{job['failed']} accounts failed: {job['failures'][:3]}")
    return {"answered_s": answered, "done_s": finished, "threads_per_s": len(accounts) / finished}


def one_by_one(firm: ClientFirm, accounts: list[str]) -> float:
    """The baseline: threads started one request at a time; threads per second."""
    http = firm.session()
    started = time.perf_counter()
    for account in accounts:
        ok(http.post(f"{firm.url}/api/v1/accounts/{account}/chats", json={"subject": "One", "body": "One"}))
    return len(accounts) / (time.perf_counter() - started)


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
        baseline = one_by_one(firm, firm.accounts[-args.baseline:])
        stack.settle(timeout=600)
        small = bulk_job(firm, firm.accounts[:args.small])
        stack.settle(timeout=600)
        large = bulk_job(firm, firm.accounts)
        print(f"\nbaseline: {args.baseline} threads one request at a time: {baseline:7.1f} threads/s")
        for name, size, result in (("small", args.small, small), ("large", args.large, large)):
            print(f"{name}: {size:>6} accounts: request answered in {result['answered_s']:.3f} s, done in "
                  f"{result['done_s']:7.1f} s, {result['threads_per_s']:7.1f} threads/s "
                  f"({result['threads_per_s'] / baseline:.2f}x the baseline)")
        ratio = large["done_s"] / small["done_s"]
        print(f"large/small time: {ratio:.2f} for {args.large / args.small:.0f}x the accounts "
              f"(target <= {1.1 * args.large / args.small:.0f}); both answered under 1 s: "
              f"{max(small['answered_s'], large['answered_s']) < 1}")
        print(f"median request time: {statistics.median([small['answered_s'], large['answered_s']]):.3f} s")
    finally:
        signal.alarm(0)
        stack.close()


if __name__ == "__main__":
    main()
