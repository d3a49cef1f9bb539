"""The event log on JetStream: one stream per owning service, one subject per aggregate instance.

Subject scheme: ``caunoi.<service>.<aggregate id>.<unit path...>`` where the unit path is the
administrative ancestry of the unit the aggregate belongs to (province, [district,] commune), so
``caunoi.petitions.*.01.>`` is everything in province 01 and ``caunoi.petitions.<id>.>`` is one
aggregate (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from caunoi.shared.envelope import CONTENT_TYPE, CloudEvent
from caunoi.shared.errors import Conflict, Unavailable
from caunoi.shared.jsapi import (
    ERR_BATCH_DUPLICATE_MSG_ID,
    ERR_STREAM_NOT_FOUND,
    ERR_WRONG_LAST_SEQUENCE,
    JetStreamError,
    ReplyMux,
    StoredMessage,
    api,
    direct_get_batch,
    direct_get_last,
    parse_error,
)

log = structlog.get_logger(__name__)

NS_DUPLICATE_WINDOW = 5 * 60 * 1_000_000_000  # 5 minutes, in nanoseconds
MAX_EVENTS_PER_COMMAND = 100


@dataclass(frozen=True)
class StreamSpec:
    """A service's event stream. The configuration the design fixes is applied on top."""

    name: str
    service: str
    description: str = ""
    replicas: int = 1

    @property
    def subject_prefix(self) -> str:
        return f"caunoi.{self.service}"

    @property
    def subjects(self) -> list[str]:
        return [f"{self.subject_prefix}.*.>"]

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "subjects": self.subjects,
            "retention": "limits",
            "storage": "file",
            "discard": "new",
            "max_msgs": -1,
            "max_bytes": -1,
            "max_age": 0,
            "max_msgs_per_subject": -1,
            "max_msg_size": -1,
            "num_replicas": self.replicas,
            "duplicate_window": NS_DUPLICATE_WINDOW,
            "deny_delete": True,
            "deny_purge": True,
            "allow_direct": True,
            "allow_atomic": True,
        }


async def provision_stream(nc: NATS, spec: StreamSpec) -> dict[str, Any]:
    """Create the stream, or bring an existing one's settable fields to the fixed config.

    Never uses FastStream's declare (it would rewrite the config with its own defaults).
    """
    want = spec.config()
    try:
        info = await api(nc, f"$JS.API.STREAM.INFO.{spec.name}")
    except JetStreamError as e:
        if e.err_code != ERR_STREAM_NOT_FOUND:
            raise
        log.info("stream.create", stream=spec.name, subjects=want["subjects"])
        return await api(nc, f"$JS.API.STREAM.CREATE.{spec.name}", want)
    have: dict[str, Any] = info["config"]
    drift = {k: v for k, v in want.items() if have.get(k) != v and k not in ("storage", "retention")}
    if drift:
        log.info("stream.update", stream=spec.name, fields=sorted(drift))
        return await api(nc, f"$JS.API.STREAM.UPDATE.{spec.name}", {**have, **want})
    return info


@dataclass(frozen=True)
class AppendResult:
    seqs: list[int]
    duplicate: bool = False  # True when the events were already stored by an earlier try


