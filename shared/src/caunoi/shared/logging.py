"""structlog JSON logs. Correlation and causation ids are bound per command with
``bind_command`` and appear on every line logged while it is handled."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import orjson
import structlog

#: the command being handled (one context variable: binding three with structlog's
#: ``bind_contextvars`` cost more per request than the rest of the logging)
_COMMAND: ContextVar[dict[str, str] | None] = ContextVar("caunoi_command", default=None)


def _merge_command(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    command = _COMMAND.get()
    if command is not None:
        for k, v in command.items():
            event.setdefault(k, v)
    return event


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
            _merge_command,
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
    _COMMAND.set({"command": command, "causation_id": command_id, "correlation_id": correlation_id})


def unbind_command() -> None:
    _COMMAND.set(None)
