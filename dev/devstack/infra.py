"""Make sure the real components Porta needs answer: PostgreSQL, RabbitMQ, an S3 server, an SMTP server.

    python -m devstack.infra [up|ensure]   start what does not answer and leave it running
    python -m devstack.infra down          stop what `up` started (recorded in PORTA_VAR_DIR/run/)
    python -m devstack.infra run -- CMD    start what does not answer, run CMD, stop what it started

Each component is checked by connecting to its port. A component that answers is used as it is and
never stopped. A missing one is installed and started, unattended:

- PostgreSQL and RabbitMQ from Debian's packages, started as the system's own clusters (their data
  stays in /var/lib/postgresql and /var/lib/rabbitmq, as for any Debian install);
- S3: s3rver from npm (installed into PORTA_TOOLS_DIR), objects kept in PORTA_S3_DATA_DIR;
- SMTP: devstack.mailserver, every message kept in the Maildir PORTA_MAIL_DIR;
- for tests only (not for `make run`): a second S3 server, moto's server mode (PyPI `moto`, installed
  with the devstack) on PORTA_MOTO_ENDPOINT (default 127.0.0.1:9002), objects kept in memory, so the
  storage tests run against two S3 implementations and neither one's quirks go unnoticed.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from devstack.environment import (
    amqp_address,
    is_local,
    port_answers,
    porta_env,
    postgres_address,
    s3_address,
    smtp_address,
    wait_for_port,
)

S3RVER_PACKAGE = "s3rver@3.7.1"
# The second S3 server of the tests (moto's server mode); any key and secret are accepted.
MOTO_ENDPOINT_VAR = "PORTA_MOTO_ENDPOINT"
MOTO_ENDPOINT_DEFAULT = "127.0.0.1:9002"
# Debian keeps daemons and their control tools in sbin, which a CI user's PATH may lack.
SYSTEM_BIN_DIRS = ("/usr/sbin", "/sbin", "/usr/lib/rabbitmq/bin")


@dataclass
class Started:
    """A component this module started: stopped by signalling its process group, or by a command."""

    name: str
    pid: int | None = None
    stop_command: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.stop_command:
            subprocess.run(self.stop_command, check=False, stdout=subprocess.DEVNULL)
        elif self.pid is not None:
            stop_process_group(self.pid)


def stop_process_group(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the group led by `pid` (started with start_new_session), SIGKILL it if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        _reap(pid)
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect our own exited child, so it stops counting as alive; others' processes are not ours."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def find_command(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SYSTEM_BIN_DIRS))


def apt_install(*packages: str) -> None:
    """Install Debian packages without any question asked."""
    if os.geteuid() != 0:
        raise RuntimeError(f"{' '.join(packages)} missing; install as root: apt-get install -y {' '.join(packages)}")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    log(f"installing {' '.join(packages)} from Debian's packages")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
         "-o", "Dpkg::Options::=--force-confold", *packages],
        check=True, env=env, stdin=subprocess.DEVNULL,
    )


def log(message: str) -> None:
    print(f"[infra] {message}", flush=True)


def _require_local(component: str, host: str, port: int, variable: str) -> None:
    if not is_local(host):
        raise RuntimeError(f"{component} at {host}:{port} does not answer and is not on this machine; check {variable}")


def ensure_postgres(env: Mapping[str, str]) -> Started | None:
    host, port = postgres_address(env)
    if port_answers(host, port):
        return None
    _require_local("PostgreSQL", host, port, "PORTA_DB_URL_TEMPLATE")
    installed_now = find_command("pg_ctlcluster") is None
    if installed_now:
        apt_install("postgresql")
    version = _newest_postgres_cluster()
    ctl = [find_command("pg_ctlcluster") or "pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    if installed_now:
        _trust_loopback(version)
        if port_answers(host, port):  # the package's scripts started it: have it read the new rules
            subprocess.run([*ctl, "reload"], check=True, stdin=subprocess.DEVNULL)
            return None
    log(f"starting PostgreSQL {version} (cluster main)")
    subprocess.run([*ctl, "start"], check=True, stdin=subprocess.DEVNULL)
    wait_for_port(host, port, timeout=60)
    return Started("postgresql", stop_command=[*ctl, "stop"])


def _newest_postgres_cluster() -> str:
    # Debian keeps each cluster's configuration in /etc/postgresql/<version>/<cluster>.
    versions = sorted((p.parent.name for p in Path("/etc/postgresql").glob("*/main")), key=float)
    if not versions:
        raise RuntimeError("PostgreSQL is installed but has no cluster 'main' under /etc/postgresql")
    return versions[-1]


def _trust_loopback(version: str) -> None:
    """A fresh Debian cluster asks TCP clients for a password; Porta's dev URLs carry none.

    Only done for a cluster this module has just installed: a developer machine's database,
    reachable from loopback only.
    """
    hba = Path(f"/etc/postgresql/{version}/main/pg_hba.conf")
    rules = "host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n"
    hba.write_text(f"# porta devstack: local development without passwords\n{rules}{hba.read_text()}")


def ensure_rabbitmq(env: Mapping[str, str]) -> Started | None:
    host, port = amqp_address(env)
    if port_answers(host, port):
        return None
    _require_local("RabbitMQ", host, port, "PORTA_AMQP_URI")
    if find_command("rabbitmq-server") is None:
        apt_install("rabbitmq-server")
        if port_answers(host, port):  # the package's scripts started it
            return None
    log("starting RabbitMQ (rabbitmq-server -detached)")
    subprocess.run([find_command("rabbitmq-server") or "rabbitmq-server", "-detached"], check=True,
                   stdin=subprocess.DEVNULL)
    wait_for_port(host, port, timeout=120)
    return Started("rabbitmq", stop_command=[find_command("rabbitmqctl") or "rabbitmqctl", "stop"])


def ensure_s3(env: Mapping[str, str]) -> Started | None:
    host, port = s3_address(env)
    if port_answers(host, port):
        return None
    _require_local("The S3 server", host, port, "PORTA_S3_ENDPOINT")
    s3rver = install_s3rver(Path(env["PORTA_TOOLS_DIR"]))
    data_dir = Path(env["PORTA_S3_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    log(f"starting s3rver on {host}:{port}, objects in {data_dir}")
    process = start_daemon("s3rver", [str(s3rver), "-d", str(data_dir), "-a", host, "-p", str(port)], env)
    wait_for_port(host, port, timeout=30, process=process)
    return Started("s3", pid=process.pid)


def install_s3rver(tools_dir: Path) -> Path:
    """s3rver from npm, into `tools_dir` (once); returns its executable."""
    executable = tools_dir / "node_modules" / ".bin" / "s3rver"
    if executable.exists():
        return executable
    if shutil.which("npm") is None:
        apt_install("nodejs", "npm")
    tools_dir.mkdir(parents=True, exist_ok=True)
    log(f"installing {S3RVER_PACKAGE} into {tools_dir}")
    subprocess.run(["npm", "install", "--prefix", str(tools_dir), "--no-audit", "--no-fund", "--no-save",
                    S3RVER_PACKAGE], check=True, stdin=subprocess.DEVNULL)
    return executable


def ensure_smtp(env: Mapping[str, str]) -> Started | None:
    host, port = smtp_address(env)
    if port_answers(host, port):
        return None
    _require_local("The SMTP server", host, port, "PORTA_SMTP_HOST")
    process = start_daemon("smtp", mail_server_command(host, port, Path(env["PORTA_MAIL_DIR"])), env)
    wait_for_port(host, port, timeout=30, process=process)
    log(f"started SMTP on {host}:{port}, mail stored in Maildir {env['PORTA_MAIL_DIR']}")
    return Started("smtp", pid=process.pid)


def moto_endpoint(env: Mapping[str, str]) -> str:
    """host:port of the second S3 server of the tests (PORTA_MOTO_ENDPOINT)."""
    return env.get(MOTO_ENDPOINT_VAR) or MOTO_ENDPOINT_DEFAULT


def ensure_moto(env: Mapping[str, str]) -> Started | None:
    endpoint = moto_endpoint(env)
    host, _, port = endpoint.rpartition(":")
    if port_answers(host, int(port)):
        return None
    _require_local("The second S3 server (moto)", host, int(port), MOTO_ENDPOINT_VAR)
    process = start_daemon("moto", [sys.executable, "-m", "moto.server", "-H", host, "-p", port], env)
    wait_for_port(host, int(port), timeout=60, process=process)
    log(f"started moto's S3 server on {endpoint} (objects in memory)")
    return Started("moto", pid=process.pid)


def mail_server_command(host: str, port: int, maildir: Path) -> list[str]:
    return [sys.executable, "-m", "devstack.mailserver", "--host", host, "--port", str(port), "--maildir", str(maildir)]


def start_daemon(name: str, command: list[str], env: Mapping[str, str]) -> subprocess.Popen:
    """Start a background process in its own session (Ctrl-C in a terminal does not reach it),
    writing to PORTA_LOG_DIR/<name>.log."""
    log_dir = Path(env["PORTA_LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as output:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True, env=os.environ | dict(env))


def ensure_bucket(env: Mapping[str, str], bucket: str | None = None) -> None:
    """Create the bucket if missing; this also proves the S3 credentials work."""
    from minio import Minio

    client = Minio(env["PORTA_S3_ENDPOINT"], access_key=env["PORTA_S3_ACCESS_KEY"],
                   secret_key=env["PORTA_S3_SECRET_KEY"], secure=env["PORTA_S3_SECURE"] == "true")
    bucket = bucket or env["PORTA_S3_BUCKET"]
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
    except Exception as error:  # whatever the server answered, the fix is in the settings or the server
        raise RuntimeError(f"the S3 server at {env['PORTA_S3_ENDPOINT']} answers but cannot make bucket {bucket} "
                           f"(check PORTA_S3_ACCESS_KEY / PORTA_S3_SECRET_KEY): {error}") from error


ENSURE_STEPS = (ensure_postgres, ensure_rabbitmq, ensure_s3, ensure_smtp)
# What only the tests use: started by `up` and `run` (so by `make test`), not by `make run`.
TEST_STEPS = (ensure_moto,)


def ensure(env: Mapping[str, str], *, tests: bool = True) -> list[Started]:
    """Make every component answer (with `tests`, also what only the tests use); returns those
    started here, so the caller can stop them."""
    started: list[Started] = []
    try:
        for step in (*ENSURE_STEPS, *(TEST_STEPS if tests else ())):
            component = step(env)
            if component is not None:
                started.append(component)
        ensure_bucket(env)
    except BaseException:
        stop(started)
        raise
    return started


def stop(started: list[Started]) -> None:
    """Stop components in the reverse order of their start (the SMTP and S3 servers first)."""
    for component in reversed(started):
        log(f"stopping {component.name}")
        component.stop()


def _state_file(env: Mapping[str, str]) -> Path:
    return Path(env["PORTA_VAR_DIR"]) / "run" / "infra-started.json"


def up(env: Mapping[str, str]) -> None:
    state = _state_file(env)
    recorded = [Started(**item) for item in json.loads(state.read_text())] if state.exists() else []
    started = recorded + ensure(env)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps([asdict(item) for item in started]))
    log("every component answers" + (f"; started: {', '.join(s.name for s in started)}" if started else ""))


def down(env: Mapping[str, str]) -> None:
    state = _state_file(env)
    if state.exists():
        stop([Started(**item) for item in json.loads(state.read_text())])
        state.unlink()


def run(env: Mapping[str, str], command: list[str]) -> int:
    """Run `command` with every component up; afterwards stop what was started for it."""
    started = ensure(env)
    previous_handler = signal.getsignal(signal.SIGTERM)
    try:
        child = subprocess.Popen(command)
        # Forward a termination request to the command, then clean up below as for a normal end.
        signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # the terminal sent SIGINT to the command too; let it finish
                continue
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        stop(started)


def main(argv: list[str]) -> int:
    env = porta_env()
    action, *rest = argv or ["up"]
    try:
        if action in ("up", "ensure"):
            up(env)
        elif action == "down":
            down(env)
        elif action == "run" and rest[:1] == ["--"] and len(rest) > 1:
            return run(env, rest[1:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as error:
        log(f"failed: {error}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
