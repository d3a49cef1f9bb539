"""Kill the petitions service (and so its projector) in the middle of a stream; after a restart
the read model equals a rebuild from scratch."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from support import ServiceProcess, start_servers

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.events import PetitionRaised, registry
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared.client import Client
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import NEW_AGGREGATE
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.projection import ProjectionRunner
from caunoi.shared.settings import database_url_with

pytestmark = pytest.mark.asyncio

TOTAL = 3000


def raised(i: int) -> tuple[str, CloudEvent]:
    pid = f"PA-T{i:07d}"  # T and digits: a valid reference
    ev = PetitionRaised(
        petition_id=pid,
        channel="hotline",
        kind="feedback",
        category="roads",
        petitioner={"name": f"Người {i}"},
        commune_code="00691",
        text=f"Ý kiến số {i}",
        received_on=date(2026, 11, 1),
        unit_path=["08", "00691"],
        dataset="vn-2025",
    )
    return pid, CloudEvent(
        id=str(uuid.uuid4()),
        source="/caunoi/petitions",
        type=ev.type_name(),
        subject=pid,
        data=ev.model_dump(mode="json"),
        unitcode="00691",
    )


async def checkpoint(conn: asyncpg.Connection) -> int:
    try:
        return int(await conn.fetchval("SELECT position FROM petitions.checkpoint"))
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError, TypeError):
        return 0


async def test_killed_projector_resumes_to_the_same_state_as_a_rebuild(tmp_path: Path) -> None:
    servers, handles = await asyncio.to_thread(start_servers, tmp_path)
    svc = ServiceProcess("caunoi.petitions", "petitions", servers.service_env("petitions"), tmp_path / "petitions.log")
    nc = await servers.connect()
    try:
        await provision_stream(nc, STREAM)
        store = JetStreamEventStore(nc, STREAM)
        sem = asyncio.Semaphore(64)

        async def put(i: int) -> None:
            pid, env = raised(i)
            async with sem:
                await store.append(store.subject_for(pid, ["08", "00691"]), NEW_AGGREGATE, [env])

        await asyncio.gather(*[put(i) for i in range(TOTAL)])

        svc.start()
        await svc.wait_ready(servers.nats_url, servers.operator)
        conn = None
        for _ in range(500):
            try:
                conn = await asyncpg.connect(database_url_with(servers.database_url, "caunoi_petitions"))
                break
            except asyncpg.InvalidCatalogNameError:
                await asyncio.sleep(0.02)
        assert conn is not None
        try:
            pos = 0
            for _ in range(2000):
                pos = await checkpoint(conn)
                if pos > 0:
                    break
                await asyncio.sleep(0.005)
            svc.kill()  # SIGKILL: no clean shutdown
            killed_at = await checkpoint(conn)
            assert 0 < killed_at < TOTAL, f"kill did not land mid-stream (position {killed_at})"
            assert await conn.fetchval("SELECT count(*) FROM petitions.petitions") == killed_at

            svc.start()
            await svc.wait_ready(servers.nats_url, servers.operator)
            c = Client(nc, servers.operator)
            for _ in range(400):
                st = await c.admin("petitions", "status")
                if st["projections"][0]["lag"] == 0:
                    break
                await asyncio.sleep(0.05)
            # every event applied, and the service's checkpoints over them passed over
            last = await store.last_seq()
            assert await checkpoint(conn) == last and last > TOTAL
            assert await conn.fetchval("SELECT count(*) FROM petitions.petitions") == TOTAL
        finally:
            await conn.close()

        pool = await asyncpg.create_pool(
            database_url_with(servers.database_url, "caunoi_petitions"), min_size=1, max_size=2
        )
        try:
            runner = ProjectionRunner(pool, nc, store, registry, PetitionsProjection())
            assert await runner.rebuild_into("petitions_verify") == last
            assert await runner.snapshot("petitions") == await runner.snapshot("petitions_verify")
        finally:
            await pool.close()
    finally:
        svc.stop()
        await nc.close()
        for h in handles:
            h.stop()
