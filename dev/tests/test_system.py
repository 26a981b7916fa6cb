import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from devstack.system import PortaSystem, rpc_consumers


def health(amqp_uri: str, service: str) -> dict:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as rpc:
        return getattr(rpc, service).health()


@pytest.fixture
def billing_only(porta_env):
    """A launcher of the run's environment with only billing started (no gateway needed).

    Other tests of the run may have their own billing consuming the same queue (porta_system),
    so counts below are relative to what consumed it before."""
    system = PortaSystem(porta_env)
    system.migrate(["billing"])
    system.consumers_before = rpc_consumers(porta_env["PORTA_AMQP_URI"], "billing")
    system.start("billing")
    yield system
    system.stop_all()


def test_a_service_killed_with_sigkill_serves_again_after_restart(billing_only, amqp_uri):
    before = billing_only.consumers_before
    assert rpc_consumers(amqp_uri, "billing") == before + 1
    killed = billing_only.processes["billing"][0]

    billing_only.kill("billing")
    assert killed.popen.returncode == -9
    assert rpc_consumers(amqp_uri, "billing") == before

    restarted = billing_only.restart("billing")
    assert restarted.alive and restarted.popen.pid != killed.popen.pid
    assert rpc_consumers(amqp_uri, "billing") == before + 1
    assert health(amqp_uri, "billing") == {"service": "billing", "status": "ok"}


def test_a_second_instance_consumes_the_same_queue(billing_only, amqp_uri):
    second = billing_only.start("billing")
    assert second.instance == 2
    assert second.log_path.name == "billing-2.log"
    assert rpc_consumers(amqp_uri, "billing") == billing_only.consumers_before + 2

    billing_only.processes["billing"][0].kill()
    assert second.alive
    assert rpc_consumers(amqp_uri, "billing") == billing_only.consumers_before + 1


def test_stop_all_ends_every_process(porta_env):
    system = PortaSystem(porta_env)
    system.migrate(["billing"])
    first, second = system.start("billing"), system.start("billing")
    system.stop_all()
    assert not first.alive and not second.alive
    assert system.processes == {}


def test_a_service_that_cannot_start_is_reported_with_its_log(porta_env):
    system = PortaSystem(dict(porta_env, PORTA_AMQP_URI="pyamqp://guest:guest@127.0.0.1:1/"))
    with pytest.raises(TimeoutError, match="billing cannot be checked: broker"):
        system.start("billing", timeout=3)
    assert system.processes["billing"] == []  # the process that never served was killed
