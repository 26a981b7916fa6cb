"""RpcClient against the real RabbitMQ and a real nameko service (`nameko run` in a subprocess).

Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and `rabbitmqctl` on this machine: the tests
create their own vhost and delete it afterwards. They fail, never skip, when either is missing.
Plain pytest, no eventlet in this process: `.venv/bin/pytest services/gateway/tests/test_rpc.py`.

No test depends on how fast this machine is: a service answers when the test releases it (`hold`)
or once every caller is in (`gather`), and a bound on elapsed time is only there to tell an answer
from a timeout many times longer.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.rpc import RpcClient
from shared.errors import NotFound, ServiceTimeout, ServiceUnavailable, UpstreamError

HERE = Path(__file__).resolve().parent
BROKER = "127.0.0.1:5672"


def ctl(*args: str) -> str:
    rabbitmqctl = shutil.which("rabbitmqctl")
    assert rabbitmqctl, "rabbitmqctl is needed to run these tests against the local RabbitMQ"
    done = subprocess.run([rabbitmqctl, "-q", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def amqp_uri():
    vhost = f"porta-test-rpc-{uuid.uuid4().hex[:8]}"
    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"pyamqp://guest:guest@{BROKER}/{vhost}"
    finally:
        ctl("delete_vhost", vhost)


def vhost_of(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def run_service(uri: str, config_dir: Path, cls: str) -> subprocess.Popen:
    """`nameko run rpc_echo_service:<cls>` with 20 workers, under a fresh service name."""
    name = f"echo_{uuid.uuid4().hex[:6]}"
    config = config_dir / f"{name}.yaml"
    config.write_text(f"AMQP_URI: {uri}\nmax_workers: 20\n")
    nameko = str(Path(sys.executable).with_name("nameko"))
    proc = subprocess.Popen(
        [nameko, "run", "--config", str(config), f"rpc_echo_service:{cls}"],
        cwd=HERE, env={**os.environ, "RPC_ECHO_NAME": name},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    proc.service_name = name
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(uri: str, config_dir: Path, cls: str):
    proc = run_service(uri, config_dir, cls)
    probe = RpcClient(uri, timeout=2, client_name="probe")
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"nameko run exited: {proc.stderr.read()}"
            try:
                probe.call(proc.service_name, "echo")
                break
            except (ServiceUnavailable, ServiceTimeout):
                assert time.monotonic() < deadline, f"{cls} did not come up within 90 s"
                time.sleep(0.2)
        yield proc.service_name
    finally:
        probe.close()
        stop(proc)


@pytest.fixture(scope="module")
def service(amqp_uri, tmp_path_factory):
    """The echo service on shared.rpc.rpc, the entrypoint Porta services use."""
    with running(amqp_uri, tmp_path_factory.mktemp("nameko"), "EchoService") as name:
        yield name


@pytest.fixture(scope="module")
def stock_service(amqp_uri, tmp_path_factory):
    """The echo service on nameko's own @rpc (reply with confirm, through kombu's pool)."""
    with running(amqp_uri, tmp_path_factory.mktemp("nameko"), "StockEchoService") as name:
        yield name


@pytest.fixture
def client(amqp_uri):
    rpc = RpcClient(amqp_uri, timeout=5, client_name=f"test-{uuid.uuid4().hex[:6]}")
    yield rpc
    rpc.close()


def broker_connection_pid(rpc: RpcClient) -> str:
    """The broker's id of this client's connection, found by the client's local port."""
    port = rpc._link.conn.transport.sock.getsockname()[1]
    for line in ctl("list_connections", "--no-table-headers", "pid", "peer_port").splitlines():
        pid, _, peer_port = line.rpartition("\t")
        if peer_port.strip() == str(port):
            return pid.strip()
    raise AssertionError(f"no broker connection from local port {port}")


def broker_connection_named(name: str) -> str:
    for line in ctl("list_connections", "--no-table-headers", "pid", "client_properties").splitlines():
        if f'{{"connection_name","{name}' in line:
            return line.split("\t", 1)[0].strip()
    raise AssertionError(f"no broker connection named {name!r}")


def reply_queues(uri: str, client_name: str) -> list[str]:
    out = ctl("list_queues", "-p", vhost_of(uri), "--no-table-headers", "name")
    return [q for q in out.split() if q.startswith(f"rpc.reply-{client_name}-")]


