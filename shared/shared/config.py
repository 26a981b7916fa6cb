"""Configuration from environment variables, with defaults that work on a developer machine.

Every port, path and address Porta uses is read here, so `make run` and the tests can
print and override them in one place.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SERVICES: tuple[str, ...] = ("crm", "documents", "links", "chats", "notifications", "billing")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _db_url_overrides() -> dict[str, str]:
    return {service: url for service in SERVICES if (url := os.environ.get(f"PORTA_{service.upper()}_DB_URL"))}


@dataclass(frozen=True)
class Settings:
    amqp_uri: str = field(default_factory=lambda: _env("PORTA_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"))
    # `{service}` is replaced by the service name: each service owns its own database.
    db_url_template: str = field(
        default_factory=lambda: _env("PORTA_DB_URL_TEMPLATE", "postgresql+psycopg2://postgres@127.0.0.1:5432/porta_{service}")
    )
    # `PORTA_<SERVICE>_DB_URL` gives one service a database off the template.
    db_urls: Mapping[str, str] = field(default_factory=_db_url_overrides)
    s3_endpoint: str = field(default_factory=lambda: _env("PORTA_S3_ENDPOINT", "127.0.0.1:9000"))
    # The development object server (s3rver, see dev/devstack/infra.py) accepts only this fixed key pair.
    s3_access_key: str = field(default_factory=lambda: _env("PORTA_S3_ACCESS_KEY", "S3RVER"))
    s3_secret_key: str = field(default_factory=lambda: _env("PORTA_S3_SECRET_KEY", "S3RVER"))
    s3_bucket: str = field(default_factory=lambda: _env("PORTA_S3_BUCKET", "porta"))
    s3_secure: bool = field(default_factory=lambda: _env("PORTA_S3_SECURE", "false").lower() == "true")
    smtp_host: str = field(default_factory=lambda: _env("PORTA_SMTP_HOST", "127.0.0.1"))
    smtp_port: int = field(default_factory=lambda: int(_env("PORTA_SMTP_PORT", "8025")))
    mail_from: str = field(default_factory=lambda: _env("PORTA_MAIL_FROM", "Porta <no-reply@porta.local>"))
    http_host: str = field(default_factory=lambda: _env("PORTA_HTTP_HOST", "127.0.0.1"))
    http_port: int = field(default_factory=lambda: int(_env("PORTA_HTTP_PORT", "8080")))
    public_url: str = field(default_factory=lambda: _env("PORTA_PUBLIC_URL", ""))
    var_dir: str = field(default_factory=lambda: _env("PORTA_VAR_DIR", "var"))
    rpc_timeout: float = field(default_factory=lambda: float(_env("PORTA_RPC_TIMEOUT", "10")))
    # How many reverse proxies in front of the gateway append to X-Forwarded-For (0: none, trust no header).
    trusted_proxies: int = field(default_factory=lambda: int(_env("PORTA_TRUSTED_PROXIES", "0")))
    max_json_body: int = field(default_factory=lambda: int(_env("PORTA_MAX_JSON_BODY", str(1024 * 1024))))
    # The gateway's Prometheus metrics, on this port of http_host and never on the public one (0: not served).
    # Only the operator's network may reach it (deploy/README.md).
    metrics_port: int = field(default_factory=lambda: int(_env("PORTA_METRICS_PORT", "0")))
    # Fernet key(s), urlsafe base64, that seal the tokens of retrievable links (links service); a comma-separated
    # list to rotate: the first seals, every one unseals. The links service refuses to start without one.
    link_sealing_key: str = field(default_factory=lambda: _env("PORTA_LINK_SEALING_KEY", ""), repr=False)
    # One uploaded file at most (default 5 GB); a file request may set a lower limit.
    max_upload_bytes: int = field(default_factory=lambda: int(_env("PORTA_MAX_UPLOAD_BYTES", str(5 * 10**9))))
    # Unpacking a .zip: at most this many entries, this many bytes inflated, this ratio per entry.
    zip_max_entries: int = field(default_factory=lambda: int(_env("PORTA_ZIP_MAX_ENTRIES", "1000")))
    zip_max_bytes: int = field(default_factory=lambda: int(_env("PORTA_ZIP_MAX_BYTES", str(2**30))))
    zip_max_ratio: int = field(default_factory=lambda: int(_env("PORTA_ZIP_MAX_RATIO", "100")))
    # ClamAV's clamd, `host:port` or a Unix socket path: uploaded files stay quarantined until it clears them
    # (documents/scanning.py). Empty: no scanning, files are `not_scanned` and downloadable at once.
    clamd_address: str = field(default_factory=lambda: _env("PORTA_CLAMD_ADDRESS", ""))
    # A session (bearer token) ends after this long without use, and this long after its login whatever its use.
    session_idle_seconds: int = field(default_factory=lambda: int(_env("PORTA_SESSION_IDLE_SECONDS", str(12 * 3600))))
    session_max_age_seconds: int = field(
        default_factory=lambda: int(_env("PORTA_SESSION_MAX_AGE_SECONDS", str(30 * 24 * 3600))))
    # Wrong passwords (crm/login_throttle.py): per address and per account, the first `free` cost nothing; each
    # one after shuts the login for `base` seconds, doubled per further one up to `max`; a count is forgotten
    # after `window` seconds without a wrong password.
    login_free_failures: int = field(default_factory=lambda: int(_env("PORTA_LOGIN_FREE_FAILURES", "5")))
    login_base_delay_seconds: float = field(
        default_factory=lambda: float(_env("PORTA_LOGIN_BASE_DELAY_SECONDS", "1")))
    login_max_delay_seconds: float = field(
        default_factory=lambda: float(_env("PORTA_LOGIN_MAX_DELAY_SECONDS", "900")))
    login_failure_window_seconds: int = field(
        default_factory=lambda: int(_env("PORTA_LOGIN_FAILURE_WINDOW_SECONDS", str(12 * 3600))))
    # Signature requests (docs/signatures.md): the seal's private key and certificate (PEM; the certificate file
    # may hold its chain after it), the key's passphrase if it is encrypted, and the certificates of seals used
    # before a rotation that `POST /api/public/verify` still recognises. `make run` makes a self-signed one.
    seal_key_file: str = field(default_factory=lambda: _env("PORTA_SEAL_KEY_FILE", ""))
    seal_cert_file: str = field(default_factory=lambda: _env("PORTA_SEAL_CERT_FILE", ""))
    seal_key_passphrase: str = field(default_factory=lambda: _env("PORTA_SEAL_KEY_PASSPHRASE", ""), repr=False)
    seal_former_certs_file: str = field(default_factory=lambda: _env("PORTA_SEAL_FORMER_CERTS_FILE", ""))
    # Days between reminders to a signer who has not signed (0: none).
    signature_reminder_days: int = field(default_factory=lambda: int(_env("PORTA_SIGNATURE_REMINDER_DAYS", "3")))
    # The `test` payment provider (a card processor in test mode: no money moves) exists only while this is on.
    # `make run` and the tests turn it on; production configuration (deploy/) never does.
    payments_test_mode: bool = field(
        default_factory=lambda: _env("PORTA_PAYMENTS_TEST_MODE", "false").lower() == "true")
    # Where the `stripe` package sends its API calls (`stripe.api_base`): Stripe's, or a test's stand-in.
    stripe_api_base: str = field(default_factory=lambda: _env("PORTA_STRIPE_API_BASE", "https://api.stripe.com"))

    # The stream process (gateway.stream, docs/realtime.md): its port on http_host; the Unix socket through
    # which gateway workers hand it stream connections when both run on one machine (empty: a proxy in front
    # routes the stream paths to it); the seconds between keep-alive comments on an idle stream.
    stream_port: int = field(default_factory=lambda: int(_env("PORTA_STREAM_PORT", "8081")))
    stream_handoff: str = field(default_factory=lambda: _env("PORTA_STREAM_HANDOFF", ""))
    stream_heartbeat_seconds: float = field(default_factory=lambda: float(_env("PORTA_STREAM_HEARTBEAT_SECONDS", "15")))

    def db_url(self, service: str) -> str:
        """The database URL of one service: its own override, else the template."""
        return self.db_urls.get(service) or self.db_url_template.format(service=service)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.http_host}:{self.http_port}"


def load_settings() -> Settings:
    """Read the environment. Called only at composition roots: a service container's first
    provider (`settings_of`), the gateway's wsgi module, the command-line entry points."""
    return Settings()


# The key under which a service container keeps its settings in its nameko config.
SETTINGS_KEY = "PORTA_SETTINGS"


def settings_of(container: Any) -> Settings:
    """A service container's settings, read from the environment once, at its setup: the
    composition root of every nameko service. Tests put a `Settings` under SETTINGS_KEY."""
    settings = container.config.get(SETTINGS_KEY)
    if settings is None:
        settings = container.config[SETTINGS_KEY] = load_settings()
    return settings
