"""Helpers for the tests: real servers, services as processes, the request edge without NATS."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
import nats
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client as NATS

from caunoi.cli.bus import CLIENTS, OPERATOR
from caunoi.cli.embedded import free_port, start_nats, start_postgres
from caunoi.cli.installation import Installation, record_issued
from caunoi.shared.client import Client, Login, RequestFailed, ServiceUnreachable
from caunoi.shared.context import Role
from caunoi.shared.endpoints import Edge, Endpoint, dispatch
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import EventStore
from caunoi.shared.identity import Credential, Verifier, bearer, issue, load_public_key
from caunoi.shared.recorded import decode_message
from caunoi.shared.settings import database_url_with

D = TypeVar("D")


#: the key test credentials are signed with (handler tests verify them with its public half)
TEST_KEY = Ed25519PrivateKey.generate()
DATASET = "vn-2025"


def credential(
    unit: str = "", *roles: Role, name: str = "", dataset: str = DATASET, key: Ed25519PrivateKey = TEST_KEY
) -> Credential:
    """A credential for tests: national operator by default."""
    roles = roles or (Role.operator,)
    subject = f"{'-'.join(sorted(roles))}.{unit or 'vn'}"
    return issue(key, subject=subject, name=name or subject, unit=unit, dataset=dataset, roles=list(roles))


@dataclass
class Servers:
    """Real servers on loopback, with the bus permissions and keys of a real installation."""

    nats_url: str
    database_url: str
    root: Path
    installation: Installation

    @property
    def data_dir(self) -> Path:
        return self.installation.data_dir

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "NATS_URL": self.nats_url,
            "DATABASE_URL": self.database_url,
            "CAUNOI_DATA_DIR": str(self.data_dir),
            "CAUNOI_LOG_LEVEL": "warning",
            **extra,
        }

    def service_env(self, service: str) -> dict[str, str]:
        return self.env(**self.installation.service_env(service))

    @property
    def operator(self) -> Login:
        return Login.from_file(self.installation.operator_login)

    def login(self, unit: str, *roles: Role, nats_user: str = CLIENTS) -> Login:
        """A login signed with the installation's key, not recorded in the IDENTITIES stream."""
        subject = f"{'-'.join(sorted(roles))}.{unit or 'vn'}"
        cred = self.installation.issue(subject=subject, name=subject, unit=unit, dataset=DATASET, roles=list(roles))
        return self.installation.login_for(cred, self.nats_url, nats_user)

    async def issue(self, unit: str, *roles: Role) -> tuple[Login, str]:
        """A login and its credential id, issued and recorded as ``caunoi identities issue`` does."""
        subject = f"{'-'.join(sorted(roles))}.{unit or 'vn'}"
        cred = self.installation.issue(subject=subject, name=subject, unit=unit, dataset=DATASET, roles=list(roles))
        operator = Verifier(load_public_key(self.installation.public_key)).actor(self.operator.headers())
        await record_issued(self.operator, operator, cred)
        return self.installation.login_for(cred, self.nats_url, CLIENTS), cred.credential_id

    async def connect(self, login: Login | None = None) -> NATS:
        """A raw NATS connection, as the operator unless told otherwise."""
        return await nats.connect(self.nats_url, **(login or self.operator).nats_options())

    async def client(self, login: Login | None = None) -> Client:
        return await Client.connect(self.nats_url, login or self.operator)


def start_servers(root: Path) -> tuple[Servers, list[Any]]:
    inst = Installation(root / "data")
    inst.prepare()
    nats_server = start_nats(
        root, port=free_port(), monitor_port=None, config=inst.nats_config, seed=inst.bus().seed(OPERATOR)
    )
    pg = start_postgres(root, port=free_port())
    inst.ensure_operator(nats_server.url, DATASET)
    return Servers(nats_server.url, pg.url, root, inst), [pg, nats_server]


class Harness(Generic[D]):
    """A service's endpoints called through the request edge (``dispatch``) with the given
    dependencies: what the NATS subscriber does, without NATS. With an in-memory store, handler
    tests need no server."""

    def __init__(self, service: str, endpoints: Sequence[Endpoint[D]], deps: D, store: EventStore) -> None:
        self.edge = Edge(service, Verifier(TEST_KEY.public_key()))
        self.endpoints = {e.name: e for e in endpoints}
        self.deps = deps
        self.store = store
        #: who calls, unless a call says otherwise: a national operator
        self.as_ = credential()

    async def call(self, name: str, payload: dict[str, Any] | bytes, as_: Credential | None = None) -> dict[str, Any]:
        raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        headers = bearer((as_ or self.as_).token)
        reply: dict[str, Any] = orjson.loads(await dispatch(self.edge, self.endpoints[name], self.deps, raw, headers))
        return reply

    async def ok(self, name: str, payload: dict[str, Any], as_: Credential | None = None) -> Any:
        reply = await self.call(name, payload, as_)
        assert reply["ok"], reply
        return reply["result"]

    async def error(self, name: str, payload: dict[str, Any] | bytes, as_: Credential | None = None) -> dict[str, Any]:
        """Send a request that must be refused; prove that it stored nothing."""
        before = await self.messages()
        reply = await self.call(name, payload, as_)
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

    async def wait_ready(self, nats_url: str, login: Login, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        c = await Client.connect(nats_url, login)
        try:
            while True:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    if self.env.get("CAUNOI_ROLE") == "endpoints":
                        await c.query(self.name, "ping")
                    else:
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
        try:
            st: dict[str, Any] = await c.admin(service, "status")
        except RequestFailed as e:  # the event store did not answer in time (a cluster settling)
            if e.code != "unavailable" or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        if all(p["lag"] == 0 for p in st["projections"]):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"projection lag did not reach 0: {st}")
        await asyncio.sleep(0.02)


async def db(servers: Servers, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url_with(servers.database_url, f"caunoi_{service}"))


class Loop:
    """An event loop in a thread, so hypothesis (which is synchronous) can drive NATS requests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
