"""Who may publish and subscribe to what on the real nats-server, with the installation's users:
services write only their own stream, clients only send requests, a subscriber reads exactly its
area (core subscriptions and JetStream consumers alike)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from support import Servers, stream_messages

from caunoi.cli.bus import CLIENTS, installed_services, reload_server
from caunoi.shared.client import Login
from caunoi.shared.settings import inbox_prefix, replay_user
from caunoi.shared.streamread import StreamReadError, read_stream

pytestmark = pytest.mark.asyncio


class Conn:
    """A connection that records the server's permission errors."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: NATS | None = None

    async def open(self, url: str, login: Login) -> NATS:
        async def on_error(e: Exception) -> None:
            self.errors.append(str(e))

        self.nc = await nats.connect(url, error_cb=on_error, **login.nats_options())
        return self.nc

    async def violations(self, what: str, wait: float = 2.0) -> list[str]:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            found = [e for e in self.errors if "permissions violation" in e.lower() and what.lower() in e.lower()]
            if found:
                return found
            await asyncio.sleep(0.02)
        return []


@pytest_asyncio.fixture
async def conn() -> AsyncIterator[Conn]:
    c = Conn()
    yield c
    if c.nc is not None:
        await c.nc.close()


def user_login(servers: Servers, name: str) -> Login:
    bus = servers.installation.bus()
    return Login(nats_url=servers.nats_url, nats_user=name, nats_seed=bus.seed(name))


def event(subject: str) -> bytes:
    body = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/x", "type": "x.v1", "subject": subject}
    return json.dumps({**body, "data": {}}).encode()


async def test_a_service_cannot_append_to_another_services_stream(servers: Servers, services: Any, conn: Conn) -> None:
    operator = await servers.client()
    try:
        before = await stream_messages(operator, "SCHEDULING")
        nc = await conn.open(servers.nats_url, user_login(servers, "petitions"))
        await nc.publish("caunoi.scheduling.00691-forged.08.00691", event("00691-forged"))
        await nc.flush()
        assert await conn.violations("caunoi.scheduling.00691-forged")
        assert await stream_messages(operator, "SCHEDULING") == before
    finally:
        await operator.close()


async def test_a_client_cannot_publish_to_any_stream_subject(servers: Servers, services: Any, conn: Conn) -> None:
    operator = await servers.client()
    try:
        counts = {s: await stream_messages(operator, s) for s in ("PETITIONS", "SCHEDULING", "IDENTITIES")}
        nc = await conn.open(servers.nats_url, user_login(servers, CLIENTS))
        for subject in ("caunoi.petitions.PA-FORGED00.08.00691", "caunoi.scheduling.x.08", "caunoi.identities.x.vn"):
            await nc.publish(subject, event("x"))
        await nc.publish("$JS.API.STREAM.PURGE.PETITIONS", b"{}")
        await nc.flush()
        assert await conn.violations("caunoi.petitions.PA-FORGED00"), conn.errors
        assert await conn.violations("$JS.API.STREAM.PURGE")
        # ... and cannot read other users' replies
        await nc.subscribe("_INBOX_petitions.>")
        await nc.flush()
        assert await conn.violations("_INBOX_petitions")
        assert {s: await stream_messages(operator, s) for s in counts} == counts
    finally:
        await operator.close()


@pytest_asyncio.fixture(scope="session")
async def province_reader(servers: Servers) -> Login:
    """A subscriber allowed to read province 08, as `caunoi bus subscriber` makes one."""
    inst = servers.installation
    bus = inst.bus()
    seed = bus.add("sub-test-08", "subscriber", ["08"])
    bus.write(installed_services())
    assert reload_server(servers.root / "nats" / "nats-server.pid")
    login = Login(nats_url=servers.nats_url, nats_user="sub-test-08", nats_seed=seed, areas=("08",))
    for _ in range(100):  # the reload is asynchronous
        try:
            nc = await nats.connect(servers.nats_url, allow_reconnect=False, **login.nats_options())
            await nc.close()
            return login
        except Exception:  # noqa: BLE001 - not allowed in yet
            await asyncio.sleep(0.05)
    raise AssertionError("the new subscriber could not connect after the reload")


