"""`make test` and `make test-unit`: test suites, each in its own pytest process; fails if any fails.

    python -m devstack.suites [PYTEST ARGS...]           every test (run it inside `devstack.infra run`)
    python -m devstack.suites --unit [PYTEST ARGS...]    only the unit/ folders, with nothing running

Service suites (services/<name>/tests, and shared/tests) run under `nameko test`, which patches
the process with eventlet before pytest imports anything, as nameko services run. The gateway, the cross-service
tests and the devstack's own run under plain pytest, as gunicorn runs the gateway unpatched.

Tests that need no running service live in the `unit/` folder of their suite's folder. `--unit` runs
only those, the same way as their suite (patched or not), with every PORTA_* address of PostgreSQL,
RabbitMQ, S3 and SMTP pointed at a closed port: a unit test that reaches for one fails, however the
machine is set up. `make test` runs each unit test once too, as part of its suite.

Every suite runs even after one fails. A suite that collects no test (pytest exit code 5) fails
the run only when no suite ran any test at all. The last line adds up every suite's results.

Suites share nothing (each pytest session has its own vhost, databases, bucket and ports), so they
run side by side: `--unit` one per core; `make test` in two lanes, the plain-pytest suite (the longest,
mostly waiting on the running system) beside the service suites, which run one after the other.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET  # noqa: S405 (reads the reports pytest just wrote)
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from devstack.environment import SERVICE_DB_URL_VAR, porta_env, repo_root
from devstack.system import GATEWAY, service_names

NO_TESTS_COLLECTED = 5
PLAIN_PYTEST_DIRS = (f"services/{GATEWAY}/tests", "tests", "dev/tests")
UNIT = "unit"  # the sub-folder of a suite's folder holding its tests that need no running service

# Port 1 of the loopback: nothing listens there, so a connection is refused at once.
CLOSED = "127.0.0.1:1"
UNIT_ENV = {
    "PORTA_AMQP_URI": f"pyamqp://guest:guest@{CLOSED}/",
    "PORTA_DB_URL_TEMPLATE": f"postgresql+psycopg2://postgres@{CLOSED}/porta_{{service}}",
    "PORTA_S3_ENDPOINT": CLOSED,
    "PORTA_MOTO_ENDPOINT": CLOSED,  # the tests' second S3 server (devstack.infra)
    "PORTA_SMTP_HOST": "127.0.0.1",
    "PORTA_SMTP_PORT": "1",
    "PORTA_CLAMD_ADDRESS": "",  # the default: no virus scanner, rather than one the shell happens to name
}


@dataclass
class Suite:
    name: str
    command: list[str]
    report: Path  # pytest's JUnit XML, where the counts come from
    env: Mapping[str, str] | None = None  # None: this process's environment


@dataclass
class Outcome:
    suite: Suite
    exit_code: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0


def has_tests(folder: Path) -> bool:
    return any(folder.rglob("test_*.py")) or any(folder.rglob("*_test.py"))


def unit_env(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with every address of a running component pointed at a closed port, and no
    per-service database URL (PORTA_<SERVICE>_DB_URL) left to find a real database by."""
    kept = {name: value for name, value in environ.items() if not SERVICE_DB_URL_VAR.fullmatch(name)}
    return {**kept, **UNIT_ENV}


def suites(root: Path, report_dir: Path, pytest_args: list[str], unit: bool = False) -> list[Suite]:
    """Every suite of the checkout; with `unit`, only their unit/ folders, with the closed-port environment."""
    nameko = str(Path(sys.executable).with_name("nameko"))
    env = unit_env(os.environ) if unit else None

    def tier(folder: str) -> str:
        return f"{folder}/{UNIT}" if unit else folder

    found = []
    # shared/ is the code every service runs, so its tests run patched like the services'.
    for folder in [tier("shared/tests"), *(tier(f"services/{name}/tests") for name in service_names(root))]:
        if has_tests(root / folder):
            report = report_dir / f"{folder.replace('/', '-')}.xml"
            command = [nameko, "test", folder, f"--junitxml={report}", *pytest_args]
            found.append(Suite(folder, command, report, env))
    plain = [tier(d) for d in PLAIN_PYTEST_DIRS if has_tests(root / tier(d))]
    if plain:
        report = report_dir / ("plain-unit.xml" if unit else "plain.xml")
        # Unpatched on purpose (see above), so nameko's reminder to patch does not apply.
        command = [sys.executable, "-m", "pytest", *plain, f"--junitxml={report}",
                   "--suppress-nameko-eventlet-notification", *pytest_args]
        found.append(Suite(" + ".join(plain), command, report, env))
    return found


