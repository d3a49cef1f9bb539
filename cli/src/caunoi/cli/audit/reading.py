"""Reading the logs as an auditor does: every message of a stream in order, fast (the bulk reader,
direct gets only, which is all an auditor's NATS user may do), and tolerant of what an audit must
find: a sequence with no message (removed) or one the store refuses to return (its own checksum
failed) is reported as absent, not skipped and not fatal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.aio.client import Client as NATS

from caunoi.cli.bus import installed_services
from caunoi.shared.client import Login
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.identity import IDENTITIES_STREAM
from caunoi.shared.jsapi import JetStreamError, ReplyMux, api, direct_get_batch
from caunoi.shared.settings import inbox_prefix, nats_servers
from caunoi.shared.streamread import RawMessage, StreamReadError, read_stream

#: sequences read one by one around a message the bulk read stumbled on
WINDOW = 256


def streams(names: tuple[str, ...] = (), identities: bool = False) -> list[StreamSpec]:
    """The services' streams (all, or those named by service or stream name)."""
    found = [s.stream for s in installed_services()]
    if identities:
        found.append(IDENTITIES_STREAM)
    if not names:
        return found
    wanted = {n.lower() for n in names}
    picked = [s for s in found if s.service in wanted or s.name.lower() in wanted]
    unknown = wanted - {s.service for s in picked} - {s.name.lower() for s in picked}
    if unknown:
        raise ValueError(f"unknown service or stream: {', '.join(sorted(unknown))}")
    return picked


@dataclass(frozen=True)
class StreamInfo:
    first_seq: int
    last_seq: int
    messages: int


async def stream_info(nc: NATS, stream: str) -> StreamInfo | None:
    try:
        info = await api(nc, f"$JS.API.STREAM.INFO.{stream}")
    except JetStreamError:
        return None
    s = info["state"]
    return StreamInfo(int(s["first_seq"]), int(s["last_seq"]), int(s["messages"]))


@dataclass(frozen=True, slots=True)
class Item:
    """One sequence of a stream: its message, or ``data is None`` when there is none to read."""

    seq: int
    subject: str
    data: bytes | None
    time_ns: int
    why: str = ""

    @property
    def event(self) -> dict[str, Any] | None:
        if self.data is None:
            return None
        try:
            parsed = orjson.loads(self.data)
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ns / 1e9, UTC)


class Reader:
    """Reads streams as ``login`` on ``url``."""

    def __init__(self, nc: NATS, url: str, login: Login | None) -> None:
        self.nc = nc
        self.url = nats_servers(url)[0]
        self.login = login or Login()
        self._mux = ReplyMux(nc)

    def _bulk(self, stream: str, start: int, end: int, subject: str | None) -> AsyncGenerator[list[RawMessage], None]:
        user = self.login.nats_user
        return read_stream(
            self.url,
            stream,
            start,
            until_seq=end,
            subject_filter=subject,
            batch=1000,
            method="direct",
            nkey_seed=self.login.nats_seed,
            inbox_prefix=inbox_prefix(user) if user else "_INBOX",
        )

    async def items(self, stream: str, start: int, end: int) -> AsyncIterator[list[Item]]:
        """Every sequence from ``start`` to ``end``, in order: a message, or an absent one."""
        pos = start
        while pos <= end:
            try:
                async with contextlib.aclosing(self._bulk(stream, pos, end, None)) as chunks:
                    async for chunk in chunks:
                        out: list[Item] = []
                        for m in chunk:
                            out += [Item(s, "", None, 0, "no message at this sequence") for s in range(pos, m.seq)]
                            out.append(Item(m.seq, m.subject, m.data, m.time_ns))
                            pos = m.seq + 1
                        yield out
                if pos <= end:  # nothing after pos: the end was removed
                    yield [Item(s, "", None, 0, "no message at this sequence") for s in range(pos, end + 1)]
                return
            except (StreamReadError, TimeoutError) as e:
                # the store refused a message of the next batch: read around it one at a time
                window = min(end, pos + WINDOW - 1)
                yield [await self.one(stream, s, str(e)) for s in range(pos, window + 1)]
                pos = window + 1

    async def one(self, stream: str, seq: int, why: str = "") -> Item:
        try:
            msg = await self.nc.request(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps({"seq": seq}), timeout=5.0)
        except TimeoutError:
            return Item(seq, "", None, 0, "the store did not answer for this sequence")
        h = {str(k): str(v) for k, v in (msg.headers or {}).items()}
        if "Status" in h:
            reason = "no message at this sequence" if h["Status"] == "404" else f"the store refused it ({h['Status']})"
            return Item(seq, "", None, 0, reason)
        stamp = h.get("Nats-Time-Stamp", "")
        return Item(seq, h.get("Nats-Subject", ""), msg.data, _ns(stamp))

    async def subject(self, stream: str, subject: str) -> list[Item]:
        """Every message on ``subject`` (wildcards allowed), in order."""
        out: list[Item] = []
        seq = 1
        while True:
            page = await direct_get_batch(self.nc, self._mux, stream, seq=seq, subject=subject, batch=256)
            out += [Item(m.seq, m.subject, m.data, _ns(m.time)) for m in page]
            if len(page) < 256:
                return out
            seq = page[-1].seq + 1

    async def scan(self, stream: str, start: int, end: int) -> AsyncIterator[list[Item]]:
        """Messages from ``start`` to ``end`` as they read (fast; nothing reported absent)."""
        if end < start:
            return
        async with contextlib.aclosing(self._bulk(stream, start, end, None)) as chunks:
            async for chunk in chunks:
                yield [Item(m.seq, m.subject, m.data, m.time_ns) for m in chunk]

    async def seq_at(self, stream: str, when: datetime) -> int | None:
        """The first sequence stored at or after ``when`` (None: nothing since)."""
        req = {"start_time": when.astimezone(UTC).isoformat().replace("+00:00", "Z")}
        msg = await self.nc.request(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(req), timeout=5.0)
        h = msg.headers or {}
        return int(h["Nats-Sequence"]) if "Nats-Sequence" in h else None


def _ns(stamp: str) -> int:
    """RFC 3339 (nanoseconds) as JetStream reports it -> nanoseconds since the epoch."""
    if not stamp:
        return 0
    head, _, frac = stamp.rstrip("Z").partition(".")
    base = int(datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp())
    return base * 1_000_000_000 + int((frac + "000000000")[:9])
