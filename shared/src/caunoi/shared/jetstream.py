"""The event store on JetStream: stream provisioning with the fixed configuration, appends guarded
by ``Nats-Expected-Last-Subject-Sequence`` (atomic batches for several events), reads by batched
direct get."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import (
    AppendResult,
    EventStore,
    StoredMessage,
    StoreUnavailable,
    StreamSpec,
    StreamState,
    WrongExpectedSequence,
    check_append,
    message_headers,
)
from caunoi.shared.jsapi import (
    ERR_BATCH_DUPLICATE_MSG_ID,
    ERR_STREAM_NOT_FOUND,
    ERR_WRONG_LAST_SEQUENCE,
    JetStreamError,
    ReplyMux,
    api,
    direct_get_batch,
    direct_get_last,
    parse_error,
)

log = structlog.get_logger(__name__)

NS_DUPLICATE_WINDOW = 5 * 60 * 1_000_000_000  # 5 minutes, in nanoseconds
LOAD_PAGE = 256
_TRANSIENT = (TimeoutError, NatsTimeout, NoRespondersError)


def stream_config(spec: StreamSpec) -> dict[str, Any]:
    """The configuration the design fixes for every event stream."""
    return {
        "name": spec.name,
        "description": spec.description,
        "subjects": spec.subjects,
        "retention": "limits",
        "storage": "file",
        "discard": "new",
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msgs_per_subject": -1,
        "max_msg_size": -1,
        "num_replicas": spec.replicas,
        "duplicate_window": NS_DUPLICATE_WINDOW,
        "deny_delete": True,
        "deny_purge": True,
        "allow_direct": True,
        "allow_atomic": True,
    }


async def provision_stream(nc: NATS, spec: StreamSpec, patience: float = 60.0) -> dict[str, Any]:
    """Create the stream, or bring an existing one's settable fields to the fixed config.

    JetStream that does not answer yet (a cluster started with the services, still electing its
    leaders; a server whose JetStream is being enabled) is asked again every second for
    ``patience`` seconds before the error goes up. Never uses FastStream's declare (it would
    rewrite the config with its own defaults).
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            return await _provision(nc, spec)
        except _TRANSIENT as e:
            if time.monotonic() >= deadline:
                raise StoreUnavailable(
                    f"JetStream did not answer about stream {spec.name} within {patience:.0f} s"
                ) from e
            log.warning("stream.provision_retry", stream=spec.name, error=type(e).__name__)
            await asyncio.sleep(1.0)


async def _provision(nc: NATS, spec: StreamSpec) -> dict[str, Any]:
    want = stream_config(spec)
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


