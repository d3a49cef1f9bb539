"""The request edge: what turns a NATS request into a handler call and its outcome into a reply.

A service declares its endpoints as data (:func:`command`, :func:`query`); each names a request
model (pydantic) and a top-level handler ``async def handler(request, ctx, deps) -> result``.
:func:`dispatch` is the one path every request takes, the same under the NATS subscriber and in
tests: size and JSON checks, validation, the request context, the handler, and the translation of
every failure into a structured error (technical store errors become what a clerk reads here; a
body its model refuses, the ``invalid`` error of :mod:`caunoi.shared.validation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from caunoi.shared import logging as clog
from caunoi.shared.authz import ADMIN_ROLES, COMMAND_ROLES, QUERY_ROLES, require_role
from caunoi.shared.context import Actor, RequestContext
from caunoi.shared.errors import CommandError, Conflict, Unavailable, ValidationFailed
from caunoi.shared.eventstore import StoreUnavailable, WrongExpectedSequence
from caunoi.shared.identity import Verifier
from caunoi.shared.validation import validation_error

log = structlog.get_logger(__name__)

D = TypeVar("D")
Kind = Literal["command", "query", "admin"]
SUBJECT_PREFIX: dict[Kind, str] = {"command": "cmd", "query": "q", "admin": "admin"}


class Request(BaseModel):
    """Base of every request body: unknown fields are refused, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Command(Request):
    """Fields every command carries besides its own."""

    #: Makes the command idempotent: the same id sent again stores nothing new.
    command_id: str | None = Field(default=None, min_length=1, max_length=200)
    correlation_id: str | None = Field(default=None, min_length=1, max_length=200)


Handler = Callable[[Any, RequestContext, D], Awaitable[Any]]


DEFAULT_ROLES: dict[Kind, frozenset[str]] = {"command": COMMAND_ROLES, "query": QUERY_ROLES, "admin": ADMIN_ROLES}


@dataclass(frozen=True)
class Endpoint(Generic[D]):
    kind: Kind
    name: str
    model: type[BaseModel]
    handler: Handler[D]
    summary: str
    #: the roles that may call it (see caunoi.shared.authz); by default those of its kind
    roles: frozenset[str] = frozenset()
    #: a query that reads the service's read models waits until they have applied what was
    #: stored when it arrived (:attr:`Edge.settle`); one that reads none (a ping) answers at once
    reads_models: bool = True

    def subject(self, service: str) -> str:
        return f"caunoi.{SUBJECT_PREFIX[self.kind]}.{service}.{self.name}"

    @property
    def allowed_roles(self) -> frozenset[str]:
        return self.roles or DEFAULT_ROLES[self.kind]


def command(
    name: str, model: type[BaseModel], handler: Handler[D], summary: str, roles: frozenset[str] = frozenset()
) -> Endpoint[D]:
    return Endpoint("command", name, model, handler, summary, roles)


def query(
    name: str,
    model: type[BaseModel],
    handler: Handler[D],
    summary: str,
    roles: frozenset[str] = frozenset(),
    *,
    reads_models: bool = True,
) -> Endpoint[D]:
    return Endpoint("query", name, model, handler, summary, roles, reads_models)


def admin(name: str, model: type[BaseModel], handler: Handler[D], summary: str) -> Endpoint[D]:
    return Endpoint("admin", name, model, handler, summary)


# -- replies -------------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    return str(value)


def ok(result: Any) -> bytes:
    return orjson.dumps({"ok": True, "result": result}, default=_default)


def fail(err: CommandError) -> bytes:
    return orjson.dumps({"ok": False, "error": err.to_dict()}, default=_default)


def conflict(e: WrongExpectedSequence) -> Conflict:
    return Conflict(
        "Dữ liệu đã bị người khác thay đổi; hãy tải lại và thử lại",
        message_en="the record was changed by someone else; reload and try again",
        details={"subject": e.subject},
    )


