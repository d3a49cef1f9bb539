"""Helpers for the tests: real servers, services as processes, the request edge without NATS."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
import orjson

from caunoi.cli.embedded import free_port, start_nats, start_postgres
from caunoi.shared.aggregate import decode_message
from caunoi.shared.client import Client, RequestFailed, ServiceUnreachable
from caunoi.shared.endpoints import Edge, Endpoint, dispatch
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import EventStore
from caunoi.shared.settings import database_url_with

D = TypeVar("D")


@dataclass
class Servers:
    nats_url: str
    database_url: str
    root: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "NATS_URL": self.nats_url,
            "DATABASE_URL": self.database_url,
            "CAUNOI_DATA_DIR": str(self.root / "data"),
            "CAUNOI_LOG_LEVEL": "warning",
            **extra,
        }


def start_servers(root: Path) -> tuple[Servers, list[Any]]:
    nats = start_nats(root, port=free_port(), monitor_port=None)
    pg = start_postgres(root, port=free_port())
    return Servers(nats.url, pg.url, root), [pg, nats]


class Harness(Generic[D]):
    """A service's endpoints called through the request edge (``dispatch``) with the given
    dependencies: what the NATS subscriber does, without NATS. With an in-memory store, handler
    tests need no server."""

    def __init__(self, service: str, endpoints: Sequence[Endpoint[D]], deps: D, store: EventStore) -> None:
        self.edge = Edge(service)
        self.endpoints = {e.name: e for e in endpoints}
        self.deps = deps
        self.store = store

    async def call(self, name: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
        raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        reply: dict[str, Any] = orjson.loads(await dispatch(self.edge, self.endpoints[name], self.deps, raw))
        return reply

    async def ok(self, name: str, payload: dict[str, Any]) -> Any:
        reply = await self.call(name, payload)
        assert reply["ok"], reply
        return reply["result"]

    async def error(self, name: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
        """Send a request that must be refused; prove that it stored nothing."""
        before = await self.messages()
        reply = await self.call(name, payload)
        assert not reply["ok"], reply
        assert await self.messages() == before, "a refused command stored an event"
        err: dict[str, Any] = reply["error"]
        assert err["message"] and err["message_en"], err
        return err

    async def messages(self) -> int:
        return (await self.store.state()).messages


class Follower:
    """Feeds a store's events, in order, to a function: a projection's job, in memory."""

    def __init__(self, store: EventStore, registry: EventRegistry, apply: Callable[[DomainEvent], None]) -> None:
        self.store, self.registry, self.apply = store, registry, apply
        self.position = 0

    async def catch_up(self) -> None:
        while batch := await self.store.read(self.position + 1, 1000):
            for msg in batch:
                self.apply(decode_message(self.registry, msg).event)
                self.position = msg.seq


class ServiceProcess:
    """A service run as its own process, as in production."""

    def __init__(self, module: str, name: str, env: dict[str, str], log: Path) -> None:
        self.module, self.name, self.env, self.log = module, name, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module], env=self.env, stdout=out, stderr=out)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    async def wait_ready(self, nats_url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        c = await Client.connect(nats_url)
        try:
            while True:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    await c.admin(self.name, "status")
                    return
                except (ServiceUnreachable, RequestFailed):
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{self.name} not ready:\n{self.log.read_text()[-3000:]}") from None
                    await asyncio.sleep(0.1)
        finally:
            await c.close()


async def stream_messages(c: Client, stream: str) -> int:
    from caunoi.shared.jsapi import api

    info = await api(c.nc, f"$JS.API.STREAM.INFO.{stream}")
    return int(info["state"]["messages"])


async def wait_projected(c: Client, service: str, timeout: float = 20.0) -> dict[str, Any]:
    """Until every projection of ``service`` has applied the whole stream."""
    deadline = time.monotonic() + timeout
    while True:
        st: dict[str, Any] = await c.admin(service, "status")
        if all(p["lag"] == 0 for p in st["projections"]):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"projection lag did not reach 0: {st}")
        await asyncio.sleep(0.02)


async def db(servers: Servers, service: str) -> asyncpg.Connection:  # type: ignore[type-arg]
    return await asyncpg.connect(database_url_with(servers.database_url, f"caunoi_{service}"))
