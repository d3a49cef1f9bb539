"""Sessions on a read model's database plan each statement when it runs: a prepared statement's
generic plan, made while the table was nearly empty (a sequential scan), must not outlive the
emptiness. (Found in the bench: a projection writer's ``WHERE id = ANY($1)`` read the whole
petitions table for every batch.)"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from support import Servers

from caunoi.shared.projection import Conn, read_model_connection, read_model_pool
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with

pytestmark = pytest.mark.asyncio

#: a wide row, as a read model's are (the planner then expects few rows per page)
COLUMNS = ", ".join(f"c{i} text" for i in range(60))


async def plan_once_grown(conn: Conn) -> str:
    """``RowPerAggregate.apply``'s lookup prepared and run ten times on a new, empty table (after
    five runs PostgreSQL may settle on a generic plan), then planned again once the table holds
    20,000 rows, never analysed: the first line of the plan the session would use."""
    await conn.execute(f"CREATE TABLE rows (id text PRIMARY KEY, {COLUMNS})")
    await conn.execute("ALTER TABLE rows SET (autovacuum_enabled = false)")  # no ANALYZE meanwhile
    await conn.execute("PREPARE lookup(text[]) AS SELECT * FROM rows WHERE id = ANY($1)")
    for i in range(10):
        await conn.execute(f"EXECUTE lookup('{{k{i},k{i + 1}}}')")
    await conn.execute("INSERT INTO rows (id, c0) SELECT 'k' || g, repeat('x', 200) FROM generate_series(1, 20000) g")
    return str(await conn.fetchval("EXPLAIN EXECUTE lookup('{k1,k2}')"))


async def fresh_database(servers: Servers) -> str:
    name = f"t_sessions_{uuid.uuid4().hex[:8]}"
    await ensure_database(servers.database_url, name)
    return database_url_with(servers.database_url, name)


async def test_a_plain_session_keeps_the_empty_tables_sequential_scan(servers: Servers) -> None:
    """The hazard itself (so the two tests below can fail): without the settings, the lookup
    goes on reading the whole table once it has grown."""
    conn = await asyncpg.connect(await fresh_database(servers))
    try:
        assert (await plan_once_grown(conn)).startswith("Seq Scan")
    finally:
        await conn.close()


async def test_a_read_model_connection_plans_the_grown_table_afresh(servers: Servers) -> None:
    conn = await read_model_connection(await fresh_database(servers))
    try:
        assert "Seq Scan" not in await plan_once_grown(conn)
    finally:
        await conn.close()


async def test_a_read_model_pool_plans_the_grown_table_afresh(servers: Servers) -> None:
    pool = await read_model_pool(await fresh_database(servers), 2)
    try:
        async with pool.acquire() as conn:
            assert "Seq Scan" not in await plan_once_grown(conn)
    finally:
        await pool.close()
