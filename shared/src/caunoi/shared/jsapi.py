"""The few raw JetStream API calls caunoi needs that nats-py has no helper for.

Replies are read through one long-lived inbox subscription per connection (a small mux), so a
batched direct get or an atomic batch publish costs no extra SUB/UNSUB round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from caunoi.shared.eventstore import StoredMessage


class JetStreamError(Exception):
    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"{description} (code {code}, err_code {err_code})")
        self.code = code
        self.err_code = err_code
        self.description = description


ERR_WRONG_LAST_SEQUENCE = 10071
ERR_BATCH_DUPLICATE_MSG_ID = 10201
ERR_STREAM_NOT_FOUND = 10059


class ReplyMux:
    """Routes replies arriving on ``<prefix>.<token>`` to per-call queues."""

    def __init__(self, nc: NATS) -> None:
        self._nc = nc
        self._prefix = nc.new_inbox()
        self._queues: dict[str, asyncio.Queue[Msg]] = {}
        self._counter = 0
        self._started = False
        self._lock = asyncio.Lock()

    async def _start(self) -> None:
        async with self._lock:
            if not self._started:
                await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_msg)
                self._started = True

    async def _on_msg(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        q = self._queues.get(token)
        if q is not None:
            q.put_nowait(msg)

    @contextlib.asynccontextmanager
    async def inbox(self) -> AsyncIterator[tuple[str, asyncio.Queue[Msg]]]:
        if not self._started:
            await self._start()
        self._counter += 1
        token = str(self._counter)
        q: asyncio.Queue[Msg] = asyncio.Queue()
        self._queues[token] = q
        try:
            yield f"{self._prefix}.{token}", q
        finally:
            del self._queues[token]


def _headers(msg: Msg) -> dict[str, str]:
    return {str(k): str(v) for k, v in (msg.headers or {}).items()}


def parse_error(body: dict[str, Any]) -> JetStreamError | None:
    err = body.get("error")
    if not err:
        return None
    return JetStreamError(int(err.get("code", 0)), int(err.get("err_code", 0)), str(err.get("description", "")))


async def api(nc: NATS, subject: str, payload: dict[str, Any] | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Call a ``$JS.API.*`` endpoint; raise ``JetStreamError`` on an API error."""
    raw = json.dumps(payload).encode() if payload is not None else b""
    reply = await nc.request(subject, raw, timeout=timeout)
    body: dict[str, Any] = json.loads(reply.data or b"{}")
    err = parse_error(body)
    if err is not None:
        raise err
    return body


async def direct_get_batch(
    nc: NATS,
    mux: ReplyMux,
    stream: str,
    *,
    seq: int = 1,
    subject: str | None = None,
    batch: int = 256,
    timeout: float = 5.0,
) -> list[StoredMessage]:
    """Messages from ``seq`` on (optionally only those matching ``subject``), at most ``batch``.

    One request; the server streams the matches and ends with a 204 (end of batch) or answers 404
    when nothing matches.
    """
    req: dict[str, Any] = {"seq": seq, "batch": batch}
    if subject is not None:
        req["next_by_subj"] = subject
    out: list[StoredMessage] = []
    loop = asyncio.get_running_loop()
    async with mux.inbox() as (inbox, q), asyncio.timeout(timeout) as deadline:
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(req).encode(), reply=inbox)
        while True:
            # ``timeout`` for each message, without a task and a timer per message (wait_for)
            msg = q.get_nowait() if not q.empty() else await q.get()
            deadline.reschedule(loop.time() + timeout)
            h = _headers(msg)
            status = h.get("Status")
            if status is not None:
                if status in ("204", "404"):
                    return out
                raise _direct_get_error(stream, h)
            out.append(
                StoredMessage(
                    seq=int(h["Nats-Sequence"]),
                    subject=h["Nats-Subject"],
                    data=msg.data,
                    headers=h,
                    time=h.get("Nats-Time-Stamp", ""),
                )
            )


def _direct_get_error(stream: str, headers: dict[str, str]) -> JetStreamError:
    """A direct get's error status as an error that says what it means (a 503 is NATS's "no
    responders": nothing serves direct gets of that stream)."""
    status = int(headers["Status"])
    if status == 503:
        description = f"stream {stream} does not exist (yet), or does not allow direct gets: no server answered"
    else:
        description = headers.get("Description", "direct get failed")
    return JetStreamError(status, 0, description)


async def direct_get_last(nc: NATS, stream: str, subject: str, timeout: float = 5.0) -> StoredMessage | None:
    """The last message stored on exactly ``subject``, or None."""
    msg = await nc.request(
        f"$JS.API.DIRECT.GET.{stream}", json.dumps({"last_by_subj": subject}).encode(), timeout=timeout
    )
    h = _headers(msg)
    if "Status" in h:
        if h["Status"] == "404":
            return None
        raise _direct_get_error(stream, h)
    return StoredMessage(int(h["Nats-Sequence"]), h["Nats-Subject"], msg.data, h, h.get("Nats-Time-Stamp", ""))
