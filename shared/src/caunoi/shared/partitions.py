"""A rebuild over several processes, for read models whose rows are disjoint per aggregate.

In one process a rebuild is bound by that process's core: decoding an event (pydantic, the whole
envelope) and folding it cost some 30-40 µs of Python per petitions event (bench, 1,000,000
events). A read model that declares itself ``partitionable`` (its rows are disjoint per
aggregate: a :class:`~caunoi.shared.readmodel.RowPerAggregate` keyed by the aggregate's id, or a
:class:`~caunoi.shared.readmodel.RowPerEvent` whose row reads only its event) is rebuilt by
``processes`` worker processes instead, each owning a share of the aggregates:

- the runner reads the stream once, with the fast bulk reader, up to the last message stored when
  the rebuild started, and hands each message to the worker of its share (a hash of the aggregate
  id in the subject, :func:`share_of`, decided on the raw message before anything is decoded)
  through that worker's stdin, with how far it has read;
- each worker decodes, folds and writes its share into the shadow schema, a group per
  transaction, which also moves the worker's position in ``partition_checkpoint``: every event of
  its share up to there is applied. An aggregate's events all go to one worker, which applies them
  in the stream's order, so each row is what the single-process fold makes;
- when all are done, the runner sets the shadow's checkpoint to the last sequence read and goes on
  as for any rebuild (catch up with what arrived meanwhile, indexes, swap).

Why one reader and pipes: a row of a ``RowPerAggregate`` is the fold of all its aggregate's
events in order, so readers by sequence range cannot each fold a part; a subject filter cannot
select a hash of the aggregate id; and each worker reading the whole stream itself would pay the
read (some 5 µs in the reader and 3 µs in nats-server per message, bench "raw read") once per
worker instead of once, where handing a message over costs the reader a few µs.

All processes together spend a little more CPU per event than the single process does (measured
over 1,000,000 events on 2 cores: 61 µs against 58, the reader's handover), but the Python work
no longer waits for one core: 31,599 against 24,612 events/s there (bench/README.md). The reader
may run ahead of a busy worker by :data:`BUFFERED` bytes; without that the workers took turns
(a worker reads its pipe only between groups) and the rebuild was slower than one process.

Nothing is lost if a worker fails (an event that does not decode or apply, a crash): it stops at
the end of its last committed group; the runner sets the checkpoint to the lowest position and
applies the rest itself, the usual way, passing over what each worker had applied (a sequence at
or below that worker's position), so a failing event is found, parked and reported alone as
always (:mod:`caunoi.shared.projection`).

Workers are ``python -m caunoi.shared.partitions`` processes of the service's interpreter; they
are told their share on stdin (pickled: the projection and the registry travel by reference to
their classes, which must be importable) and then get their messages there as MessagePack frames
(:class:`Handed`), connect to the read model's database, log to the
service's stderr, and are killed if the rebuild is abandoned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import resource
import struct
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
import uvloop

from caunoi.shared.events import EventRegistry
from caunoi.shared.eventstore import Message, aggregate_token
from caunoi.shared.projection import (
    BULK_PULL,
    Decoded,
    Decoder,
    Projection,
    Skip,
    applying,
    checkpoint_update,
    gc_paused,
    lean_events,
    read_model_connection,
    record_junk,
    still_wanted,
)

if TYPE_CHECKING:
    from caunoi.shared.projection import ProjectionRunner

log = structlog.get_logger(__name__)

#: the table in a shadow schema holding each worker's position (dropped once the rebuild merges them)
TABLE = "partition_checkpoint"
#: messages handed to a worker at once
HANDOVER = 500
#: bytes the reader may hold for a worker that is busy (decoding, folding: it reads its pipe only
#: between groups) before it waits for it: more than a group's messages, so the reader goes on
#: feeding the other workers meanwhile instead of the workers taking turns (in a rebuild of
#: 1,000,000 events the projections process peaked at 158 MB with 32 MiB, at 117 with 12, no
#: slower; at 109 with 8, no slower again)
BUFFERED = 8 << 20
#: bytes of frames a worker takes in ahead of what it applies (its pipe is read while a group is
#: written; reading pauses at twice this): with the runner's :data:`BUFFERED`, some five groups of
#: petitions events in all. (At 64 MiB a worker held up to 350 MB during a rebuild of 1,000,000 events.)
READ_AHEAD = 16 << 20
_SIZE = struct.Struct("<Q")


def partitionable(projection: Projection) -> bool:
    """Whether the read model declared its rows disjoint per aggregate (``partitionable = True``)."""
    return bool(getattr(projection, "partitionable", False))


def share_of(subject: str, prefix_len: int, shares: int) -> int:
    """Which share an event belongs to: a CRC-32 of its aggregate id, the token of its subject
    after the stream's prefix (``caunoi.<service>.<aggregate id>.<unit path>``). Every subject an
    aggregate's events are on gives the same share; stable across processes and releases."""
    return zlib.crc32(aggregate_token(subject, prefix_len).encode()) % shares


