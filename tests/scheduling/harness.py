"""The scheduling service's endpoints through the request edge on the in-memory event store (proven
equal to JetStream by its contract suite), with its **real read models** on a fresh PostgreSQL
database, kept by the real projection runner after every request, and a clock the test moves.

The petitions service's stream is an in-memory store too: a test appends petition events to it as
the petitions service would, and the scheduling service's projection of it follows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg
import pytest_asyncio
from support import Harness, Servers

from caunoi.scheduling.bootstrap import read_models, wire
from caunoi.scheduling.duties import DUTIES
from caunoi.scheduling.events import registry
from caunoi.scheduling.handlers import ENDPOINTS, Deps
from caunoi.shared.clock import VN
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import DutyRunner, system_actor
from caunoi.shared.endpoints import Edge
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent
from caunoi.shared.eventstore import NEW_AGGREGATE
from caunoi.shared.hamlets import SCHEDULING_STREAM
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Pool, ProjectionRunner
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load("vn-2025")
PROVINCE = "08"  # Tỉnh Tuyên Quang
WARD, WARD_2, RURAL = "00691", "00694", "00700"  # Phường Hà Giang 2, Phường Hà Giang 1, Xã Ngọc Đường


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=VN).astimezone(UTC)


class Scheduling(Harness[Deps]):
    def __init__(self, pool: Pool, today: date) -> None:
        store = InMemoryEventStore(SCHEDULING_STREAM)
        super().__init__("scheduling", ENDPOINTS, wire(store, UNITS, pool), store)
        self.pool = pool
        self.now = noon(today)
        self.edge: Edge = replace(self.edge, clock=lambda: self.now)
        models = read_models()
        self.petitions = InMemoryEventStore(next(rm.stream for rm in models if rm.stream is not None))
        self.runners = [
            ProjectionRunner(
                pool, None, self.petitions if rm.stream else store, rm.registry or registry, rm.projection, batch=7
            )
            for rm in models
        ]
        self.duties = DutyRunner("scheduling", DUTIES, self.deps, clock=lambda: self.now)

    def at(self, day: date) -> None:
        self.now = noon(day)

    @property
    def today(self) -> date:
        return self.now.astimezone(VN).date()

    async def projected(self) -> None:
        for r in self.runners:
            await r.catch_up()

    async def call(self, name: str, payload: dict[str, Any] | bytes, as_: Any = None) -> dict[str, Any]:
        reply: dict[str, Any] = await super().call(name, payload, as_)
        await self.projected()
        return reply

    async def tick(self) -> list[dict[str, Any]]:
        """Run the service's duties now (what time causes), then let the read models follow."""
        done = await self.duties.tick()
        await self.projected()
        return done

    async def petition_event(self, petition_id: str, type_name: str, data: dict[str, Any]) -> None:
        """Append an event to the petitions stream as the petitions service would."""
        subject = f"caunoi.petitions.{petition_id}.08.00691"
        last = await self.petitions.load(petition_id)
        env = CloudEvent(
            id=str(uuid.uuid4()), source="/caunoi/petitions", type=type_name, subject=petition_id,
            time=self.now, data=data,
        )  # fmt: skip
        await self.petitions.append(subject, last[-1].seq if last else NEW_AGGREGATE, [env])
        await self.projected()

    async def snapshots(self) -> list[list[dict[str, Any]]]:
        return [await r.snapshot() for r in self.runners]

    async def rebuilt(self) -> list[list[dict[str, Any]]]:
        """Every read model replayed from sequence 1 into a shadow schema, in one batch."""
        out = []
        for r in self.runners:
            shadow = f"{r.schema}__rb"
            await r.rebuild_into(shadow, batch=10_000)
            out.append(await r.snapshot(shadow))
        return out

    async def record(self, aggregate_id: str, events: list[DomainEvent]) -> None:
        """Store events as the service itself would (a fixture's history), then project them."""
        repo = self.deps.meetings
        ctx = RequestContext(actor=system_actor("test"), received_at=self.now)
        await repo.save(await repo.load(aggregate_id), ctx, events)
        await self.projected()


@pytest_asyncio.fixture
async def pool(servers: Servers) -> AsyncIterator[Pool]:
    """A fresh database per test: read models start empty."""
    name = f"t_sched_{uuid.uuid4().hex[:10]}"
    await ensure_database(servers.database_url, name)
    p = await asyncpg.create_pool(database_url_with(servers.database_url, name), min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


async def make(pool: Pool, today: date) -> Scheduling:
    svc = Scheduling(pool, today)
    for r in svc.runners:
        await r.setup()
    return svc


async def hamlets(svc: Scheduling, commune: str, n: int, kind: str = "thon") -> list[str]:
    ids = []
    for i in range(1, n + 1):
        out = await svc.ok("hamlet_add", {"commune_code": commune, "name": f"Thôn {i}", "kind": kind})
        ids.append(out["hamlet_id"])
    return ids


async def pilot(svc: Scheduling, commune: str, sites: list[str]) -> dict[str, Any]:
    """Make ``commune`` a pilot of its province (with a commune of the other kind) and choose ``sites``."""
    other = RURAL if commune != RURAL else WARD
    await svc.ok("pilot_localities", {"unit_code": PROVINCE, "communes": sorted({commune, other})})
    out: dict[str, Any] = await svc.ok("pilot_sites", {"commune_code": commune, "sites": sites})
    return out
