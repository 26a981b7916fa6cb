"""JSON logs with the request id of the call being served, in every process."""
from __future__ import annotations

import logging
import logging.config
import os

from pythonjsonlogger.json import JsonFormatter

from shared.context import request_id_var


def lean_records() -> None:
    """Records stop collecting what our JSON lines never show: the thread (under eventlet each call
    is a new greenlet, and naming it builds a thread object per call), the process and the
    caller's file and line (a walk up the stack). Python's logging HOWTO, "Optimization"."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


class RequestIdFilter(logging.Filter):
    """Adds the request id; its presence means our JSON format is configured, so records are made lean."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        lean_records()

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class ExpectedErrorsFilter(logging.Filter):
    """Drops nameko's warning, with its traceback, for each expected error of an RPC (a 404, a 422,
    shared.rpc): formatting the traceback was about 13% of a wrong link token's cost, and the call's
    own line (shared.dependencies.CallContext) already names the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("(expected) error handling worker"))


def json_formatter(service: str) -> JsonFormatter:
    """Porta's one log line format, in every process (the gateway here, each service's config.yaml through
    dictConfig's "()"): time, level, logger, message, request id and service, plus a record's extra fields."""
    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         static_fields={"service": service})


def logging_config(service: str) -> dict:
    """A dictConfig: one JSON line per record on stderr, with service and request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": json_formatter, "service": service}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}
        },
        "root": {"level": os.environ.get("PORTA_LOG_LEVEL", "INFO"), "handlers": ["stderr"]},
    }


def configure_logging(service: str) -> None:
    logging.config.dictConfig(logging_config(service))
