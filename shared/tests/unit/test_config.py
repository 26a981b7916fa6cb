"""Settings: read from the environment once per container (shared.config)."""
from __future__ import annotations

import os
import re
from types import SimpleNamespace

from shared.config import SETTINGS_KEY, Settings, load_settings, settings_of


def test_a_container_reads_its_settings_once_and_keeps_them_in_its_config(monkeypatch):
    container = SimpleNamespace(config={"AMQP_URI": "x"})
    monkeypatch.setenv("PORTA_HTTP_PORT", "8123")
    first = settings_of(container)
    assert first.http_port == 8123 and container.config[SETTINGS_KEY] is first
    monkeypatch.setenv("PORTA_HTTP_PORT", "9999")  # later changes to the environment are not seen
    assert settings_of(container) is first


def test_a_test_gives_a_container_its_settings():
    given = Settings(http_port=1)
    assert settings_of(SimpleNamespace(config={SETTINGS_KEY: given})) is given


def test_a_services_database_is_its_own_variable_else_the_template(monkeypatch):
    for name in [n for n in os.environ if re.fullmatch(r"PORTA_[A-Z0-9]+_DB_URL", n)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PORTA_DB_URL_TEMPLATE", "postgresql+psycopg2://db.example/porta_{service}")
    monkeypatch.setenv("PORTA_CRM_DB_URL", "postgresql+psycopg2://elsewhere/crm")
    settings = load_settings()
    assert settings.db_urls == {"crm": "postgresql+psycopg2://elsewhere/crm"}
    assert settings.db_url("crm") == "postgresql+psycopg2://elsewhere/crm"
    assert settings.db_url("links") == "postgresql+psycopg2://db.example/porta_links"


def test_the_base_url_is_the_public_one_else_the_gateways_address():
    assert Settings(public_url="https://porta.example", http_port=1).base_url == "https://porta.example"
    assert Settings(public_url="", http_host="127.0.0.1", http_port=8080).base_url == "http://127.0.0.1:8080"
