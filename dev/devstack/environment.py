"""The environment Porta's processes run with, and small network helpers.

Every Porta setting is a `PORTA_*` variable read by `shared.config.Settings`; the variable of the
field `foo_bar` is `PORTA_FOO_BAR` (tests/test_environment.py holds that convention). The devstack
adds the folders of the components it runs itself, all under PORTA_VAR_DIR unless overridden, and,
unless PORTA_LINK_SEALING_KEY is set, the key kept in PORTA_VAR_DIR/link_sealing.key (made once, mode
0600), so the links of `make run` can be revealed again after a restart and each test run has its own.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import re
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from shared.config import Settings

# Folders of the components the devstack runs: variable -> default folder under PORTA_VAR_DIR.
DEVSTACK_DIRS: dict[str, str] = {
    "PORTA_MAIL_DIR": "mail",  # Maildir of the development SMTP server
    "PORTA_S3_DATA_DIR": "s3",  # objects stored by the development S3 server
    "PORTA_LOG_DIR": "log",  # one log file per process the devstack starts
    "PORTA_TOOLS_DIR": "tools",  # npm prefix for the S3 server
}

# `PORTA_<SERVICE>_DB_URL` overrides the template for one service (shared.config.Settings.db_url).
SERVICE_DB_URL_VAR = re.compile(r"PORTA_[A-Z0-9]+_DB_URL")

# The links service's sealing key when PORTA_LINK_SEALING_KEY is not set: made once per var dir.
LINK_SEALING_KEY_FILE = "link_sealing.key"


def repo_root() -> Path:
    """The Porta checkout: the nearest folder above the working directory holding shared/ and services/."""
    for folder in [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]:
        if (folder / "shared" / "shared" / "config.py").is_file() and (folder / "services").is_dir():
            return folder
    raise RuntimeError("cannot find the Porta checkout (a folder with shared/ and services/); run from inside it")


def single_variable_fields() -> list[dataclasses.Field]:
    """The Settings fields read from one variable each: all but `db_urls`, which gathers the
    PORTA_<SERVICE>_DB_URL variables (SERVICE_DB_URL_VAR)."""
    return [f for f in dataclasses.fields(Settings) if f.name != "db_urls"]


def env_var(field_name: str) -> str:
    return f"PORTA_{field_name.upper()}"


def _as_env_value(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def porta_env(overrides: Mapping[str, str] | None = None, *, service_db_urls: bool = True) -> dict[str, str]:
    """Every PORTA_* variable with its value: `overrides`, else os.environ, else the default.

    Folders become absolute, a relative PORTA_VAR_DIR counting from the repository root, so every
    process (nameko runs inside services/<name>/) sees the same ones. `service_db_urls=False` leaves
    out `PORTA_<SERVICE>_DB_URL` variables, so a test run cannot reach a developer's databases.
    """
    overrides = dict(overrides or {})
    settings = Settings()
    # PORTA_* variables that are not Settings fields (read by one process, e.g. gunicorn.conf.py) pass through.
    env = {k: v for k, v in os.environ.items() if k.startswith("PORTA_") and not SERVICE_DB_URL_VAR.fullmatch(k)}
    env.update({env_var(f.name): _as_env_value(getattr(settings, f.name)) for f in single_variable_fields()})
    env.update(overrides)
    var_dir = Path(env["PORTA_VAR_DIR"])
    var_dir = var_dir if var_dir.is_absolute() else repo_root() / var_dir
    env["PORTA_VAR_DIR"] = str(var_dir)
    for name, folder in DEVSTACK_DIRS.items():
        chosen = overrides.get(name) or os.environ.get(name)
        env[name] = str(Path(chosen).absolute()) if chosen else str(var_dir / folder)
    if not env.get("PORTA_LINK_SEALING_KEY"):
        env["PORTA_LINK_SEALING_KEY"] = link_sealing_key(var_dir)
    if service_db_urls:
        for name, value in os.environ.items():
            if SERVICE_DB_URL_VAR.fullmatch(name):
                env.setdefault(name, value)
    return env


def link_sealing_key(var_dir: Path) -> str:
    """The Fernet key in `var_dir/link_sealing.key`, made the first time (readable by its owner only).

    Made in a temporary file and linked into place, so processes starting together agree on one key.
    """
    path = var_dir / LINK_SEALING_KEY_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")  # what Fernet.generate_key() makes
    descriptor, temporary = tempfile.mkstemp(dir=var_dir, prefix=".link_sealing.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(key + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process made it first: use that one
            return path.read_text(encoding="ascii").strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return key


def process_env(porta: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process: this one's, with every PORTA_* variable replaced by `porta`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PORTA_")}
    return inherited | dict(porta)


def postgres_address(env: Mapping[str, str]) -> tuple[str, int]:
    url = make_url(env["PORTA_DB_URL_TEMPLATE"].format(service="postgres"))
    return url.host or "127.0.0.1", url.port or 5432


def amqp_address(env: Mapping[str, str]) -> tuple[str, int]:
    parts = urlsplit(env["PORTA_AMQP_URI"])
    return parts.hostname or "127.0.0.1", parts.port or 5672


def s3_address(env: Mapping[str, str]) -> tuple[str, int]:
    host, _, port = env["PORTA_S3_ENDPOINT"].rpartition(":")
    return host or "127.0.0.1", int(port)


def smtp_address(env: Mapping[str, str]) -> tuple[str, int]:
    return env["PORTA_SMTP_HOST"], int(env["PORTA_SMTP_PORT"])


def is_local(host: str) -> bool:
    """Only a component on this machine can be started here."""
    return host in ("localhost", "::1") or host.startswith("127.")


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Wait until something accepts connections on host:port; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while not port_answers(host, port, timeout=0.5):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with code {process.returncode} before {host}:{port} answered")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answers on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.2)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    """The end of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
