"""pytest plugin (entry point `porta`): the one place for fixtures that use real services.

Each test run (pytest session) is isolated from the developer's data and from other runs by a run
id: its own RabbitMQ vhost `porta-test-<id>`, databases `porta_t<id>_<service>`, bucket
`porta-test-<id>`, SMTP server on a free port with its own Maildir, gateway on a free port, and a
PORTA_VAR_DIR under pytest's temporary folder (process logs land in its log/). All are removed at
the end of the run. PostgreSQL, RabbitMQ and the S3 server must answer (`python -m devstack.infra`
starts them; `make test` does it for you): when one does not, the fixture fails, it never skips.

Fixtures: porta_env, amqp_uri, nameko_config, service_config, started_service, db_url, migrated, s3_client,
bucket, mailbox, porta_system, clamd. Nothing happens unless a test asks for one of them. A test that starts
nameko containers fails at once under plain pytest (unpatched by eventlet, it would hang).
"""
from __future__ import annotations

import contextlib
import dataclasses
import email
import email.policy
import mailbox as maildir_lib
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest

from devstack import clamav, environment, infra
from devstack.seal import with_seal
from devstack.system import GATEWAY, STREAM, PortaSystem


def _fail(component: str, problem: object) -> None:
    pytest.fail(
        f"{component}: {problem}\nThe real-service fixtures need PostgreSQL, RabbitMQ and the S3 server running: "
        "start them with `python -m devstack.infra` (`make test` does it for you).",
        pytrace=False,
    )


def _rabbitmqctl(*args: str) -> None:
    command = infra.find_command("rabbitmqctl")
    if command is None:
        _fail("RabbitMQ", "rabbitmqctl not found (the tests make one vhost per run with it)")
    done = subprocess.run([command, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        _fail("RabbitMQ", f"rabbitmqctl {' '.join(args)} failed: {done.stderr or done.stdout}")


def _run_vhost(base_uri: str, vhost: str) -> str:
    """Create the run's vhost, open to the user of `base_uri`; returns the URI pointing at it."""
    parts = urlsplit(base_uri)
    if not environment.port_answers(parts.hostname or "127.0.0.1", parts.port or 5672):
        _fail("RabbitMQ", f"nothing answers at {parts.hostname}:{parts.port or 5672} (PORTA_AMQP_URI)")
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, unquote(parts.username or "guest"), ".*", ".*", ".*")
    return urlunsplit(parts._replace(path=f"/{vhost}"))


def _run_db_template(base_template: str, run_id: str) -> str:
    """The database URL template of the run: same server, databases named porta_t<id>_<service>."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(base_template.format(service="postgres")).set(database="postgres")
    engine = create_engine(server)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means the same thing here
        _fail("PostgreSQL", f"cannot connect to {server.render_as_string(hide_password=True)}: {error}")
    finally:
        engine.dispose()
    run_url = server.set(database=f"porta_t{run_id}_SERVICE").render_as_string(hide_password=False)
    return run_url.replace("SERVICE", "{service}")


def _drop_run_databases(template: str, run_id: str) -> None:
    """Drop every database of the run, including any a test created itself."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(template.format(service="x")).set(database="postgres")
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            names = connection.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
                {"pattern": f"porta\\_t{run_id}\\_%"},
            ).scalars()
            for name in list(names):
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def _minio(env: dict[str, str]) -> Any:
    from minio import Minio

    return Minio(env["PORTA_S3_ENDPOINT"], access_key=env["PORTA_S3_ACCESS_KEY"],
                 secret_key=env["PORTA_S3_SECRET_KEY"], secure=env["PORTA_S3_SECURE"] == "true")


def _create_bucket(env: dict[str, str]) -> None:
    host, port = environment.s3_address(env)
    if not environment.port_answers(host, port):
        _fail("S3", f"nothing answers at {host}:{port} (PORTA_S3_ENDPOINT)")
    try:
        _minio(env).make_bucket(env["PORTA_S3_BUCKET"])
    except Exception as error:  # wrong credentials, a broken server...: report whatever it said
        _fail("S3", f"cannot create bucket {env['PORTA_S3_BUCKET']} at {host}:{port}: {error}")


