"""Helpers of the audit tests that run on the session's servers: ``caunoi`` as a user runs it, an
auditor's login (its own NATS user: reads every stream, writes none), text searches over every
read model and every stream."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import nats
from click.testing import CliRunner, Result
from conftest import SERVICES
from support import Servers, wait_projected

from caunoi.cli.bus import installed_services, reload_server
from caunoi.cli.main import cli as caunoi_cli
from caunoi.shared.client import Client
from caunoi.shared.context import Role
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.settings import database_url_with


async def caunoi(servers: Servers, *args: str, login: Path | None = None, cwd: Path | None = None) -> Result:
    """``caunoi ARGS`` against the session's servers, as the local operator unless ``login`` (in a
    thread: the command runs an event loop of its own)."""
    return await asyncio.to_thread(_caunoi, servers, args, login, cwd)


def _caunoi(servers: Servers, args: tuple[str, ...], login: Path | None, cwd: Path | None) -> Result:
    env = {
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": servers.database_url,
        "CAUNOI_DATA_DIR": str(servers.data_dir),
        "XDG_CONFIG_HOME": str(servers.root / "config"),
        "CAUNOI_LOGIN": str(login) if login else None,
        "CAUNOI_LANG": None,
    }
    previous = Path.cwd()
    os.chdir(cwd or servers.root)
    try:
        return CliRunner().invoke(caunoi_cli, list(args), env=env)
    finally:
        os.chdir(previous)


async def caunoi_json(servers: Servers, *args: str, login: Path | None = None, ok: bool = True) -> Any:
    res = await caunoi(servers, "--json", *args, login=login)
    assert (res.exit_code == 0) == ok, f"caunoi {' '.join(args)}: exit {res.exit_code}\n{res.output}\n{res.exception!r}"
    return json.loads(res.stdout)


async def auditor_login(servers: Servers, name: str = "au-test") -> Path:
    """An auditor's login file: a national auditor's credential and a NATS user of the auditor
    kind, as ``caunoi identities issue --role auditor`` makes them."""
    inst = servers.installation
    path: Path = servers.root / f"{name}.json"
    if path.is_file():  # noqa: ASYNC240 - one stat of a local file
        return path
    bus = inst.bus()
    bus.add(name, "auditor")
    bus.write(installed_services())
    assert reload_server(servers.root / "nats" / "nats-server.pid")
    cred = inst.issue(subject=f"{name}.vn", name=name, unit="", dataset="vn-2025", roles=[Role.auditor])
    login = inst.login_for(cred, servers.nats_url, name)
    for _ in range(100):  # the reload is asynchronous
        try:
            nc = await nats.connect(servers.nats_url, allow_reconnect=False, **login.nats_options())
            await nc.close()
            break
        except Exception:  # noqa: BLE001 - not allowed in yet
            await asyncio.sleep(0.05)
    login.save(path)
    return path


async def databases_containing(servers: Servers, *needles: str) -> dict[str, int]:
    """Rows of every table of every caunoi database whose text holds one of ``needles``."""
    admin = await asyncpg.connect(database_url_with(servers.database_url, "postgres"))
    try:
        names = [
            r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'caunoi%'")
        ]
    finally:
        await admin.close()
    found: dict[str, int] = {}
    for db in names:
        conn = await asyncpg.connect(database_url_with(servers.database_url, db))
        try:
            tables = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
            )
            for t in tables:
                where = " OR ".join(f"t::text LIKE ${i + 1}" for i in range(len(needles)))
                n = await conn.fetchval(
                    f'SELECT count(*) FROM "{t[0]}"."{t[1]}" t WHERE {where}', *(f"%{x}%" for x in needles)
                )
                if n:
                    found[f"{db}.{t[0]}.{t[1]}"] = n
        finally:
            await conn.close()
    return found


async def streams_containing(servers: Servers, *needles: str) -> int:
    """Stored messages of every stream whose bytes hold one of ``needles``."""
    nc = await servers.connect()
    n = 0
    try:
        for svc in installed_services():
            store, seq = JetStreamEventStore(nc, svc.stream), 0
            while batch := await store.read(seq + 1, 1000):
                n += sum(any(x.encode() in m.data for x in needles) for m in batch)
                seq = batch[-1].seq
    finally:
        await nc.close()
    return n


COMMUNE, PROVINCE = "00691", "08"


def body(name: str, phone: str, text: str = "Đường liên thôn xuống cấp") -> dict[str, Any]:
    return {
        "channel": "hotline", "category": "roads", "petitioner": {"name": name, "phone": phone},
        "commune_code": COMMUNE, "text": text,
    }  # fmt: skip


async def load_run(c: Client, n: int = 120) -> list[str]:
    """``n`` petitions raised, and most of them taken through their life, 16 requests at a time."""
    slots = asyncio.Semaphore(16)

    async def life(i: int) -> str:
        async with slots:
            pid = (await c.command("petitions", "raise", body(f"Người dân {i}", f"09{i:08d}")))["petition_id"]
            if i % 4 == 0:
                return str(pid)
            await c.command("petitions", "classify", {"petition_id": pid, "kind": "petition", "category": "roads"})
            if i % 4 == 1:
                await c.command("petitions", "forward", {"petition_id": pid, "to_unit": PROVINCE})
            await c.command("petitions", "accept", {"petition_id": pid})
            await c.command("petitions", "commit", {"petition_id": pid, "committed_date": "2027-01-15"})
            if i % 4 == 3:
                await c.command("petitions", "reply", {"petition_id": pid, "document_no": f"{i}/UBND", "summary": "ok"})
            return str(pid)

    return list(await asyncio.gather(*(life(i) for i in range(n))))


async def settled(c: Client) -> None:
    for service in SERVICES:
        await wait_projected(c, service, timeout=60)
