"""Aggregate snapshots: what a command needs of an aggregate, one row per aggregate in the
service's database, so that loading it costs the same however long the stream grows.

A load from the stream reads the aggregate's messages, and nats-server reads a stream's file in
blocks of up to 8 MiB: a message in a block it has not read for some seconds costs the whole
block, about 8 ms and a core's 7 (bench/README.md, "One aggregate's load to 10,000,000
messages"); the longer the stream, the more of its blocks are cold. A snapshot is a primary-key
read of a row.

The rules that keep a snapshot from ever deciding a command wrongly
(:meth:`caunoi.shared.aggregate.Repository.latest`):

- it is used only when it folded exactly as many events as the stream holds for the aggregate
  (the stream's subject index says how many, without reading a message: events are never
  removed from the log), was written under the aggregate kind's current ``snapshot_version``, and
  its state still reads as the kind's state type; else the aggregate is loaded from the stream
  and its snapshot written again (read-through);
- the append after it still expects the snapshot's last sequence, so an event stored meanwhile
  makes the command a conflict, exactly as after a load from the stream;
- it keeps the ids of the commands that made the aggregate, so a retried command is recognised;
  such a command is answered from the stream (what it did, with its events);
- a snapshot is written after every append the repository makes (write-through), in the
  background: a write that fails or is lost only means the next load reads the stream. An older
  snapshot never replaces a newer one (by last sequence).

What a write costs a command: the state's JSON, made after the command's reply is on its way
(:class:`SnapshotWriter`); the snapshots kept within :data:`LINGER` of each other or while a
write is under way go together in one statement (a service's clean stop waits for them:
:func:`all_written`). The table is ``UNLOGGED``: no write-ahead log,
so a commit does not wait for the disk, and PostgreSQL empties it after a crash of its own (and a
standby has none): loads then read the stream until commands write the snapshots again. Written
one per command, each in a logged table with its commit waited for, they took 20-client raises
from 31 % to 23 % of the raw publish rate of the same `make bench` run (2026-11-30); batched and
unlogged, to about 7 % below the rate without snapshots (docs/architecture.md, "What it costs").

It is a cache: dropping the table loses nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from asyncpg import Pool

log = structlog.get_logger(__name__)

TABLE = "aggregate_snapshot"

DDL = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS {TABLE} (
    kind      text     NOT NULL,
    id        text     NOT NULL,
    version   integer  NOT NULL,
    count     integer  NOT NULL,
    last_seq  bigint   NOT NULL,
    subject   text     NOT NULL,
    chain     text     NOT NULL,
    commands  text[]   NOT NULL,
    state     bytea    NOT NULL,
    PRIMARY KEY (kind, id)
)
"""


@dataclass(frozen=True)
class Snapshot:
    """One aggregate as its first ``count`` events made it."""

    kind: str
    aggregate_id: str
    #: the aggregate kind's ``snapshot_version`` it was written under
    version: int
    #: events folded (all of the aggregate's, when the stream holds as many)
    count: int
    #: stream sequence of the last of them: what the next append expects
    last_seq: int
    #: the subject its events are on
    subject: str
    #: the ``chainhash`` of the last of them: what the next event chains to
    chain: str
    #: the ids of the commands whose events they are
    commands: Sequence[str]
    #: the state, as JSON (the kind's state type)
    state: bytes


class SnapshotStore(Protocol):
    async def get(self, kind: str, aggregate_id: str) -> Snapshot | None:
        """The aggregate's snapshot, if one was written."""
        ...

    async def get_many(self, kind: str, aggregate_ids: Sequence[str]) -> dict[str, Snapshot]:
        """The snapshots of those aggregates that have one."""
        ...

    async def put_many(self, snapshots: Sequence[Snapshot]) -> None:
        """Keep each (of distinct aggregates) unless a snapshot of a later sequence is kept."""
        ...