def _remove_bucket(env: dict[str, str]) -> None:

    client, bucket = _minio(env), env["PORTA_S3_BUCKET"]
    # One by one: s3rver's multi-object delete fails (500) on several keys under one prefix.
    for item in client.list_objects(bucket, recursive=True):
        client.remove_object(bucket, item.object_name)
    client.remove_bucket(bucket)


def _start_mail_server(env: dict[str, str]) -> subprocess.Popen:
    host, port = environment.smtp_address(env)
    process = infra.start_daemon("smtp", infra.mail_server_command(host, port, Path(env["PORTA_MAIL_DIR"])), env)
    try:
        environment.wait_for_port(host, port, timeout=30, process=process)
    except (RuntimeError, TimeoutError) as error:
        infra.stop_process_group(process.pid)
        _fail("SMTP", f"{error}; see {env['PORTA_LOG_DIR']}/smtp.log")
    return process


@pytest.fixture(scope="session")
def porta_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Every PORTA_* variable of this test run, also set in os.environ for the whole run."""
    run_id = secrets.token_hex(4)
    base = environment.porta_env(service_db_urls=False)
    var_dir = tmp_path_factory.mktemp(f"porta-{run_id}")
    http_port = environment.free_port()
    overrides = {
        "PORTA_VAR_DIR": str(var_dir),
        "PORTA_MAIL_DIR": str(var_dir / "mail"),
        "PORTA_LOG_DIR": str(var_dir / "log"),
        "PORTA_S3_DATA_DIR": base["PORTA_S3_DATA_DIR"],  # the shared S3 server's, not the run's
        "PORTA_TOOLS_DIR": base["PORTA_TOOLS_DIR"],
        "PORTA_S3_BUCKET": f"porta-test-{run_id}",
        "PORTA_SMTP_HOST": "127.0.0.1",
        "PORTA_SMTP_PORT": str(environment.free_port()),
        "PORTA_HTTP_HOST": "127.0.0.1",
        "PORTA_HTTP_PORT": str(http_port),
        "PORTA_METRICS_PORT": str(environment.free_port()),
        "PORTA_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
        # The stream process (gateway.stream): its own port, and the socket the gateway hands it streams through.
        "PORTA_STREAM_PORT": str(environment.free_port()),
        "PORTA_STREAM_HANDOFF": str(var_dir / "stream.sock"),
        # Card payments with the `test` provider, and Stripe's API at a stand-in a payments test starts there.
        "PORTA_PAYMENTS_TEST_MODE": "true",
        "PORTA_STRIPE_API_BASE": f"http://127.0.0.1:{environment.free_port()}",
    }
    with contextlib.ExitStack() as cleanup:
        overrides["PORTA_DB_URL_TEMPLATE"] = _run_db_template(base["PORTA_DB_URL_TEMPLATE"], run_id)
        cleanup.callback(_drop_run_databases, overrides["PORTA_DB_URL_TEMPLATE"], run_id)
        vhost = f"porta-test-{run_id}"
        overrides["PORTA_AMQP_URI"] = _run_vhost(base["PORTA_AMQP_URI"], vhost)
        cleanup.callback(_rabbitmqctl, "delete_vhost", vhost)
        env = with_seal(environment.porta_env(overrides, service_db_urls=False))  # a seal of the run's own
        _create_bucket(env)
        cleanup.callback(_remove_bucket, env)
        mail_server = _start_mail_server(env)
        cleanup.callback(infra.stop_process_group, mail_server.pid)
        with pytest.MonkeyPatch.context() as patch:
            for name in [n for n in os.environ if environment.SERVICE_DB_URL_VAR.fullmatch(n)]:
                patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            yield env


@pytest.fixture(scope="session")
def amqp_uri(porta_env: dict[str, str]) -> str:
    """The run's RabbitMQ vhost."""
    return porta_env["PORTA_AMQP_URI"]


@pytest.fixture
def nameko_config(amqp_uri: str) -> dict[str, Any]:
    """Config for nameko's `container_factory(Service, nameko_config)` / `runner_factory`."""
    return {"AMQP_URI": amqp_uri}