@dataclass(frozen=True)
class Partitioning:
    """How a runner rebuilds a partitionable read model over several processes."""

    #: worker processes (fewer than 2: the single-process path)
    processes: int
    #: the read model's database, as the workers connect to it
    database_url: str
    #: a stream with fewer messages than this is rebuilt in the runner's own process (starting
    #: workers costs about a second)
    min_events: int
    #: events per transaction in a worker
    group: int


@dataclass(frozen=True)
class Share:
    """What one worker is told: its share, the read model, where to write."""

    share: int
    shares: int
    projection: Projection
    registry: EventRegistry
    service: str
    subject_prefix: str
    schema: str
    group: int
    database_url: str


class Handed(msgspec.Struct, array_like=True):
    """A message as a worker gets it (what :class:`~caunoi.shared.projection.Decoder` reads): the
    reader sends ``(seq, subject, type, body)`` tuples as MessagePack arrays, which the worker
    decodes straight into these (pickled tuples, then an object made of each in Python, cost
    both processes about half a µs more per message: bench/README.md, "Worker start, index builds")."""

    seq: int
    subject: str
    type_name: str | None
    data: bytes


#: a frame of messages: how far the stream was read, and the messages (None: the end)
_Frame = tuple[int, list[Handed]] | None
_encode_frame = msgspec.msgpack.Encoder().encode
_decode_frame = msgspec.msgpack.Decoder(_Frame).decode


async def replay_partitioned(runner: ProjectionRunner, schema: str, plan: Partitioning) -> Skip | None:
    """Fill ``schema`` (a new shadow: checkpoint 0) from the stream by ``plan.processes`` workers
    and set its checkpoint. Returns None when all of them finished (or nothing was done: the read
    model is not partitionable, the stream is short, the runner cannot read in bulk), else what
    the runner must pass over while it applies the rest itself: the messages a worker applied
    before it stopped."""
    if plan.processes < 2 or not partitionable(runner.projection) or runner.bulk_reader is None:
        return None
    if await runner.store.last_seq() < max(plan.min_events, 1):
        return None
    shares = plan.processes
    async with runner.pool.acquire() as conn:
        await conn.execute(f'CREATE TABLE "{schema}".{TABLE} (share integer PRIMARY KEY, position bigint NOT NULL)')
        await conn.executemany(f'INSERT INTO "{schema}".{TABLE} VALUES ($1, 0)', [(k,) for k in range(shares)])
    spec = runner.store.spec
    jobs = [
        Share(
            k,
            shares,
            runner.projection,
            runner.registry,
            spec.service,
            spec.subject_prefix,
            schema,
            plan.group,
            plan.database_url,
        )
        for k in range(shares)
    ]
    started = time.monotonic()
    log.info("projection.partitioned_rebuild", projection=runner.projection.name, processes=shares)
    try:
        with gc_paused():  # (the hand-over makes a few objects per message, none cyclic)
            read, reports = await _run(runner, jobs)
    except Exception as e:  # noqa: BLE001 - the workers did what they did: this process does the rest
        read, reports = 0, [{"error": f"{type(e).__name__}: {e}"}]
    async with runner.pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(f'SELECT share, position FROM "{schema}".{TABLE} ORDER BY share')
        positions = [int(r["position"]) for r in rows]
        await conn.execute(f'UPDATE "{schema}".checkpoint SET position = $1 WHERE id = 1', min(positions))
        await conn.execute(f'DROP TABLE "{schema}".{TABLE}')
    log.info(
        "projection.partitions_done",
        projection=runner.projection.name,
        read=read,
        positions=positions,
        seconds=round(time.monotonic() - started, 2),
        workers=reports,
    )
    errors = [r["error"] for r in reports if r.get("error")]
    if errors:
        log.warning(
            "projection.partition_failed",
            projection=runner.projection.name,
            positions=positions,
            errors=errors,
            note="the rest is applied in this process",
        )
    if min(positions) == max(positions):
        return None  # all stopped at one place (the end read, as a rule): nothing to pass over
    prefix_len = len(spec.subject_prefix) + 1

    def applied(msg: Message) -> bool:
        return msg.seq <= positions[share_of(msg.subject, prefix_len, shares)]

    return applied


