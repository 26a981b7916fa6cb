import io
import os
import sys

import pytest
from minio import Minio

from devstack import environment, infra


@pytest.fixture
def own_ports_env(tmp_path):
    """An environment whose S3 and SMTP servers are on free ports, with data under tmp_path."""
    return environment.porta_env({
        "PORTA_VAR_DIR": str(tmp_path),
        **{name: str(tmp_path / folder) for name, folder in environment.DEVSTACK_DIRS.items()},
        "PORTA_TOOLS_DIR": environment.porta_env()["PORTA_TOOLS_DIR"],  # reuse the installed s3rver
        "PORTA_S3_ENDPOINT": f"127.0.0.1:{environment.free_port()}",
        "PORTA_SMTP_PORT": str(environment.free_port()),
        "PORTA_MOTO_ENDPOINT": f"127.0.0.1:{environment.free_port()}",
    }, service_db_urls=False)


def moto_address(env):
    host, _, port = infra.moto_endpoint(env).rpartition(":")
    return host, int(port)


def test_ensure_twice_starts_nothing_the_second_time():
    env = environment.porta_env()
    started = infra.ensure(env)
    try:
        assert infra.ensure(env) == []
        for address in (environment.postgres_address, environment.amqp_address, environment.s3_address,
                        environment.smtp_address):
            assert environment.port_answers(*address(env))
    finally:
        infra.stop(started)


def test_s3_server_serves_what_minio_does_and_keeps_objects_across_a_restart(own_ports_env):
    env = own_ports_env
    big = os.urandom(11 * 1024 * 1024 + 7)
    started = infra.ensure_s3(env)
    assert started is not None and started.name == "s3"
    try:
        client = Minio(env["PORTA_S3_ENDPOINT"], access_key=env["PORTA_S3_ACCESS_KEY"],
                       secret_key=env["PORTA_S3_SECRET_KEY"], secure=False)
        client.make_bucket("keep")
        # Unknown length with a 5 MiB part size: the multipart upload the gateway uses for streams.
        client.put_object("keep", "big.bin", io.BytesIO(big), length=-1, part_size=5 * 1024 * 1024)
    finally:
        started.stop()
    assert not environment.port_answers(*environment.s3_address(env))

    started = infra.ensure_s3(env)
    try:
        assert client.stat_object("keep", "big.bin").size == len(big)
        response = client.get_object("keep", "big.bin", offset=5 * 1024 * 1024 - 3, length=10)
        try:
            assert response.read() == big[5 * 1024 * 1024 - 3:5 * 1024 * 1024 + 7]
        finally:
            response.close()
            response.release_conn()
    finally:
        started.stop()


def test_run_returns_the_command_exit_code_and_stops_what_it_started(own_ports_env):
    env = own_ports_env
    smtp = environment.smtp_address(env)
    moto = moto_address(env)
    code = infra.run(env, [sys.executable, "-c", f"import socket; socket.create_connection({smtp!r}); "
                                                 f"socket.create_connection({moto!r}); exit(3)"])
    assert code == 3
    assert not environment.port_answers(*smtp)
    assert not environment.port_answers(*environment.s3_address(env))
    assert not environment.port_answers(*moto)


def test_up_records_what_it_started_and_down_stops_it(own_ports_env):
    env = own_ports_env
    infra.up(env)
    try:
        assert environment.port_answers(*environment.smtp_address(env))
    finally:
        infra.down(env)
    assert not environment.port_answers(*environment.smtp_address(env))
    assert not environment.port_answers(*environment.s3_address(env))


def test_an_s3_server_refusing_the_credentials_is_reported_clearly(porta_env):
    wrong = dict(porta_env, PORTA_S3_ACCESS_KEY="nobody", PORTA_S3_SECRET_KEY="nothing")
    with pytest.raises(RuntimeError, match="check PORTA_S3_ACCESS_KEY"):
        infra.ensure_bucket(wrong)


def test_the_second_s3_server_serves_what_minio_does_and_stops_again(own_ports_env):
    env = own_ports_env
    started = infra.ensure_moto(env)
    assert started is not None and started.name == "moto"
    try:
        client = Minio(infra.moto_endpoint(env), access_key="any", secret_key="thing", secure=False)
        client.make_bucket("second")
        client.put_object("second", "a/b.txt", io.BytesIO(b"hello"), length=5)
        assert client.get_object("second", "a/b.txt").read() == b"hello"
        assert infra.ensure_moto(env) is None  # answers: left alone
    finally:
        started.stop()
    assert not environment.port_answers(*moto_address(env))
