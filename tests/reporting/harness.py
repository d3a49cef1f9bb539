"""The reporting service's endpoints through the request edge on the in-memory event store, with
its **real read models** on a fresh PostgreSQL database kept by the real projection runner, the
other services' streams as in-memory stores it follows, and a clock the test moves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg
import pytest_asyncio
from support import Harness, Servers

from caunoi.reporting.bootstrap import STREAM, read_models, wire
from caunoi.reporting.deps import Deps
from caunoi.reporting.duties import DUTIES
from caunoi.reporting.events import registry
from caunoi.reporting.handlers import ENDPOINTS
from caunoi.reporting.settings import ReportingSettings
from caunoi.shared.duties import DutyRunner
from caunoi.shared.endpoints import Edge
from caunoi.shared.eventstore import EventStore
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Pool, ProjectionRunner
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load("vn-2025")


class Reporting(Harness[Deps]):
    def __init__(
        self,
        pool: Pool,
        petitions: EventStore,
        scheduling: EventStore,
        now: datetime,
        batch: int = 64,
        units: UnitTree = UNITS,
        settings: ReportingSettings | None = None,
    ) -> None:
        store = InMemoryEventStore(STREAM)
        super().__init__("reporting", ENDPOINTS, wire(store, units, pool, settings=settings), store)
        self.pool = pool
        self.now = now
        self.edge: Edge = replace(self.edge, clock=lambda: self.now)
        followed = {None: store, "PETITIONS": petitions, "SCHEDULING": scheduling}
        self.runners = [
            ProjectionRunner(
                pool, None, followed[rm.stream.name if rm.stream else None], rm.registry or registry,
                rm.projection, batch=batch,
            )
            for rm in read_models()
        ]  # fmt: skip
        self.duties = DutyRunner("reporting", DUTIES, self.deps, clock=lambda: self.now)

    async def setup(self) -> Reporting:
        for r in self.runners:
            await r.setup()
        return self

    def runner(self, name: str) -> ProjectionRunner:
        return next(r for r in self.runners if r.projection.name == name)

    async def projected(self) -> None:
        for r in self.runners:
            await r.catch_up()

    async def call(self, name: str, payload: dict[str, Any] | bytes, as_: Any = None) -> dict[str, Any]:
        await self.projected()
        reply: dict[str, Any] = await super().call(name, payload, as_)
        await self.projected()
        return reply

    async def tick(self) -> list[dict[str, Any]]:
        """Run the service's duties now, then let the read models follow."""
        await self.projected()
        done = await self.duties.tick()
        await self.projected()
        return done


async def fresh_pool(servers: Servers, prefix: str) -> Pool:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await ensure_database(servers.database_url, name)
    return await asyncpg.create_pool(database_url_with(servers.database_url, name), min_size=1, max_size=4)


@pytest_asyncio.fixture
async def pool(servers: Servers) -> AsyncIterator[Pool]:
    """A fresh database per test: read models start empty."""
    p = await fresh_pool(servers, "t_rep")
    try:
        yield p
    finally:
        await p.close()
