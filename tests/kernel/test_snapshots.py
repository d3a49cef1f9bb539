"""Aggregate snapshots (``caunoi.shared.snapshots``, ``Repository.latest``) on a real PostgreSQL:
a command on an aggregate reads its snapshot instead of its events, and a snapshot never decides
a command wrongly: one behind the stream, of another version or unreadable is passed over (and
written again), a repeated command is answered from the stream, a refused one stores nothing and
leaves the snapshot as it was, two commands on one snapshot make a conflict, an older snapshot
never replaces a newer one, and a failing snapshot store only costs the read. The event store is
the in-memory one (proven equal to JetStream by the contract suite)."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import asyncpg
import pytest
import pytest_asyncio
from support import Servers

from caunoi.shared.aggregate import AggregateKind, Repository, Scope
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import system_actor
from caunoi.shared.errors import InvalidState
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StoredMessage, StreamSpec, WrongExpectedSequence
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import read_model_pool
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with
from caunoi.shared.snapshots import TABLE, PgSnapshots, Snapshot, SnapshotWriter, all_written
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

registry = EventRegistry()


@registry.register
class Opened(DomainEvent):
    NAME = "test.TallyOpened"
    on: date


@registry.register
class Added(DomainEvent):
    NAME = "test.TallyAdded"
    n: int
    tag: str


@dataclass(frozen=True)
class Tally:
    total: int = 0
    opened_on: date | None = None
    tags: frozenset[str] = frozenset()
    steps: tuple[int, ...] = ()


def evolve(s: Tally, e: DomainEvent) -> Tally:
    if isinstance(e, Opened):
        return replace(s, opened_on=e.on)
    assert isinstance(e, Added)
    return replace(s, total=s.total + e.n, tags=s.tags | {e.tag}, steps=(*s.steps, e.n))


TALLY = AggregateKind[Tally]("tally", Tally, evolve, lambda s: Scope("08", "vn-2025", ["08"]), snapshot_version=1)
UNITS = UnitTree.load("vn-2025")


class CountingStore(InMemoryEventStore):
    """Notes the aggregates whose events were read."""

    def __init__(self) -> None:
        super().__init__(StreamSpec("TALLIES", "tallies"))
        self.loads: list[str] = []

    async def load(self, aggregate_id: str) -> list[StoredMessage]:
        self.loads.append(aggregate_id)
        return await super().load(aggregate_id)

    async def count(self, aggregate_id: str) -> int:
        return len(await super().load(aggregate_id))


@pytest_asyncio.fixture
async def pool(servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    name = f"t_snap_{uuid.uuid4().hex[:8]}"
    await ensure_database(servers.database_url, name)
    p = await read_model_pool(database_url_with(servers.database_url, name), 4)
    try:
        yield p
    finally:
        await p.close()


@pytest_asyncio.fixture
async def repo(pool: asyncpg.Pool) -> Repository[Tally]:
    snapshots = PgSnapshots(pool)
    await snapshots.ensure()
    await snapshots.ensure()  # again: a second process of the service starting
    return Repository(CountingStore(), registry, TALLY, UNITS, snapshots)


def ctx(command_id: str) -> RequestContext:
    return RequestContext(actor=system_actor("test"), command_id=command_id)


def add(s: Tally, n: int, tag: str) -> list[DomainEvent]:
    if s.opened_on is None:
        raise InvalidState("not opened", message_en="not opened")
    return [Added(n=n, tag=tag)]


async def open_and_add(repo: Repository[Tally], *adds: tuple[str, int]) -> None:
    await repo.create("T1", ctx("open"), [Opened(on=date(2026, 11, 1))])
    await repo.written()
    for command_id, n in adds:
        await repo.execute("T1", ctx(command_id), add, n, f"tag-{n}")
        await repo.written()


def store(repo: Repository[Tally]) -> CountingStore:
    assert isinstance(repo.store, CountingStore)
    return repo.store


async def row(pool: asyncpg.Pool) -> asyncpg.Record:
    found = await pool.fetchrow(f"SELECT * FROM {TABLE} WHERE kind = 'tally' AND id = 'T1'")
    assert found is not None
    return found


async def test_a_command_on_an_aggregate_reads_its_snapshot_not_its_events(
    repo: Repository[Tally], pool: asyncpg.Pool
) -> None:
    await open_and_add(repo, ("a", 1), ("b", 2), ("c", 3))
    assert store(repo).loads == []  # every command after the first found the snapshot the last one wrote
    snap = await row(pool)
    full = await repo.load("T1")
    assert (snap["count"], snap["last_seq"], snap["subject"], list(snap["commands"])) == (
        4,
        full.last_seq,
        full.nats_subject,
        ["open", "a", "b", "c"],
    )
    latest = await repo.latest("T1", "d")
    assert latest.snapshot is not None and latest.history == []
    assert (latest.state, latest.last_seq, latest.chained_to) == (full.state, full.last_seq, full.chained_to)
    assert latest.state == Tally(6, date(2026, 11, 1), frozenset({"tag-1", "tag-2", "tag-3"}), (1, 2, 3))
    # the events a snapshot-loaded command stores chain on as after a load of every event
    out = await repo.execute("T1", ctx("d"), add, 4, "tag-4")
    assert out.events[0].envelope.chainprev == full.chained_to


async def test_a_snapshot_behind_the_stream_is_passed_over_and_written_again(repo: Repository[Tally]) -> None:
    await open_and_add(repo, ("a", 1))
    # another writer (here: a repository keeping no snapshots) stores an event
    other = Repository(repo.store, registry, TALLY, UNITS)
    await other.execute("T1", ctx("b"), add, 10, "other")
    latest = await repo.latest("T1", "c")
    assert latest.snapshot is None and latest.state.total == 11 and store(repo).loads[-1] == "T1"
    await repo.written()
    store(repo).loads.clear()
    again = await repo.latest("T1", "c")
    assert again.snapshot is not None and again.state == latest.state and store(repo).loads == []


async def test_a_snapshot_of_another_version_or_unreadable_is_passed_over(
    repo: Repository[Tally], pool: asyncpg.Pool
) -> None:
    await open_and_add(repo, ("a", 1))
    for change in ("version = 0", "state = '\\x7b7d'::bytea || state"):
        await pool.execute(f"UPDATE {TABLE} SET {change}")
        store(repo).loads.clear()
        latest = await repo.latest("T1", "b")
        assert latest.snapshot is None and latest.state.total == 1 and store(repo).loads == ["T1"]
        await repo.written()
        assert (await repo.latest("T1", "b")).snapshot is not None  # written again, readable


async def test_a_repeated_command_is_answered_from_the_stream(repo: Repository[Tally]) -> None:
    await open_and_add(repo, ("a", 1), ("b", 2))
    before = (await repo.store.state()).messages
    again = await repo.execute("T1", ctx("a"), add, 1, "tag-1")
    assert again.replayed and [r.envelope.causationid for r in again.events] == ["a"]
    assert (await repo.store.state()).messages == before and store(repo).loads == ["T1"]


async def test_a_refused_command_stores_nothing_and_leaves_the_snapshot(
    repo: Repository[Tally], pool: asyncpg.Pool
) -> None:
    await repo.create("T2", ctx("open-2"), [Added(n=1, tag="x")])  # never opened: ``add`` refuses
    await repo.written()
    before = (await repo.store.state()).messages, await pool.fetch(f"SELECT * FROM {TABLE}")
    with pytest.raises(InvalidState):
        await repo.execute("T2", ctx("refused"), add, 5, "y")
    await repo.written()
    assert ((await repo.store.state()).messages, await pool.fetch(f"SELECT * FROM {TABLE}")) == before


async def test_two_commands_on_one_snapshot_make_a_conflict(repo: Repository[Tally]) -> None:
    await open_and_add(repo, ("a", 1))
    first, second = await repo.latest("T1", "x"), await repo.latest("T1", "y")
    assert first.snapshot is not None and second.snapshot is not None
    await repo.save(first, ctx("x"), [Added(n=1, tag="x")])
    with pytest.raises(WrongExpectedSequence):
        await repo.save(second, ctx("y"), [Added(n=1, tag="y")])
    assert (await repo.load("T1")).state.total == 2


async def test_an_older_snapshot_never_replaces_a_newer_one(repo: Repository[Tally], pool: asyncpg.Pool) -> None:
    await open_and_add(repo, ("a", 1), ("b", 2))
    snapshots = PgSnapshots(pool)
    newest = await snapshots.get("tally", "T1")
    assert newest is not None
    await snapshots.put_many([replace(newest, count=2, last_seq=newest.last_seq - 1, state=b"{}")])
    assert await snapshots.get("tally", "T1") == newest


class Failing:
    async def get(self, kind: str, aggregate_id: str) -> Snapshot | None:
        raise ConnectionError("database down")

    async def get_many(self, kind: str, aggregate_ids: Sequence[str]) -> dict[str, Snapshot]:
        raise ConnectionError("database down")

    async def put_many(self, snapshots: Sequence[Snapshot]) -> None:
        raise ConnectionError("database down")


async def test_a_failing_snapshot_store_only_costs_the_read() -> None:
    repo = Repository(CountingStore(), registry, TALLY, UNITS, Failing())
    await open_and_add(repo, ("a", 1), ("b", 2))
    assert (await repo.latest("T1", "c")).state.total == 3 and store(repo).loads == ["T1", "T1", "T1"]


@dataclass(frozen=True)
class LosingWrites(PgSnapshots):
    """Background writes are lost (a crash, the database away for a moment); reads work."""

    lose: list[bool] = field(default_factory=lambda: [True])

    async def put_many(self, snapshots: Sequence[Snapshot]) -> None:
        if self.lose[0]:
            raise ConnectionError("database away")
        await super().put_many(snapshots)


async def test_a_snapshot_written_now_replaces_every_older_one_and_a_failure_is_raised(pool: asyncpg.Pool) -> None:
    """What an erasure needs: the snapshot made from the stream after the command, waited for,
    whatever older snapshot is in the table (here one from before its last two commands, whose own
    writes were lost) or is still on its way; if it cannot be written, the command hears of it."""
    snapshots = LosingWrites(pool)
    await snapshots.ensure()
    repo = Repository(CountingStore(), registry, TALLY, UNITS, snapshots)
    snapshots.lose[0] = False
    await open_and_add(repo, ("a", 1))
    await repo.written()
    old = await snapshots.get("tally", "T1")
    assert old is not None and old.count == 2
    snapshots.lose[0] = True
    for command_id, n in (("b", 2), ("c", 3)):
        await repo.execute("T1", ctx(command_id), add, n, f"tag-{n}")
    await repo.written()
    assert await snapshots.get("tally", "T1") == old  # the later writes were lost
    with pytest.raises(ConnectionError):
        await repo.snapshot_now("T1")
    snapshots.lose[0] = False
    await repo.snapshot_now("T1")
    now = await snapshots.get("tally", "T1")
    full = await repo.load("T1")
    assert now is not None and (now.count, now.last_seq, list(now.commands)) == (4, full.last_seq, full.commands)
    assert repo.kind.state_json.validate_json(now.state) == full.state
    await snapshots.put_many([old])  # the older one, arriving late from another process
    assert await snapshots.get("tally", "T1") == now


async def test_kinds_without_a_snapshot_version_keep_none(pool: asyncpg.Pool) -> None:
    plain = Repository(CountingStore(), registry, replace(TALLY, snapshot_version=0), UNITS, PgSnapshots(pool))
    assert plain.snapshots is None
    await plain.create("T1", ctx("open"), [Opened(on=date(2026, 11, 1))])
    assert (await plain.latest("T1", "a")).history  # loaded from its events


async def test_events_stored_without_snapshots_are_folded_into_them(repo: Repository[Tally]) -> None:
    plain = Repository(repo.store, registry, TALLY, UNITS)  # keeps none: as before an upgrade, or a bulk import
    for aggregate_id in ("T1", "T2", "X1"):
        await plain.create(aggregate_id, ctx(f"open-{aggregate_id}"), [Opened(on=date(2026, 11, 1))])
    for i in range(1, 5):
        await plain.execute("T1", ctx(f"add-{i}"), add, i, f"tag-{i}")
    stored = await repo.store.read(1, 100)
    tallies = lambda aggregate_id: aggregate_id.startswith("T")  # noqa: E731 - "X1" is of another kind
    # in two parts, as a long stream is read; the second part again: nothing is folded twice
    assert await repo.snapshot_stored(stored[:4], tallies) == 3
    assert await repo.snapshot_stored(stored[3:], tallies) == 3
    assert await repo.snapshot_stored(stored, tallies) == 0
    for aggregate_id in ("T1", "T2"):
        full = await plain.load(aggregate_id)
        store(repo).loads.clear()
        latest = await repo.latest(aggregate_id, "next")
        assert store(repo).loads == [] and latest.snapshot is not None and latest.commands == full.commands
        assert (latest.state, latest.last_seq, latest.chained_to) == (full.state, full.last_seq, full.chained_to)
    assert (await repo.latest("X1", "next")).snapshot is None


@dataclass(frozen=True)
class CountingWrites(PgSnapshots):
    writes: list[int] = field(default_factory=list)

    async def put_many(self, snapshots: Sequence[Snapshot]) -> None:
        self.writes.append(len(snapshots))
        await super().put_many(snapshots)


async def test_snapshots_kept_meanwhile_are_written_together_the_latest_of_each(pool: asyncpg.Pool) -> None:
    store = CountingWrites(pool)
    await store.ensure()
    writer = SnapshotWriter(store)
    base = Snapshot("tally", "A", 1, 1, 1, "caunoi.tallies.A.08", "c", ["x"], b"{}")
    for i in range(100):
        writer.keep(functools.partial(replace, base, aggregate_id=f"A{i % 10}", last_seq=i))
    await writer.written()
    got = await store.get_many("tally", [f"A{i}" for i in range(10)])
    assert {k: v.last_seq for k, v in got.items()} == {f"A{i}": 90 + i for i in range(10)}
    assert store.writes == [10]  # one write, not one per snapshot
    # a write that fails keeps nothing of what it held (logged); the next is written
    writer.keep(lambda: replace(base, aggregate_id="B", subject="nul\x00"))
    writer.keep(lambda: replace(base, aggregate_id="C"))
    await writer.written()
    writer.keep(lambda: replace(base, aggregate_id="D"))
    await writer.written()
    assert list(await store.get_many("tally", ["B", "C", "D"])) == ["D"]


async def test_snapshots_kept_in_separate_turns_within_the_linger_are_written_together(pool: asyncpg.Pool) -> None:
    """One client's commands keep their snapshots a turn or more apart: they wait for each
    other (the writer's linger) instead of making a statement each."""
    store = CountingWrites(pool)
    await store.ensure()
    writer = SnapshotWriter(store, linger=2.0)
    base = Snapshot("tally", "L", 1, 1, 1, "caunoi.tallies.L.08", "c", ["x"], b"{}")
    for i in range(5):
        writer.keep(functools.partial(replace, base, aggregate_id=f"L{i}"))
        for _ in range(3):  # the rest of a command's turns
            await asyncio.sleep(0)
    await writer.written()
    assert store.writes == [5]
    assert len(await store.get_many("tally", [f"L{i}" for i in range(5)])) == 5


async def test_a_clean_stop_waits_for_what_every_writer_kept(pool: asyncpg.Pool) -> None:
    """What the service's stop awaits before it closes the pool: the snapshots its last commands
    kept, still lingering, are written (not lost with the pool)."""
    stores = [CountingWrites(pool), CountingWrites(pool)]
    await stores[0].ensure()
    writers = [SnapshotWriter(store, linger=1.0) for store in stores]
    base = Snapshot("tally", "S", 1, 1, 1, "caunoi.tallies.S.08", "c", ["x"], b"{}")
    for i, writer in enumerate(writers):
        writer.keep(functools.partial(replace, base, aggregate_id=f"S{i}"))
    await all_written()
    assert [store.writes for store in stores] == [[1], [1]]
    assert len(await stores[0].get_many("tally", ["S0", "S1"])) == 2
