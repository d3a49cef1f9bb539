"""Fixtures for the scheduling tests: a real nats-server (JetStream) and a real PostgreSQL from the
embedded wheels, and the scheduling runtime started in this process (no FastStream broker: the
tests call ``rt.dispatch`` the way the broker's handler does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from caunoi.scheduling.app import build
from caunoi.shared.embedded import EmbeddedNats, EmbeddedPostgres, free_port, start_nats, start_postgres
from caunoi.shared.service import ServiceRuntime
from caunoi.shared.settings import Settings


@dataclass
class SchedulingServers:
    nats: EmbeddedNats
    postgres: EmbeddedPostgres
    root: Path


@pytest.fixture(scope="session")
def scheduling_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchedulingServers]:
    root = tmp_path_factory.mktemp("scheduling")
    nats = start_nats(root, port=free_port(), monitor_port=None)
    try:
        pg = start_postgres(root, port=free_port())
    except BaseException:
        nats.stop()
        raise
    try:
        yield SchedulingServers(nats, pg, root)
    finally:
        pg.stop()
        nats.stop()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def rt(scheduling_servers: SchedulingServers) -> AsyncIterator[ServiceRuntime]:
    runtime = build()
    runtime.settings = Settings(
        nats_url=scheduling_servers.nats.url,
        database_url=scheduling_servers.postgres.url,
        data_dir=scheduling_servers.root / "data",
        log_level="warning",
    )
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


class Caller:
    """Sends raw request bodies to the runtime's endpoints and reads the stream and read model."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.rt = runtime

    async def call(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        ep = next(e for e in self.rt.endpoints if e.name == name)
        reply: dict[str, Any] = json.loads(await self.rt.dispatch(ep, json.dumps(payload, ensure_ascii=False).encode()))
        return reply

    async def ok(self, name: str, payload: dict[str, Any]) -> Any:
        reply = await self.call(name, payload)
        assert reply["ok"], reply
        return reply["result"]

    async def error(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        reply = await self.call(name, payload)
        assert not reply["ok"], reply
        err: dict[str, Any] = reply["error"]
        return err

    async def messages(self) -> int:
        return int((await self.rt.store.info())["state"]["messages"])

    async def projected(self) -> None:
        await self.rt.runners["hamlets"].catch_up()


@pytest_asyncio.fixture(loop_scope="session")
async def svc(rt: ServiceRuntime) -> Caller:
    return Caller(rt)