#: How long the writer waits after a snapshot is kept before writing it, for others to go along.
#: Without it, one client's commands each made a statement of their own (at 20 clients and more
#: they already went together): 50 ms cut the endpoint's CPU per `raise` at one client by ~15 %
#: and PostgreSQL's by more (bench/README.md, "Snapshots written together"). A command on the
#: same aggregate within those 50 ms reads the stream, where its events are still warm.
LINGER = 0.05


class SnapshotWriter:
    """Writes snapshots in the background, for a repository: those kept while a write waits or
    is under way go together in the next one, the latest of each aggregate. A write that fails is
    logged: the next load of those aggregates reads the stream."""

    def __init__(self, store: SnapshotStore, linger: float = LINGER) -> None:
        self.store = store
        #: how long a write waits for more snapshots to take along (seconds)
        self.linger = linger
        self._pending: list[Callable[[], Snapshot]] = []
        self._task: asyncio.Task[None] | None = None
        _WRITERS.add(self)

    def keep(self, snapshot: Callable[[], Snapshot]) -> None:
        """Write ``snapshot()`` soon (it is made then, not now)."""
        self._pending.append(snapshot)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())

    async def written(self) -> None:
        """Until what was kept so far is written (or its write failed)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _write(self) -> None:
        while self._pending:
            # what is ready to run first (the replies of the commands that kept them), and the
            # snapshots the commands of the next ``linger`` seconds keep
            await asyncio.sleep(self.linger)
            made, self._pending = self._pending, []
            latest: dict[tuple[str, str], Snapshot] = {}
            for make in made:
                s = make()
                kept = latest.get((s.kind, s.aggregate_id))
                if kept is None or kept.last_seq <= s.last_seq:
                    latest[(s.kind, s.aggregate_id)] = s
            try:
                await self.store.put_many(list(latest.values()))
            except Exception as e:  # noqa: BLE001 - a cache: the next load reads the stream
                log.warning("snapshot.write_failed", snapshots=len(latest), error=repr(e))


#: this process's writers (:func:`all_written`)
_WRITERS: weakref.WeakSet[SnapshotWriter] = weakref.WeakSet()


async def all_written() -> None:
    """Until every writer of this process has written what was kept so far: a clean stop waits
    for it before it closes the database pool, so the last commands' snapshots (kept up to
    :data:`LINGER` before) are not lost."""
    for writer in list(_WRITERS):
        await writer.written()


_COLUMNS = "kind, id, version, count, last_seq, subject, chain, commands, state"


@dataclass(frozen=True)
class PgSnapshots:
    """Snapshots in the service's database (table :data:`TABLE`, made by :meth:`ensure`)."""

    pool: Pool

    async def ensure(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            # two processes of a service may start at once: CREATE ... IF NOT EXISTS is not safe
            # against that alone
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('caunoi.snapshots.setup'))")
            await conn.execute(DDL)

    async def get(self, kind: str, aggregate_id: str) -> Snapshot | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE kind = $1 AND id = $2", kind, aggregate_id
        )
        return None if row is None else Snapshot(*row.values())

    async def get_many(self, kind: str, aggregate_ids: Sequence[str]) -> dict[str, Snapshot]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE kind = $1 AND id = ANY($2::text[])", kind, list(aggregate_ids)
        )
        return {r["id"]: Snapshot(*r.values()) for r in rows}

    async def put_many(self, snapshots: Sequence[Snapshot]) -> None:
        await self.pool.executemany(_PUT, [_values(s) for s in snapshots])  # one round trip, all or none


_PUT = (
    f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (kind, id) DO UPDATE SET version = EXCLUDED.version, count = EXCLUDED.count, "
    "last_seq = EXCLUDED.last_seq, subject = EXCLUDED.subject, chain = EXCLUDED.chain, "
    f"commands = EXCLUDED.commands, state = EXCLUDED.state WHERE {TABLE}.last_seq <= EXCLUDED.last_seq"
)


def _values(s: Snapshot) -> tuple[object, ...]:
    return (s.kind, s.aggregate_id, s.version, s.count, s.last_seq, s.subject, s.chain, list(s.commands), s.state)
