"""The projection runner against real JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest
import pytest_asyncio
import structlog.testing
from support import Servers

from caunoi.cli.bus import OPERATOR
from caunoi.cli.embedded import free_port, start_postgres
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import NEW_AGGREGATE, StreamSpec
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.projection import Conn, ProjectionRunner, applying, read_model_pool
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with, inbox_prefix
from caunoi.shared.streamread import read_stream

pytestmark = pytest.mark.asyncio

registry = EventRegistry()


@registry.register
class Counted(DomainEvent):
    NAME = "test.Counted"
    key: str
    n: int


class CountingProjection:
    """Sums ``n`` per key; fails on demand for the keys in ``poison``."""

    name = "counting"
    poison: ClassVar[set[str]] = set()

    async def setup(self, conn: Conn, schema: str) -> None:
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".totals (key text PRIMARY KEY, total bigint, events int)'
        )

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        rows = []
        for rec in events:
            ev = rec.event
            assert isinstance(ev, Counted)
            if ev.key in self.poison:
                raise RuntimeError(f"cannot apply {ev.key}")
            rows.append((ev.key, ev.n))
        await conn.executemany(
            f'INSERT INTO "{schema}".totals VALUES ($1, $2, 1) ON CONFLICT (key) DO UPDATE '
            f"SET total = totals.total + EXCLUDED.total, events = totals.events + 1",
            rows,
        )

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}".totals ORDER BY key')]


class Env:
    def __init__(self, store: JetStreamEventStore, pool: asyncpg.Pool, nc: Any) -> None:
        self.store, self.pool, self.nc = store, pool, nc

    def runner(self, **kw: Any) -> ProjectionRunner:
        return ProjectionRunner(self.pool, self.nc, self.store, registry, CountingProjection(), **kw)

    async def emit(self, key: str, n: int) -> None:
        aggregate = f"{key}-{uuid.uuid4().hex[:8]}"
        subject = self.store.subject_for(aggregate, ["08"])
        env = CloudEvent(
            id=str(uuid.uuid4()),
            source=f"/caunoi/{self.store.spec.service}",
            type=Counted.type_name(),
            subject=aggregate,
            data={"key": key, "n": n},
        )
        await self.store.append(subject, NEW_AGGREGATE, [env])


@pytest_asyncio.fixture
async def env(servers: Servers) -> AsyncIterator[Env]:
    nc = await servers.connect()
    name = f"P{uuid.uuid4().hex[:8].upper()}"
    spec = StreamSpec(name=name, service=name.lower())
    await provision_stream(nc, spec)
    dbname = f"t_{name.lower()}"
    await ensure_database(servers.database_url, dbname)
    pool = await read_model_pool(database_url_with(servers.database_url, dbname), 4)
    CountingProjection.poison = set()
    try:
        yield Env(JetStreamEventStore(nc, spec), pool, nc)
    finally:
        await pool.close()
        await nc.close()


async def test_a_batch_transaction_commits_with_its_last_statements_and_rolls_back_whole(env: Env) -> None:
    """``applying``: BEGIN with the batch's setting in one round trip, the checkpoint's statement
    with the COMMIT in another; a failure in the body or at the commit leaves nothing, and the
    session out of any transaction."""
    async with env.pool.acquire() as conn:
        await conn.execute("CREATE TABLE applied (n int)")
        async with applying(conn) as at_commit:
            assert await conn.fetchval("SHOW synchronous_commit") == "off"  # this transaction only
            await conn.execute("INSERT INTO applied VALUES (1)")
            at_commit.append("INSERT INTO applied VALUES (2)")
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        assert not conn.is_in_transaction()
        with pytest.raises(RuntimeError):
            async with applying(conn):
                await conn.execute("INSERT INTO applied VALUES (3)")
                raise RuntimeError("an event that does not apply")
        assert not conn.is_in_transaction()
        with pytest.raises(asyncpg.DivisionByZeroError):
            async with applying(conn) as at_commit:
                await conn.execute("INSERT INTO applied VALUES (4)")
                at_commit.append("SELECT 1 / 0")
        assert not conn.is_in_transaction()
        assert [r["n"] for r in await conn.fetch("SELECT n FROM applied ORDER BY n")] == [1, 2]


async def test_a_session_comes_back_from_the_pool_as_it_was_left_but_never_in_a_transaction(
    servers: Servers,
) -> None:
    """The read models' pool does not send asyncpg's reset query (a round trip per use): a
    session's own settings stay; a transaction left open is still rolled back."""
    dbname = f"t_pool_{uuid.uuid4().hex[:8]}"
    await ensure_database(servers.database_url, dbname)
    pool = await read_model_pool(database_url_with(servers.database_url, dbname), 1)
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx["message"]))
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE left_open (n int)")
            await conn.execute("SET application_name = 'kept'")
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO left_open VALUES (1)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SHOW application_name") == "kept"
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
            assert await conn.fetchval("SELECT count(*) FROM left_open") == 0
        assert any("active transaction" in m for m in reported)  # asyncpg says it rolled one back
    finally:
        loop.set_exception_handler(None)
        await pool.close()


