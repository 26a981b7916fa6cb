from pathlib import Path

from devstack.suites import Outcome, Suite, read_report, suites, verdict


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