@pytest.fixture
def service_config(nameko_config: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """`service_config("crm", db_url=url, clamd_address=...)`: config for a container of that service:
    the run's settings (shared.config.Settings), with that database and any other field replaced."""
    from shared.config import SETTINGS_KEY, load_settings

    def make(service: str, db_url: str | None = None, **fields: Any) -> dict[str, Any]:
        settings = load_settings()
        if db_url is not None:
            fields["db_urls"] = {**settings.db_urls, service: db_url}
        return {**nameko_config, SETTINGS_KEY: dataclasses.replace(settings, **fields)}

    return make


@pytest.fixture
def started_service(container_factory: Any, service_config: Callable[..., dict[str, Any]],
                    migrated: Callable[[str], str]) -> Callable[..., Any]:
    """`call_as = started_service(ChatsService)`: that service in a container on its migrated database
    of this run; `with call_as(firm_id, kind="staff", user_id=None) as proxy:` calls it over RPC as a
    user of that firm (no firm: as nobody). Service tests need nothing else to call a service."""
    from nameko.standalone.rpc import ServiceRpcProxy

    def start(service_class: type, **settings: Any) -> Callable[..., Any]:
        name = service_class.name
        config = service_config(name, db_url=migrated(name), **settings)
        container_factory(service_class, config).start()

        @contextlib.contextmanager
        def call_as(firm_id: str | None = None, kind: str = "staff", user_id: str | None = None) -> Iterator[Any]:
            caller = {"firm_id": firm_id, "user_id": user_id or str(uuid.uuid4()), "user_kind": kind} if firm_id else {}
            with ServiceRpcProxy(name, config, timeout=10, context_data=caller) as proxy:
                yield proxy

        return call_as

    return start


@pytest.fixture(scope="session")
def db_url(porta_env: dict[str, str]) -> Callable[[str], str]:
    """`db_url("crm")`: the URL of that service's database in this run (not created)."""
    return lambda service: porta_env["PORTA_DB_URL_TEMPLATE"].format(service=service)


@pytest.fixture(scope="session")
def migrated(porta_env: dict[str, str], db_url: Callable[[str], str]) -> Callable[[str], str]:
    """`migrated("crm")`: that service's database of this run, created and at head; returns its URL."""
    done: set[str] = set()
    system = PortaSystem(porta_env)

    def migrate(service: str) -> str:
        if service not in done:
            system.migrate([service])
            done.add(service)
        return db_url(service)

    return migrate


@pytest.fixture(scope="session")
def s3_client(porta_env: dict[str, str]) -> Any:
    """A minio.Minio client of the S3 server."""
    return _minio(porta_env)


@pytest.fixture(scope="session")
def bucket(porta_env: dict[str, str]) -> str:
    """The run's bucket (PORTA_S3_BUCKET), emptied and removed at the end of the run."""
    return porta_env["PORTA_S3_BUCKET"]


class Mailbox:
    """The messages the run's SMTP server received since this object was made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._maildir = maildir_lib.Maildir(path, factory=None)
        self._earlier = set(self._maildir.keys())

    def messages(self) -> list[EmailMessage]:
        """Parsed messages, oldest first. X-MailFrom / X-RcptTo hold the SMTP envelope."""
        keys = [key for key in self._maildir.keys() if key not in self._earlier]
        keys.sort(key=lambda key: (self._maildir.get_message(key).get_date(), key))
        return [email.message_from_bytes(self._maildir.get_bytes(k), policy=email.policy.default) for k in keys]

    def wait_for(self, predicate: Callable[[EmailMessage], bool] = lambda message: True,
                 timeout: float = 10.0) -> EmailMessage:
        """The first message satisfying `predicate`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.messages()
            for message in received:
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                seen = [f"{m['Subject']!r} to {m['X-RcptTo']}" for m in received]
                raise AssertionError(f"no matching message after {timeout}s; received {len(seen)}: {seen}")
            time.sleep(0.1)


@pytest.fixture
def mailbox(porta_env: dict[str, str]) -> Mailbox:
    """Mail sent to the run's SMTP server (PORTA_SMTP_HOST/PORT) during this test."""
    return Mailbox(Path(porta_env["PORTA_MAIL_DIR"]))


@pytest.fixture(scope="session")
def clamd_daemon(porta_env: dict[str, str]) -> Iterator[clamav.ClamdDaemon]:
    """The run's clamd (devstack.clamav), started on first use; tests take `clamd`, which restarts it if
    an earlier test stopped it."""
    daemon = clamav.ClamdDaemon(Path(porta_env["PORTA_VAR_DIR"]) / "clamd", porta_env)
    yield daemon
    daemon.stop()


@pytest.fixture
def clamd(clamd_daemon: clamav.ClamdDaemon) -> clamav.ClamdDaemon:
    """A running clamd whose only signature is EICAR (`clamav.EICAR`): `.address` (host:port for
    PORTA_CLAMD_ADDRESS), `.socket_path`, `.stream_max_length` (2 MiB), `.stop()`, `.start()`.
    Debian's clamav-daemon is installed with apt when missing."""
    try:
        clamd_daemon.start()
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as error:
        pytest.fail(f"clamd: {error}", pytrace=False)
    return clamd_daemon


# The session's running system, so each test's teardown can put it back in shape (see below).
_running_systems: list[PortaSystem] = []


@pytest.fixture(scope="session")
def porta_system(porta_env: dict[str, str]) -> Iterator[PortaSystem]:
    """Every service and the gateway, running with the run's environment: `.url`, `.kill(name)`,
    `.start(name)` (one more instance), `.restart(name)`. After every test, whatever it killed or
    added, each service and the gateway run as one process again."""
    system = PortaSystem(porta_env)
    try:
        system.migrate()
        system.start_all()
    except (RuntimeError, TimeoutError) as error:
        system.stop_all()
        _fail("Porta", f"could not start every service and the gateway: {error}")
    _running_systems.append(system)
    yield system
    _running_systems.remove(system)
    system.stop_all()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that starts nameko containers fails at once under plain pytest, where it would hang: nameko
    services need eventlet's monkey patching, which `nameko test` (what `make test` runs) applies first."""
    if {"container_factory", "runner_factory"} & set(getattr(item, "fixturenames", ())) and not _eventlet_patched():
        pytest.fail(f"{item.nodeid} starts nameko containers: run it with `nameko test`, not plain pytest "
                    "(nameko services need eventlet's monkey patching)", pytrace=False)


def _eventlet_patched() -> bool:
    import eventlet.patcher  # here, not at import: the plain-pytest suites need not load it

    return eventlet.patcher.is_monkey_patched("socket")


def pytest_runtest_teardown(item: pytest.Item) -> None:
    for system in _running_systems:
        reset(system)


def reset(system: PortaSystem) -> None:
    """Back to one running process per service and gateway; does nothing when that is already so."""
    changed = False
    for name in [*system.services(), GATEWAY, STREAM]:
        known = system.processes.get(name, [])
        running = [p for p in known if p.alive]
        if len(known) == 1 and running:
            continue
        changed = True
        for extra in running[1:]:
            extra.kill()
        system.processes[name] = running[:1]
        if not running:
            system.start(name)
    if changed:
        system.wait_http("/readyz")


# Flags for a root, offline, headless Chromium: without the background-networking ones it keeps
# trying to reach Google's hosts, which this machine's closed network refuses.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (installed with apt when missing; never downloaded)."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("PORTA_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        infra.apt_install("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def service_engine(migrated: Callable[[str], str]) -> Iterator[Callable[[str], Any]]:
    """`service_engine("crm")`: a SQLAlchemy engine on that service's migrated database of this run."""
    from sqlalchemy import create_engine

    engines: dict[str, Any] = {}

    def engine_for(service: str) -> Any:
        if service not in engines:
            engines[service] = create_engine(migrated(service))
        return engines[service]

    yield engine_for
    for engine in engines.values():
        engine.dispose()


@contextlib.contextmanager
def rolled_back(engine: Any) -> Iterator[Any]:
    """A session whose work, commits included, is rolled back at the end: tests never see each other's rows."""
    from sqlalchemy.orm import Session

    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def count_write_sessions(container: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per read-write session the container's calls open from now on (shared.dependencies.Database:
    reads take a read-only one; its outbox relay opens none): how a test shows a read costs no write."""
    from shared.dependencies import Database

    [database] = [d for d in container.dependencies if isinstance(d, Database)]
    make = database.sessionmaker
    opened: list[int] = []
    monkeypatch.setattr(database, "sessionmaker", lambda: opened.append(1) or make())
    return opened