async def _run(runner: ProjectionRunner, jobs: Sequence[Share]) -> tuple[int, list[dict[str, Any]]]:
    """Start a worker per share, hand each its messages as the stream is read, wait for all.
    Returns the last sequence read and the workers' reports. Abandoned (cancelled, or the read
    failed), the workers are killed."""
    assert runner.bulk_reader is not None
    procs: list[asyncio.subprocess.Process] = []
    try:
        for job in jobs:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", __name__, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
            procs.append(proc)
            still_wanted()
            assert proc.stdin is not None
            proc.stdin.transport.set_write_buffer_limits(high=BUFFERED)
            _send(proc.stdin, sys.path)  # first: the share's classes are imported along it
            _send(proc.stdin, job)
        reports = [asyncio.create_task(_report(p)) for p in procs]
        read = await _hand_over(runner, procs, jobs[0])
        still_wanted()  # before waiting for the workers to finish what they were handed
        return read, list(await asyncio.gather(*reports))
    finally:
        for p in procs:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                with contextlib.suppress(Exception):
                    await p.wait()


async def _hand_over(runner: ProjectionRunner, procs: Sequence[asyncio.subprocess.Process], job: Share) -> int:
    """Read the stream and hand each message to its share's worker (a worker that stopped gets
    nothing more); every frame says how far the stream has been read. The last sequence read."""
    assert runner.bulk_reader is not None
    shares, prefix_len, size = job.shares, len(job.subject_prefix) + 1, min(HANDOVER, job.group)
    live = [p.stdin for p in procs]
    pending: list[list[tuple[int, str, str | None, bytes]]] = [[] for _ in procs]
    read = 0

    async def flush(k: int) -> None:
        """Hand share ``k`` what it has pending, in frames of at most ``size`` messages: each but
        the last says it was read up to its own last message, the last up to ``read``."""
        pipe, messages = live[k], pending[k]
        pending[k] = []
        if pipe is None:
            return
        try:
            for at in range(0, len(messages) or 1, size):
                frame = messages[at : at + size]
                _send_frame(pipe, (read if at + size >= len(messages) else frame[-1][0], frame))
                await pipe.drain()
        except (ConnectionError, RuntimeError):  # the worker stopped: it reports why
            live[k] = None

    chunks = runner.bulk_reader(runner.store.stream, 1, runner.subject_filter, BULK_PULL)
    try:
        async for chunk in chunks:
            for m in chunk:
                pending[share_of(m.subject, prefix_len, shares)].append((m.seq, m.subject, m.type_name, m.data))
            read = chunk[-1].seq
            runner.read_to(read)
            for k in range(shares):
                if len(pending[k]) >= size:
                    await flush(k)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    for k in range(shares):
        await flush(k)
        pipe = live[k]
        if pipe is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                _send_frame(pipe, None)  # the end
                await pipe.drain()
                pipe.close()
    return read


def _send(pipe: asyncio.StreamWriter, what: object) -> None:
    """What a worker is told before its messages (its share, where its classes are): pickled."""
    _write(pipe, pickle.dumps(what, protocol=pickle.HIGHEST_PROTOCOL))


