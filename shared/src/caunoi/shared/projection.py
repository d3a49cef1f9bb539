"""Projection runner: keeps a PostgreSQL read model in step with a stream, a batch at a time.

- The projector owns its position: it reads the stream by sequence from its checkpoint + 1; no
  server-side consumer, so no redelivery can reorder events.
- A read model applies a whole batch set-wise (:class:`Projection.apply` gets the batch's events
  in stream order; :mod:`caunoi.shared.readmodel` has the usual shapes), in one transaction that
  also moves the checkpoint, so a crash at any point neither skips nor doubles an event.
- A failing batch is split in halves, recursively, so the events around a failing one are applied
  and the failing one is found alone. It is retried with backoff; after ``max_attempts`` it is
  *parked* (``projection_parked``, shown by ``caunoi status`` and ``caunoi projections parked``)
  and the projection halts there: it keeps retrying that event slowly and applies nothing after
  it, because later events may build on it. An operator fixes the cause (the retry then succeeds
  by itself) or skips the event (``caunoi projections skip``), which is recorded.
- A message that is not an event of the stream's owner (not a CloudEvent, another source) cannot
  be fixed by a retry: it is recorded in ``projection_junk`` (``caunoi status`` counts them) and
  passed over, without halting. Event types the read model's registry does not know are skipped
  (a stream carries several aggregate kinds); a *newer version* of a known type halts it.
- ``rebuild`` replays from sequence 1 into a shadow schema while the live one keeps serving, then
  swaps the two in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast, runtime_checkable

import asyncpg
import structlog
from nats.aio.client import Client as NATS
from pydantic import ValidationError

from caunoi.shared.aio import wait_at_most
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import EventStore, Message
from caunoi.shared.lean import LeanEnvelope, lean_envelope
from caunoi.shared.recorded import RecordedEvent, typed_envelope

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    from caunoi.shared.partitions import Partitioning

    #: A connection, whether taken from a pool or not.
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:
    Conn = Any
    Pool = Any

#: The settings of every session on a read model's database (``server_settings`` of asyncpg's
#: ``connect`` and ``create_pool``). ``plan_cache_mode``: a plan per execution. asyncpg prepares
#: every statement, and after five executions PostgreSQL keeps a prepared statement's generic plan
#: if it looks no dearer than the custom ones; made while a table is nearly empty (a new
#: installation, a fresh read model, a rebuild's shadow) that plan is a sequential scan, and the
#: connection keeps it until the table is next analysed, however large it grows meanwhile. Found
#: in the bench: a projection writer's ``WHERE id = ANY($1)`` read the whole petitions table for
#: every batch (266 sequential scans of ~12,000 rows in 10 s; PostgreSQL 229 instead of ~100 µs per
#: command, lag p99 90-165 ms instead of ~35). Planning each time costs a few tens of µs.
SESSION_SETTINGS: dict[str, str] = {"plan_cache_mode": "force_custom_plan"}
#: First in each transaction that applies events with its checkpoint: its commit does not wait for
#: the write-ahead log to reach the disk. Safe for a read model, and only for one: such a commit is
#: still atomic and in order (the events' changes and the checkpoint are there together or not at
#: all), a crash of PostgreSQL loses at most the last such commits (a fraction of a second of
#: them), and the runner then applies those events again from the stream, after the checkpoint
#: that was kept; any later commit that does wait (a swap, a parked event, anything outside
#: projections) flushes them too. What it spares: a flush of the log per batch, which on one disk
#: waits behind and holds up nats-server's own flushes (``sync_interval: always``): the commands'
#: round trip.
NOT_WAITING_FOR_FLUSH = "SET LOCAL synchronous_commit TO off"


def checkpoint_update(schema: str, seq: int, table: str = "checkpoint", row: tuple[str, int] = ("id", 1)) -> str:
    """The statement that moves a checkpoint (the row whose ``row[0]`` column is ``row[1]``) to
    ``seq``; the numbers are inlined, as integers, for :func:`applying`."""
    column, value = row
    return f'UPDATE "{schema}".{table} SET position = {int(seq):d} WHERE "{column}" = {int(value):d}'


@contextlib.asynccontextmanager
async def applying(conn: Conn) -> AsyncIterator[list[str]]:
    """The transaction that applies a batch of events with its checkpoint, in as few round trips
    as it can: ``BEGIN`` and :data:`NOT_WAITING_FOR_FLUSH` go together, and the statements the
    body appends to the list it is given (no parameters: values inlined by the caller, integers
    only) go with the ``COMMIT``. Anything raised, the transaction is rolled back. With a pool
    that keeps sessions (:func:`read_model_pool`), a live batch of the petitions read model takes
    seven round trips to PostgreSQL instead of ten, each a send, a wake-up and a receive on both
    sides (docs/architecture.md, "A batch costs as few round trips")."""
    await conn.execute(f"BEGIN; {NOT_WAITING_FOR_FLUSH}")
    last: list[str] = []
    try:
        yield last
        await conn.execute("; ".join([*last, "COMMIT"]))
    except BaseException:
        if not conn.is_closed() and conn.is_in_transaction():
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
        raise


#: messages a bulk read (a rebuild, a catch-up) asks nats-server for at once (two such requests
#: are outstanding). 5,000 saved nats-server ~0.5 µs of CPU per message in paired rebuild runs,
#: not enough to show in the rate, and the projections process held 22 MB more (bench/README.md,
#: "Bulk pulls and buffers")
BULK_PULL = 1_000
#: seconds between two warnings of one lasting read error of a live loop
REPEAT_WARNING = 60.0


async def _keep_session(_conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """What a read model's pool does to a session it takes back, beyond what asyncpg always does
    (roll back a transaction left open, forget listeners): nothing. asyncpg's default also sends
    ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` every time, a round trip
    per use of the pool (a batch a projection applies, a query), to undo session state that
    nothing here leaves behind: settings are transaction-local (``SET LOCAL``) or the session's
    own (:data:`SESSION_SETTINGS`), advisory locks transaction-scoped (a session lock lives on a
    connection of its own), no cursor outlives its transaction, nothing listens."""


async def read_model_pool(url: str, max_size: int) -> Pool:
    """A pool of sessions on a read model's database, with :data:`SESSION_SETTINGS`, handed back
    as they are (:func:`_keep_session`)."""
    return await asyncpg.create_pool(
        url, min_size=1, max_size=max_size, server_settings=SESSION_SETTINGS, reset=_keep_session
    )


async def read_model_connection(url: str) -> asyncpg.Connection[asyncpg.Record]:
    """A session on a read model's database, with :data:`SESSION_SETTINGS`."""
    return await asyncpg.connect(url, server_settings=SESSION_SETTINGS)


KERNEL_DDL = """
CREATE TABLE IF NOT EXISTS projection_parked (
    projection  text        NOT NULL,
    seq         bigint      NOT NULL,
    subject     text        NOT NULL,
    event_type  text,
    error       text        NOT NULL,
    attempts    integer     NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution  text,
    PRIMARY KEY (projection, seq)
);
CREATE TABLE IF NOT EXISTS projection_junk (
    projection  text        NOT NULL,
    seq         bigint      NOT NULL,
    subject     text        NOT NULL,
    reason      text        NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, seq)
);
"""


class Projection(Protocol):
    """What a service writes for one read model. Tables live in the schema passed in, so the same
    code fills the live schema and a shadow one during a rebuild."""

    name: str  # also the live schema's name

    async def setup(self, conn: Conn, schema: str) -> None:
        """Create the read model's tables in ``schema`` (idempotent)."""

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        """Change the read model for a batch of events, in stream order, inside the runner's
        transaction (opened with ``BEGIN``, :func:`applying`: asyncpg's ``conn.transaction()``
        refuses to nest in it; a savepoint, if one is needed, is ``SAVEPOINT`` by hand); ignore
        event types it does not use. All or nothing: raise on any failure."""

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        """Every row of the read model in a stable order (to compare live with a rebuild)."""


def lean_events(projection: Projection) -> bool:
    """Whether the read model folds lean events (``lean_events = True``: :mod:`caunoi.shared.lean`):
    its ``rec.envelope`` and ``rec.event`` are then structs with the models' attributes where the
    type can be mirrored, the pydantic models elsewhere."""
    return bool(getattr(projection, "lean_events", False))


#: Reads a stream from a sequence on, in order, in chunks: ``(stream, start_seq, subject_filter,
#: batch) -> chunks`` (see :func:`caunoi.shared.streamread.read_stream`).
BulkReader = Callable[[str, int, str | None, int], AsyncIterator[Sequence[Message]]]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a bulk read runs: it allocates millions of short-lived,
    acyclic objects, and the collector, walking an ever larger heap, cost more than the reading
    (a rebuild ran at 34k instead of 55k events/s). Collected once at the end."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            gc.collect(1)
        release_memory()


def still_wanted() -> None:
    """Raise the cancellation of this task if something below swallowed it (a rebuild cancelled
    just as it started its workers once ran to its end, and one cancelled while its schema was
    being made once went on: a library caught the CancelledError). A swallowed cancellation still
    counts in ``Task.cancelling()``."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def release_memory() -> None:
    """Give the C heap's free memory back to the system (glibc's ``malloc_trim``; nothing
    elsewhere): a bulk read's groups of messages and rows are freed at its end, but the pages
    stayed resident, some 250 MB after a rebuild of 1,000,000 events."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return cast(Callable[[int], int], ctypes.CDLL(None).malloc_trim)
    except (OSError, AttributeError):
        return None


@runtime_checkable
class DeferredIndexes(Protocol):
    """A read model whose secondary indexes a rebuild may build once, after loading."""

    async def setup_tables(self, conn: Conn, schema: str) -> None: ...

    def index_statements(self, schema: str) -> list[str]: ...

    async def create_indexes(self, conn: Conn, schema: str) -> None: ...


#: sessions that build a rebuilt read model's secondary indexes side by side
INDEX_SESSIONS = 2


async def build_indexes(pool: Pool, statements: Sequence[str]) -> None:
    """Run ``statements`` (``CREATE INDEX``) over :data:`INDEX_SESSIONS` sessions of ``pool`` side by
    side. Each build scans the whole table, and a GIN index's build uses one core however large the
    table (PostgreSQL 16 parallelises B-tree builds only): two sessions kept both cores busy and
    took 1.6 s where one took 1.9-2.1 over a rebuilt million events (bench/README.md, "Worker
    start, index builds"). A failure stops the other session's work and is raised as it was (not
    in an exception group)."""
    pending = list(statements)

    async def session() -> None:
        async with pool.acquire() as conn:
            while pending:
                await conn.execute(pending.pop(0))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(INDEX_SESSIONS, len(pending))):
                group.create_task(session())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def set_autovacuum(conn: Conn, schema: str, *, enabled: bool) -> None:
    """Let PostgreSQL's autovacuum at the tables of ``schema`` (and their TOAST tables) again, or
    keep it off them. A rebuild keeps it off its shadow's tables while it loads them: a vacuum the
    launcher starts on a half-loaded table scans pages the load is still writing, and the index
    build that follows waits ``deadlock_timeout`` (1 s) for it to be cancelled. In a harness of
    catch-ups over 1,000,000 events the index phase took 2.5-2.7 s when that happened, against
    1.5-1.6 when it did not (bench/README.md, "Autovacuum off a loading shadow")."""
    tables = await conn.fetch(
        "SELECT format('%I.%I', n.nspname, c.relname) AS name, c.reltoastrelid <> 0 AS toast"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = $1 AND c.relkind = 'r'",
        schema,
    )
    for t in tables:
        options = ["autovacuum_enabled", *(["toast.autovacuum_enabled"] if t["toast"] else [])]
        if enabled:
            clause = f"RESET ({', '.join(options)})"
        else:
            clause = f"SET ({', '.join(f'{o} = false' for o in options)})"
        await conn.execute(f"ALTER TABLE {t['name']} {clause}")


class NotAnEvent(Exception):
    """A stored message that is not an event of the stream's owner."""


@dataclass
class Decoded:
    """A batch's messages decoded: the events this read model applies, and the junk (sequence,
    subject, why)."""

    records: list[RecordedEvent]
    junk: list[tuple[int, str, str]]


_UNSEEN = object()
#: decode with the general path (an older version of a known type: envelope, then upcast)
_GENERAL = object()


#: a message already applied by other means (a partitioned rebuild's workers): passed over
Skip = Callable[[Message], bool]


class Decoder:
    """Turns a stream's stored messages into the events a read model applies: the typed envelope
    of the current version in one pass (the usual case), the general path (envelope, then upcast)
    for older versions, None for types the registry does not know, :class:`NotAnEvent` for what
    is not an event of the stream's owner (another ``source``, a subject that does not match)."""

    def __init__(self, registry: EventRegistry, service: str, subject_prefix: str, lean: bool = False) -> None:
        self.registry = registry
        #: decode to lean structs where the type can be mirrored (:mod:`caunoi.shared.lean`)
        self.lean = lean
        self.source = f"/caunoi/{service}"
        self._prefix = f"{subject_prefix}."  # an event's subject: <prefix><its subject>.<unit path>
        self._prefix_len = len(self._prefix)
        self._envelopes: dict[str, Any] = {}

    def decode(self, msg: Message) -> RecordedEvent | None:
        type_name = msg.type_name
        if type_name is not None:
            envelope = self._envelopes.get(type_name, _UNSEEN)
            if envelope is _UNSEEN:
                envelope = self._envelope_for(type_name)
            if envelope is None:
                return None  # a type this read model does not know
            if envelope is not _GENERAL:  # the usual case: one pass over envelope and data
                env = None
                if isinstance(envelope, LeanEnvelope):
                    env = envelope.decode(msg.data)
                    envelope = envelope.pydantic  # if the mirror refused it: what pydantic makes of it
                if env is None:
                    try:
                        env = envelope.model_validate_json(msg.data)
                    except ValidationError:
                        env = None  # the checks below say why
                if (
                    env is not None
                    and env.type == type_name
                    and env.source == self.source
                    and msg.subject.startswith(self._prefix)
                    and msg.subject.startswith(env.subject + ".", self._prefix_len)
                ):
                    return RecordedEvent(msg.seq, msg.subject, env, cast(DomainEvent, env.data))
        try:
            env = CloudEvent.from_json_bytes(msg.data)
        except (ValidationError, ValueError) as e:
            raise NotAnEvent(f"not a CloudEvent: {str(e)[:300]}") from e
        if env.source != self.source:
            raise NotAnEvent(f"source {env.source!r} is not {self.source!r}")
        if not msg.subject.startswith(f"{self._prefix}{env.subject}."):
            raise NotAnEvent(f"subject {env.subject!r} does not match the stored subject")
        if not self.registry.knows(env.type):
            return None
        return RecordedEvent(msg.seq, msg.subject, env, self.registry.decode(env.type, env.data))

    def _envelope_for(self, type_name: str) -> type[CloudEvent] | LeanEnvelope | object | None:
        """What decodes messages of ``type_name`` (by its header), remembered: the typed envelope of
        its current version (its lean decoder for a lean read model), ``_GENERAL`` (an older
        version: envelope, then upcast), None (a type this read model does not know: skipped)."""
        if not self.registry.knows(type_name):
            found: type[CloudEvent] | LeanEnvelope | object | None = None
        else:
            model = self.registry.current(type_name)
            if model is None:
                found = _GENERAL
            else:
                typed = typed_envelope(model)
                found = (self.lean and lean_envelope(model, typed)) or typed
        if len(self._envelopes) < 1000:  # types come from headers: bounded, whatever is stored
            self._envelopes[type_name] = found
        return found

    def decode_all(self, msgs: Sequence[Message], after: int = 0, skip: Skip | None = None) -> Decoded:
        """The events of the messages after sequence ``after`` (and not ``skip`` ped) this read
        model applies, and the junk among them, with the projection's name left to the caller; a
        known event that does not decode raises."""
        records: list[RecordedEvent] = []
        junk: list[tuple[int, str, str]] = []
        for msg in msgs:
            if msg.seq <= after or (skip is not None and skip(msg)):
                continue
            try:
                rec = self.decode(msg)
            except NotAnEvent as e:
                junk.append((msg.seq, msg.subject, str(e)))
                continue
            if rec is not None:
                records.append(rec)
        return Decoded(records, junk)


async def record_junk(conn: Conn, projection: str, junk: Sequence[tuple[int, str, str]]) -> None:
    """Record messages passed over because they are not events (:class:`NotAnEvent`)."""
    await conn.executemany(
        "INSERT INTO projection_junk (projection, seq, subject, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [(projection, *j) for j in junk],
    )
    log.warning("projection.junk_passed_over", projection=projection, seqs=[j[0] for j in junk])


@dataclass
class RebuildProgress:
    """A rebuild under way: it replays the stream up to ``to`` (its last sequence when the rebuild
    began), then catches up and swaps; ``at``: how far it has got (in one process, what it applied;
    over workers, what the runner read and handed over, at most some ``partitions.BUFFERED`` bytes
    per worker ahead of what they applied)."""

    to: int
    at: int = 0
    started_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"to": self.to, "at": self.at, "seconds": round(time.time() - self.started_at, 1)}


@dataclass(frozen=True)
class ReplayTimes:
    """How long a replay into a new schema took (seconds): loading the events, then building the
    secondary indexes."""

    load: float
    indexes: float


@dataclass
class ProjectionStatus:
    name: str
    position: int
    halted_at: int | None = None
    last_error: str | None = None
    #: a rebuild (or a catch-up by one) under way
    rebuild: RebuildProgress | None = None


@dataclass
class ProjectionRunner:
    pool: Pool
    nc: NATS | None
    store: EventStore
    registry: EventRegistry
    projection: Projection
    subject_filter: str | None = None
    batch: int = 256
    max_attempts: int = 5
    base_backoff: float = 0.05
    halted_retry_every: float = 5.0
    poll_every: float = 1.0
    #: reads large backlogs (a rebuild, a runner far behind) much faster than direct gets
    bulk_reader: BulkReader | None = None
    #: events applied per transaction when reading in bulk
    bulk_batch: int = 10_000
    #: a backlog at least this long is read in bulk
    bulk_threshold: int = 5_000
    #: after a partial batch, wait this long (seconds) for more events before the next one
    gather: float = 0.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: held while a shadow schema is filled (a rebuild, or a catch-up by one)
    _rebuilding: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: rebuilds a partitionable read model over several processes (:mod:`caunoi.shared.partitions`)
    partitioning: Partitioning | None = None
    _stopping: bool = False
    #: a swap left the schema it replaced (:meth:`drop_replaced`)
    _replaced_left: bool = True
    #: the live loop's last read error while it lasts, and when it was last logged
    _read_error: str | None = None
    _read_warned: float = 0.0
    status: ProjectionStatus = field(init=False)
    #: the phases of the last replay into a new schema (a rebuild, a catch-up by one, a check)
    last_replay: ReplayTimes | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.status = ProjectionStatus(self.projection.name, 0)
        self._decoder = Decoder(
            self.registry, self.store.spec.service, self.store.spec.subject_prefix, lean_events(self.projection)
        )

    @property
    def schema(self) -> str:
        return self.projection.name

    @property
    def source(self) -> str:
        """The ``source`` of every event of the followed stream."""
        return f"/caunoi/{self.store.spec.service}"

    async def setup(self) -> None:
        """Create the kernel's tables and the read model's schema (idempotent). Several processes
        of one service may start at once; PostgreSQL's ``CREATE … IF NOT EXISTS`` races, so they
        take turns (a transaction-scoped advisory lock)."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('caunoi.projection.setup'))")
                await conn.execute(KERNEL_DDL)
                await self._create_schema(conn, self.schema)
            self.status.position = await self.position(conn, self.schema)

    async def _create_schema(self, conn: Conn, schema: str, *, defer_indexes: bool = False) -> None:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".checkpoint '
            "(id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL)"
        )
        await conn.execute(f'INSERT INTO "{schema}".checkpoint VALUES (1, 0) ON CONFLICT DO NOTHING')
        if defer_indexes and isinstance(self.projection, DeferredIndexes):
            await self.projection.setup_tables(conn, schema)
        else:
            await self.projection.setup(conn, schema)

    @staticmethod
    async def position(conn: Conn, schema: str) -> int:
        return int(await conn.fetchval(f'SELECT position FROM "{schema}".checkpoint WHERE id = 1'))

    # -- the live loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Follow the stream until ``stop``. Wakes on new messages (a core subscription on the
        stream's subjects) and polls every ``poll_every`` seconds as a fallback."""
        await self.setup()
        sub = None
        if self.nc is not None:
            sub = await self.nc.subscribe(self.subject_filter or f"{self.store.spec.subject_prefix}.>", cb=self._poke)
        try:
            while not self._stopping:
                # Clear before reading: a poke that arrives while we read is kept for the wait.
                self._wake.clear()
                if self._replaced_left:
                    await self._drop_replaced_or_say()
                try:
                    applied = await self.step()
                except Exception as e:  # noqa: BLE001 - e.g. the stream is not there yet, NATS is down
                    self._read_failed(repr(e))
                    await asyncio.sleep(self.poll_every)
                    continue
                if self._read_error is not None:
                    log.info("projection.read_recovered", projection=self.projection.name, error=self._read_error)
                    self._read_error = None
                if applied:
                    if applied < self.batch and self.gather > 0:
                        await asyncio.sleep(self.gather)  # let the next events gather: fewer transactions
                    continue
                await wait_at_most(self._wake, self.poll_every)
                if self._wake.is_set():
                    await self._settle()
        finally:
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    def _read_failed(self, error: str) -> None:
        """A step failed (tried again every ``poll_every``): a warning when the error is new, then
        at most every :data:`REPEAT_WARNING` seconds while it lasts (a service started before the
        stream it follows exists would otherwise say so every second)."""
        now = time.monotonic()
        if error != self._read_error or now - self._read_warned >= REPEAT_WARNING:
            log.warning("projection.read_failed", projection=self.projection.name, error=error)
            self._read_warned = now
        self._read_error = error
        self.status.last_error = error

    async def _poke(self, _msg: Any) -> None:
        self._wake.set()

    async def _settle(self) -> None:
        """The core-NATS copy of a publish can arrive before JetStream has stored it; after a
        wake-up, apply what is there, looking again a few times within ~30 ms."""
        for delay in (0.0, 0.001, 0.002, 0.004, 0.008, 0.016):
            await asyncio.sleep(delay)
            try:
                if await self.step():
                    return
            except Exception:  # noqa: BLE001 - the main loop reports it on its next step
                return

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def step(self) -> int:
        """Apply the next batch to the live schema; return how many messages it moved on. A full
        batch with a long backlog behind it (a runner restarted after a while) goes on in bulk,
        or, far behind, by a rebuild (:meth:`_rebuild_pays`)."""
        async with self._lock:
            n = await self._step(self.schema, live=True)
            if n == self.batch and self.bulk_reader is not None:
                backlog = await self.store.last_seq() - self.status.position
                if self._rebuild_pays(backlog) and not self._rebuilding.locked():
                    return n + await self._catch_up_by_rebuild(backlog)
                if backlog >= self.bulk_threshold:
                    n += await self._bulk(self.schema, live=True)
            return n

    def _rebuild_pays(self, backlog: int) -> bool:
        """Whether a read model this far behind is filled again from sequence 1, over several
        processes, sooner than it catches up in this one: a partitionable one whose backlog is
        long enough to be partitioned and over twice what it has applied (the workers apply
        events about 1.5 times as fast as one process: 37,609 against 24,808 events/s over
        1,000,000 events on 2 cores, 2026-11-30), e.g. a new read model, or a service back after
        a long stop."""
        plan = self.partitioning
        if plan is None or plan.processes < 2:
            return False
        from caunoi.shared.partitions import partitionable

        return partitionable(self.projection) and backlog >= max(plan.min_events, 2 * self.status.position)

    async def _catch_up_by_rebuild(self, backlog: int) -> int:
        """Catch up by a rebuild (the live loop held: its lock is ours); how far it moved on."""
        before = self.status.position
        log.info("projection.catch_up_by_rebuild", projection=self.projection.name, position=before, backlog=backlog)
        async with self._rebuilding, self._shown():
            return await self._swap_in(await self._fill_shadow(None), None) - before

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[Callable[[], Awaitable[int]]]:
        """The live loop held between two batches, caught up with the stream: the read model stays
        at ``status.position`` until the block ends, but for the function it yields, which applies
        what arrived meanwhile (an audit compares the read model with a replay at one position)."""

        async def step() -> int:
            total = 0
            while n := await self._step(self.schema, live=True):
                total += n
            return total

        async with self._lock:
            await step()
            yield step

    async def catch_up(self) -> int:
        """Apply everything stored so far (used by tests and by ``rebuild``)."""
        total = 0
        while n := await self.step():
            total += n
        return total

    async def _bulk(self, schema: str, *, live: bool, skip: Skip | None = None) -> int:
        """Apply everything stored now, read in bulk and applied ``bulk_batch`` events per
        transaction. Reading and decoding the next group overlap with writing the previous one
        (PostgreSQL works on its own core meanwhile); groups are written one after another, in
        order."""
        assert self.bulk_reader is not None
        async with self.pool.acquire() as conn:
            start = await self.position(conn, schema) + 1
        total = 0
        group: list[Message] = []
        writing: asyncio.Task[int] | None = None

        async def handover(msgs: list[Message]) -> None:
            nonlocal total, writing
            decoded = self._decode_all(msgs, skip)  # while the previous group is being written
            if writing is not None:
                total += await writing
            writing = asyncio.create_task(self._apply_group(schema, msgs, decoded, live=live, skip=skip))

        chunks = self.bulk_reader(self.store.stream, start, self.subject_filter, min(self.bulk_batch, BULK_PULL))
        with gc_paused():
            try:
                async for chunk in chunks:
                    group.extend(chunk)
                    if len(group) >= self.bulk_batch:
                        await handover(group)
                        group = []
                if group:
                    await handover(group)
                if writing is not None:
                    total += await writing
                    writing = None
            finally:
                if writing is not None:  # the read failed: let the write under way end
                    with contextlib.suppress(Exception):
                        await writing
                await chunks.aclose()  # type: ignore[attr-defined]
        return total

    async def _apply_group(
        self, schema: str, group: Sequence[Message], decoded: Decoded | None, *, live: bool, skip: Skip | None = None
    ) -> int:
        if decoded is None:
            await self._apply_isolating(schema, group, live=live, skip=skip)
        else:
            try:
                await self._apply(schema, group, decoded)
            except Exception:  # noqa: BLE001 - narrowed down by the usual path
                await self._apply_isolating(schema, group, live=live, skip=skip)
        if live:
            self.status.position = group[-1].seq
        else:
            self.read_to(group[-1].seq)
        return len(group)

    async def _step(self, schema: str, *, live: bool, batch: int | None = None, skip: Skip | None = None) -> int:
        if live:
            # what this runner applied last (read at setup): a query per step cost more than the
            # step's own work under load. Another runner ahead of it only makes it read events
            # that the checkpoint, locked in the batch's transaction, then passes over.
            pos = self.status.position
        else:
            async with self.pool.acquire() as conn:
                pos = await self.position(conn, schema)
        msgs = await self.store.read(pos + 1, batch or self.batch, self.subject_filter)
        if not msgs:
            return 0
        await self._apply_isolating(schema, msgs, live=live, skip=skip)
        if live:
            self.status.position = msgs[-1].seq
            self.status.halted_at = None
            self.status.last_error = None
        else:
            self.read_to(msgs[-1].seq)
        return len(msgs)

    # -- applying --------------------------------------------------------------------------------

    def decode(self, msg: Message) -> RecordedEvent | None:
        """The event in ``msg``; None for a type this read model does not know; ``NotAnEvent``
        for junk. A known type whose data does not decode raises (that halts the projection)."""
        return self._decoder.decode(msg)

    def _decode_all(self, msgs: Sequence[Message], skip: Skip | None = None) -> Decoded | None:
        """Decode a group before its transaction (a bulk read decodes the next group while this
        one is written); None if any message fails, so the usual path finds and isolates it."""
        try:
            return self._decoder.decode_all(msgs, skip=skip)
        except Exception:  # noqa: BLE001 - the usual path reports it
            return None

    def _decode(self, msgs: Sequence[Message], after: int = 0, skip: Skip | None = None) -> Decoded:
        return self._decoder.decode_all(msgs, after, skip)

    async def _apply(
        self, schema: str, msgs: Sequence[Message], decoded: Decoded | None = None, skip: Skip | None = None
    ) -> None:
        """One batch in one transaction, with the checkpoint. ``decoded``: the batch's events,
        decoded before (a bulk read decodes the next group while this one is written); ``skip``:
        messages applied before by other means, passed over."""
        async with self.pool.acquire() as conn, applying(conn) as at_commit:
            # Lock the checkpoint row: two runners on one schema would otherwise double-apply.
            pos = await conn.fetchval(f'SELECT position FROM "{schema}".checkpoint WHERE id = 1 FOR UPDATE')
            if msgs[-1].seq <= pos:
                return
            if decoded is None:
                decoded = self._decode(msgs, after=pos, skip=skip)  # a failure fails the batch: narrowed down
            records = decoded.records if msgs[0].seq > pos else [r for r in decoded.records if r.seq > pos]
            junk = decoded.junk if msgs[0].seq > pos else [j for j in decoded.junk if j[0] > pos]
            if records:
                await self.projection.apply(conn, schema, records)
            if junk:
                await record_junk(conn, self.projection.name, junk)
            at_commit.append(checkpoint_update(schema, msgs[-1].seq))

    async def _apply_isolating(
        self, schema: str, msgs: Sequence[Message], *, live: bool, skip: Skip | None = None
    ) -> None:
        """Apply ``msgs``; if that fails, halves in turn, down to the one event that fails."""
        try:
            await self._apply(schema, msgs, skip=skip)
            return
        except Exception as e:  # noqa: BLE001 - any failure is narrowed down, then retried
            if len(msgs) == 1:
                log.warning("projection.event_failed_once", projection=self.projection.name, error=repr(e))
            else:
                log.warning("projection.batch_failed", projection=self.projection.name, n=len(msgs), error=repr(e))
        if len(msgs) == 1:
            await self._apply_one_with_retry(schema, msgs[0], live=live, skip=skip)
            return
        mid = len(msgs) // 2
        await self._apply_isolating(schema, msgs[:mid], live=live, skip=skip)
        await self._apply_isolating(schema, msgs[mid:], live=live, skip=skip)

    async def _apply_one_with_retry(self, schema: str, msg: Message, *, live: bool, skip: Skip | None = None) -> None:
        attempt = 1  # the one that just failed
        while True:
            attempt += 1
            try:
                await self._apply(schema, [msg], skip=skip)
                if attempt > self.max_attempts:
                    await self._resolve_parked(msg.seq, "applied after retry")
                return
            except Exception as e:
                err = f"{type(e).__name__}: {e}"
                if attempt == self.max_attempts:
                    await self._park(msg, err, attempt)
                if live and attempt >= self.max_attempts:
                    self.status.halted_at = msg.seq
                    self.status.last_error = err
                if await self._was_skipped(msg.seq):
                    await self._skip_past(schema, msg.seq)
                    return
                if self._stopping:
                    raise
                delay = (
                    self.base_backoff * 2 ** (attempt - 1) if attempt < self.max_attempts else self.halted_retry_every
                )
                log.error(
                    "projection.event_failed",
                    projection=self.projection.name,
                    seq=msg.seq,
                    attempt=attempt,
                    error=err,
                    parked=attempt >= self.max_attempts,
                )
                await asyncio.sleep(delay)

    async def _park(self, msg: Message, error: str, attempts: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO projection_parked (projection, seq, subject, event_type, error, attempts) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (projection, seq) DO UPDATE "
                "SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, resolved_at = NULL, resolution = NULL",
                self.projection.name,
                msg.seq,
                msg.subject,
                msg.type_name,
                error,
                attempts,
            )

    async def _resolve_parked(self, seq: int, how: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE projection_parked SET resolved_at = now(), resolution = $3 "
                "WHERE projection = $1 AND seq = $2 AND resolved_at IS NULL",
                self.projection.name,
                seq,
                how,
            )

    async def _was_skipped(self, seq: int) -> bool:
        async with self.pool.acquire() as conn:
            row = await conn.fetchval(
                "SELECT resolution FROM projection_parked WHERE projection = $1 AND seq = $2",
                self.projection.name,
                seq,
            )
        return bool(row) and str(row).startswith("skipped")

    async def _skip_past(self, schema: str, seq: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(f'UPDATE "{schema}".checkpoint SET position = $1 WHERE id = 1 AND position < $1', seq)
        log.warning("projection.event_skipped", projection=self.projection.name, seq=seq)

    async def skip(self, seq: int, operator: str) -> bool:
        """Mark a parked event as skipped by an operator; the halted loop then moves past it."""
        async with self.pool.acquire() as conn:
            res = await conn.execute(
                "UPDATE projection_parked SET resolved_at = now(), resolution = $3 "
                "WHERE projection = $1 AND seq = $2 AND resolved_at IS NULL",
                self.projection.name,
                seq,
                f"skipped by {operator}",
            )
        return str(res).endswith(" 1")

    async def parked(self) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT projection, seq, subject, event_type, error, attempts, parked_at, resolved_at, resolution "
                "FROM projection_parked WHERE projection = $1 ORDER BY seq",
                self.projection.name,
            )
        return [dict(r) for r in rows]

    async def junk(self) -> list[dict[str, Any]]:
        """Messages passed over because they are not events of the stream's owner."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT projection, seq, subject, reason, seen_at FROM projection_junk WHERE projection = $1 "
                "ORDER BY seq",
                self.projection.name,
            )
        return [dict(r) for r in rows]

    # -- rebuild -------------------------------------------------------------------------------

    async def rebuild(self, batch: int | None = None) -> int:
        """Replay from sequence 1 into a shadow schema, then swap it in. Returns its position."""
        async with self._rebuilding, self._shown():  # one shadow at a time
            shadow = await self._fill_shadow(batch)
            async with self._lock:  # the live loop pauses between two batches
                return await self._swap_in(shadow, batch)

    @contextlib.asynccontextmanager
    async def _shown(self) -> AsyncIterator[None]:
        """``status.rebuild`` while the block runs (the service's status shows it)."""
        self.status.rebuild = RebuildProgress(await self.store.last_seq())
        try:
            yield
        finally:
            self.status.rebuild = None

    def read_to(self, seq: int) -> None:
        """A rebuild under way has read the stream up to ``seq``."""
        if self.status.rebuild is not None:
            self.status.rebuild.at = max(self.status.rebuild.at, seq)

    async def _fill_shadow(self, batch: int | None) -> str:
        """A new shadow schema with everything stored so far; its name."""
        shadow = f"{self.schema}__shadow"
        await self._new_shadow(shadow)
        still_wanted()
        log.info("projection.rebuild_started", projection=self.projection.name)
        await self._replay(shadow, batch)
        still_wanted()  # (not swapped in if it was abandoned)
        return shadow

    async def _swap_in(self, shadow: str, batch: int | None) -> int:
        """With the live loop held: the shadow catches up, then takes the live schema's place in
        one transaction. Its position. The replaced schema is left under the name
        :attr:`replaced` for the live loop to drop (:meth:`drop_replaced`): dropping a large read
        model (its files, its buffers) took over a second, which the swap need not wait for."""
        while await self._step(shadow, live=False, batch=batch):
            pass
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.replaced}" CASCADE')  # (one not dropped yet)
            await conn.execute(f'ALTER SCHEMA "{self.schema}" RENAME TO "{self.replaced}"')
            await conn.execute(f'ALTER SCHEMA "{shadow}" RENAME TO "{self.schema}"')
            pos = await self.position(conn, self.schema)
        self.status.position = pos
        self._replaced_left = True
        self._wake.set()  # the live loop drops it
        log.info("projection.rebuilt", projection=self.projection.name, position=pos)
        return pos

    @property
    def replaced(self) -> str:
        """The schema a rebuild's swap replaced, until it is dropped."""
        return f"{self.schema}__old"

    async def drop_replaced(self) -> None:
        """Drop the schema the last swap replaced (if any: also one left by a process that
        stopped before dropping it). The live loop does it after a swap and at its start."""
        async with self._lock:  # (not while a swap renames)
            async with self.pool.acquire() as conn:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{self.replaced}" CASCADE')

    async def _drop_replaced_or_say(self) -> None:
        """:meth:`drop_replaced` once; a failure is logged and left to the next swap or start (a
        replaced schema costs only disk space: it must not hold up the events)."""
        self._replaced_left = False
        try:
            await self.drop_replaced()
        except Exception as e:  # noqa: BLE001 - see above
            log.warning("projection.drop_replaced_failed", projection=self.projection.name, schema=self.replaced,
                        error=repr(e))  # fmt: skip

    async def rebuild_into(self, schema: str, batch: int | None = None) -> int:
        """Replay from sequence 1 into ``schema`` (dropped first) without swapping; for checks."""
        await self._new_shadow(schema)
        still_wanted()
        await self._replay(schema, batch)
        async with self.pool.acquire() as conn:
            return await self.position(conn, schema)

    async def _new_shadow(self, schema: str) -> None:
        """``schema`` made again, empty, to be loaded by :meth:`_replay`: its secondary indexes
        deferred, autovacuum kept off its tables until they are loaded."""
        async with self.pool.acquire() as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await self._create_schema(conn, schema, defer_indexes=True)
            await set_autovacuum(conn, schema, enabled=False)

    async def _replay(self, schema: str, batch: int | None) -> None:
        """Everything stored so far into a new ``schema``: over several processes when the read
        model allows it (:mod:`caunoi.shared.partitions`), else in bulk when the runner can; the
        secondary indexes (deferred when the schema was made) built once, after loading, and
        autovacuum let back at its tables (:meth:`_new_shadow` kept it off)."""
        started = time.monotonic()
        skip = None
        if batch is None and self.partitioning is not None:
            from caunoi.shared.partitions import replay_partitioned

            skip = await replay_partitioned(self, schema, self.partitioning)
        if self.bulk_reader is not None and batch is None:
            await self._bulk(schema, live=False, skip=skip)
        while await self._step(schema, live=False, batch=batch, skip=skip):
            pass
        loaded = time.monotonic()
        if isinstance(self.projection, DeferredIndexes):
            await build_indexes(self.pool, self.projection.index_statements(schema))
        async with self.pool.acquire() as conn:
            await set_autovacuum(conn, schema, enabled=True)
        self.last_replay = ReplayTimes(round(loaded - started, 2), round(time.monotonic() - loaded, 2))
        log.info(
            "projection.replayed",
            projection=self.projection.name,
            load_s=self.last_replay.load,
            indexes_s=self.last_replay.indexes,
        )

    async def snapshot(self, schema: str | None = None) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            return await self.projection.snapshot(conn, schema or self.schema)
