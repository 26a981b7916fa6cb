"""`make run`: Porta on this machine, in the foreground.

    python -m devstack.run

Makes the infrastructure answer (devstack.infra), migrates every service, starts every service and
the gateway (devstack.system), waits for GET /readyz, prints what it uses, then supervises: a
process that dies is started again. Ctrl-C or SIGTERM stops everything this command started, and
nothing else (a PostgreSQL that was already running stays up), then exits 0.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from devstack import infra
from devstack.environment import porta_env
from devstack.seal import with_seal
from devstack.system import GATEWAY, PortaSystem

RESTART_DELAY_MAX = 30.0  # seconds between restarts of a process that keeps dying
STABLE_AFTER = 60.0  # a process that ran this long before dying is restarted at once


def _hide_password(uri: str) -> str:
    return make_url(uri).render_as_string(hide_password=True) if "://" in uri else uri


def describe(env: Mapping[str, str], started: list[str]) -> str:
    """What Porta runs with, and the variable that changes each."""

    def origin(component: str) -> str:
        return "started by this command" if component in started else "already running"

    template = env["PORTA_DB_URL_TEMPLATE"].replace("{service}", "SERVICE")
    rows = [
        ("gateway", env["PORTA_PUBLIC_URL"] or f"http://{env['PORTA_HTTP_HOST']}:{env['PORTA_HTTP_PORT']}",
         "PORTA_HTTP_HOST, PORTA_HTTP_PORT, PORTA_PUBLIC_URL"),
        ("streams", f"the gateway's address; process on port {env['PORTA_STREAM_PORT']}",
         "PORTA_STREAM_PORT, PORTA_STREAM_HANDOFF (docs/realtime.md)"),
        ("postgresql", f"{_hide_password(template).replace('SERVICE', '{service}')} ({origin('postgresql')})",
         "PORTA_DB_URL_TEMPLATE, PORTA_<SERVICE>_DB_URL"),
        ("rabbitmq", f"{_hide_password(env['PORTA_AMQP_URI'])} ({origin('rabbitmq')})", "PORTA_AMQP_URI"),
        ("s3", f"http{'s' if env['PORTA_S3_SECURE'] == 'true' else ''}://{env['PORTA_S3_ENDPOINT']} "
               f"bucket {env['PORTA_S3_BUCKET']} ({origin('s3')})",
         "PORTA_S3_ENDPOINT, PORTA_S3_BUCKET, PORTA_S3_ACCESS_KEY, PORTA_S3_SECRET_KEY, PORTA_S3_SECURE"),
        ("s3 data", env["PORTA_S3_DATA_DIR"], "PORTA_S3_DATA_DIR (used when this command starts s3rver)"),
        ("smtp", f"{env['PORTA_SMTP_HOST']}:{env['PORTA_SMTP_PORT']} ({origin('smtp')})",
         "PORTA_SMTP_HOST, PORTA_SMTP_PORT"),
        ("mail", f"Maildir {env['PORTA_MAIL_DIR']}", "PORTA_MAIL_DIR (used when this command starts the SMTP server)"),
        ("logs", f"{env['PORTA_LOG_DIR']}/<process>.log", "PORTA_LOG_DIR"),
        ("var", env["PORTA_VAR_DIR"], "PORTA_VAR_DIR (default for the folders above)"),
        ("tools", env["PORTA_TOOLS_DIR"], "PORTA_TOOLS_DIR (npm packages: s3rver)"),
    ]
    width = max(len(str(value)) for _, value, _ in rows)
    lines = [f"  {name:<11} {value:<{width}}  {variables}" for name, value, variables in rows]
    return "\n".join(["Porta is running. Ctrl-C stops what this command started.", *lines])


@dataclass
class Supervisor:
    """Starts again any process of `system` that died, waiting longer each time the same one dies again
    soon after its start (1 s, 2 s, 4 s ... RESTART_DELAY_MAX); one that had run STABLE_AFTER seconds is
    started again after 1 s. `sleep` and `clock` are time's, or a test's."""

    system: PortaSystem
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    delays: dict[str, float] = field(default_factory=dict)

    def restart_crashed(self) -> list[str]:
        """One look: every process that died since the last one is started again; returns their names."""
        restarted = []
        for process in self.system.crashed():
            name = process.name
            self.system.processes[name].remove(process)
            if self.clock() - process.started_at > STABLE_AFTER:
                self.delays.pop(name, None)
            delay = self.delays[name] = min(RESTART_DELAY_MAX, self.delays.get(name, 0.5) * 2)
            print(f"[run] {name} exited with code {process.popen.returncode}; starting it again in {delay:.0f}s "
                  f"(log: {process.log_path})", flush=True)
            self.sleep(delay)
            try:
                self.system.start(name, wait=False)
            except RuntimeError as error:
                print(f"[run] cannot start {name}: {error}", flush=True)
                continue
            restarted.append(name)
        return restarted


def supervise(system: PortaSystem) -> None:
    """Look once a second for processes that died and start them again (Supervisor), until interrupted."""
    supervisor = Supervisor(system)
    while True:
        time.sleep(1.0)
        supervisor.restart_crashed()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _children() -> list[int]:
    """The pids of this process's living children (Linux: read from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]  # after "pid (comm)"
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(parent) == os.getpid() and state != "Z":
            children.append(int(stat.parent.name))
    return children


def _signal(pid: int, signum: int) -> None:
    """Signal a child and the process group it leads (if it got as far as making one)."""
    for send in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send(pid, signum)


def stop_strays(timeout: float = 10.0) -> None:
    """Stop the children this command started but lost track of: a SIGTERM or Ctrl-C that lands while
    devstack.infra starts a server (inside Popen, or waiting for its port) unwinds before it is recorded, and
    it would outlive `make run` (PortaSystem records its own processes before a stop request is let through).
    Each leads its own process group (start_new_session), so its own children go too."""
    strays = _children()
    for pid in strays:
        print(f"[run] stopping process {pid}, started as it was interrupted", flush=True)
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and set(strays) & set(_children()):
        time.sleep(0.1)
    for pid in strays:
        _signal(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def main() -> int:
    # SIGTERM ends the run the way Ctrl-C does: unwind to the cleanup below, from wherever it is save inside
    # the steps devstack.system holds stop requests back for (system.interrupts_deferred: short and bounded).
    signal.signal(signal.SIGTERM, _interrupt)
    # A developer's Porta takes test card payments (the `test` provider) unless told otherwise.
    env = porta_env({} if "PORTA_PAYMENTS_TEST_MODE" in os.environ else {"PORTA_PAYMENTS_TEST_MODE": "true"})
    # On one machine the gateway hands stream requests to the stream process through this socket (one address).
    env["PORTA_STREAM_HANDOFF"] = env["PORTA_STREAM_HANDOFF"] or str(Path(env["PORTA_VAR_DIR"]) / "stream.sock")
    # Signed PDFs are sealed with a self-signed seal made on the first start (docs/signatures.md), unless one is set.
    env = with_seal(env)
    system = PortaSystem(env)
    started: list[infra.Started] = []
    exit_code = 0
    try:
        started = infra.ensure(env, tests=False)  # if interrupted, it stops what it had started itself
        print(f"[run] migrating {', '.join(system.services())}", flush=True)
        system.migrate()
        print(f"[run] starting {', '.join(system.services())}, the {GATEWAY} and its streams", flush=True)
        system.start_all()
        print(describe(env, [component.name for component in started]), flush=True)
        supervise(system)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as error:
        print(f"[run] {error}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\n[run] stopping what this command started", flush=True)
        system.stop_all()
        infra.stop(started)
        stop_strays()
        print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