def _send_frame(pipe: asyncio.StreamWriter, frame: tuple[int, list[tuple[int, str, str | None, bytes]]] | None) -> None:
    _write(pipe, _encode_frame(frame))


def _write(pipe: asyncio.StreamWriter, blob: bytes) -> None:
    pipe.write(_SIZE.pack(len(blob)) + blob)


async def _read(pipe: asyncio.StreamReader) -> bytes:
    (size,) = _SIZE.unpack(await pipe.readexactly(_SIZE.size))
    return await pipe.readexactly(size)


async def _receive(pipe: asyncio.StreamReader) -> Any:
    return pickle.loads(await _read(pipe))


async def _receive_frame(pipe: asyncio.StreamReader) -> _Frame:
    return _decode_frame(await _read(pipe))


async def _report(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    """The worker's report (the last line of its stdout); its exit status if it wrote none."""
    assert proc.stdout is not None
    out = await proc.stdout.read()
    rc = await proc.wait()
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        report: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        report = {"error": f"worker exited with status {rc} without a report"}
    if rc != 0 and not report.get("error"):
        report["error"] = f"worker exited with status {rc}"
    return report


# -- the worker ----------------------------------------------------------------------------------


async def apply_share(job: Share, frames: asyncio.StreamReader) -> dict[str, Any]:
    """Apply the messages handed over in ``frames`` into ``job.schema``, a group per transaction
    with this share's position; a failure stops it after the groups written (raised)."""
    decoder = Decoder(job.registry, job.service, job.subject_prefix, lean_events(job.projection))
    conn = await read_model_connection(job.database_url)
    events = 0
    writing: asyncio.Task[int] | None = None

    async def write(decoded: Decoded, upto: int) -> int:
        async with applying(conn) as at_commit:  # not waiting for the flush: the swap at the end waits for them all
            if decoded.records:
                await job.projection.apply(conn, job.schema, decoded.records)
            if decoded.junk:
                await record_junk(conn, job.projection.name, decoded.junk)
            at_commit.append(checkpoint_update(job.schema, upto, TABLE, ("share", job.share)))
        return len(decoded.records)

    async def handover(group: list[Handed], upto: int) -> None:
        nonlocal events, writing
        try:
            decoded = decoder.decode_all(group)  # while the previous group is being written
        finally:
            if writing is not None:
                events += await writing  # written, whatever the decoding of this group did
                writing = None
        writing = asyncio.create_task(write(decoded, upto))

    try:
        with gc_paused():
            group: list[Handed] = []
            read = 0
            while (frame := await _receive_frame(frames)) is not None:
                read, messages = frame
                group.extend(messages)
                if len(group) >= job.group:
                    await handover(group, read)
                    group = []
            await handover(group, read)  # everything read was handed over: applied up to there
            if writing is not None:
                events += await writing
                writing = None
    finally:
        if writing is not None:
            with contextlib.suppress(Exception):
                await writing
        await conn.close()
    return {"share": job.share, "position": read, "events": events}


async def _work() -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    frames = asyncio.StreamReader(limit=READ_AHEAD, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(frames, loop=loop), sys.stdin)
    sys.path[:] = await _receive(frames)
    job: Share = await _receive(frames)
    return {"share": job.share, **await apply_share(job, frames)}


def main() -> None:
    """A worker: its share and its messages on stdin, its report (JSON) on stdout; logs on stderr."""
    from caunoi.shared import logging as clog
    from caunoi.shared.settings import Settings

    settings = Settings()
    clog.configure("projection-worker", settings.log_level, settings.log_format)
    try:
        report = uvloop.run(_work())
    except Exception as e:  # noqa: BLE001 - reported to the runner, which applies the rest itself
        log.error("projection.partition_worker_failed", error=repr(e))
        report = {"error": f"{type(e).__name__}: {e}"[:2000]}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report |= {
        "pid": os.getpid(),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "max_rss_mb": usage.ru_maxrss // 1024,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    sys.exit(1 if report.get("error") else 0)


if __name__ == "__main__":
    main()
