"""The floor of a command's round trip: the same request and reply, with no caunoi code.

A command is a NATS request to a Python service, which stores its event with a durable JetStream
publish and replies (docs/architecture.md; the design fixes both). The raw limit (a durable
publish from the client) leaves out the request's hop to the service and the reply's hop back.
This module measures the round trip with those hops and nothing else: a *bare responder*, a
process of its own that receives the request, publishes the given event bytes to a new subject
with the service's headers, waits for JetStream's ack and replies with it. It speaks the NATS
protocol directly (the kernel's stream-reading connection, no client library in the way), so it
is as little Python as a responder can be. The client is the benchmark's nats-py connection
sending what a ``raise`` sends (body and credential header), as for the raise rows.

The raw floor stores its event on a new subject of the raw publishes' stream, which no one reads.
A command's event goes to the service's stream, which its projection follows: it is woken by
each event, reads it back and writes its row, on the same cores and the same disk. The *floor
with the read model* (:func:`copies`) answers each request by storing a copy of a stored
``raise`` as a new petition in the service's own stream (a new reference and event id, its hash
chain computed again; its sealed personal data stay bound to the original and do not open), so
the service's projection applies it as it applies a ``raise``: what a command costs under the
design (a request to a service, a durable append, a read model following the stream) with no
caunoi command code at all.

    python bench/floor.py <nats url> <event file> <inbox prefix> [<copies file>]   (the nkey seed on stdin)

prints ``ready`` once it answers, and serves until killed. :func:`responder` starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import uvloop
import work
from nats.aio.client import Client as NATS

from caunoi.shared.eventstore import StoredMessage, StreamSpec
from caunoi.shared.streamread import _SID_DATA, _Connection

#: the subjects the bare responders answer on (the benchmark's operator may publish to them)
SUBJECT = "caunoi.benchfloor"
STREAM_SUBJECT = "caunoi.benchfloor.stream"

#: what a direct get adds to the headers a message was stored with
_ADDED_BY_THE_READ = frozenset({"Nats-Stream", "Nats-Subject", "Nats-Sequence", "Nats-Time-Stamp"})
#: one message to store: subject, header block (as HPUB sends it), body
Copy = tuple[bytes, bytes, bytes]


def copies(stored: StoredMessage, stream: StreamSpec, n: int) -> list[Copy]:
    """``n`` copies of ``stored`` (the ``PetitionRaised`` of a ``raise``), each a new petition:
    a new reference (from 2^39 on: the fill's references and the commands' never reach there but
    by a chance of ~10^-8) and a new event id, the hash chain computed again, sent with the
    headers the service sent (the read adds the stream's own)."""
    from fill import chainhash_of, rechained, reference  # (the fill's imports stay out of the responder)

    old_ref = stream.aggregate_id_of(stored.subject).encode()
    old_id, old_hash = str(stored.msg_id).encode(), chainhash_of(stored.data)
    head = work.header_block({k: v for k, v in stored.headers.items() if k not in _ADDED_BY_THE_READ})
    start = (1 << 39) | random.getrandbits(24) << 12
    out: list[Copy] = []
    for i in range(n):
        ref, msg_id = reference(start + i), str(uuid.uuid4()).encode()
        body, _ = rechained(stored.data.replace(old_ref, ref).replace(old_id, msg_id), old_hash)
        subject = stored.subject.encode().replace(old_ref, ref)
        out.append((subject, head.replace(old_ref, ref).replace(old_id, msg_id), body))
    return out


def _raw(event: bytes) -> Iterator[Copy]:
    """What the raw floor stores: ``event`` on a new subject of the raw stream each time."""
    while True:
        msg_id = str(uuid.uuid4())
        yield work.raw_subject(msg_id).encode(), work.header_block(work.raw_headers(msg_id)), event


async def serve(url: str, seed: str, event: bytes, prefix: str, stored: list[Copy] | None = None) -> None:
    """Answer every request on :data:`SUBJECT` with the ack of a durable publish of ``event`` (or,
    given ``stored``, on :data:`STREAM_SUBJECT` with the ack of the next of them)."""

    async def connect(name: str) -> _Connection:
        return await _Connection.open(
            url, user=None, password=None, token=None, nkey_seed=seed, tls=None, timeout=10.0, name=name
        )

    requests, store = await connect("caunoi-bench-floor"), await connect("caunoi-bench-floor-store")
    inbox = f"{prefix}.{uuid.uuid4().hex}"
    requests.subscribe(SUBJECT if stored is None else STREAM_SUBJECT, _SID_DATA)
    messages = _raw(event) if stored is None else iter(stored)
    store.subscribe(f"{inbox}.*", _SID_DATA)
    loop = asyncio.get_running_loop()
    waiting: dict[bytes, asyncio.Future[bytes]] = {}
    running: set[asyncio.Task[None]] = set()
    counter = 0

    async def answer(reply: bytes) -> None:
        nonlocal counter
        counter += 1
        ack_to = f"{inbox}.{counter}".encode()
        ack = waiting[ack_to] = loop.create_future()
        subject, head, body = next(messages)
        store.write(b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject, ack_to, len(head), len(head) + len(body), head, body))
        acked = await ack
        requests.write(b"PUB %s %d\r\n%s\r\n" % (reply, len(acked), acked))

    async def acks() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                for subject, _, _, body in await store.take(3600.0):
                    fut = waiting.pop(subject, None)
                    if fut is not None:
                        fut.set_result(body)

    acking = loop.create_task(acks())
    for conn in (requests, store):  # both subscriptions in place before saying so
        conn.pong = loop.create_future()
        conn.write(b"PING\r\n")
        await conn.pong
    print("ready", flush=True)
    while not acking.done():
        with contextlib.suppress(TimeoutError):
            for _, reply, _, _ in await requests.take(3600.0):
                if reply:
                    task = loop.create_task(answer(reply))
                    running.add(task)
                    task.add_done_callback(running.discard)
    acking.result()