def read_report(outcome: Outcome, report: Path) -> None:
    """Count results from pytest's JUnit XML report (absent when pytest stopped before running)."""
    if not report.exists():
        return
    for suite in ET.parse(report).getroot().iter("testsuite"):  # noqa: S314 (our own file)
        errors, failures, skipped = (int(suite.get(k, 0)) for k in ("errors", "failures", "skipped"))
        outcome.failed += errors + failures
        outcome.skipped += skipped
        outcome.passed += int(suite.get("tests", 0)) - errors - failures - skipped


def reports_of_this_run(base: Path, unit: bool) -> Path:
    """A folder per run (`full-<pid>`, `unit-<pid>`), so two runs side by side never read or delete each
    other's reports; folders of runs whose process is gone are removed."""
    base.mkdir(parents=True, exist_ok=True)
    for earlier in base.glob("*-*"):
        pid = earlier.name.rpartition("-")[2]
        if earlier.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(earlier, ignore_errors=True)
    mine = base / f"{UNIT if unit else 'full'}-{os.getpid()}"
    mine.mkdir(exist_ok=True)
    for stale in mine.glob("*.xml"):  # a reused pid
        stale.unlink()
    return mine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def run(pytest_args: list[str], unit: bool = False) -> int:
    root = repo_root()
    report_dir = reports_of_this_run(Path(porta_env()["PORTA_VAR_DIR"]) / "test-reports", unit)
    found = suites(root, report_dir, pytest_args, unit=unit)
    # Unit suites run side by side, one per core; their output is shown suite by suite. The full suites
    # in two lanes (run_beside_the_rest), the service suites' output as it comes.
    outcomes = run_side_by_side(found, root, os.cpu_count() or 1) if unit else run_beside_the_rest(found, root)
    for outcome in outcomes:
        read_report(outcome, outcome.suite.report)

    print("\n=== summary", flush=True)
    for o in outcomes:
        print(f"{o.suite.name}: exit code {o.exit_code}; {o.passed} passed, {o.failed} failed, {o.skipped} skipped")
    exit_code = verdict(outcomes)
    if not any(o.passed + o.failed for o in outcomes):
        print("no suite ran any test")
    passed, failed, skipped = (sum(getattr(o, count) for o in outcomes) for count in ("passed", "failed", "skipped"))
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return exit_code


def _header(suite: Suite) -> str:
    return f"\n=== {suite.name}: {' '.join(suite.command)}"


def run_one(suite: Suite, root: Path) -> Outcome:
    print(_header(suite), flush=True)
    return Outcome(suite, subprocess.run(suite.command, cwd=root, env=suite.env).returncode)


def run_beside_the_rest(found: list[Suite], root: Path) -> list[Outcome]:
    """The last suite (the plain-pytest one, the longest) in the background from the start, its output into
    a log file beside its report and shown once it ends; the others one after the other beside it, their
    output as it comes. Outcomes in the order of `found`."""
    if len(found) < 2:
        return [run_one(suite, root) for suite in found]
    *rest, longest = found
    log_path = longest.report.with_suffix(".log")
    print(f"\n=== {longest.name}: running beside the others, its output in {log_path} (shown when it ends)",
          flush=True)
    # A SIGTERM (devstack.infra run forwards one) unwinds through the finally below like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with open(log_path, "w") as log:
            background = subprocess.Popen(longest.command, cwd=root, env=longest.env, stdout=log,
                                          stderr=subprocess.STDOUT)
            try:
                outcomes = [run_one(suite, root) for suite in rest]
                exit_code = background.wait()
            finally:
                if background.poll() is None:
                    background.terminate()
                    background.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(_header(longest), flush=True)
    print(log_path.read_text(errors="replace"), end="", flush=True)
    return [*outcomes, Outcome(longest, exit_code)]


def run_side_by_side(found: list[Suite], root: Path, jobs: int) -> list[Outcome]:
    def run_quietly(suite: Suite) -> subprocess.CompletedProcess:
        return subprocess.run(suite.command, cwd=root, env=suite.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    outcomes = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        # The plain-pytest suite (last) is the longest: started first, it is not left running alone at the end.
        running = {suite.name: pool.submit(run_quietly, suite) for suite in reversed(found)}
        for suite in found:
            done = running[suite.name].result()
            print(_header(suite), flush=True)
            print(done.stdout, end="", flush=True)
            outcomes.append(Outcome(suite, done.returncode))
    return outcomes


def verdict(outcomes: list[Outcome]) -> int:
    """0 when every suite passed or collected nothing, and at least one test ran somewhere."""
    broken = any(o.exit_code not in (0, NO_TESTS_COLLECTED) for o in outcomes)
    ran_any = any(o.passed + o.failed > 0 or o.exit_code == 0 for o in outcomes)
    return 1 if broken or not ran_any else 0


def main(argv: list[str]) -> int:
    unit = argv[:1] == ["--unit"]
    return run(argv[1:] if unit else argv, unit=unit)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
