"""Read a whole JetStream stream, in order, fast: for projection rebuilds and other full replays.

nats-py spends 10-25 µs of Python per message (a ``Msg`` object, a headers dict, a callback or a
queue hop, a future per request), which caps a replay at 35-90k messages/s. This module speaks
the few NATS protocol operations a replay needs over one asyncio connection of its own and turns
each delivered frame into a :class:`RawMessage` with a handful of C-level bytes operations:
about 2 µs per message, so the reader stops being the bottleneck (see the benchmark numbers in
``docs`` / the change that added this module).

Two ways to read, chosen with ``method``:

``"consumer"`` (default)
    An ephemeral, in-memory pull consumer (ack policy none) starting at ``start_seq``, read with
    up to two outstanding pull requests of ``batch`` messages, issued only as the caller takes
    chunks (so a slow caller holds back the server, and at most ``2 * batch`` messages wait in
    memory). Stream sequence, timestamp and pending count come from the ``$JS.ACK...`` reply
    subject, so only the stored headers are looked at. nats-server spends ~2 µs per message.
    The consumer is deleted at the end (and, should the reader die, expires after
    ``inactive_threshold``). Needs permission to publish
    ``$JS.API.CONSUMER.CREATE.<stream>.<name>`` (``...<name>.<filter>`` when filtered: the filter
    is in the subject, NATS >= 2.10), ``$JS.API.CONSUMER.MSG.NEXT.<stream>.<name>`` and
    ``$JS.API.CONSUMER.DELETE.<stream>.<name>``.

``"direct"``
    Batched direct gets (``$JS.API.DIRECT.GET.<stream>`` with ``seq``, ``batch``, ``max_bytes``,
    ``next_by_subj``; ADR-31), one request at a time. Stateless and needs only permission to
    publish ``$JS.API.DIRECT.GET.<stream>`` (what caunoi services have), but nats-server spends
    ~8 µs per message re-writing each message's headers, about 4 times the consumer's cost.

Either way the end is fixed when the read starts: the messages that match and exist then (the
consumer's ``num_pending``, or the first direct get's ``Nats-Num-Pending``), cut at ``until_seq``
if given; messages appended during the read are not delivered. Every delivery is checked (the
consumer's delivery sequence must count up by one, a direct get batch must chain by
``Nats-Last-Sequence``) and any error raises: nothing is dropped, repeated or reordered silently.

Connecting: ``nats://[user:password@]host[:port]`` (``nats://token@host`` for a token),
``tls://`` or ``tls=`` for TLS; ``nkey_seed`` signs the server's nonce (the ``nkeys`` package,
imported only then). Replies come to ``<inbox_prefix>.<random>.*`` with exactly two
subscriptions, so a user allowed to subscribe only under its own prefix
(``_INBOX_<user>.>``) can read.

Usage::

    async with contextlib.aclosing(read_stream(url, "PETITIONS", last_applied + 1)) as chunks:
        async for chunk in chunks:
            await apply(chunk)

(``aclosing`` closes the connection at once when the loop is left early.)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import ssl
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import msgspec

__all__ = ["Method", "RawMessage", "StreamReadError", "read_stream"]

Method = Literal["consumer", "direct"]

#: header names looked up in stored messages, exactly as caunoi writes them (NATS header names are
#: case-sensitive); the same as caunoi.shared.envelope.TYPE_HEADER / LEGACY_TYPE_HEADER
_TYPE = b"\r\nCaunoi-Type:"
_LEGACY_TYPE = b"\r\nce-type:"
_MSG_ID = b"\r\nNats-Msg-Id:"

_NS = 1_000_000_000
# Per direct get request. nats-server answers a batch in one go holding the stream's isolation
# lock, which appends wait for: ~10 µs per message, so 1000 messages hold writers ~10 ms.
_DIRECT_BATCH = 1000
_DIRECT_MAX_BYTES = 4 * 1024 * 1024
#: how long the end of a read waits for the server to confirm the consumer's deletion
_FINISH_TIMEOUT = 2.0


class RawMessage(msgspec.Struct, frozen=True, gc=False):
    """One stored message, as read (a ``msgspec`` struct, made once per message of a replay: some
    70-95 ns where a named tuple took 410-460 and a frozen dataclass three times that; not tracked
    by the garbage collector, as it refers to no container)."""

    seq: int  #: stream sequence
    subject: str  #: the subject it was stored on
    time_ns: int  #: when the server stored it, nanoseconds since the Unix epoch (UTC)
    type: str | None  #: the ``Caunoi-Type`` header, else the legacy ``ce-type`` header
    headers: bytes  #: the headers it was stored with (``b""``: none), as a consumer delivers them
    data: bytes  #: the body

    @property
    def type_name(self) -> str | None:
        """The event type (as :class:`caunoi.shared.eventstore.Message` names it)."""
        return self.type

    @property
    def msg_id(self) -> str | None:
        """The ``Nats-Msg-Id`` header (found when asked: a replay does not need it)."""
        return _header(self.headers, _MSG_ID) if self.headers else None


class StreamReadError(Exception):
    """The server refused or failed the read (an ``-ERR``, an API error, an unexpected status)."""

    def __init__(self, message: str, code: int = 0, err_code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.err_code = err_code


async def read_stream(
    url: str,
    stream: str,
    start_seq: int = 1,
    *,
    until_seq: int | None = None,
    subject_filter: str | None = None,
    batch: int = 1000,
    method: Method = "consumer",
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    nkey_seed: str | None = None,
    inbox_prefix: str = "_INBOX",
    tls: ssl.SSLContext | None = None,
    timeout: float = 10.0,
    inactive_threshold: float = 300.0,
    name: str = "caunoi-streamread",
) -> AsyncGenerator[list[RawMessage], None]:
    """Yield the messages of ``stream`` from ``start_seq`` on, in stream order, in chunks of at
    most ``batch`` (a chunk is yielded as soon as messages are there, so it may be smaller).

    Stops after the last message that matched when the read started, or at ``until_seq``
    (inclusive). ``subject_filter`` (wildcards allowed) reads only the matching messages.
    ``timeout`` bounds the wait for the connection, each API reply and each next message;
    ``inactive_threshold`` is how long the server keeps an abandoned consumer.

    Raises :class:`StreamReadError` for a server error, ``ConnectionError`` when the connection
    drops, ``TimeoutError`` when the server stops answering.
    """
    if start_seq < 1:
        raise ValueError("start_seq must be at least 1")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    if method not in ("consumer", "direct"):
        raise ValueError(f"unknown method {method!r}")
    if until_seq is not None and until_seq < start_seq:
        return
    conn = await _Connection.open(
        url, user=user, password=password, token=token, nkey_seed=nkey_seed, tls=tls, timeout=timeout, name=name
    )
    reader: _Reader | None = None
    try:
        inbox = f"{inbox_prefix}.{secrets.token_hex(11)}"
        conn.api_inbox = f"{inbox}.a"
        conn.subscribe(conn.api_inbox, _SID_API)
        conn.subscribe(f"{inbox}.d", _SID_DATA)
        if method == "consumer":
            consumer = _ConsumerReader(conn, inbox, stream, start_seq, until_seq, subject_filter, batch)
            await consumer.start(inactive_threshold)
            reader = consumer  # once the consumer exists (to delete it in the end)
        else:
            reader = _DirectReader(conn, inbox, stream, start_seq, until_seq, subject_filter, batch)
        ready: list[RawMessage] = []
        while True:
            if ready and (len(ready) >= batch or reader.finished or not conn.frames):
                chunk, ready = ready[:batch], ready[batch:]
                if not reader.finished:
                    reader.request_more(len(ready))  # the server works while the caller does
                yield chunk
                continue
            if reader.finished:
                break
            reader.request_more(len(ready))
            ready += reader.convert(await conn.take(timeout))
    finally:
        if reader is not None:
            with contextlib.suppress(StreamReadError, ConnectionError, TimeoutError):
                await reader.finish()  # also when the caller stopped early
        conn.close()


# ------------------------------------------------------------------------------ the two ways


class _Reader:
    """Requests messages and turns delivered frames into RawMessages, noticing the end."""

    finished = False

    def __init__(
        self,
        conn: _Connection,
        inbox: str,
        stream: str,
        start_seq: int,
        until_seq: int | None,
        subject_filter: str | None,
        batch: int,
    ) -> None:
        self.conn = conn
        self.reply = f"{inbox}.d"
        self.stream = stream
        self.until = until_seq if until_seq is not None else 1 << 64
        self.filter = subject_filter
        self.batch = batch
        self.next_seq = start_seq
        self.remaining = -1  # messages still to deliver, once known

    def request_more(self, waiting: int) -> None:
        raise NotImplementedError

    def convert(self, frames: list[_Frame]) -> list[RawMessage]:
        raise NotImplementedError

    async def finish(self) -> None:
        """Release what the read holds on the server (best effort)."""


class _ConsumerReader(_Reader):
    async def start(self, inactive_threshold: float) -> None:
        self.name = f"streamread_{secrets.token_hex(8)}"
        config: dict[str, Any] = {
            "name": self.name,
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": self.next_seq,
            "ack_policy": "none",
            "replay_policy": "instant",
            "mem_storage": True,
            "num_replicas": 1,
            "inactive_threshold": int(inactive_threshold * _NS),
        }
        subject = f"$JS.API.CONSUMER.CREATE.{self.stream}.{self.name}"
        if self.filter is not None:
            config["filter_subject"] = self.filter
            subject += f".{self.filter}"
        info = await self.conn.api(subject, {"stream_name": self.stream, "config": config, "action": "create"})
        self.remaining = int(info["num_pending"])
        self.in_flight = 0  # messages asked for and not yet delivered
        self.to_ask = self.remaining  # messages not yet asked for
        self.dseq = 1  # the delivery sequence the next message must have
        self.finished = self.remaining == 0

    def request_more(self, waiting: int) -> None:
        # at most two pulls of `batch` in flight, fewer while the caller lags behind
        while self.to_ask > 0 and self.in_flight + waiting <= self.batch:
            n = min(self.batch, self.to_ask)
            self.conn.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.name}",
                b'{"batch":%d,"expires":%d}' % (n, 3600 * _NS),
                self.reply,
            )
            self.in_flight += n
            self.to_ask -= n

    def convert(self, frames: list[_Frame]) -> list[RawMessage]:
        out: list[RawMessage] = []
        append = out.append
        dseq = self.dseq
        until = self.until
        remaining = self.remaining
        for subject, reply, hdr, data in frames:
            if reply is None or not reply.startswith(b"$JS.ACK."):
                self._status(hdr)
                continue
            t = reply.split(b".")
            if len(t) != 9:  # the v2 ack subject has domain and account hash tokens, and one more at the end
                t = t[:2] + t[4:11] if len(t) >= 12 else _bad_ack(reply)
            # $JS.ACK.<stream>.<consumer>.<delivered count>.<stream seq>.<delivery seq>.<time ns>.<pending>
            if int(t[6]) != dseq or t[4] != b"1":
                raise StreamReadError(f"consumer delivery out of order: expected #{dseq}, got {reply.decode()}")
            dseq += 1
            remaining -= 1
            seq = int(t[5])
            if seq > until:
                remaining = 0
                break
            msg_type = None
            if hdr:  # _header() inlined for the usual case: this loop is the reader's hot path
                i = hdr.find(_TYPE)
                if i >= 0:
                    i += 14
                    msg_type = hdr[i : hdr.index(b"\r\n", i)].strip().decode()
                else:
                    msg_type = _header(hdr, _LEGACY_TYPE)
            append(RawMessage(seq, subject.decode(), int(t[7]), msg_type, hdr, data))
            # (the pending count, t[8], is a running estimate on the server: not trusted to end the read)
            if remaining <= 0:
                break
        self.in_flight -= dseq - self.dseq
        self.dseq = dseq
        self.remaining = remaining
        self.finished = remaining <= 0
        return out

    def _status(self, hdr: bytes) -> None:
        code = _status_code(hdr)
        if code == 100:  # idle heartbeat
            return
        if code == 408:  # a pull request expired: ask again for what it did not deliver
            undelivered = int(_header(hdr, b"\r\nNats-Pending-Messages:") or 0)
            self.in_flight -= undelivered
            self.to_ask += undelivered
            return
        raise StreamReadError(f"consumer read failed: {_status_line(hdr)}", code)

    async def finish(self) -> None:
        # Waits for the server's answer: closing right after sending the delete, with messages
        # still unread on the socket, makes the kernel reset the connection, and the server may
        # then drop the delete unread (the consumer stayed until its inactive threshold).
        await self.conn.api(f"$JS.API.CONSUMER.DELETE.{self.stream}.{self.name}", {}, timeout=_FINISH_TIMEOUT)


class _DirectReader(_Reader):
    pending_request = False
    last_in_batch = 0  # sequence of the last message of the current request (0 before the first)

    def request_more(self, waiting: int) -> None:
        if self.pending_request or waiting > self.batch:
            return
        size = min(self.batch, _DIRECT_BATCH)
        if self.filter is None and self.until < 1 << 64:
            size = min(size, self.until - self.next_seq + 1)
        req: dict[str, Any] = {"seq": self.next_seq, "batch": size, "max_bytes": _DIRECT_MAX_BYTES}
        if self.filter is not None:
            req["next_by_subj"] = self.filter
        self.conn.publish(f"$JS.API.DIRECT.GET.{self.stream}", json.dumps(req).encode(), self.reply)
        self.pending_request = True
        self.last_in_batch = 0

    def convert(self, frames: list[_Frame]) -> list[RawMessage]:
        out: list[RawMessage] = []
        append = out.append
        until = self.until
        last = self.last_in_batch
        for _, _, hdr, data in frames:
            if self.finished:
                break
            if hdr[8:10] != b"\r\n":  # a status line: the end of a batch, or nothing found
                self._status(hdr, last)
                continue
            # the server appends Nats-Stream, -Subject, -Sequence, -Time-Stamp, -Num-Pending and
            # -Last-Sequence to the stored headers
            i = hdr.rfind(b"\r\nNats-Stream: ")
            try:
                meta = dict(line.split(b": ", 1) for line in hdr[i + 2 : -4].split(b"\r\n"))
                seq = int(meta[b"Nats-Sequence"])
                chained = int(meta[b"Nats-Last-Sequence"]) == last  # the previous message of this batch
                subject, stamp = meta[b"Nats-Subject"].decode(), meta[b"Nats-Time-Stamp"]
                if self.remaining < 0:  # first message of the read: the end is fixed here
                    self.remaining = int(meta[b"Nats-Num-Pending"]) + 1  # pending: how many after this one
            except (KeyError, ValueError):
                raise StreamReadError(f"unexpected direct get headers: {hdr!r}") from None
            if i < 0 or not chained:
                raise StreamReadError(f"direct get batch does not chain: {last} then {hdr[i:]!r}")
            last = seq
            if seq > until:
                self.finished = True
                break
            stored = hdr[: i + 2]  # the message's own headers, as a consumer delivers them
            stored = b"" if stored == b"NATS/1.0\r\n" else stored + b"\r\n"
            msg_type = _header(stored, _TYPE) or _header(stored, _LEGACY_TYPE)
            append(RawMessage(seq, subject, _parse_time(stamp), msg_type, stored, data))
            self.next_seq = seq + 1
            self.remaining -= 1
            if self.remaining == 0 or seq == until:
                self.finished = True
        self.last_in_batch = last
        return out

    def _status(self, hdr: bytes, last: int) -> None:
        code = _status_code(hdr)
        if code == 204:  # end of batch
            if int(_header(hdr, b"\r\nNats-Last-Sequence:") or -1) != last:
                raise StreamReadError(f"direct get batch incomplete: last seen {last}, server sent {hdr!r}")
            self.pending_request = False
        elif code == 404:  # no (more) matching message
            self.pending_request = False
            self.finished = True
        else:
            raise StreamReadError(f"direct get failed: {_status_line(hdr)}", code)


_time_base: dict[bytes, int] = {}


def _parse_time(raw: bytes) -> int:
    """RFC 3339 UTC with up to 9 fraction digits (Go's RFC3339Nano) -> ns since the epoch."""
    base = _time_base.get(raw[:19])
    if base is None:
        base = int(datetime.fromisoformat(raw[:19].decode()).replace(tzinfo=UTC).timestamp()) * _NS
        if len(_time_base) > 10_000:
            _time_base.clear()
        _time_base[raw[:19]] = base
    frac = raw[20:-1]  # between "." and "Z" (absent when zero)
    return base + (int(frac.ljust(9, b"0")) if frac else 0)


def _header(hdr: bytes, key: bytes) -> str | None:
    """The value of header ``key`` (given as ``b"\\r\\nName:"``), or None."""
    i = hdr.find(key)
    if i < 0:
        return None
    i += len(key)
    return hdr[i : hdr.index(b"\r\n", i)].strip().decode()


def _status_code(hdr: bytes) -> int:
    try:
        return int(hdr[9:12])
    except ValueError:
        return 0


def _status_line(hdr: bytes) -> str:
    return hdr[: hdr.find(b"\r\n")].decode(errors="replace")


def _bad_ack(reply: bytes) -> list[bytes]:
    raise StreamReadError(f"unexpected ack subject {reply.decode(errors='replace')}")


# -------------------------------------------------------------------------------- the wire

_Frame = tuple[bytes, bytes | None, bytes, bytes]  # subject, reply, headers (b"" if none), body
_SID_API = b"1"
_SID_DATA = b"2"


class _Connection(asyncio.Protocol):
    """One NATS client connection: the handshake, PING/PONG, and MSG/HMSG frames split into
    API replies (one request at a time) and data frames (collected for the reader)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.info: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.pong: asyncio.Future[None] | None = None
        self.api_reply: asyncio.Future[_Frame] | None = None
        self.frames: list[_Frame] = []
        self.wake = asyncio.Event()
        self.error: BaseException | None = None
        self.api_inbox = ""
        self.timeout = 10.0

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        user: str | None,
        password: str | None,
        token: str | None,
        nkey_seed: str | None,
        tls: ssl.SSLContext | None,
        timeout: float,
        name: str,
    ) -> _Connection:
        parts = urlsplit(url if "://" in url else f"nats://{url}")
        host, port = parts.hostname or "127.0.0.1", parts.port or 4222
        if parts.scheme == "tls" and tls is None:
            tls = ssl.create_default_context()
        if parts.username and user is None and token is None:
            if parts.password is None:
                token = unquote(parts.username)
            else:
                user, password = unquote(parts.username), unquote(parts.password)
        async with asyncio.timeout(timeout):
            _, conn = await asyncio.get_running_loop().create_connection(cls, host, port)
            try:
                info = await conn.info
                if info.get("tls_required") or tls is not None:
                    await conn.start_tls(tls or ssl.create_default_context(), host)
                connect: dict[str, Any] = {
                    "verbose": False,
                    "pedantic": False,
                    "tls_required": tls is not None,
                    "lang": "python3",
                    "version": "caunoi-streamread",
                    "protocol": 1,
                    "headers": True,
                    "no_responders": True,
                    "name": name,
                }
                if nkey_seed is not None:
                    connect |= _nkey_auth(nkey_seed, info)
                if user is not None:
                    connect |= {"user": user, "pass": password or ""}
                if token is not None:
                    connect["auth_token"] = token
                conn.pong = conn.loop.create_future()
                conn.write(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
                await conn.pong
                conn.timeout = timeout
            except BaseException:
                conn.close()
                raise
        return conn

    async def start_tls(self, context: ssl.SSLContext, host: str) -> None:
        assert self.transport is not None
        transport = await self.loop.start_tls(self.transport, self, context, server_hostname=host)
        assert transport is not None
        self.transport = transport

    # --- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's too)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection to the NATS server lost: {exc or 'closed by the server'}"))

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        find = buf.find
        size = len(buf)
        pos = 0
        frames = self.frames
        try:
            while True:
                eol = find(b"\r\n", pos)
                if eol < 0:
                    break
                op = buf[pos : pos + 4]
                if op == b"HMSG":  # HMSG <subject> <sid> [reply] <header size> <total size>
                    args = buf[pos + 5 : eol].split(b" ")
                    if len(args) == 5:
                        subject, sid, reply, hsize, tsize = args
                    else:
                        subject, sid, hsize, tsize = args
                        reply = None
                    start = eol + 2
                    end = start + int(tsize)
                    if end + 2 > size:
                        break
                    if buf[end : end + 2] != b"\r\n":
                        raise ValueError("frame does not end where its size says")
                    hend = start + int(hsize)
                    frame = (subject, reply, buf[start:hend], buf[hend:end])
                    pos = end + 2
                elif op == b"MSG ":  # MSG <subject> <sid> [reply] <size>
                    args = buf[pos + 4 : eol].split(b" ")
                    if len(args) == 4:
                        subject, sid, reply, tsize = args
                    else:
                        subject, sid, tsize = args
                        reply = None
                    start = eol + 2
                    end = start + int(tsize)
                    if end + 2 > size:
                        break
                    if buf[end : end + 2] != b"\r\n":
                        raise ValueError("frame does not end where its size says")
                    frame = (subject, reply, b"", buf[start:end])
                    pos = end + 2
                else:
                    self._control(buf[pos:eol])
                    pos = eol + 2
                    continue
                if sid == _SID_DATA:
                    frames.append(frame)
                elif self.api_reply is not None and not self.api_reply.done():
                    self.api_reply.set_result(frame)
        except (ValueError, IndexError) as e:
            self._fail(StreamReadError(f"NATS protocol error: {e}: {buf[pos : pos + 200]!r}"))
            self.close()
            return
        self.buf = buf[pos:]
        if frames:
            self.wake.set()

    def _control(self, line: bytes) -> None:
        if line == b"PING":
            self.write(b"PONG\r\n")
        elif line == b"PONG":
            if self.pong is not None and not self.pong.done():
                self.pong.set_result(None)
        elif line.startswith(b"INFO "):
            if not self.info.done():
                self.info.set_result(json.loads(line[5:]))
        elif line.startswith(b"-ERR"):
            self._fail(StreamReadError(f"NATS server error: {line[5:].decode(errors='replace').strip(chr(39))}"))
        elif line != b"+OK":
            raise ValueError(f"unexpected {line[:40]!r}")

    def _fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        for fut in (self.info, self.pong, self.api_reply):
            if fut is not None and not fut.done():
                fut.set_exception(error)
        self.wake.set()

    # --- used by the readers

    def write(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        assert self.transport is not None
        self.transport.write(data)

    def subscribe(self, subject: str, sid: bytes) -> None:
        self.write(b"SUB %s %s\r\n" % (subject.encode(), sid))

    def publish(self, subject: str, payload: bytes, reply: str | None) -> None:
        head = f"PUB {subject} {reply} " if reply else f"PUB {subject} "
        self.write(b"%s%d\r\n%s\r\n" % (head.encode(), len(payload), payload))

    async def api(self, subject: str, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """A JetStream API request, answered on the API inbox (the only one in flight)."""
        assert self.api_reply is None or self.api_reply.done()
        self.api_reply = self.loop.create_future()
        self.publish(subject, json.dumps(request).encode(), self.api_inbox)
        wait = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(wait):  # not wait_for: see take()
                _, _, hdr, data = await self.api_reply
        except TimeoutError:
            raise TimeoutError(f"no reply to {subject} within {wait}s") from None
        if hdr and _status_code(hdr) >= 300:
            raise StreamReadError(f"{subject}: {_status_line(hdr)}", _status_code(hdr))
        body: dict[str, Any] = json.loads(data)
        if err := body.get("error"):
            raise StreamReadError(
                f"{subject}: {err.get('description', err)}", int(err.get("code", 0)), int(err.get("err_code", 0))
            )
        return body

    async def take(self, timeout: float) -> list[_Frame]:
        """The data frames received since the last call; waits for at least one."""
        while not self.frames:
            if self.error is not None:
                raise self.error
            self.wake.clear()
            try:
                # not asyncio.wait_for: on Python 3.11 it may swallow a cancellation that comes as
                # the wait ends (an abandoned rebuild then read on)
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
            except TimeoutError:
                raise TimeoutError(f"no message from the NATS server within {timeout}s") from None
        frames, self.frames = self.frames, []
        return frames

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _nkey_auth(seed: str, info: dict[str, Any]) -> dict[str, str]:
    """CONNECT fields for an nkey user: the public key and the server nonce signed with the seed."""
    import nkeys  # only needed for nkey users

    kp = nkeys.from_seed(bytearray(seed.strip().encode()))
    try:
        nonce = str(info.get("nonce", ""))
        sig = base64.urlsafe_b64encode(kp.sign(nonce.encode())).rstrip(b"=").decode()
        return {"nkey": kp.public_key.decode(), "sig": sig}
    finally:
        kp.wipe()