async def test_applies_each_event_once_in_order_and_resumes(env: Env) -> None:
    for i in range(50):
        await env.emit(f"k{i % 5}", i)
    r = env.runner(batch=7)
    await r.setup()
    assert await r.catch_up() == 50
    snap = await r.snapshot()
    assert sum(row["events"] for row in snap) == 50
    assert sum(row["total"] for row in snap) == sum(range(50))
    # a new runner (a restart) starts from the checkpoint: nothing doubled
    r2 = env.runner()
    await r2.setup()
    assert await r2.catch_up() == 0
    await env.emit("k0", 1000)
    assert await r2.catch_up() == 1
    assert sum(row["events"] for row in await r2.snapshot()) == 51


async def test_a_failing_event_is_parked_and_halts_until_skipped(env: Env) -> None:
    for key in ("a", "bad", "c"):
        await env.emit(key, 1)
    CountingProjection.poison = {"bad"}
    r = env.runner(max_attempts=3, base_backoff=0.01, halted_retry_every=0.05)
    task = asyncio.create_task(r.run())
    try:
        for _ in range(200):
            if r.status.halted_at:
                break
            await asyncio.sleep(0.02)
        assert r.status.halted_at == 2
        parked = await r.parked()
        assert [(p["seq"], p["resolved_at"]) for p in parked] == [(2, None)]
        assert "cannot apply bad" in parked[0]["error"]
        # it does not skip: 'c' (after the bad one) is not applied while halted
        assert [row["key"] for row in await r.snapshot()] == ["a"]
        assert await r.skip(2, "operator-test")
        for _ in range(200):
            if [row["key"] for row in await r.snapshot()] == ["a", "c"]:
                break
            await asyncio.sleep(0.02)
        assert [row["key"] for row in await r.snapshot()] == ["a", "c"]
        assert (await r.parked())[0]["resolution"] == "skipped by operator-test"
    finally:
        r.stop()
        await asyncio.wait_for(task, 5)


async def test_a_passing_failure_is_retried_not_lost(env: Env) -> None:
    await env.emit("flaky", 5)
    CountingProjection.poison = {"flaky"}
    r = env.runner(max_attempts=50, base_backoff=0.02)
    await r.setup()
    task = asyncio.create_task(r.catch_up())
    await asyncio.sleep(0.2)
    CountingProjection.poison = set()  # the database came back
    await asyncio.wait_for(task, 10)
    assert await r.snapshot() == [{"key": "flaky", "total": 5, "events": 1}]
    assert await r.parked() == []


async def test_rebuild_equals_live_and_live_keeps_serving(env: Env) -> None:
    for i in range(400):
        await env.emit(f"k{i % 13}", i)
    r = env.runner()
    await r.setup()
    await r.catch_up()
    live = await r.snapshot()
    stop = asyncio.Event()
    reads = 0

    async def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            async with env.pool.acquire() as conn:
                n = await conn.fetchval("SELECT sum(events) FROM counting.totals")
            assert n is not None and n >= 400
            reads += 1

    t = asyncio.create_task(reader())
    pos = await r.rebuild()
    stop.set()
    await t
    assert reads > 0
    assert pos == 400
    assert await r.snapshot() == live
    assert await r.rebuild_into("counting_check") == 400
    assert await r.snapshot("counting_check") == live