@contextlib.asynccontextmanager
async def responder(
    url: str, seed: str, event: bytes, prefix: str, workdir: Path, stored: list[Copy] | None = None
) -> AsyncIterator[int]:
    """The bare responder in a process of its own, for the block's length; gives its pid. Given
    ``stored`` (:func:`copies`), the floor with the read model."""
    path = workdir / "floor-event.json"
    path.write_bytes(event)
    extra: list[str] = []
    if stored is not None:
        listed = workdir / "floor-copies.json"
        listed.write_bytes(orjson.dumps([[m.decode() for m in c] for c in stored]))
        extra.append(str(listed))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        url,
        str(path),
        prefix,
        *extra,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(seed.encode() + b"\n")
        proc.stdin.close()
        async with asyncio.timeout(30.0):
            line = await proc.stdout.readline()
        if line.strip() != b"ready":
            rest = await proc.stdout.read(4000) if proc.returncode is not None else b""
            raise RuntimeError(f"the bare responder did not start: {(line + rest).decode(errors='replace')}")
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def round_trip(
    nc: NATS, body: Callable[[], dict[str, Any]], headers: dict[str, str] | None, subject: str = SUBJECT
) -> Callable[[int], Awaitable[None]]:
    """One request to a bare responder, as ``raise`` sends it; fails unless JetStream stored the event."""

    async def op(_: int) -> None:
        reply = await nc.request(subject, orjson.dumps(body()), timeout=10.0, headers=headers)
        if b'"seq"' not in reply.data:
            raise RuntimeError(f"not stored: {reply.data[:300]!r}")

    return op


def _listed(path: str) -> list[Copy]:
    return [(s.encode(), h.encode(), b.encode()) for s, h, b in orjson.loads(Path(path).read_bytes())]


if __name__ == "__main__":
    _url, _event, _prefix = sys.argv[1:4]
    _stored = _listed(sys.argv[4]) if sys.argv[4:] else None
    uvloop.run(serve(_url, sys.stdin.readline().strip(), Path(_event).read_bytes(), _prefix, _stored))