def wait_until(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# --- the protocol ------------------------------------------------------------------------------


def test_result_round_trip_with_kwargs(client, service):
    kwargs = {"a": 1, "b": "x", "nested": {"list": [1, 2.5, None], "flag": True}}
    assert client.call(service, "echo", **kwargs) == {"kwargs": kwargs}


def test_context_data_reaches_the_service(client, service):
    context = {"request_id": "req-1", "firm_id": "firm-1", "user_id": "user-1", "user_kind": "staff"}
    seen = client.call(service, "context", context=context)
    data = seen["data"]
    assert {k: data[k] for k in context} == context
    assert re.fullmatch(r"[0-9a-f]{32}", data["call_key"])
    # Our call-id stack entry, then nameko's own for this hop.
    assert len(seen["call_id_stack"]) == 2
    assert seen["call_id_stack"][0].startswith(f"{client.client_name}.{service}.context.")
    assert seen["call_id_stack"][1].startswith(f"{service}.context.")


def test_call_key_is_fresh_for_every_call(client, service):
    keys = {client.call(service, "context")["data"]["call_key"] for _ in range(5)}
    assert len(keys) == 5
    # A caller cannot pick the key: the client always sets its own.
    forced = client.call(service, "context", context={"call_key": "mine"})["data"]["call_key"]
    assert forced != "mine" and forced not in keys


def test_remote_domain_error_keeps_its_type_and_description(client, service):
    with pytest.raises(NotFound) as caught:
        client.call(service, "not_found", what="invoice")
    assert caught.value.description == "No invoice here."
    assert caught.value.errors == {"what": "invoice"}


def test_unknown_remote_exception_is_an_upstream_error(client, service):
    with pytest.raises(UpstreamError):
        client.call(service, "broken")
    with pytest.raises(UpstreamError):  # nameko's MethodNotFound is not ours either
        client.call(service, "no_such_method")


def test_unknown_service_is_unavailable_at_once(amqp_uri, service):
    rpc = RpcClient(amqp_uri, timeout=60)
    try:
        rpc.call(service, "echo")  # connected already: measure the call, not the connect
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):  # not ServiceTimeout after 60 s
            rpc.call(f"nobody_{uuid.uuid4().hex[:6]}", "echo")
        assert time.monotonic() - started < 30
    finally:
        rpc.close()


def test_slow_method_times_out_at_the_timeout_and_the_late_reply_is_dropped(amqp_uri, service, tmp_path, caplog):
    release = tmp_path / "release"
    rpc = RpcClient(amqp_uri, timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceTimeout):
            rpc.call(service, "hold", release=str(release))  # answers only once released
        elapsed = time.monotonic() - started
        assert elapsed >= 1.0  # never before the timeout
        assert elapsed < 15  # and at it, not at some later moment (however slow this machine)
        with caplog.at_level(logging.DEBUG, logger="gateway.rpc"):
            release.touch()  # the late reply goes out now; it must not be taken for the next call's
            wait_until(lambda: "reply for an unknown or timed-out call" in caplog.text)
        assert rpc.call(service, "echo", n=2) == {"kwargs": {"n": 2}}
    finally:
        release.touch()
        rpc.close()


def test_a_request_nobody_took_expires_with_its_timeout(amqp_uri):
    """A stopped service leaves its durable queue: the call times out, and the request is dropped
    by the broker rather than executed when the service comes back, long after the caller gave up."""
    import amqp

    ghost = f"ghost_{uuid.uuid4().hex[:6]}"
    conn = amqp.Connection(BROKER, virtual_host=vhost_of(amqp_uri))
    conn.connect()
    try:
        channel = conn.channel()
        channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
        channel.queue_declare(f"rpc-{ghost}", durable=True, auto_delete=False)
        channel.queue_bind(f"rpc-{ghost}", "nameko-rpc", f"{ghost}.*")
        rpc = RpcClient(amqp_uri, timeout=1.0)
        try:
            with pytest.raises(ServiceTimeout):
                rpc.call(ghost, "echo")
        finally:
            rpc.close()
        wait_until(lambda: channel.queue_declare(f"rpc-{ghost}", passive=True).message_count == 0)
        channel.queue_delete(f"rpc-{ghost}")
    finally:
        conn.close()


def test_concurrent_calls_do_not_queue_behind_each_other(amqp_uri, service):
    """20 threads share one client; the service answers each only once all 20 calls are in at once
    (`gather`): calls sent one after the other would each answer False (or time out)."""
    rpc = RpcClient(amqp_uri, timeout=60)
    key = uuid.uuid4().hex
    results: list[bool] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(rpc.call(service, "gather", key=key, count=20, wait=10))
        except BaseException as exc:
            errors.append(exc)

    try:
        rpc.call(service, "echo")
        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads)
        assert not errors
        assert results == [True] * 20
    finally:
        rpc.close()


def test_stock_nameko_rpc_speaks_the_same_protocol(client, stock_service):
    assert client.call(stock_service, "echo", a=[1, "two"]) == {"kwargs": {"a": [1, "two"]}}
    assert client.call(stock_service, "context", context={"request_id": "r9"})["data"]["request_id"] == "r9"
    with pytest.raises(NotFound) as caught:
        client.call(stock_service, "not_found", what="client")
    assert caught.value.description == "No client here."


# --- shared.rpc on the service side ------------------------------------------------------------------


def test_service_reply_connection_closed_by_the_broker_is_replaced(client, service):
    """shared.rpc publishes replies on a kept connection: a closed one must not lose the next reply."""
    client.call(service, "echo")
    ctl("close_connection", broker_connection_named(f"{service} rpc-replies"), "test: forced close")
    for n in range(3):  # each answered (a lost reply is a ServiceTimeout)
        assert client.call(service, "echo", n=n) == {"kwargs": {"n": n}}
    broker_connection_named(f"{service} rpc-replies")  # and a new one is open


