"""A ClamAV daemon (clamd) for tests: Debian's `clamav-daemon`, a generated clamd.conf, a tiny signature database.

Signature databases cannot be downloaded here (freshclam has no network), and tests need only a known
verdict: the database holds one `.ndb` signature matching the EICAR test string anywhere in a file, and
clamd loads nothing else. clamd listens on a free TCP port of 127.0.0.1 and on a Unix socket in its
folder, runs in the foreground of its own process group (devstack.infra.start_daemon; its output in
PORTA_LOG_DIR/clamd.log), and can be stopped and started again on the same addresses.

StreamMaxLength is small (TEST_STREAM_MAX_LENGTH) so a test can send a file over it; `AlertExceedsMax yes`
makes clamd report a file over its other limits (FOUND `Heuristics.Limits.Exceeded...`) instead of
calling it clean.
"""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack import environment, infra

# The EICAR anti-virus test file (68 bytes): harmless, and what every scanner is expected to flag.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Porta.Test.EICAR"
TEST_STREAM_MAX_LENGTH = 2 * 1024 * 1024


def ensure_installed() -> str:
    """clamd's executable, installing Debian's clamav-daemon when it is missing."""
    found = infra.find_command("clamd")
    if found is None:
        infra.apt_install("clamav-daemon")
        found = infra.find_command("clamd")
    if found is None:
        raise RuntimeError("clamav-daemon is installed but no clamd executable was found")
    return found


def write_database(folder: Path) -> None:
    """The only signature clamd loads: EICAR anywhere in any file (`.ndb`: name:target:offset:hex)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "porta-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n", encoding="ascii")


@dataclass
class ClamdDaemon:
    """One clamd of a test run, its files under `folder`: `.address` (host:port), `.socket_path`."""

    folder: Path
    env: Mapping[str, str]  # PORTA_LOG_DIR is where its output goes
    stream_max_length: int = TEST_STREAM_MAX_LENGTH
    host: str = "127.0.0.1"
    port: int = field(default_factory=environment.free_port)
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def socket_path(self) -> Path:
        return self.folder / "clamd.sock"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_database(self.folder / "db")
        config = self.folder / "clamd.conf"
        config.write_text("\n".join([
            "Foreground yes",
            f"DatabaseDirectory {self.folder / 'db'}",
            f"TemporaryDirectory {self.folder}",
            f"PidFile {self.folder / 'clamd.pid'}",
            f"TCPAddr {self.host}",
            f"TCPSocket {self.port}",
            f"LocalSocket {self.socket_path}",
            f"StreamMaxLength {self.stream_max_length}",
            "MaxFileSize 100M",
            "MaxScanSize 100M",
            "AlertExceedsMax yes",
            "LogTime yes",
            "",
        ]))
        return config

    def start(self, timeout: float = 60.0) -> None:
        """Start clamd (installing it if needed); returns once it answers PING on its TCP port."""
        if self.running:
            return
        clamd = ensure_installed()
        config = self.write_config()
        self.process = infra.start_daemon("clamd", [clamd, f"--config-file={config}"], self.env)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"clamd exited with code {self.process.returncode}; see "
                                   f"{self.env['PORTA_LOG_DIR']}/clamd.log:\n"
                                   f"{environment.tail(Path(self.env['PORTA_LOG_DIR']) / 'clamd.log')}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"clamd does not answer PING on {self.address} after {timeout:.0f}s")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM (clamd removes its socket file), SIGKILL if it lingers."""
        if self.process is not None:
            infra.stop_process_group(self.process.pid)
            self.process.wait()
            self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as connection:
                connection.sendall(b"zPING\0")
                return connection.recv(16).startswith(b"PONG")
        except OSError:
            return False
