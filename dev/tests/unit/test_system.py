import os
import signal

import pytest

from devstack.system import interrupts_deferred, service_class, service_names


def test_services_are_the_folders_with_a_nameko_config():
    names = service_names()
    assert "billing" in names and "gateway" not in names
    assert service_class("billing") == "billing.service:BillingService"


class Stop(Exception):
    """What the test's SIGTERM handler raises, as devstack.run's raises KeyboardInterrupt."""


@pytest.fixture
def sigterm_raises_stop():
    def stop(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGTERM, stop)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_inside_interrupts_deferred_stops_the_caller_once_the_block_has_finished(sigterm_raises_stop):
    finished = []
    with pytest.raises(Stop):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            finished.append("the rest of the block")
    assert finished == ["the rest of the block"]
    assert signal.getsignal(signal.SIGTERM).__name__ == "stop"  # the caller's handler is back

