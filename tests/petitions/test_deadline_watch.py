"""The deadline watcher on real servers with the clock moved: a petition forwarded to the
province, its committed date passed unresolved, produces exactly one delay-notice event (and one
overdue, one approaching), with the watcher restarted in between and two watchers running at
once, each with its own NATS connection and database pool, as two processes would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest
from petitions.payloads import raise_payload
from support import Servers, wait_projected

from caunoi.petitions.bootstrap import HAMLETS, STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.duties import DUTIES
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.client import Client
from caunoi.shared.clock import VN, today_vn
from caunoi.shared.duties import DutyRunner
from caunoi.shared.hamlets import PgHamletDirectory
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def watcher(servers: Servers, day: date) -> AsyncIterator[DutyRunner[Deps]]:
    """A deadline watcher as the service runs it, whose clock says ``day`` (10:00 in Vietnam)."""
    nc = await servers.connect()
    pool = await asyncpg.create_pool(
        database_url_with(servers.database_url, "caunoi_petitions"), min_size=1, max_size=2
    )
    units = UnitTree.load("vn-2025")
    deps = Deps(
        Repository(JetStreamEventStore(nc, STREAM), registry, PETITION, units),
        units,
        PgHamletDirectory(pool, HAMLETS),
        pool=pool,
    )
    moment = datetime.combine(day, time(10), VN).astimezone(UTC)
    try:
        yield DutyRunner("petitions", DUTIES, deps, clock=lambda: moment)
    finally:
        await pool.close()
        await nc.close()


async def types_of(client: Client, pid: str) -> list[str]:
    shown = await client.query("petitions", "show", {"petition_id": pid})
    return [h["type"].rsplit(".", 2)[-2] for h in shown["history"]]


async def test_a_passed_committed_date_gives_exactly_one_delay_notice(
    servers: Servers, services: Any, client: Client
) -> None:
    today = today_vn()
    committed = today + timedelta(days=10)
    body = raise_payload(channel="hotline", hamlet_id=None, received_on=today.isoformat())
    pid = (await client.command("petitions", "raise", body))["petition_id"]
    await client.command("petitions", "forward", {"petition_id": pid, "to_unit": "08", "to_agency": "Sở Xây dựng"})
    await client.command("petitions", "commit", {"petition_id": pid, "committed_date": committed.isoformat()})
    await wait_projected(client, "petitions")

    # the service's own watcher, on today's clock: nothing is due for it yet
    await client.admin("petitions", "duties")
    assert "DelayNoticeRequired" not in await types_of(client, pid)

    # three days before the committed date: approaching, once, from two watchers at once
    async with (
        watcher(servers, committed - timedelta(days=2)) as a,
        watcher(servers, committed - timedelta(days=2)) as b,
    ):
        first = await asyncio.gather(a.tick(), b.tick())
    assert sum(1 for done in first for d in done if d["aggregate_id"] == pid) == 1
    await wait_projected(client, "petitions")

    # on the committed date itself, nothing more
    async with watcher(servers, committed) as w:
        assert [d for d in await w.tick() if d["aggregate_id"] == pid] == []

    # the day after: two watchers at once, then the watcher restarted (a new one), later still
    day_after = committed + timedelta(days=1)
    async with watcher(servers, day_after) as a, watcher(servers, day_after) as b:
        recorded = await asyncio.gather(a.tick(), b.tick(), a.tick())
    ours = [d for done in recorded for d in done if d["aggregate_id"] == pid]
    assert [d["duty"] for d in ours] == ["deadline-overdue"] and ours[0]["key"] == f"committed:{committed}"
    await wait_projected(client, "petitions")
    for later in (day_after, day_after + timedelta(days=1), day_after + timedelta(days=30)):
        async with watcher(servers, later) as again:
            assert [d for d in await again.tick() if d["aggregate_id"] == pid] == []
    await client.admin("petitions", "duties")

    history = await types_of(client, pid)
    assert history.count("DelayNoticeRequired") == 1
    assert history.count("PetitionOverdue") == 1 and history.count("DeadlineApproaching") == 1
    shown = await client.query("petitions", "show", {"petition_id": pid})
    notice = next(h for h in shown["history"] if h["type"].endswith("DelayNoticeRequired.v2"))
    assert notice["actor"] == "system:petitions" and notice["unit"] == "08"
    assert notice["data"]["committed_date"] == committed.isoformat()
    assert notice["data"]["handling_unit"] == "08" and notice["data"]["handling_agency"] == "Sở Xây dựng"
    await wait_projected(client, "petitions")
    row = shown["petition"]
    assert row["overdue"] is True and row["committed_date"] == committed.isoformat()
    listed = await client.query("petitions", "list", {"overdue": True, "limit": 5000})
    assert pid in [r["id"] for r in listed["items"]]

    # extended to a new date: no longer overdue; that date gets its own notice when it passes
    new_date = committed + timedelta(days=20)
    await client.command(
        "petitions", "extend", {"petition_id": pid, "reason": "chờ vốn", "until": new_date.isoformat()}
    )
    await wait_projected(client, "petitions")
    assert (await client.query("petitions", "show", {"petition_id": pid}))["petition"]["overdue"] is False
    async with watcher(servers, new_date + timedelta(days=1)) as w:
        assert {d["key"] for d in await w.tick() if d["aggregate_id"] == pid} == {f"committed:{new_date}"}
    assert (await types_of(client, pid)).count("DelayNoticeRequired") == 2