async def test_the_schema_a_swap_replaced_is_dropped_by_the_live_loop_not_by_the_swap(env: Env) -> None:
    """Dropping a large read model's schema takes a while: the swap leaves it renamed, and the
    live loop drops it (also one left by a process that stopped first, at its start)."""

    async def schemas() -> set[str]:
        async with env.pool.acquire() as conn:
            rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'counting%'")
        return {r["nspname"] for r in rows}

    async def only_the_live_one_within_4_s() -> None:
        for _ in range(200):
            if await schemas() == {"counting"}:
                break
            await asyncio.sleep(0.02)
        assert await schemas() == {"counting"}

    for i in range(20):
        await env.emit(f"k{i % 3}", i)
    r = env.runner()
    await r.setup()
    await r.catch_up()
    live = await r.snapshot()
    assert await r.rebuild() == 20
    assert await schemas() == {"counting", r.replaced}  # left by the swap, no loop running
    assert await r.snapshot() == live
    task = asyncio.create_task(r.run())
    try:
        await only_the_live_one_within_4_s()
        assert await r.rebuild() == 20  # the loop is woken to drop what this swap replaced
        await only_the_live_one_within_4_s()
        assert await r.snapshot() == live
    finally:
        r.stop()
        await asyncio.wait_for(task, 5)
    # a process that stopped before dropping it: the next one drops it at its start
    async with env.pool.acquire() as conn:
        await conn.execute(f'CREATE SCHEMA "{r.replaced}"')
    again = env.runner()
    task = asyncio.create_task(again.run())
    try:
        await only_the_live_one_within_4_s()
    finally:
        again.stop()
        await asyncio.wait_for(task, 5)


