"""`make test`: every test suite, each in its own pytest process; fails if any fails.

    python -m devstack.suites [PYTEST ARGS...]

Service suites (services/<name>/tests, and shared/tests) run under `nameko test`, which patches
the process with eventlet before pytest imports anything, as nameko services run. The gateway, the cross-service
tests and the devstack's own run under plain pytest, as gunicorn runs the gateway unpatched.

Every suite runs even after one fails. A suite that collects no test (pytest exit code 5) fails
the run only when no suite ran any test at all. The last line adds up every suite's results.
"""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET  # noqa: S405 (reads the reports pytest just wrote)
from dataclasses import dataclass
from pathlib import Path

from devstack.environment import porta_env, repo_root
from devstack.system import GATEWAY, service_names

NO_TESTS_COLLECTED = 5
PLAIN_PYTEST_DIRS = (f"services/{GATEWAY}/tests", "tests", "dev/tests")


@dataclass
class Suite:
    name: str
    command: list[str]
    report: Path  # pytest's JUnit XML, where the counts come from


@dataclass
class Outcome:
    suite: Suite
    exit_code: int
    passed: int = 0
    failed: int = 0
    skipped: int = 0


def has_tests(folder: Path) -> bool:
    return any(folder.rglob("test_*.py")) or any(folder.rglob("*_test.py"))


def suites(root: Path, report_dir: Path, pytest_args: list[str]) -> list[Suite]:
    nameko = str(Path(sys.executable).with_name("nameko"))
    found = []
    # shared/ is the code every service runs, so its tests run patched like the services'.
    for folder in ["shared/tests", *(f"services/{name}/tests" for name in service_names(root))]:
        if has_tests(root / folder):
            report = report_dir / f"{folder.replace('/', '-')}.xml"
            command = [nameko, "test", folder, f"--junitxml={report}", *pytest_args]
            found.append(Suite(folder, command, report))
    plain = [d for d in PLAIN_PYTEST_DIRS if has_tests(root / d)]
    if plain:
        report = report_dir / "plain.xml"
        # Unpatched on purpose (see above), so nameko's reminder to patch does not apply.
        command = [sys.executable, "-m", "pytest", *plain, f"--junitxml={report}",
                   "--suppress-nameko-eventlet-notification", *pytest_args]
        found.append(Suite(" + ".join(plain), command, report))
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


def run(pytest_args: list[str]) -> int:
    root = repo_root()
    report_dir = Path(porta_env()["PORTA_VAR_DIR"]) / "test-reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    for stale in report_dir.glob("*.xml"):
        stale.unlink()
    outcomes = []
    for suite in suites(root, report_dir, pytest_args):
        print(f"\n=== {suite.name}: {' '.join(suite.command)}", flush=True)
        outcome = Outcome(suite, subprocess.run(suite.command, cwd=root).returncode)
        read_report(outcome, suite.report)
        outcomes.append(outcome)

    print("\n=== summary", flush=True)
    for o in outcomes:
        print(f"{o.suite.name}: exit code {o.exit_code}; {o.passed} passed, {o.failed} failed, {o.skipped} skipped")
    exit_code = verdict(outcomes)
    if not any(o.passed + o.failed for o in outcomes):
        print("no suite ran any test")
    passed, failed, skipped = (sum(getattr(o, count) for o in outcomes) for count in ("passed", "failed", "skipped"))
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return exit_code


def verdict(outcomes: list[Outcome]) -> int:
    """0 when every suite passed or collected nothing, and at least one test ran somewhere."""
    broken = any(o.exit_code not in (0, NO_TESTS_COLLECTED) for o in outcomes)
    ran_any = any(o.passed + o.failed > 0 or o.exit_code == 0 for o in outcomes)
    return 1 if broken or not ran_any else 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