@dataclass
class JetStreamEventStore(EventStore):
    """One service's stream on JetStream."""

    nc: NATS
    spec: StreamSpec
    timeout: float = 5.0
    retries: int = 3
    _mux: ReplyMux = field(init=False)

    def __post_init__(self) -> None:
        self._mux = ReplyMux(self.nc)

    async def load(self, aggregate_id: str) -> list[StoredMessage]:
        """The aggregate's messages. First the subject they are on and how many there are (the
        stream's subject index answers that at once), then a batched direct get of exactly that
        many on that literal subject. A batch asking for more made the server look for further
        matches to the end of the stream, so a load took time in proportion to the stream's size
        (bench/RESULTS.md). A message appended after the count is not loaded: the same as loading
        a moment earlier, which the append's expected sequence guards."""
        subjects = await self._subjects(self.spec.aggregate_filter(aggregate_id))
        if not subjects:
            return []
        # one subject per aggregate (fixed at its first event); should there be more, all of them
        (subject, count), *more = subjects.items()
        if more:
            subject, count = self.spec.aggregate_filter(aggregate_id), sum(subjects.values())
        elif count == 1:  # its last message is all of it: found through the subject index alone
            try:
                last = await direct_get_last(self.nc, self.stream, subject, timeout=self.timeout)
            except _TRANSIENT as e:
                raise StoreUnavailable(f"stream {self.stream} did not answer a read") from e
            return [last] if last is not None else []
        out: list[StoredMessage] = []
        seq = 1
        while len(out) < count:
            page = await self.read(seq, min(LOAD_PAGE, count - len(out)), subject)
            if not page:
                break
            out.extend(page)
            seq = page[-1].seq + 1
        return out

    async def count(self, aggregate_id: str) -> int:
        return sum((await self._subjects(self.spec.aggregate_filter(aggregate_id))).values())

    async def _subjects(self, subject_filter: str) -> dict[str, int]:
        """The subjects matching ``subject_filter`` that hold messages, and how many each."""
        try:
            info = await api(
                self.nc,
                f"$JS.API.STREAM.INFO.{self.stream}",
                {"subjects_filter": subject_filter},
                timeout=self.timeout,
            )
        except _TRANSIENT as e:
            raise StoreUnavailable(f"stream {self.stream} did not answer") from e
        except JetStreamError as e:
            if e.err_code == ERR_STREAM_NOT_FOUND:
                return {}
            raise
        subjects: dict[str, int] = info["state"].get("subjects") or {}
        return subjects

    async def read(self, from_seq: int, batch: int = 256, subject: str | None = None) -> list[StoredMessage]:
        try:
            return await direct_get_batch(
                self.nc, self._mux, self.stream, seq=from_seq, subject=subject, batch=batch, timeout=self.timeout
            )
        except _TRANSIENT as e:
            raise StoreUnavailable(f"stream {self.stream} did not answer a read") from e

    async def append(self, subject: str, expected_last_seq: int, events: Sequence[CloudEvent]) -> AppendResult:
        if not events:
            return AppendResult([])
        check_append(events)
        last_error: Exception | None = None
        for attempt in range(self.retries):
            try:
                ack = await self._publish(subject, expected_last_seq, events)
            except _TRANSIENT as e:
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
                raise WrongExpectedSequence(subject, expected_last_seq)
            raise err
        raise StoreUnavailable(f"stream {self.stream} did not confirm an append to {subject}") from last_error

    async def _already_stored(self, subject: str, events: Sequence[CloudEvent]) -> AppendResult | None:
        last = await direct_get_last(self.nc, self.stream, subject, timeout=self.timeout)
        if last is not None and last.msg_id == events[-1].id:
            return AppendResult(list(range(last.seq - len(events) + 1, last.seq + 1)), duplicate=True)
        return None

    async def _publish(self, subject: str, expected: int, events: Sequence[CloudEvent]) -> dict[str, Any]:
        """One event: a plain JetStream publish. Several: JetStream's atomic batch (ADR-50),
        which nats-py has no helper for: the same Nats-Batch-Id on every message, a
        Nats-Batch-Sequence from 1, and Nats-Batch-Commit on the last."""
        aggregate = self.spec.aggregate_filter_of(subject)
        if len(events) == 1:
            ev = events[0]
            reply = await self.nc.request(
                subject, ev.to_json_bytes(), timeout=self.timeout, headers=_headers(ev, expected, aggregate)
            )
            body: dict[str, Any] = json.loads(reply.data)
            return body
        batch_id = uuid.uuid4().hex
        n = len(events)
        async with self._mux.inbox() as (inbox, q):
            for i, ev in enumerate(events, start=1):
                h = _headers(ev, expected if i == 1 else None, aggregate)
                h["Nats-Batch-Id"] = batch_id
                h["Nats-Batch-Sequence"] = str(i)
                if i == n:
                    h["Nats-Batch-Commit"] = "1"
                await self.nc.publish(subject, ev.to_json_bytes(), reply=inbox if i in (1, n) else "", headers=h)
            while True:
                async with asyncio.timeout(self.timeout):  # (not wait_for: caunoi.shared.aio)
                    msg = await q.get()
                if not msg.data:
                    continue  # the empty flow ack for the first message
                body = json.loads(msg.data)
                if "error" in body or "batch" in body or "seq" in body:
                    return body

    async def state(self) -> StreamState:
        try:
            info = await api(self.nc, f"$JS.API.STREAM.INFO.{self.stream}", timeout=self.timeout)
        except JetStreamError as e:
            if e.err_code == ERR_STREAM_NOT_FOUND:  # another service's stream, not created yet
                return StreamState(0, 0, 0, 0)
            raise
        except _TRANSIENT as e:
            raise StoreUnavailable(f"stream {self.stream} did not answer") from e
        s = info["state"]
        return StreamState(int(s["messages"]), int(s["bytes"]), int(s["last_seq"]), int(s.get("num_subjects") or 0))


def _headers(ev: CloudEvent, expected: int | None, aggregate: str) -> dict[str, str]:
    """An event's headers; with ``expected``, the check that the last message on any subject of
    ``aggregate`` (a filter: the aggregate's subjects under every unit path) has that sequence
    (nats-server 2.11's ``Nats-Expected-Last-Subject-Sequence-Subject``; without it the check is
    on the one subject, and an id new there could be taken under another unit path already)."""
    h = message_headers(ev)
    if expected is not None:
        h["Nats-Expected-Last-Subject-Sequence"] = str(expected)
        h["Nats-Expected-Last-Subject-Sequence-Subject"] = aggregate
    return h
