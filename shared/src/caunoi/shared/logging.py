"""structlog JSON logs. Correlation and causation ids are bound per command with
``bind_command`` and appear on every line logged while it is handled."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog
from structlog.contextvars import bind_contextvars, unbind_contextvars


def configure(service: str, level: str = "info", fmt: str = "json") -> None:
    lvl = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(level=lvl, stream=sys.stderr, format="%(message)s")
    json = fmt == "json"
    # JSON lines rendered by orjson straight to bytes: a log line per command must stay cheap
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps) if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=(
            structlog.BytesLoggerFactory(file=sys.stderr.buffer)
            if json
            else structlog.PrintLoggerFactory(file=sys.stderr)
        ),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def bind_command(command: str, command_id: str, correlation_id: str) -> None:
    bind_contextvars(command=command, causation_id=command_id, correlation_id=correlation_id)


def unbind_command() -> None:
    unbind_contextvars("command", "causation_id", "correlation_id")
