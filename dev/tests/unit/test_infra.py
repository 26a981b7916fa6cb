"""devstack.infra's decisions, on a pretend machine: nothing is installed, started or reached."""
import subprocess
import sys

import pytest

from devstack import environment, infra


def test_the_command_line_explains_itself():
    shown = subprocess.run([sys.executable, "-m", "devstack.infra", "bogus"], capture_output=True, text=True)
    assert shown.returncode == 2
    assert "python -m devstack.infra run -- CMD" in shown.stderr


class FreshMachine:
    """Stands in for a machine where nothing answers yet, recording what infra would run."""

    def __init__(self, monkeypatch, installed):
        self.commands, self.installed, self.answering = [], set(installed), False
        monkeypatch.setattr(infra, "port_answers", lambda host, port, timeout=1.0: self.answering)
        monkeypatch.setattr(infra, "wait_for_port", lambda *args, **kwargs: None)
        monkeypatch.setattr(infra, "find_command", lambda name: f"/usr/sbin/{name}" if self._has(name) else None)
        monkeypatch.setattr(infra, "apt_install", lambda *packages: self.installed.update(packages))
        monkeypatch.setattr(infra, "_newest_postgres_cluster", lambda: "15")
        monkeypatch.setattr(infra, "_trust_loopback", lambda version: self.commands.append(["trust", version]))
        monkeypatch.setattr(infra.subprocess, "run", lambda command, **kwargs: self.commands.append(command))

    def _has(self, command):
        package = {"pg_ctlcluster": "postgresql", "rabbitmq-server": "rabbitmq-server",
                   "rabbitmqctl": "rabbitmq-server"}[command]
        return package in self.installed


def test_a_missing_postgresql_is_installed_opened_to_loopback_and_started(monkeypatch):
    machine = FreshMachine(monkeypatch, installed=[])
    started = infra.ensure_postgres(environment.porta_env())
    assert "postgresql" in machine.installed
    assert machine.commands == [["trust", "15"],
                                ["/usr/sbin/pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"]]
    assert started.stop_command == ["/usr/sbin/pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "stop"]


def test_an_installed_but_stopped_rabbitmq_is_started_detached(monkeypatch):
    machine = FreshMachine(monkeypatch, installed=["rabbitmq-server"])
    started = infra.ensure_rabbitmq(environment.porta_env())
    assert machine.commands == [["/usr/sbin/rabbitmq-server", "-detached"]]
    assert started.stop_command == ["/usr/sbin/rabbitmqctl", "stop"]


def test_a_component_that_answers_is_left_alone(monkeypatch):
    machine = FreshMachine(monkeypatch, installed=[])
    machine.answering = True
    env = environment.porta_env()
    assert infra.ensure_postgres(env) is None and infra.ensure_rabbitmq(env) is None
    assert machine.commands == [] and machine.installed == set()


def test_a_remote_component_that_does_not_answer_is_an_error(monkeypatch):
    FreshMachine(monkeypatch, installed=["postgresql"])
    env = environment.porta_env({"PORTA_DB_URL_TEMPLATE": "postgresql+psycopg2://u@db.example:5432/porta_{service}"})
    with pytest.raises(RuntimeError, match="not on this machine; check PORTA_DB_URL_TEMPLATE"):
        infra.ensure_postgres(env)


def test_what_only_the_tests_use_is_started_for_them_and_not_for_make_run(monkeypatch):
    asked = []
    for name in ("ensure_postgres", "ensure_rabbitmq", "ensure_s3", "ensure_smtp", "ensure_moto"):
        monkeypatch.setattr(infra, name, lambda env, name=name: asked.append(name))
    monkeypatch.setattr(infra, "ENSURE_STEPS", (infra.ensure_postgres, infra.ensure_rabbitmq, infra.ensure_s3,
                                                 infra.ensure_smtp))
    monkeypatch.setattr(infra, "TEST_STEPS", (infra.ensure_moto,))
    monkeypatch.setattr(infra, "ensure_bucket", lambda env: None)
    env = environment.porta_env()
    infra.ensure(env, tests=False)  # what devstack.run asks for
    assert asked == ["ensure_postgres", "ensure_rabbitmq", "ensure_s3", "ensure_smtp"]
    asked.clear()
    infra.ensure(env)  # devstack.infra up / run, so `make test`
    assert asked[-1] == "ensure_moto"