def test_service_mixing_rpc_flavours_refuses_to_start(amqp_uri, tmp_path):
    proc = run_service(amqp_uri, tmp_path, "MixedService")
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise AssertionError("a service mixing shared.rpc.rpc and nameko.rpc.rpc started") from None
    assert proc.returncode != 0
    assert "use shared.rpc.rpc for every RPC method" in proc.stderr.read()


# --- failures of the broker connection ----------------------------------------------------------


def test_broker_unreachable_is_service_unavailable():
    rpc = RpcClient("pyamqp://guest:guest@127.0.0.1:1/", timeout=60)  # lazy: constructing does not connect
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        rpc.call("anything", "echo")
    with pytest.raises(ServiceUnavailable):  # and the next call fails fast too
        rpc.call("anything", "echo")
    assert time.monotonic() - started < 30  # at once, not after the 60 s timeout
    rpc.close()


def test_calls_work_again_after_the_broker_closes_the_connection(client, service):
    assert client.call(service, "echo", n=1) == {"kwargs": {"n": 1}}
    old_link = client._link
    ctl("close_connection", broker_connection_pid(client), "test: forced close")
    wait_until(lambda: old_link.dead)
    assert client.call(service, "echo", n=2) == {"kwargs": {"n": 2}}
    assert client._link is not old_link


def test_calls_work_again_after_the_socket_drops(client, service):
    """A connection lost without an AMQP goodbye (network cut, broker killed)."""
    client.call(service, "echo")
    old_link = client._link
    old_link.conn.transport.sock.shutdown(socket.SHUT_RDWR)
    assert client.call(service, "echo", n=3) == {"kwargs": {"n": 3}}
    assert client._link is not old_link and old_link.dead


def test_a_call_in_flight_fails_fast_when_the_connection_drops(amqp_uri, service, tmp_path):
    arrived, release = tmp_path / "arrived", tmp_path / "release"
    rpc = RpcClient(amqp_uri, timeout=60)
    try:
        rpc.call(service, "echo")
        outcome: list[BaseException | object] = []

        def slow() -> None:
            try:
                outcome.append(rpc.call(service, "hold", release=str(release), arrived=str(arrived)))
            except BaseException as exc:
                outcome.append(exc)

        caller = threading.Thread(target=slow)
        caller.start()
        wait_until(arrived.exists)  # the service has the request: the call is in flight
        ctl("close_connection", broker_connection_pid(rpc), "test: forced close")
        caller.join(30)
        assert not caller.is_alive()  # it did not wait for its 60 s timeout (the service still holds it)
        assert isinstance(outcome[0], ServiceUnavailable)
        assert rpc.call(service, "echo", n=4) == {"kwargs": {"n": 4}}
    finally:
        release.touch()
        rpc.close()


# --- no leaked reply queues; fork safety -------------------------------------------------------------


def test_reply_queue_goes_away_on_close(amqp_uri, service):
    name = f"leak-{uuid.uuid4().hex[:6]}"
    rpc = RpcClient(amqp_uri, timeout=5, client_name=name)
    rpc.call(service, "echo")
    assert len(reply_queues(amqp_uri, name)) == 1
    rpc.close()
    wait_until(lambda: reply_queues(amqp_uri, name) == [])
    with pytest.raises(ServiceUnavailable):
        rpc.call(service, "echo")


def test_reply_queue_goes_away_when_the_process_is_killed(amqp_uri, service):
    name = f"killed-{uuid.uuid4().hex[:6]}"
    script = (
        "import sys, time; from gateway.rpc import RpcClient;"
        f"c = RpcClient({amqp_uri!r}, client_name={name!r}); c.call({service!r}, 'echo');"
        "print('ready', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert len(reply_queues(amqp_uri, name)) == 1
    finally:
        proc.kill()
        proc.wait()
    wait_until(lambda: reply_queues(amqp_uri, name) == [], seconds=10)


def _call_in_child(rpc: RpcClient, service: str, out: multiprocessing.Queue) -> None:
    try:
        out.put(("ok", rpc.call(service, "echo", pid=os.getpid()), id(rpc._link)))
    except BaseException as exc:
        out.put(("error", repr(exc), None))


def test_forked_child_gets_its_own_connection(client, service):
    """gunicorn forks workers after import: a child must never use the parent's socket."""
    client.call(service, "echo")
    parent_link = client._link
    fork = multiprocessing.get_context("fork")
    out = fork.Queue()
    child = fork.Process(target=_call_in_child, args=(client, service, out))
    child.start()
    status, result, child_link_id = out.get(timeout=60)
    child.join(30)
    assert status == "ok", result
    assert result == {"kwargs": {"pid": child.pid}}
    assert child.exitcode == 0
    # The parent's connection is untouched by the child's reconnect.
    assert client._link is parent_link and not parent_link.dead
    assert client.call(service, "echo", n=5) == {"kwargs": {"n": 5}}