async def test_a_province_subscriber_reads_its_province_and_nothing_else(
    servers: Servers, services: Any, province_reader: Login, conn: Conn
) -> None:
    client = await servers.client()
    nc = await conn.open(servers.nats_url, province_reader)
    try:
        # core subscription: its own province's events arrive; another province's is refused
        got: list[str] = []

        async def seen(msg: Any) -> None:
            got.append(msg.subject)

        await nc.subscribe("caunoi.petitions.*.08.>", cb=seen)
        await nc.subscribe("caunoi.petitions.*.01.>")
        await nc.flush()
        assert await conn.violations("caunoi.petitions.*.01.>")
        body = {
            "channel": "hotline", "category": "roads", "petitioner": {"name": "A"}, "commune_code": "00691",
            "text": "đường hỏng",
        }  # fmt: skip
        raised = await client.command("petitions", "raise", body)
        for _ in range(100):
            if raised["subject"] in got:
                break
            await asyncio.sleep(0.02)
        assert raised["subject"] in got

        # JetStream consumers: filtered to its area, yes; to another province or everything, no
        js = nc.jetstream(timeout=1.0)  # a refused API request gets no reply: do not wait 5 s for it
        mine = await js.pull_subscribe("caunoi.petitions.*.08.>", stream="PETITIONS")
        msgs = await mine.fetch(1, timeout=5)
        assert msgs and msgs[0].subject.split(".")[3] == "08"
        for forbidden in ("caunoi.petitions.*.01.>", "caunoi.petitions.>"):
            with pytest.raises((NatsTimeout, TimeoutError)):
                await js.pull_subscribe(forbidden, stream="PETITIONS")
        assert await conn.violations("$JS.API.CONSUMER.CREATE.PETITIONS")
        # nor can it read a message directly by its sequence
        with pytest.raises((NatsTimeout, TimeoutError)):
            await nc.request("$JS.API.DIRECT.GET.PETITIONS", b'{"seq": 1}', timeout=1)
    finally:
        await client.close()


async def test_an_auditor_reads_every_stream_and_may_write_to_none() -> None:
    from caunoi.cli.bus import auditor_permissions

    streams = [s.stream for s in installed_services()]
    perms = auditor_permissions("au-x", streams)
    allowed = perms["publish"]["allow"]
    for s in streams:
        assert f"$JS.API.DIRECT.GET.{s.name}" in allowed and f"$JS.API.STREAM.INFO.{s.name}" in allowed
        assert not any(a.startswith(s.subject_prefix) for a in allowed)
    assert "$JS.API.DIRECT.GET.IDENTITIES" in allowed
    assert not any(a.startswith("caunoi.cmd") or "CREATE" in a or "DELETE" in a or "PURGE" in a for a in allowed)
    assert perms["subscribe"]["allow"] == ["_INBOX_au-x.>"]


async def test_a_services_replay_user_only_reads_the_streams_the_service_reads(
    servers: Servers, services: Any, conn: Conn
) -> None:
    """The user a service's bulk reads connect as (no ``allow_responses``): it reads the
    service's own stream through a consumer, and nothing else: not another service's stream,
    not a stream subject, not a requester's inbox."""
    user = replay_user("petitions")
    login = user_login(servers, user)
    operator = await servers.client()
    try:
        stored = await stream_messages(operator, "PETITIONS")
        assert stored > 0  # the services fixture's demo run
        seed = login.nats_seed
        read = [
            m
            async for chunk in read_stream(
                servers.nats_url, "PETITIONS", nkey_seed=seed, inbox_prefix=inbox_prefix(user), until_seq=stored
            )
            for m in chunk
        ]
        assert [m.seq for m in read][:1] == [1] and len(read) >= stored
        with pytest.raises(StreamReadError, match=r"(?i)permissions violation"):
            async for _ in read_stream(servers.nats_url, "REPORTING", nkey_seed=seed, inbox_prefix=inbox_prefix(user)):
                pass
        counts = {s: await stream_messages(operator, s) for s in ("PETITIONS", "SCHEDULING")}
        nc = await conn.open(servers.nats_url, login)
        await nc.publish("caunoi.petitions.PA-FORGED01.08.00691", event("PA-FORGED01"))
        # a request's reply subject: a service user may answer it, the replay user may not
        inbox = "_INBOX_clients.forged"
        await nc.publish("caunoi.cmd.petitions.raise", b"{}", reply=inbox)
        await nc.publish(inbox, b"forged reply")
        await nc.flush()
        assert await conn.violations("caunoi.petitions.PA-FORGED01"), conn.errors
        assert await conn.violations(inbox), conn.errors
        assert {s: await stream_messages(operator, s) for s in counts} == counts
    finally:
        await operator.close()