@dataclass
class EventStore:
    """Appends to and reads from one service's stream."""

    nc: NATS
    spec: StreamSpec
    timeout: float = 5.0
    retries: int = 3
    _mux: ReplyMux = field(init=False)

    def __post_init__(self) -> None:
        self._mux = ReplyMux(self.nc)

    @property
    def stream(self) -> str:
        return self.spec.name

    def subject_for(self, aggregate_id: str, unit_path: Sequence[str]) -> str:
        return ".".join([self.spec.subject_prefix, aggregate_id, *unit_path])

    def aggregate_filter(self, aggregate_id: str) -> str:
        return f"{self.spec.subject_prefix}.{aggregate_id}.>"

    async def load(self, aggregate_id: str) -> list[StoredMessage]:
        """Every message of one aggregate, in order, by batched direct get."""
        out: list[StoredMessage] = []
        seq = 1
        while True:
            page = await self._read(seq=seq, subject=self.aggregate_filter(aggregate_id), batch=256)
            out.extend(page)
            if len(page) < 256:
                return out
            seq = page[-1].seq + 1

    async def read(self, from_seq: int, batch: int = 256, subject: str | None = None) -> list[StoredMessage]:
        """Up to ``batch`` messages from sequence ``from_seq`` on (projections use this)."""
        return await self._read(seq=from_seq, subject=subject, batch=batch)

    async def _read(self, *, seq: int, subject: str | None, batch: int) -> list[StoredMessage]:
        try:
            return await direct_get_batch(
                self.nc, self._mux, self.stream, seq=seq, subject=subject, batch=batch, timeout=self.timeout
            )
        except (TimeoutError, NatsTimeout, NoRespondersError) as e:
            raise Unavailable("Kho sự kiện không phản hồi", message_en="event store did not answer") from e

    async def append(self, subject: str, expected_last_seq: int, events: Sequence[CloudEvent]) -> AppendResult:
        """Store ``events`` on ``subject`` all or none, if the subject's last sequence is still
        ``expected_last_seq`` (0: the aggregate must be new).

        Safe to retry: event ids are the ``Nats-Msg-Id``; when a try after a timeout finds the
        events already stored, the result says ``duplicate``.
        Raises ``Conflict`` when another writer got there first, ``Unavailable`` when JetStream
        cannot confirm.
        """
        if not events:
            return AppendResult([])
        if len(events) > MAX_EVENTS_PER_COMMAND:
            raise ValueError(f"at most {MAX_EVENTS_PER_COMMAND} events per command")
        last_error: Exception | None = None
        for attempt in range(self.retries):
            try:
                ack = await self._publish_batch(subject, expected_last_seq, events)
            except (TimeoutError, NatsTimeout, NoRespondersError) as e:
                last_error = e
                log.warning("append.retry", subject=subject, attempt=attempt + 1, error=type(e).__name__)
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            err = parse_error(ack)
            if err is None:
                last = int(ack["seq"])
                return AppendResult(list(range(last - len(events) + 1, last + 1)), bool(ack.get("duplicate")))
            if err.err_code in (ERR_WRONG_LAST_SEQUENCE, ERR_BATCH_DUPLICATE_MSG_ID):
                # A retry of a write that was stored looks like a conflict: check before saying so.
                stored = await self._already_stored(subject, events)
                if stored is not None:
                    return stored
                raise Conflict(
                    "Dữ liệu đã bị người khác thay đổi; hãy tải lại và thử lại",
                    message_en="the record was changed by someone else; reload and try again",
                    details={"subject": subject, "expected_last_seq": expected_last_seq},
                )
            raise err
        raise Unavailable(
            "Không xác nhận được việc ghi sự kiện; có thể gửi lại lệnh với cùng mã lệnh",
            message_en="the event store did not confirm the append; retry with the same command id",
        ) from last_error

    async def _already_stored(self, subject: str, events: Sequence[CloudEvent]) -> AppendResult | None:
        last = await direct_get_last(self.nc, self.stream, subject, timeout=self.timeout)
        if last is not None and last.msg_id == events[-1].id:
            return AppendResult(list(range(last.seq - len(events) + 1, last.seq + 1)), duplicate=True)
        return None

    async def _publish_batch(self, subject: str, expected: int, events: Sequence[CloudEvent]) -> dict[str, Any]:
        """One event: a plain JetStream publish. Several: JetStream's atomic batch (ADR-50),
        which nats-py has no helper for: the same Nats-Batch-Id on every message, a
        Nats-Batch-Sequence from 1, and Nats-Batch-Commit on the last."""
        if len(events) == 1:
            ev = events[0]
            reply = await self.nc.request(
                subject, ev.to_json_bytes(), timeout=self.timeout, headers=self._headers(ev, expected)
            )
            body: dict[str, Any] = json.loads(reply.data)
            return body
        batch_id = uuid.uuid4().hex
        n = len(events)
        async with self._mux.inbox() as (inbox, q):
            for i, ev in enumerate(events, start=1):
                h = self._headers(ev, expected if i == 1 else None)
                h["Nats-Batch-Id"] = batch_id
                h["Nats-Batch-Sequence"] = str(i)
                if i == n:
                    h["Nats-Batch-Commit"] = "1"
                await self.nc.publish(subject, ev.to_json_bytes(), reply=inbox if i in (1, n) else "", headers=h)
            while True:
                msg = await asyncio.wait_for(q.get(), self.timeout)
                if not msg.data:
                    continue  # the empty flow ack for the first message
                body = json.loads(msg.data)
                if "error" in body or "batch" in body or "seq" in body:
                    return body

    @staticmethod
    def _headers(ev: CloudEvent, expected: int | None) -> dict[str, str]:
        h = {"Nats-Msg-Id": ev.id, "Content-Type": CONTENT_TYPE, "ce-type": ev.type}
        if expected is not None:
            h["Nats-Expected-Last-Subject-Sequence"] = str(expected)
        return h

    async def info(self) -> dict[str, Any]:
        return await api(self.nc, f"$JS.API.STREAM.INFO.{self.stream}")

    async def last_seq(self) -> int:
        info = await self.info()
        return int(info["state"]["last_seq"])

    async def last_seq_or_zero(self) -> int:
        """Like ``last_seq``, but 0 while the stream does not exist yet (another service's)."""
        try:
            return await self.last_seq()
        except JetStreamError as e:
            if e.err_code == ERR_STREAM_NOT_FOUND:
                return 0
            raise
