"""Every process logs one JSON format, the gateway's (shared.logs.logging_config) and each service's (the
LOGGING of its config.yaml, as `nameko run` reads it), at the level PORTA_LOG_LEVEL names."""
from __future__ import annotations

import json
import logging
import logging.config
from pathlib import Path

import pytest
import yaml
from nameko.cli.main import setup_yaml_parser

from shared.logs import logging_config

ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.parent.name for p in ROOT.glob("services/*/config.yaml"))


def service_logging(service: str) -> dict:
    setup_yaml_parser()  # nameko's ${VAR:default} from the environment
    return yaml.safe_load((ROOT / "services" / service / "config.yaml").read_text())["LOGGING"]


def line(config: dict) -> dict:
    """The JSON line the config's formatter writes for one record with an extra field."""
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        logging.config.DictConfigurator(config).config["formatters"]["json"])
    record = logging.LogRecord("porta.example", logging.INFO, __file__, 1, "served %s", ("it",), None)
    record.request_id, record.duration_ms = "r-1", 1.5
    return json.loads(formatter.format(record))


def test_every_service_has_a_config():
    assert {"crm", "documents", "links"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_the_same_fields_as_the_gateway(service):
    theirs, gateways = line(service_logging(service)), line(logging_config("gateway"))
    assert theirs.keys() == gateways.keys()
    assert theirs["service"] == service and theirs["level"] == "INFO" and theirs["message"] == "served it"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_logs_at_the_level_porta_log_level_names(service, monkeypatch):
    monkeypatch.setenv("PORTA_LOG_LEVEL", "DEBUG")
    assert service_logging(service)["root"]["level"] == "DEBUG"
    monkeypatch.delenv("PORTA_LOG_LEVEL")
    assert service_logging(service)["root"]["level"] == "INFO"