async def test_a_replaced_schema_that_cannot_be_dropped_does_not_hold_up_the_events(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused() -> None:
        raise asyncpg.InsufficientPrivilegeError("must be owner of schema counting__old")

    for i in range(5):
        await env.emit(f"k{i}", i)
    r = env.runner(poll_every=0.05)
    monkeypatch.setattr(r, "drop_replaced", refused)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(r.run())
        try:
            for _ in range(200):
                if r.status.position == 5:
                    break
                await asyncio.sleep(0.02)
            assert r.status.position == 5
            await asyncio.sleep(0.2)  # more turns of the loop: it said so once
        finally:
            r.stop()
            await asyncio.wait_for(task, 5)
    failed = [e for e in logs if e["event"] == "projection.drop_replaced_failed"]
    assert len(failed) == 1 and "must be owner" in failed[0]["error"]


async def test_a_stream_not_there_yet_is_named_once_and_followed_once_it_is(env: Env) -> None:
    """A service may start before the stream it follows exists (another service creates it): the
    live loop says so in words, once (not at every poll), and follows it as soon as it exists."""
    spec = StreamSpec(name=f"L{uuid.uuid4().hex[:8].upper()}", service="later")
    r = ProjectionRunner(
        env.pool, env.nc, JetStreamEventStore(env.nc, spec), registry, CountingProjection(), poll_every=0.02
    )
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(r.run())
        try:
            for _ in range(200):
                if r.status.last_error:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # some 15 more tries
            assert r.status.last_error is not None
            assert f"stream {spec.name} does not exist (yet)" in r.status.last_error
            assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["projection.read_failed"]
            await provision_stream(env.nc, spec)
            for _ in range(300):
                if any(e["event"] == "projection.read_recovered" for e in logs):
                    break
                await asyncio.sleep(0.01)
            assert any(e["event"] == "projection.read_recovered" for e in logs)
        finally:
            r.stop()
            await asyncio.wait_for(task, 5)


async def test_a_message_that_is_not_an_event_is_recorded_and_passed_over(env: Env) -> None:
    """Bus permissions keep junk out; if some is stored anyway, the projection notes it and goes
    on: it neither halts nor parks (only a real event that fails does)."""
    await env.emit("a", 1)
    subject = env.store.subject_for("junk-1", ["08"])
    await env.nc.publish(subject, b'{"not": "a cloudevent"}')
    forged = CloudEvent(id=str(uuid.uuid4()), source="/someone/else", type=Counted.type_name(), subject="junk-2",
                        data={"key": "forged", "n": 100})  # fmt: skip
    await env.nc.publish(env.store.subject_for("junk-2", ["08"]), forged.to_json_bytes())
    await env.nc.flush()
    await env.emit("b", 2)
    r = env.runner()
    await r.setup()
    assert await r.catch_up() == 4
    assert [(row["key"], row["total"]) for row in await r.snapshot()] == [("a", 1), ("b", 2)]
    junk = await r.junk()
    assert [j["subject"] for j in junk] == [subject, env.store.subject_for("junk-2", ["08"])]
    assert "not a CloudEvent" in junk[0]["reason"] and "source" in junk[1]["reason"]
    assert await r.parked() == [] and r.status.halted_at is None


async def test_one_failing_event_in_a_large_batch_is_parked_alone(env: Env) -> None:
    """A batch of 1,000 with one event that cannot apply: the 499 before it are applied, it is
    parked alone and the projection halts there; once it is skipped the 500 after it follow."""
    for i in range(1000):
        await env.emit("bad" if i == 499 else f"k{i % 7}", i)
    CountingProjection.poison = {"bad"}
    r = env.runner(batch=1000, max_attempts=2, base_backoff=0.01, halted_retry_every=0.05)
    task = asyncio.create_task(r.run())
    try:
        for _ in range(400):
            if r.status.halted_at:
                break
            await asyncio.sleep(0.02)
        assert r.status.halted_at == 500
        assert sum(row["events"] for row in await r.snapshot()) == 499
        assert [p["seq"] for p in await r.parked()] == [500]
        assert await r.skip(500, "test")
        for _ in range(400):
            if sum(row["events"] for row in await r.snapshot()) == 999:
                break
            await asyncio.sleep(0.02)
        assert sum(row["events"] for row in await r.snapshot()) == 999
    finally:
        r.stop()
        await asyncio.wait_for(task, 5)


async def test_a_read_model_whose_columns_changed_is_filled_again_from_the_log(env: Env) -> None:
    """A new release that changes a read model's columns: its next start drops the old table and
    sets the checkpoint back, so the runner fills the new shape from the whole stream."""
    from caunoi.shared.readmodel import Row, RowPerEvent

    class V1(RowPerEvent):
        name = "shaped"
        table = "counted"
        columns: ClassVar[dict[str, str]] = {"key": "text", "n": "bigint"}

        def row(self, rec: RecordedEvent) -> Row | None:
            ev = rec.event
            assert isinstance(ev, Counted)
            return {"key": ev.key, "n": ev.n}

    class V2(V1):
        columns: ClassVar[dict[str, str]] = {"key": "text", "n": "bigint", "seq": "bigint"}

        def row(self, rec: RecordedEvent) -> Row | None:
            return {**(super().row(rec) or {}), "seq": rec.seq}

    for i in range(5):
        await env.emit("k", i)
    old = ProjectionRunner(env.pool, env.nc, env.store, registry, V1())
    await old.setup()
    assert await old.catch_up() == 5
    new = ProjectionRunner(env.pool, env.nc, env.store, registry, V2())
    await new.setup()
    assert new.status.position == 0
    assert await new.catch_up() == 5
    rows = await new.snapshot()
    assert len(rows) == 5 and all(r["seq"] for r in rows)
    again = ProjectionRunner(env.pool, env.nc, env.store, registry, V2())  # same shape: kept as is
    await again.setup()
    assert again.status.position == 5


async def test_a_long_backlog_read_in_bulk_is_applied_in_order_and_isolates_a_failing_event(
    servers: Servers, env: Env
) -> None:
    """A runner far behind reads in bulk (the kernel's stream reader), decoding one group while
    the previous one is written: every event is applied once, in order, and one that cannot apply
    is still parked alone, the events before it applied and those after it waiting."""
    for i in range(2000):
        await env.emit("bad" if i == 1299 else f"k{i % 5}", i)
    CountingProjection.poison = {"bad"}
    seed = servers.installation.bus().seed(OPERATOR)
    reads: list[int] = []

    def bulk(stream: str, start: int, subject_filter: str | None, batch: int) -> Any:
        reads.append(start)
        return read_stream(
            servers.nats_url, stream, start, subject_filter=subject_filter, batch=batch, nkey_seed=seed,
            inbox_prefix=inbox_prefix(OPERATOR),
        )  # fmt: skip

    r = env.runner(
        batch=100, bulk_reader=bulk, bulk_batch=300, bulk_threshold=100, max_attempts=2, base_backoff=0.01,
        halted_retry_every=0.05,
    )  # fmt: skip
    task = asyncio.create_task(r.run())
    try:
        for _ in range(500):
            if r.status.halted_at:
                break
            await asyncio.sleep(0.02)
        assert r.status.halted_at == 1300
        assert sum(row["events"] for row in await r.snapshot()) == 1299
        assert [p["seq"] for p in await r.parked()] == [1300]
        assert await r.skip(1300, "test")
        for _ in range(500):
            if sum(row["events"] for row in await r.snapshot()) == 1999:
                break
            await asyncio.sleep(0.02)
        snap = {row["key"]: row["total"] for row in await r.snapshot()}
        assert snap == {f"k{k}": sum(i for i in range(2000) if i % 5 == k and i != 1299) for k in range(5)}
        assert r.status.position == 2000
        assert reads and reads[0] == 101, reads  # after the first batch, the rest in bulk
    finally:
        r.stop()
        await asyncio.wait_for(task, 5)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    """The process and all its children have exited."""
    return not _children(pid) and not Path(f"/proc/{pid}").exists()


async def test_a_crash_of_postgresql_takes_unflushed_batches_and_they_are_applied_again(
    servers: Servers, tmp_path: Path
) -> None:
    """A batch's commit does not wait for PostgreSQL's log to reach the disk
    (``NOT_WAITING_FOR_FLUSH``): a crash of every PostgreSQL process loses the last batches with
    their checkpoint, never one without the other, and the runner applies them again from the
    stream: every event once (the projection sums, so a double would show)."""
    pg = start_postgres(tmp_path / "pg", port=free_port())
    nc = await servers.connect()
    try:
        # the log writer would otherwise flush the batches within 200 ms
        pg.psql("ALTER SYSTEM SET wal_writer_delay = '10s'")
        pg.psql("ALTER SYSTEM SET wal_writer_flush_after = '64MB'")
        pg.psql("SELECT pg_reload_conf()")
        name = f"P{uuid.uuid4().hex[:8].upper()}"
        spec = StreamSpec(name=name, service=name.lower())
        await provision_stream(nc, spec)
        store = JetStreamEventStore(nc, spec)
        events = Env(store, None, nc)  # type: ignore[arg-type]
        for i in range(120):
            await events.emit(f"k{i % 4}", i)
        pg.ensure_database("crash")
        url = pg.url_for("crash")

        pool = await read_model_pool(url, 2)
        r = ProjectionRunner(pool, nc, store, registry, CountingProjection(), batch=10)
        await r.setup()
        assert await r.catch_up() == 120
        await pool.close()
        postmaster = pg.pid
        assert postmaster is not None
        for pid in [postmaster, *_children(postmaster)]:  # every process at once, like the machine's power
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not _gone(postmaster):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        pg = start_postgres(tmp_path / "pg", port=pg.port)

        pool = await read_model_pool(url, 2)
        try:
            again = ProjectionRunner(pool, nc, store, registry, CountingProjection(), batch=10)
            await again.setup()
            async with pool.acquire() as conn:
                kept = await ProjectionRunner.position(conn, again.schema)
            assert kept < r.status.position == await store.last_seq()  # the crash took batches
            assert kept % 10 == 0  # whole batches, each with its checkpoint
            assert await again.catch_up() == r.status.position - kept
            snap = await again.snapshot()
            assert sum(row["events"] for row in snap) == 120
            assert {row["key"]: row["total"] for row in snap} == {f"k{k}": sum(range(k, 120, 4)) for k in range(4)}
        finally:
            await pool.close()
    finally:
        await nc.close()
        pg.stop()


async def test_a_rebuild_builds_every_secondary_index_side_by_side_and_a_failing_one_is_raised(env: Env) -> None:
    """The rebuild loads its shadow table without secondary indexes and builds them all after
    loading, over two sessions at once: the swapped-in read model has each declared index, and an
    index that cannot be built fails the build (the other session's work is stopped)."""
    from caunoi.shared.projection import build_indexes
    from caunoi.shared.readmodel import Row, RowPerEvent

    class Indexed(RowPerEvent):
        name = "indexed"
        table = "counted"
        columns: ClassVar[dict[str, str]] = {"key": "text", "n": "bigint", "seq": "bigint"}
        indexes: ClassVar[dict[str, str]] = {
            "indexed_key": "(key)",
            "indexed_n": "(n)",
            "indexed_seq": "(seq)",
            "indexed_key_n": "(key, n) WHERE n > 1",
            "indexed_n_desc": "(n DESC)",
        }

        def row(self, rec: RecordedEvent) -> Row | None:
            ev = rec.event
            assert isinstance(ev, Counted)
            return {"key": ev.key, "n": ev.n, "seq": rec.seq}

    for i in range(6):
        await env.emit(f"k{i % 2}", i)
    runner = ProjectionRunner(env.pool, env.nc, env.store, registry, Indexed())
    await runner.setup()
    await runner.catch_up()
    assert await runner.rebuild() == 6
    async with env.pool.acquire() as conn:
        names = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'indexed' AND tablename = 'counted'"
            )
        }
        assert names == set(Indexed.indexes)
        assert len(await runner.snapshot()) == 6

        await conn.execute('CREATE TABLE "indexed".other (a int)')
    statements = [*Indexed().index_statements("indexed"), 'CREATE INDEX broken ON "indexed".other (nowhere)']
    with pytest.raises(asyncpg.UndefinedColumnError):
        await build_indexes(env.pool, statements)


