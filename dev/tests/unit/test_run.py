"""devstack.run's supervision and its summary, on a pretend system: nothing is started, no time passes.
dev/tests/test_run.py runs `python -m devstack.run` itself."""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import environment
from devstack.run import RESTART_DELAY_MAX, STABLE_AFTER, Supervisor, describe


@dataclass
class Popen:
    returncode: int | None = None


@dataclass
class Process:
    name: str
    started_at: float
    popen: Popen = field(default_factory=Popen)
    log_path: Path = Path("/var/log/porta/x.log")

    @property
    def alive(self) -> bool:
        return self.popen.returncode is None

    def die(self, code: int = -9) -> None:
        self.popen.returncode = code


class System:
    """PortaSystem's processes, crashed() and start(), on a clock of the test's."""

    def __init__(self, clock: Clock, *names: str, broken: tuple[str, ...] = ()) -> None:
        self.clock = clock
        self.broken = broken
        self.processes: dict[str, list[Process]] = {name: [Process(name, clock())] for name in names}
        self.started: list[str] = []

    def crashed(self) -> list[Process]:
        return [p for running in self.processes.values() for p in running if not p.alive]

    def start(self, name: str, wait: bool = True) -> Process:
        assert wait is False  # the supervisor never waits for one service while others may be down
        if name in self.broken:
            raise RuntimeError(f"no service {name!r}")
        self.started.append(name)
        process = Process(name, self.clock())
        self.processes.setdefault(name, []).append(process)
        return process


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def supervisor(system: System, clock: Clock) -> Supervisor:
    return Supervisor(system, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]


def test_a_process_that_died_is_started_again_and_nothing_else_is_touched(capsys):
    clock = Clock()
    system = System(clock, "billing", "crm")
    second_crm = system.start("crm", wait=False)
    system.started.clear()
    [first_crm] = [p for p in system.processes["crm"] if p is not second_crm]
    first_crm.die(-9)

    assert supervisor(system, clock).restart_crashed() == ["crm"]
    assert system.started == ["crm"] and clock.slept == [1.0]
    assert first_crm not in system.processes["crm"] and second_crm in system.processes["crm"]
    assert all(p.alive for running in system.processes.values() for p in running)
    assert len(system.processes["crm"]) == 2 and len(system.processes["billing"]) == 1
    assert "[run] crm exited with code -9; starting it again in 1s" in capsys.readouterr().out


def test_nothing_died_nothing_happens():
    clock = Clock()
    system = System(clock, "billing", "crm")
    assert supervisor(system, clock).restart_crashed() == []
    assert system.started == [] and clock.slept == []


def test_a_process_that_keeps_dying_at_once_waits_longer_each_time_up_to_the_maximum():
    clock = Clock()
    system = System(clock, "links")
    watch = supervisor(system, clock)
    for _ in range(8):
        system.processes["links"][-1].die(1)
        clock.now += 0.3  # it died soon after its start
        assert watch.restart_crashed() == ["links"]
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, RESTART_DELAY_MAX, RESTART_DELAY_MAX, RESTART_DELAY_MAX]
    assert len(system.processes["links"]) == 1 and system.processes["links"][0].alive


def test_a_process_that_ran_a_while_before_dying_is_started_again_after_the_shortest_wait():
    clock = Clock()
    system = System(clock, "links")
    watch = supervisor(system, clock)
    for _ in range(4):
        system.processes["links"][-1].die(1)
        watch.restart_crashed()
    clock.now += STABLE_AFTER + 1  # then it served for a minute
    system.processes["links"][-1].die(1)
    watch.restart_crashed()
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 1.0]


def test_each_service_has_its_own_wait():
    clock = Clock()
    system = System(clock, "crm", "links")
    watch = supervisor(system, clock)
    for _ in range(3):
        system.processes["links"][-1].die(1)
        watch.restart_crashed()
    system.processes["crm"][-1].die(1)
    watch.restart_crashed()
    assert clock.slept == [1.0, 2.0, 4.0, 1.0]


def test_a_process_that_cannot_be_started_again_is_reported_and_the_others_still_are(capsys):
    clock = Clock()
    system = System(clock, "billing", "crm", broken=("billing",))
    system.processes["billing"][0].die(3)
    system.processes["crm"][0].die(3)
    assert supervisor(system, clock).restart_crashed() == ["crm"]
    assert "[run] cannot start billing: no service 'billing'" in capsys.readouterr().out
    assert system.processes["billing"] == []


def test_the_summary_says_what_was_started_and_hides_passwords():
    env = environment.porta_env({"PORTA_AMQP_URI": "pyamqp://porta:s3cret@127.0.0.1:5672/",
                                 "PORTA_DB_URL_TEMPLATE": "postgresql+psycopg2://porta:pw@127.0.0.1/porta_{service}",
                                 "PORTA_HTTP_PORT": "8080", "PORTA_PUBLIC_URL": ""})
    text = describe(env, ["smtp", "s3"])
    assert "s3cret" not in text and ":pw@" not in text
    lines = {line[2:13].strip(): line for line in text.splitlines()[1:]}  # "  name        value  variables"
    assert "http://127.0.0.1:8080" in lines["gateway"]
    assert "(started by this command)" in lines["smtp"] and "(started by this command)" in lines["s3"]
    assert "(already running)" in lines["postgresql"] and "(already running)" in lines["rabbitmq"]
    assert "porta_{service}" in lines["postgresql"]


# A process that started a service (in its own session, with a child of its own) and lost track of it,
# then stops its strays: what devstack.run does after a SIGTERM that landed inside Popen.
LOST_TRACK = """
import os, subprocess, sys, time
from devstack.run import stop_strays
service = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                            "subprocess.Popen(['sleep', '60']); print('up', flush=True); time.sleep(60)"],
                           start_new_session=True, stdout=subprocess.PIPE, text=True)
assert service.stdout.readline() == "up\\n"
print(service.pid, os.getpgid(service.pid), flush=True)
stop_strays(timeout=5)
print("stopped", flush=True)
"""


def test_children_started_but_not_recorded_are_stopped_with_their_own_children():
    done = subprocess.run([sys.executable, "-c", LOST_TRACK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid, group = (int(n) for n in done.stdout.splitlines()[0].split())
    assert pid == group  # it led its own group, as every process devstack starts does
    assert "stopping process" in done.stdout and done.stdout.rstrip().endswith("stopped")
    deadline = time.monotonic() + 10  # what was killed may take a moment to be reaped
    while (leftover := subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover == "", f"still running in its group: {leftover}"
