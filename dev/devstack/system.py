"""The one launcher of Porta's own processes, used by `make run` and by the test fixtures.

Services are the folders services/<name>/ holding a config.yaml (the gateway excepted); each runs
as `nameko run --config config.yaml <name>.service:<Name>Service` inside its folder. The gateway
runs under gunicorn with services/gateway/gunicorn.conf.py, its stream process (`stream`) under uvicorn
(`python -m gateway.stream`; the gateway's workers hand it stream requests through PORTA_STREAM_HANDOFF, so
both answer at `url`). Every process gets its environment
explicitly (devstack.environment.process_env), writes to PORTA_LOG_DIR/<process>.log and leads
its own process group, so killing it also kills its children (gunicorn's workers).
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack.environment import process_env, repo_root, tail

GATEWAY = "gateway"
# The gateway's stream process (`python -m gateway.stream`, docs/realtime.md): started and stopped with the gateway.
STREAM = "stream"
# Bounds each read and write of a readiness check, so a stop request held back during one waits at most this long.
AMQP_IO_TIMEOUT = 5.0


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs, then deliver them: a handler that raises (Ctrl-C's
    KeyboardInterrupt, devstack.run's SIGTERM) must not unwind from half an AMQP frame (closing that
    connection then waits forever for an answer) nor from between a process's start and its record."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    previous = {signum: handler for signum, handler in handlers.items() if callable(handler)}
    if threading.current_thread() is not threading.main_thread() or not previous:
        yield  # only the main thread runs signal handlers; ignored or default signals are left as they are
        return
    arrived: list[int] = []
    for signum in previous:
        signal.signal(signum, lambda signum, frame: arrived.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)


def service_names(root: Path | None = None) -> list[str]:
    """Every nameko service of the checkout, in name order."""
    root = root or repo_root()
    return sorted(p.parent.name for p in (root / "services").glob("*/config.yaml") if p.parent.name != GATEWAY)


def service_class(name: str) -> str:
    return f"{name}.service:{name.capitalize()}Service"


@dataclass
class PortaProcess:
    """One running process of a service (or of the gateway)."""

    name: str
    instance: int
    popen: subprocess.Popen
    log_path: Path
    # Consumers of the service's RPC queue just before this process started: other processes of the
    # same vhost (a test's own, or another launcher's) may consume it too, so readiness is counted
    # from there. None for the gateway.
    consumers_before: int | None = None
    ready: bool = False
    started_at: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait()

    def terminate(self) -> None:
        """SIGTERM: the graceful stop of nameko and gunicorn."""
        self._signal_group(signal.SIGTERM)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass

    def describe_exit(self) -> str:
        return (f"{self.name}#{self.instance} exited with code {self.popen.returncode}; "
                f"{self.log_path} ends:\n{tail(self.log_path)}")


@dataclass
class PortaSystem:
    """Porta's processes, started with the environment `env` (every PORTA_* variable)."""

    env: Mapping[str, str]
    root: Path = field(default_factory=repo_root)
    processes: dict[str, list[PortaProcess]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.env['PORTA_HTTP_HOST']}:{self.env['PORTA_HTTP_PORT']}"

    @property
    def log_dir(self) -> Path:
        return Path(self.env["PORTA_LOG_DIR"])

    def services(self) -> list[str]:
        return service_names(self.root)

    def migrate(self, services: list[str] | None = None) -> None:
        """Create each service's database if missing and migrate it to head (one process for all)."""
        folders = [str(self.root / "services" / name) for name in services or self.services()]
        migrated = subprocess.run(
            [sys.executable, "-m", "shared.migrations", *folders], cwd=self.root, env=process_env(self.env),
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"migrations failed:\n{migrated.stdout}{migrated.stderr}")

    @property
    def stream_url(self) -> str:
        """The stream process's own address (clients reach the streams at `url`, handed over by the gateway)."""
        return f"http://{self.env['PORTA_HTTP_HOST']}:{self.env['PORTA_STREAM_PORT']}"

    def _command(self, name: str) -> tuple[list[str], Path]:
        if name == STREAM:
            return [sys.executable, "-m", "gateway.stream"], self.root
        if name == GATEWAY:
            conf = self.root / "services" / GATEWAY / "gunicorn.conf.py"
            if not conf.exists():
                raise RuntimeError(f"no gateway: {conf} is missing")
            return [sys.executable, "-m", "gunicorn", "-c", str(conf), "gateway.wsgi:app"], self.root
        folder = self.root / "services" / name
        if not (folder / "config.yaml").exists():
            raise RuntimeError(f"no service {name!r}: {folder / 'config.yaml'} is missing")
        nameko = Path(sys.executable).with_name("nameko")
        return [str(nameko), "run", "--config", "config.yaml", service_class(name)], folder

    def start(self, name: str, wait: bool = True, timeout: float = 60.0) -> PortaProcess:
        """Start one more process of a service or of the gateway (a second call runs a second instance)."""
        command, cwd = self._command(name)
        consumers_before = None if name in (GATEWAY, STREAM) else self._consumers(name)
        running = self.processes.setdefault(name, [])
        instance = max((p.instance for p in running), default=0) + 1
        log_path = self.log_dir / (f"{name}.log" if instance == 1 else f"{name}-{instance}.log")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as output, interrupts_deferred():  # a process started is a process recorded
            output.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {' '.join(command)}\n".encode())
            output.flush()
            popen = subprocess.Popen(command, cwd=cwd, env=process_env(self.env), stdin=subprocess.DEVNULL,
                                     stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
            process = PortaProcess(name, instance, popen, log_path, consumers_before)
            running.append(process)
        if wait:
            try:
                self.wait_ready(name, timeout)
            except BaseException:  # a process that never served is of no use to anyone: end it
                running.remove(process)
                process.kill()
                raise
        return process

    def kill(self, name: str) -> None:
        """SIGKILL every process of a service (or of the gateway)."""
        for process in self.processes.pop(name, []):
            process.kill()

    def kill_one(self, name: str) -> PortaProcess:
        """SIGKILL the oldest running process of a service, as a crash would; its other processes keep
        serving. For the gateway use `kill_gateway_worker`: one gunicorn master owns the port."""
        running = [p for p in self.processes.get(name, []) if p.alive]
        if not running:
            raise RuntimeError(f"{name} is not running")
        victim = running[0]
        victim.kill()
        self.processes[name].remove(victim)
        return victim

    def gateway_workers(self) -> list[int]:
        """The pids of the gateway's gunicorn workers (the children of its master), oldest first."""
        masters = [p.popen.pid for p in self.processes.get(GATEWAY, []) if p.alive]
        return sorted(pid for master in masters for pid in child_pids(master))

    def kill_gateway_worker(self) -> int:
        """SIGKILL one gateway worker, as a crash would: requests it holds are cut, the other workers
        keep serving and gunicorn's master starts a new one. Returns the killed pid."""
        workers = self.gateway_workers()
        if not workers:
            raise RuntimeError("the gateway has no worker")
        os.kill(workers[0], signal.SIGKILL)
        return workers[0]

    def restart(self, name: str, timeout: float = 60.0) -> PortaProcess:
        """Kill a service's processes and start one again; returns once it serves."""
        self.kill(name)
        return self.start(name, timeout=timeout)

    def start_all(self, timeout: float = 120.0) -> None:
        """Every service, then the gateway; returns once GET /readyz answers 200."""
        for name in self.services():
            self.start(name, wait=False)
        for name in self.services():
            self.wait_ready(name, timeout)
        self.start(GATEWAY, wait=False)
        self.start(STREAM, wait=False)
        self.wait_http("/readyz", timeout)
        self.wait_ready(STREAM, timeout)

    def stop_all(self, timeout: float = 15.0) -> None:
        """Gateway first (no new requests), then every service at once; SIGKILL what outlives `timeout`."""
        gateway = self.processes.pop(GATEWAY, []) + self.processes.pop(STREAM, [])
        services = [p for running in self.processes.values() for p in running]
        self.processes.clear()
        for group in (gateway, services):
            for process in group:
                process.terminate()
            deadline = time.monotonic() + timeout
            for process in group:
                try:
                    process.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                process.kill()  # also ends what the process left behind in its group

    def crashed(self) -> list[PortaProcess]:
        return [p for running in self.processes.values() for p in running if not p.alive]

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        """Wait until every running process of `name` serves: the gateway answers /healthz; each
        new process of a service adds one consumer to the service's RPC queue."""
        if name == GATEWAY:
            self.wait_http("/healthz", timeout)
            return
        if name == STREAM:  # its own /healthz: 200 once its consumer is bound to the events
            self.wait_http("/healthz", timeout, base=self.stream_url)
            return
        deadline = time.monotonic() + timeout
        while True:
            pending = [p for p in self._alive(name) if not p.ready]
            if not pending:
                return
            try:
                consumers = rpc_consumers(self.env["PORTA_AMQP_URI"], name)
                if consumers >= min(p.consumers_before or 0 for p in pending) + len(pending):
                    for process in pending:
                        process.ready = True
                    return
                problem = "does not consume its RPC queue"
            except OSError as error:  # the broker is down or refuses us: the service cannot serve either
                problem = f"cannot be checked: broker at PORTA_AMQP_URI: {error}"
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} {problem} after {timeout:.0f}s; {pending[-1].log_path} ends:\n"
                                   f"{tail(pending[-1].log_path)}")
            time.sleep(0.2)

    def _consumers(self, name: str) -> int:
        try:
            return rpc_consumers(self.env["PORTA_AMQP_URI"], name)
        except OSError:
            return 0  # the broker is down: wait_ready will say so

    def wait_http(self, path: str, timeout: float = 60.0, base: str | None = None) -> None:
        """Wait until GET <base or url><path> answers 200, failing early if a process exits."""
        base = base or self.url
        deadline = time.monotonic() + timeout
        last_answer = "no answer"
        while True:
            if crashed := self.crashed():
                raise RuntimeError(crashed[0].describe_exit())
            try:
                with urllib.request.urlopen(base + path, timeout=5) as response:  # noqa: S310 (our own URL)
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as answer:
                last_answer = f"{answer.code} {answer.read()[:500]!r}"
            except OSError as error:
                last_answer = str(error)
            if time.monotonic() > deadline:
                raise TimeoutError(f"GET {base}{path} not 200 after {timeout:.0f}s: {last_answer}")
            time.sleep(0.3)

    def _alive(self, name: str) -> list[PortaProcess]:
        running = self.processes.get(name, [])
        if not running:
            raise RuntimeError(f"{name} is not running")
        for process in running:
            if not process.alive:
                raise RuntimeError(process.describe_exit())
        return running


def child_pids(parent: int) -> list[int]:
    """The pids of `parent`'s living children (Linux: read from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == parent and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def rpc_consumers(amqp_uri: str, service: str) -> int:
    """How many consumers the broker counts on nameko's RPC queue of `service` (0 if not declared). A stop
    request waits for the answer (interrupts_deferred), each read and write for at most AMQP_IO_TIMEOUT."""
    with interrupts_deferred():
        from amqp.exceptions import NotFound
        from kombu import Connection

        io_timeouts = {"read_timeout": AMQP_IO_TIMEOUT, "write_timeout": AMQP_IO_TIMEOUT}
        with Connection(amqp_uri, connect_timeout=AMQP_IO_TIMEOUT, transport_options=io_timeouts) as connection:
            channel = connection.channel()
            try:
                return channel.queue_declare(queue=f"rpc-{service}", passive=True).consumer_count
            except NotFound:  # the service has never started on this vhost
                return 0
            finally:
                if channel.is_open:
                    channel.close()