async def test_a_rebuild_keeps_autovacuum_off_its_shadow_while_loading_and_lets_it_back(env: Env) -> None:
    """While a rebuild loads its shadow, PostgreSQL's autovacuum is off its tables (a vacuum of a
    half-loaded table is wasted, and the index build waits a second for its cancellation); the
    swapped-in read model has it back, and so does a schema filled for a check."""
    from caunoi.shared.readmodel import Row, RowPerEvent

    seen: list[list[str] | None] = []

    class Watching(RowPerEvent):
        name = "watching"
        table = "counted"
        columns: ClassVar[dict[str, str]] = {"key": "text", "n": "bigint", "note": "text"}

        def row(self, rec: RecordedEvent) -> Row | None:
            ev = rec.event
            assert isinstance(ev, Counted)
            return {"key": ev.key, "n": ev.n, "note": "x" * 3000}  # (a TOAST table too)

        async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
            seen.append(
                await conn.fetchval(f"SELECT reloptions FROM pg_class WHERE oid = '{schema}.counted'::regclass")
            )
            await super().apply(conn, schema, events)

    async def options(schema: str) -> dict[str, list[str] | None]:
        async with env.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT c.relname, c.reloptions, t.reloptions AS toast FROM pg_class c"
                " LEFT JOIN pg_class t ON t.oid = c.reltoastrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                schema,
            )
        return {r["relname"]: r["reloptions"] for r in rows} | {
            f"{r['relname']} (toast)": r["toast"] for r in rows if r["relname"] == "counted"
        }

    for i in range(4):
        await env.emit(f"k{i}", i)
    runner = ProjectionRunner(env.pool, env.nc, env.store, registry, Watching())
    await runner.setup()
    await runner.catch_up()
    assert seen == [None]  # the live schema: autovacuum as the server says
    seen.clear()
    assert await runner.rebuild() == 4
    assert seen and all(s == ["autovacuum_enabled=false"] for s in seen)
    assert await options("watching") == {"checkpoint": None, "counted": None, "counted (toast)": None}
    assert await runner.rebuild_into("watching_check") == 4
    assert await options("watching_check") == {"checkpoint": None, "counted": None, "counted (toast)": None}
    assert len(await runner.snapshot()) == 4
