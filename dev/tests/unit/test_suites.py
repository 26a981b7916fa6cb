import os
import subprocess
import sys
from pathlib import Path

from devstack.suites import (
    UNIT_ENV,
    Outcome,
    Suite,
    read_report,
    reports_of_this_run,
    suites,
    unit_env,
    verdict,
)


def outcome(exit_code, passed=0, failed=0):
    return Outcome(Suite("s", [], Path("none.xml")), exit_code, passed, failed)


def test_a_failing_suite_fails_the_run_even_when_others_pass():
    assert verdict([outcome(0, passed=3), outcome(1, passed=2, failed=1), outcome(0, passed=1)]) == 1


def test_a_suite_without_tests_is_fine_while_another_ran_tests():
    assert verdict([outcome(5), outcome(0, passed=4)]) == 0


def test_no_test_at_all_fails_the_run():
    assert verdict([outcome(5), outcome(5)]) == 1
    assert verdict([]) == 1


def test_pytest_errors_other_than_no_tests_fail_the_run():
    assert verdict([outcome(0, passed=1), outcome(4)]) == 1  # usage error, e.g. a bad argument
    assert verdict([outcome(0, passed=1), outcome(2)]) == 1  # interrupted


def test_counts_come_from_the_junit_report(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text('<testsuites><testsuite tests="7" errors="1" failures="2" skipped="1"/></testsuites>')
    result = outcome(1)
    read_report(result, report)
    assert (result.passed, result.failed, result.skipped) == (3, 3, 1)


def test_service_suites_run_under_nameko_test_and_the_rest_under_plain_pytest(tmp_path):
    for folder in ("services/crm/tests", "services/gateway/tests", "shared/tests", "dev/tests"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "test_x.py").write_text("")
    (tmp_path / "services/crm/config.yaml").write_text("")
    (tmp_path / "services/billing/tests").mkdir(parents=True)  # no test files: no suite
    (tmp_path / "services/billing/config.yaml").write_text("")

    found = {s.name: s.command for s in suites(tmp_path, tmp_path / "reports", ["-x"])}
    assert set(found) == {"shared/tests", "services/crm/tests", "services/gateway/tests + dev/tests"}
    assert Path(found["services/crm/tests"][0]).name == "nameko" and found["services/crm/tests"][1] == "test"
    plain = found["services/gateway/tests + dev/tests"]
    assert plain[1:3] == ["-m", "pytest"] and plain[-1] == "-x"


def _checkout(root, folders):
    for folder in folders:
        (root / folder).mkdir(parents=True)
        (root / folder / "test_x.py").write_text("")
    for service in ("crm", "billing"):
        (root / "services" / service).mkdir(parents=True, exist_ok=True)
        (root / "services" / service / "config.yaml").write_text("")


def test_make_test_runs_the_unit_folders_inside_their_suites_once(tmp_path):
    _checkout(tmp_path, ["services/crm/tests", "services/crm/tests/unit", "dev/tests/unit"])
    found = suites(tmp_path, tmp_path / "reports", [])
    assert [s.name for s in found] == ["services/crm/tests", "dev/tests"]
    assert all(s.env is None for s in found)  # the environment devstack.infra set up


def test_make_test_unit_runs_only_unit_folders_each_the_way_its_suite_runs(tmp_path):
    _checkout(tmp_path, ["shared/tests/unit", "services/crm/tests/unit", "services/billing/tests",
                         "services/gateway/tests/unit", "dev/tests", "dev/tests/unit"])
    found = {s.name: s for s in suites(tmp_path, tmp_path / "reports", ["-x"], unit=True)}
    assert set(found) == {"shared/tests/unit", "services/crm/tests/unit",
                          "services/gateway/tests/unit + dev/tests/unit"}
    assert found["services/crm/tests/unit"].command[:3] == [
        str(Path(sys.executable).with_name("nameko")), "test", "services/crm/tests/unit"]
    assert found["services/gateway/tests/unit + dev/tests/unit"].command[1:5] == [
        "-m", "pytest", "services/gateway/tests/unit", "dev/tests/unit"]
    assert all(s.env["PORTA_AMQP_URI"] == UNIT_ENV["PORTA_AMQP_URI"] for s in found.values())


def test_the_unit_environment_reaches_no_running_component():
    env = unit_env({"PATH": "/bin", "PORTA_CRM_DB_URL": "postgresql://real/crm",
                    "PORTA_AMQP_URI": "pyamqp://guest:guest@127.0.0.1:5672/"})
    assert env["PATH"] == "/bin" and "PORTA_CRM_DB_URL" not in env
    for name in ("PORTA_AMQP_URI", "PORTA_DB_URL_TEMPLATE", "PORTA_S3_ENDPOINT", "PORTA_MOTO_ENDPOINT"):
        assert "127.0.0.1:1/" in env[name] or env[name] == "127.0.0.1:1", name
    assert (env["PORTA_SMTP_HOST"], env["PORTA_SMTP_PORT"]) == ("127.0.0.1", "1")


def test_a_unit_test_that_reaches_for_postgresql_or_rabbitmq_fails(tmp_path):
    (tmp_path / "test_reaching.py").write_text(
        "from kombu import Connection\n"
        "from sqlalchemy import create_engine\n"
        "from shared.config import load_settings\n\n"
        "def test_asks_for_a_real_service_fixture(db_url):\n"
        "    db_url('crm')\n\n"
        "def test_connects_to_the_database_itself():\n"
        "    create_engine(load_settings().db_url('crm')).connect()\n\n"
        "def test_connects_to_the_broker_itself():\n"
        "    Connection(load_settings().amqp_uri, connect_timeout=2).connect()\n"
    )
    done = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider",
                           "--suppress-nameko-eventlet-notification", f"--rootdir={tmp_path}"],
                          env=unit_env(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    # The fixture fails (devstack fails, never skips, without PostgreSQL); the others are refused.
    assert "2 failed, 1 error" in done.stdout, done.stdout
    assert "PostgreSQL: cannot connect" in done.stdout and "Connection refused" in done.stdout


def test_side_by_side_suites_report_in_order_each_with_its_own_output_and_exit_code(tmp_path, capsys):
    from devstack.suites import run_side_by_side

    slow = Suite("slow", [sys.executable, "-c", "import time; time.sleep(0.5); print('slow out')"], tmp_path / "a")
    failing = Suite("failing", [sys.executable, "-c", "import sys; print('failing out'); sys.exit(3)"], tmp_path / "b")
    outcomes = run_side_by_side([slow, failing], tmp_path, jobs=2)
    assert [(o.suite.name, o.exit_code) for o in outcomes] == [("slow", 0), ("failing", 3)]
    shown = capsys.readouterr().out
    assert shown.index("=== slow") < shown.index("slow out") < shown.index("=== failing") < shown.index("failing out")


def test_make_test_runs_the_last_suite_beside_the_others_and_reports_in_order(tmp_path, capsys):
    from devstack.suites import run_beside_the_rest

    started = tmp_path / "plain-started"
    # The first suite passes only if the last one is already running beside it (it waits for its sign).
    waits = (f"import pathlib, sys, time\nfor _ in range(300):\n    if pathlib.Path({str(started)!r}).exists(): "
             f"print('saw it'); sys.exit(0)\n    time.sleep(0.05)\nsys.exit(1)")
    first = Suite("first", [sys.executable, "-c", waits], tmp_path / "first.xml")
    second = Suite("second", [sys.executable, "-c", "import sys; print('second out'); sys.exit(3)"],
                   tmp_path / "second.xml")
    plain = Suite("plain", [sys.executable, "-c", f"import pathlib; pathlib.Path({str(started)!r}).touch(); "
                                                  "print('plain out')"], tmp_path / "plain.xml")
    outcomes = run_beside_the_rest([first, second, plain], tmp_path)
    assert [(o.suite.name, o.exit_code) for o in outcomes] == [("first", 0), ("second", 3), ("plain", 0)]
    shown = capsys.readouterr().out
    # "=== plain:" twice: announced at the start, its header and output shown when it ends.
    assert shown.index("=== plain: running beside") < shown.index("=== first") < shown.index("=== second")
    assert shown.index("=== second") < shown.rindex("=== plain:") < shown.index("plain out")
    assert (tmp_path / "plain.log").read_text() == "plain out\n"


def test_two_runs_side_by_side_write_their_reports_into_folders_of_their_own(tmp_path):
    full, unit = reports_of_this_run(tmp_path, unit=False), reports_of_this_run(tmp_path, unit=True)
    assert full != unit and full.is_dir() and unit.is_dir()
    another_live_run = tmp_path / f"full-{os.getppid()}"
    another_live_run.mkdir()
    (another_live_run / "plain.xml").write_text("<testsuites/>")
    assert reports_of_this_run(tmp_path, unit=False) == full
    assert (another_live_run / "plain.xml").exists()


def test_the_reports_of_runs_that_ended_are_removed(tmp_path):
    dead = tmp_path / "full-999999999"  # above any pid_max: no such process
    dead.mkdir()
    (dead / "plain.xml").write_text("<testsuites/>")
    reports_of_this_run(tmp_path, unit=False)
    assert not dead.exists()
