"""The hamlet lookups handlers make: the PostgreSQL copy of the list (what services use) and the
in-memory one (what handler tests use) answer the same after the same events."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest
from support import Servers

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import (
    HamletAdded,
    HamletKind,
    HamletRenamed,
    HamletRetired,
    HamletsProjection,
    InMemoryHamletDirectory,
    PgHamletDirectory,
)
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with

pytestmark = pytest.mark.asyncio

A, B = "00691", "00694"


def added(commune: str, name: str, slug: str, kind: HamletKind = HamletKind.thon) -> HamletAdded:
    return HamletAdded(
        hamlet_id=f"{commune}-{slug}", commune_code=commune, name=name, kind=kind, unit_path=["08", commune],
        dataset="vn-2025",
    )  # fmt: skip


EVENTS: list[DomainEvent] = [
    added(A, "Thôn Đồng Tâm", "thon-dong-tam"),
    added(A, "Thôn Tân Lập", "thon-tan-lap"),
    added(A, "Tổ dân phố 3", "to-dan-pho-3", HamletKind.to_dan_pho),
    added(B, "Thôn Đồng Tâm", "thon-dong-tam"),
    HamletRenamed(hamlet_id=f"{A}-thon-tan-lap", old_name="Thôn Tân Lập", new_name="Thôn Ấp Bắc"),
    HamletRetired(hamlet_id=f"{A}-to-dan-pho-3", reason="sáp nhập", retired_on=date(2025, 7, 1)),
]


async def test_postgres_and_memory_directories_agree(servers: Servers) -> None:
    dbname = f"t_dir_{uuid.uuid4().hex[:8]}"
    await ensure_database(servers.database_url, dbname)
    pool = await asyncpg.create_pool(database_url_with(servers.database_url, dbname), min_size=1, max_size=2)
    try:
        projection = HamletsProjection("copy")
        memory = InMemoryHamletDirectory()
        async with pool.acquire() as conn:
            await conn.execute('CREATE SCHEMA "copy"')
            await projection.setup(conn, "copy")
            for seq, event in enumerate(EVENTS, start=1):
                env = CloudEvent(id=str(uuid.uuid4()), source="/t", type=event.type_name(), subject="x", data={})
                await projection.apply(conn, "copy", [RecordedEvent(seq, "s", env, event)])
                memory.apply(event)
        pg = PgHamletDirectory(pool, "copy")
        for hid in [f"{A}-thon-dong-tam", f"{A}-thon-tan-lap", f"{A}-to-dan-pho-3", f"{B}-thon-dong-tam", "00691-x"]:
            assert await pg.get(hid) == await memory.get(hid), hid
        for commune in (A, B, "99999"):
            assert await pg.in_commune(commune) == await memory.in_commune(commune), commune
        assert [h.name for h in await memory.in_commune(A)] == ["Thôn Đồng Tâm", "Thôn Ấp Bắc"]  # code point order
        retired = await memory.get(f"{A}-to-dan-pho-3")
        assert retired is not None and not retired.active and retired.retired_on == date(2025, 7, 1)
    finally:
        await pool.close()