def unavailable(kind: Kind = "command") -> Unavailable:
    """The event store did not answer in time: a command may have been stored (retrying with the
    same command id is safe); a query or an admin request changed nothing."""
    if kind != "command":
        return Unavailable(
            "Kho sự kiện tạm thời không trả lời; hãy thử lại",
            message_en="the event store did not answer in time; try again",
        )
    return Unavailable(
        "Không xác nhận được việc ghi; có thể gửi lại lệnh với cùng mã lệnh",
        message_en="the event store did not confirm; retry with the same command id",
    )


def parse_body(raw: bytes, limit: int) -> dict[str, Any]:
    """The request body as a JSON object; ``ValidationFailed`` for anything else."""
    if len(raw) > limit:
        raise ValidationFailed(
            f"Nội dung quá lớn ({len(raw)} byte, tối đa {limit})",
            message_en=f"the body is too large ({len(raw)} bytes, at most {limit})",
        )
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as e:
        raise ValidationFailed("Nội dung không phải JSON hợp lệ", message_en=f"the body is not JSON: {e}") from e
    if not isinstance(body, dict):
        raise ValidationFailed("Nội dung phải là một đối tượng JSON", message_en="the body must be a JSON object")
    return body


# -- dispatch ------------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Edge:
    """What the edge needs besides the endpoint: who the service is, how it checks credentials,
    its limits."""

    service: str
    verifier: Verifier
    max_request_bytes: int = 256 * 1024
    #: when a request arrived (``RequestContext.received_at``, hence ``ctx.today``); tests move it
    clock: Callable[[], datetime] = field(default=utc_now)
    #: awaited before a query's handler: the service's read models catch up with what was stored
    #: when the query arrived (see ``Service.caught_up``); None: answer from them as they are
    settle: Callable[[], Awaitable[None]] | None = None


async def dispatch(edge: Edge, ep: Endpoint[D], deps: D, raw: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    """Handle one request and return the reply bytes. Never raises.

    In order: the credential (``unauthenticated``), the role (``forbidden``), the body
    (``invalid``), then the handler, whose store errors become ``conflict`` or ``unavailable``."""
    try:
        actor = edge.verifier.actor(headers)
        require_role(actor, ep.allowed_roles, ep.subject(edge.service))
        body = parse_body(raw, edge.max_request_bytes)
        request = ep.model.model_validate(body)
    except CommandError as e:
        return fail(e)
    except ValidationError as e:
        return fail(validation_error(e))
    ctx = context_for(request, actor, edge.clock())
    if ep.kind == "command":
        clog.bind_command(ep.name, ctx.command_id, ctx.correlation_id)
    try:
        if ep.kind == "query" and ep.reads_models and edge.settle is not None:
            await edge.settle()
        result = await ep.handler(request, ctx, deps)
        if ep.kind == "command":
            events = result.get("events", []) if isinstance(result, dict) else []
            log.info("command.accepted", events=[e.get("id") for e in events], replayed=_get(result, "replayed"))
        return ok(result)
    except CommandError as e:
        log.info("request.refused", endpoint=ep.name, code=e.code, field=e.field, reason=e.message_en)
        return fail(e)
    except WrongExpectedSequence as e:
        log.info("command.conflict", endpoint=ep.name, subject=e.subject)
        return fail(conflict(e))
    except StoreUnavailable as e:
        log.warning("request.unavailable", endpoint=ep.name, error=str(e))
        return fail(unavailable(ep.kind))
    except Exception:
        log.exception("endpoint.failed", endpoint=ep.subject(edge.service))
        return fail(CommandError("Lỗi hệ thống", code="internal", message_en="internal error; see the service log"))
    finally:
        if ep.kind == "command":
            clog.unbind_command()


def _get(result: Any, key: str) -> Any:
    return result.get(key) if isinstance(result, dict) else None


def context_for(request: BaseModel, actor: Actor, received_at: datetime | None = None) -> RequestContext:
    now = received_at or datetime.now(UTC)
    if isinstance(request, Command):
        if request.command_id:
            return RequestContext(actor, request.command_id, request.correlation_id or "", now)
        return RequestContext(actor, correlation_id=request.correlation_id or "", received_at=now)
    return RequestContext(actor, received_at=now)
