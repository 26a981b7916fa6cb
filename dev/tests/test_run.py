"""`make run` for real: `python -m devstack.run` with the run's PostgreSQL, RabbitMQ vhost, databases and
S3 (found running, so never its to stop) and an SMTP port where nothing listens (so it starts a server
of its own). Its services join the run's like more instances would; the test sends them no work. Its gateway,
metrics and stream process have ports of their own, and its hand-off socket is its own: the session's
system may be running beside it.
dev/tests/unit/test_run.py covers the supervisor's decisions (which wait, which process)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devstack import environment
from devstack.system import rpc_consumers


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None  # gone


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (children, gunicorn's workers, ...)."""
    parents = {int(p.name): parent_of(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if running(p)}


def with_environment(entry: str) -> list[int]:
    """The living processes whose environment holds `entry` ("NAME=value")."""
    found = []
    for folder in Path("/proc").iterdir():
        try:
            if folder.name.isdigit() and entry.encode() in folder.joinpath("environ").read_bytes().split(b"\0"):
                found.append(int(folder.name))
        except OSError:
            continue  # gone, or not ours to read
    return [pid for pid in found if running(pid)]


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class MakeRun:
    """`python -m devstack.run` as a child of the test, its output collected line by line; `prelude`: Python
    run in that process first (to send it SIGTERM at a chosen moment)."""

    def __init__(self, env: dict[str, str], prelude: str = "") -> None:
        self.env = env
        command = ["-c", f"{prelude}\nimport runpy\nrunpy.run_module('devstack.run', run_name='__main__')"] \
            if prelude else ["-m", "devstack.run"]
        self.popen = subprocess.Popen([sys.executable, *command], cwd=environment.repo_root(),
                                      env=environment.process_env(env), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.popen.poll() is None, f"devstack.run exited with {self.popen.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout:.0f}s:\n{self.output}"
            time.sleep(0.2)

    def service_pids(self, service: str) -> list[int]:
        return [pid for pid in descendants(self.popen.pid)
                if f"{service}.service:{service.capitalize()}Service" in command_line(pid)]


@pytest.fixture
def start_make_run(porta_env, tmp_path):
    """`start_make_run(prelude="")`: a MakeRun with ports, log folder and stream hand-off socket of its own (the
    session's system may be running beside it)."""
    http_port = environment.free_port()
    env = {**porta_env, "PORTA_HTTP_PORT": str(http_port), "PORTA_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
           "PORTA_METRICS_PORT": str(environment.free_port()), "PORTA_SMTP_PORT": str(environment.free_port()),
           "PORTA_STREAM_PORT": str(environment.free_port()), "PORTA_STREAM_HANDOFF": str(tmp_path / "stream.sock"),
           "PORTA_MAIL_DIR": str(tmp_path / "mail"), "PORTA_LOG_DIR": str(tmp_path / "log"),
           "PORTA_MOTO_ENDPOINT": f"127.0.0.1:{environment.free_port()}"}  # only the tests' server
    runs: list[MakeRun] = []

    def start(prelude: str = "") -> MakeRun:
        runs.append(MakeRun(env, prelude))
        return runs[-1]

    try:
        yield start
    finally:
        for run in runs:
            if run.popen.poll() is None:  # the test failed half way: stop it, as Ctrl-C would
                run.popen.send_signal(signal.SIGTERM)
                try:
                    run.popen.wait(120)
                except subprocess.TimeoutExpired:
                    run.popen.kill()
        # Whatever it left behind, even once its parent is gone: the processes with its log folder.
        for pid in with_environment(f"PORTA_LOG_DIR={env['PORTA_LOG_DIR']}"):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_run(start_make_run):
    return start_make_run()


def left_behind(env: dict[str, str], wait: float) -> list[str]:
    """The command lines of the processes of this `make run` (its log folder in their environment) still
    alive after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while (pids := with_environment(f"PORTA_LOG_DIR={env['PORTA_LOG_DIR']}")) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [command_line(pid) for pid in pids]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f}s"
        time.sleep(0.2)


def test_make_run_restarts_a_crashed_service_and_sigterm_stops_what_it_started_and_nothing_else(make_run):
    env = make_run.env
    make_run.wait_for("Porta is running.", timeout=300)
    summary = {line[2:13].strip(): line for line in make_run.output.split("Porta is running.", 1)[1].splitlines()[1:]}
    assert "(started by this command)" in summary["smtp"]
    for component in ("postgresql", "rabbitmq", "s3"):
        assert "(already running)" in summary[component]
    moto_host, _, moto_port = env["PORTA_MOTO_ENDPOINT"].rpartition(":")
    assert not environment.port_answers(moto_host, int(moto_port))  # a server for the tests only

    # A crash: billing killed -9 is started again and consumes its RPC queue again.
    amqp = env["PORTA_AMQP_URI"]
    [billing] = make_run.service_pids("billing")
    serving = rpc_consumers(amqp, "billing")  # the run's own billing may consume it too
    os.kill(billing, signal.SIGKILL)
    make_run.wait_for("[run] billing exited with code -9; starting it again", timeout=60)
    wait_until(lambda: [p for p in make_run.service_pids("billing") if p != billing], 60, "a new billing process")
    wait_until(lambda: rpc_consumers(amqp, "billing") == serving, 120, "the new billing consuming its queue")
    assert not running(billing)

    # SIGTERM: everything it started stops, the components it found running keep running.
    ours = descendants(make_run.popen.pid)
    assert len(make_run.service_pids("crm")) == 1 and any("gunicorn" in command_line(p) for p in ours)
    found_running = [environment.postgres_address(env), environment.amqp_address(env), environment.s3_address(env),
                     environment.smtp_address(dict(env, PORTA_SMTP_PORT=os.environ["PORTA_SMTP_PORT"]))]
    assert all(environment.port_answers(*address) for address in found_running)
    make_run.popen.send_signal(signal.SIGTERM)
    assert make_run.popen.wait(120) == 0, make_run.output
    assert "[run] stopped" in make_run.output
    assert left_behind(env, wait=30) == []  # nothing of it left, not even a grandchild
    assert not any(running(p) for p in ours)
    assert not environment.port_answers(*environment.smtp_address(env))  # its own SMTP server
    assert not environment.port_answers("127.0.0.1", int(env["PORTA_HTTP_PORT"]))  # its gateway
    assert all(environment.port_answers(*address) for address in found_running)


def exit_code_within(make_run: MakeRun, seconds: float) -> int:
    """Its exit code; a run still going after `seconds` fails the test with what it printed (where it hangs)."""
    try:
        return make_run.popen.wait(seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"devstack.run still running {seconds:.0f}s after SIGTERM:\n{make_run.output}")


def test_sigterm_while_it_starts_services_stops_what_it_had_started_so_far(make_run):
    env = make_run.env
    make_run.wait_for("[run] starting", timeout=120)
    wait_until(lambda: make_run.service_pids("billing"), 60, "a service process")
    make_run.popen.send_signal(signal.SIGTERM)
    assert exit_code_within(make_run, 120) == 0, make_run.output
    assert "Porta is running." not in make_run.output and "[run] stopped" in make_run.output
    assert left_behind(env, wait=30) == []
    assert not environment.port_answers(*environment.smtp_address(env))
    assert environment.port_answers(*environment.postgres_address(env))


# Python run in `make run`'s own process before it starts: each sends it SIGTERM at one moment of its start-up,
# and says so first (SIGTERM_SENT), so the stop is timed from the signal, not from a start-up a slow box makes long.
SIGTERM_SENT = "[test] sending SIGTERM"
SIGTERM_AT = {
    # Half way through an AMQP frame as it counts the third service's RPC consumers (the broker's answer
    # header read, its body not yet): a stop that unwinds from there leaves the connection mid-frame.
    "inside_an_amqp_frame": """
import os, signal
from amqp import channel, transport
declares, sent, real_declare, real_read = [], [], channel.Channel.queue_declare, transport.TCPTransport._read
def queue_declare(self, *args, **kwargs):
    declares.append(self)
    return real_declare(self, *args, **kwargs)
def read(self, n, initial=False, *args, **kwargs):
    data = real_read(self, n, initial, *args, **kwargs)
    if initial and len(declares) == 3 and not sent:
        sent.append(signal.SIGTERM)
        print("[test] sending SIGTERM", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
    return data
channel.Channel.queue_declare, transport.TCPTransport._read = queue_declare, read
""",
    # Every service ready, the gateway and the stream process started, waiting for the streams to be ready.
    "waiting_for_the_stream_process": """
import os, signal
from devstack import system
real_wait_ready = system.PortaSystem.wait_ready
def wait_ready(self, name, *args, **kwargs):
    if name == system.STREAM:
        print("[test] sending SIGTERM", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
    return real_wait_ready(self, name, *args, **kwargs)
system.PortaSystem.wait_ready = wait_ready
""",
}


@pytest.mark.parametrize("moment", SIGTERM_AT)
def test_sigterm_at_a_chosen_moment_of_its_start_stops_what_it_had_started_within_a_bounded_time(
        start_make_run, moment):
    make_run = start_make_run(SIGTERM_AT[moment])
    make_run.wait_for(SIGTERM_SENT, timeout=300)  # start-up took 120 s and more on a loaded CI box
    assert exit_code_within(make_run, 120) == 0, make_run.output
    assert "[run] starting" in make_run.output and "Porta is running." not in make_run.output
    assert "[run] stopped" in make_run.output
    assert left_behind(make_run.env, wait=30) == []
    assert not environment.port_answers(*environment.smtp_address(make_run.env))
    assert environment.port_answers(*environment.postgres_address(make_run.env))
