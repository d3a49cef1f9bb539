"""The partitioned rebuild (caunoi.shared.partitions) of the petitions read model, on real
JetStream and PostgreSQL: it equals the single-process rebuild and the live read model; a
failing event is parked alone and the rest applied; a killed worker's share is finished by the
runner; an abandoned rebuild kills its workers.

The servers are this module's own: the petitions stream here is filled by the petitions handlers
(the request edge on a JetStream store), which the session's petitions service must not see."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import structlog
from faulty_petitions import FaultyPetitions
from support import DATASET, Harness, Servers, start_servers

from caunoi.cli.bus import OPERATOR
from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared.aggregate import Repository
from caunoi.shared.hamlets import InMemoryHamletDirectory
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.partitions import Partitioning
from caunoi.shared.projection import Projection, ProjectionRunner, still_wanted
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with, inbox_prefix
from caunoi.shared.streamread import read_stream
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load(DATASET)
COMMUNES = ["00691", "00694", "00700"]
PETITIONS = 150


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    servers, handles = start_servers(tmp_path_factory.mktemp("partitions"))
    with contextlib.ExitStack() as stack:
        for h in handles:
            stack.callback(h.stop)
        yield servers


@dataclass
class World:
    servers: Servers
    store: JetStreamEventStore
    pool: Any
    url: str
    last: int

    def runner(self, projection: Projection, processes: int = 0, **kw: Any) -> ProjectionRunner:
        """A runner reading in bulk; ``processes`` >= 2: its rebuilds are partitioned (whatever
        the stream's length), 20 events per worker transaction."""
        seed = self.servers.installation.bus().seed(OPERATOR)

        def bulk(stream: str, start: int, subject_filter: str | None, batch: int) -> Any:
            return read_stream(
                self.servers.nats_url, stream, start, subject_filter=subject_filter, batch=batch, nkey_seed=seed,
                inbox_prefix=inbox_prefix(OPERATOR),
            )  # fmt: skip

        plan = Partitioning(processes, self.url, min_events=1, group=20) if processes else None
        return ProjectionRunner(self.pool, None, self.store, registry, projection, bulk_reader=bulk,
                                partitioning=plan, **kw)  # fmt: skip

    async def live(self, name: str) -> list[dict[str, Any]]:
        """The read model kept as events arrive: a few events per batch, no bulk read."""
        projection = PetitionsProjection()
        projection.name = name
        runner = ProjectionRunner(self.pool, None, self.store, registry, projection, batch=7)
        await runner.setup()
        await runner.catch_up()
        return await runner.snapshot()


async def fill(store: JetStreamEventStore) -> None:
    """Petitions raised, then acted on in rounds, so each one's events are spread over the stream:
    answered and replied, forwarded, committed and replied, forwarded and committed, or left."""
    petitions = Harness(
        "petitions", ENDPOINTS, Deps(Repository(store, registry, PETITION, UNITS), UNITS, InMemoryHamletDirectory()),
        store,
    )  # fmt: skip
    ids = []
    for i in range(PETITIONS):
        raised = await petitions.ok("raise", {
            "channel": "reception", "category": "roads", "petitioner": {"name": f"Người {i}"},
            "commune_code": COMMUNES[i % 3], "text": f"Đường thôn {i} hỏng", "received_on": "2026-11-01",
        })  # fmt: skip
        ids.append(raised["petition_id"])
    lives = [
        [("answer", {"answer": "a", "answered_by": "b"}), ("reply", {"document_no": "1/UB", "summary": "s"})],
        [("forward", {"to_unit": "08"}), ("commit", {"committed_date": "2026-12-15"}),
         ("reply", {"document_no": "2/UB", "summary": "s"})],
        [("forward", {"to_unit": "08"}), ("commit", {"committed_date": "2026-12-20"})],
        [],
    ]  # fmt: skip
    for step in range(3):
        for i, pid in enumerate(ids):
            life = lives[i % 4]
            if step < len(life):
                name, body = life[step]
                await petitions.ok(name, {"petition_id": pid, **body})


@pytest_asyncio.fixture(scope="module")
async def world(own: Servers) -> AsyncIterator[World]:
    nc = await own.connect()
    await provision_stream(nc, STREAM)
    store = JetStreamEventStore(nc, STREAM)
    await fill(store)
    name = f"t_parts_{uuid.uuid4().hex[:8]}"
    await ensure_database(own.database_url, name)
    url = database_url_with(own.database_url, name)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    try:
        yield World(own, store, pool, url, await store.last_seq())
    finally:
        await pool.close()
        await nc.close()


def schema_name() -> str:
    return f"pt_{uuid.uuid4().hex[:8]}"


def partitions_done(logs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return next(e for e in logs if e["event"] == "projection.partitions_done")


@pytest.mark.asyncio
async def test_a_partitioned_rebuild_equals_the_single_process_rebuild_and_the_live_read_model(world: World) -> None:
    name = schema_name()
    live = await world.live(name)
    assert len(live) == PETITIONS
    single = world.runner(PetitionsProjection())
    single.projection.name = name
    assert await single.rebuild_into(f"{name}_single") == world.last
    assert await single.snapshot(f"{name}_single") == live

    parted = world.runner(FaultyPetitions(name), processes=2)
    with structlog.testing.capture_logs() as logs:
        assert await parted.rebuild() == world.last  # into a shadow, swapped in for the live one
    done = partitions_done(logs)
    assert done["positions"] == [world.last, world.last] and done["read"] == world.last
    assert [w.get("error") for w in done["workers"]] == [None, None]
    events = [w["events"] for w in done["workers"]]
    assert all(n > 0 for n in events) and sum(events) == world.last  # each event applied by one worker
    assert await parted.snapshot() == live
    async with world.pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'partition_checkpoint'"
        )


@pytest.mark.asyncio
async def test_a_failing_event_is_parked_alone_and_the_rest_applied(world: World) -> None:
    name = schema_name()
    bad = world.last * 3 // 5
    expected = await world.live(name)  # what the live read model holds; the event skipped below:
    dropping = world.runner(FaultyPetitions(name, drop={bad}))
    assert await dropping.rebuild_into(f"{name}_expected") == world.last
    without_bad = await dropping.snapshot(f"{name}_expected")
    assert without_bad != expected  # the bad event changes its petition's row

    parted = world.runner(
        FaultyPetitions(name, poison={bad}), processes=2, max_attempts=2, base_backoff=0.01, halted_retry_every=0.05
    )
    shadow = f"{name}_parted"
    with structlog.testing.capture_logs() as logs:
        rebuild = asyncio.create_task(parted.rebuild_into(shadow))
        for _ in range(1000):
            if await parted.parked() or rebuild.done():
                break
            await asyncio.sleep(0.02)
        parked = await parted.parked()
        assert [p["seq"] for p in parked] == [bad], parked  # alone
        assert "poisoned event" in parked[0]["error"]
        assert not rebuild.done()  # halted on it: nothing after it in its share is applied
        async with world.pool.acquire() as conn:
            assert await ProjectionRunner.position(conn, shadow) == bad - 1  # everything before it is
        assert await parted.skip(bad, "test")
        assert await asyncio.wait_for(rebuild, 60) == world.last
    done = partitions_done(logs)
    failed = [k for k, w in enumerate(done["workers"]) if w.get("error")]
    assert len(failed) == 1 and "poisoned event" in done["workers"][failed[0]]["error"]
    assert done["positions"][failed[0]] < bad and done["positions"][1 - failed[0]] == world.last
    assert await parted.snapshot(shadow) == without_bad


@pytest.mark.asyncio
async def test_a_killed_worker_leaves_its_share_to_the_runner(world: World) -> None:
    name = schema_name()
    live = await world.live(name)
    crash = world.last * 7 // 10
    parted = world.runner(FaultyPetitions(name, crash_at=crash), processes=2)
    with structlog.testing.capture_logs() as logs:
        assert await parted.rebuild_into(f"{name}_parted") == world.last
    done = partitions_done(logs)
    killed = [k for k, w in enumerate(done["workers"]) if w.get("error")]
    assert len(killed) == 1 and "status -9" in done["workers"][killed[0]]["error"]  # SIGKILL
    # it had written some groups (20 events each) before; the other worker finished its share
    assert 0 < done["positions"][killed[0]] < crash
    assert done["positions"][1 - killed[0]] == world.last
    assert any(e["event"] == "projection.partition_failed" for e in logs)
    assert await parted.snapshot(f"{name}_parted") == live  # nothing lost, nothing doubled
    assert await parted.parked() == []


@pytest.mark.asyncio
async def test_a_read_model_far_behind_catches_up_by_a_partitioned_rebuild(world: World) -> None:
    """A live runner whose backlog is over twice what it applied fills a shadow over the workers
    and swaps it in; closer to the end it catches up in its own process. Either way the read model
    is the one kept event by event."""
    name = schema_name()
    live = await world.live(name)
    far = world.runner(FaultyPetitions(f"{name}_far"), processes=2, batch=7, bulk_threshold=10)
    await far.setup()
    with structlog.testing.capture_logs() as logs:
        assert await far.step() == world.last  # a batch, then the rest by a rebuild
    assert [e["position"] for e in logs if e["event"] == "projection.catch_up_by_rebuild"] == [7]
    done = partitions_done(logs)
    assert done["positions"] == [world.last, world.last] and far.status.position == world.last
    assert await far.snapshot() == live
    assert await far.step() == 0

    near = world.runner(FaultyPetitions(f"{name}_near"), processes=2, batch=7, bulk_threshold=10)
    await near.setup()
    half = world.last // 2
    while near.status.position < half:
        await near._step(near.schema, live=True)
    at = near.status.position
    with structlog.testing.capture_logs() as logs:
        assert await near.catch_up() == world.last - at
    assert not [e for e in logs if e["event"] in ("projection.catch_up_by_rebuild", "projection.partitions_done")]
    assert await near.snapshot() == live


@pytest.mark.asyncio
@pytest.mark.parametrize("processes", [0, 2])
async def test_a_rebuild_under_way_shows_how_far_it_has_read(world: World, processes: int) -> None:
    """``status.rebuild`` (what the service's status and ``caunoi projections rebuild`` show)
    counts up to the stream's end while a rebuild runs, in one process or over workers, and is
    gone once it is swapped in."""
    runner = world.runner(FaultyPetitions(schema_name(), slow=0.05), processes=processes, bulk_batch=100)
    await runner.setup()
    rebuild = asyncio.create_task(runner.rebuild())
    seen: list[int] = []
    for _ in range(2000):
        if rebuild.done():
            break
        if (progress := runner.status.rebuild) is not None:
            assert progress.to == world.last and progress.to_json()["to"] == world.last
            if progress.at:
                seen.append(progress.at)
        await asyncio.sleep(0.01)
    assert await rebuild == world.last
    assert runner.status.rebuild is None
    assert seen and seen == sorted(seen) and 0 < seen[0] and seen[-1] <= world.last
    if not processes:  # in one process it counts what was applied, a group at a time
        assert seen[0] < world.last
    # (over workers it counts what the runner read and handed over: on a stream this short, all of
    # it at once, while the workers still apply)


def workers_of(pid: int) -> list[int]:
    """The partitioned rebuild's worker processes started by ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if ppid == pid and b"caunoi.shared.partitions" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.mark.asyncio
async def test_an_abandoned_rebuild_kills_its_workers(world: World) -> None:
    parted = world.runner(FaultyPetitions(schema_name(), slow=0.3), processes=2)
    # children of this process not yet reaped from the tests before (on a busy machine) are not
    # this rebuild's workers: seeing them, the test once cancelled before the workers started
    before = set(workers_of(os.getpid()))
    rebuild = asyncio.create_task(parted.rebuild_into(f"{parted.projection.name}_parted"))
    workers: list[int] = []
    for _ in range(500):
        workers = [w for w in workers_of(os.getpid()) if w not in before]
        if len(workers) == 2 or rebuild.done():
            break
        await asyncio.sleep(0.02)
    assert len(workers) == 2 and not rebuild.done()
    rebuild.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rebuild
    assert not set(workers_of(os.getpid())) & set(workers)
    assert not any(exists(pid) for pid in workers)  # killed and reaped


@pytest.mark.asyncio
async def test_a_cancellation_swallowed_below_is_raised_again() -> None:
    """What guards a partitioned rebuild against a library that catches the CancelledError of a
    cancelled rebuild: the task still counts the cancellation, and the next step raises it."""
    inside = asyncio.Event()
    went_on = False

    async def rebuild_like() -> None:
        nonlocal went_on
        try:
            inside.set()
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # what a careless library does
        still_wanted()
        went_on = True

    task = asyncio.create_task(rebuild_like())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not went_on
    still_wanted()  # a task nobody cancelled goes on


@pytest.mark.asyncio
async def test_a_frame_of_messages_reaches_the_worker_as_it_was_read() -> None:
    """The reader's frames (how far it read, the messages as tuples) through a pipe-like stream
    come out as the worker's messages, field for field: a message without a type (no header), an
    empty body, a sequence past 2**32, bytes that are not UTF-8; and the end as None."""
    from caunoi.shared.partitions import _receive_frame, _send_frame

    sent = [
        (1, "caunoi.petitions.PA-1.08", "petitions.PetitionRaised.v3", b'{"a": 1}'),
        (2, "caunoi.petitions.PA-2.08.001", None, b""),
        (2**40 + 3, "caunoi.petitions.PA-1.08", "x", bytes(range(256))),
    ]

    class Pipe:
        def __init__(self) -> None:
            self.reader = asyncio.StreamReader()

        def write(self, data: bytes) -> None:
            self.reader.feed_data(data)

    pipe = Pipe()
    _send_frame(pipe, (2**40 + 3, sent))  # type: ignore[arg-type]
    _send_frame(pipe, None)  # type: ignore[arg-type]
    frame = await _receive_frame(pipe.reader)
    assert frame is not None
    read, messages = frame
    assert read == 2**40 + 3
    assert [(m.seq, m.subject, m.type_name, m.data) for m in messages] == sent
    assert await _receive_frame(pipe.reader) is None
