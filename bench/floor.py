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

    python bench/floor.py <nats url> <event file> <inbox prefix>   (the nkey seed on stdin)

prints ``ready`` once it answers, and serves until killed. :func:`responder` starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop
import work
from nats.aio.client import Client as NATS

from caunoi.shared.streamread import _SID_DATA, _Connection

#: the subject the bare responder answers on (the benchmark's operator may publish to it)
SUBJECT = "caunoi.benchfloor"


async def serve(url: str, seed: str, event: bytes, prefix: str) -> None:
    """Answer every request on :data:`SUBJECT` with the ack of a durable publish of ``event``."""

    async def connect(name: str) -> _Connection:
        return await _Connection.open(
            url, user=None, password=None, token=None, nkey_seed=seed, tls=None, timeout=10.0, name=name
        )

    requests, store = await connect("caunoi-bench-floor"), await connect("caunoi-bench-floor-store")
    inbox = f"{prefix}.{uuid.uuid4().hex}"
    requests.subscribe(SUBJECT, _SID_DATA)
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
        msg_id = str(uuid.uuid4())
        head = work.header_block(work.raw_headers(msg_id))  # a raw publish's subject and headers
        store.write(
            b"HPUB %s %s %d %d\r\n%s%s\r\n"
            % (work.raw_subject(msg_id).encode(), ack_to, len(head), len(head) + len(event), head, event)
        )
        body = await ack
        requests.write(b"PUB %s %d\r\n%s\r\n" % (reply, len(body), body))

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
async def responder(url: str, seed: str, event: bytes, prefix: str, workdir: Path) -> AsyncIterator[int]:
    """The bare responder in a process of its own, for the block's length; gives its pid."""
    path = workdir / "floor-event.json"
    path.write_bytes(event)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        url,
        str(path),
        prefix,
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
    nc: NATS, body: Callable[[], dict[str, Any]], headers: dict[str, str] | None
) -> Callable[[int], Awaitable[None]]:
    """One request to the bare responder, as ``raise`` sends it; fails unless JetStream stored the event."""

    async def op(_: int) -> None:
        reply = await nc.request(SUBJECT, orjson.dumps(body()), timeout=10.0, headers=headers)
        if b'"seq"' not in reply.data:
            raise RuntimeError(f"not stored: {reply.data[:300]!r}")

    return op


if __name__ == "__main__":
    _url, _event, _prefix = sys.argv[1:4]
    uvloop.run(serve(_url, sys.stdin.readline().strip(), Path(_event).read_bytes(), _prefix))
