"""``RowPerAggregate.apply`` on a real PostgreSQL: a batch looks up the rows it folds, except
those of aggregates whose first event is in the batch (``starts``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import asyncpg
import pytest
import pytest_asyncio
from support import Servers

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent
from caunoi.shared.projection import Conn, read_model_connection
from caunoi.shared.readmodel import Row, RowPerAggregate, SecondStart
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with

pytestmark = pytest.mark.asyncio


@dataclass(frozen=True)
class Opened:
    n: int


@dataclass(frozen=True)
class Added:
    n: int


class Tallies(RowPerAggregate):
    """A row per aggregate: what it was opened with plus what was added."""

    name = "tallies"
    table = "tallies"
    columns: ClassVar[dict[str, str]] = {"id": "text PRIMARY KEY", "n": "integer NOT NULL"}

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev: Any = rec.event
        if isinstance(ev, Opened):
            return {"id": rec.envelope.subject, "n": ev.n}
        assert row is not None, f"{rec.envelope.subject} was not looked up"
        return {**row, "n": row["n"] + ev.n}


class StartingTallies(Tallies):
    def starts(self, rec: RecordedEvent) -> bool:
        return isinstance(rec.event, Opened)


class Counting:
    """A connection that notes the keys each lookup asked for."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.lookups: list[list[str]] = []

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        self.lookups.append(list(args[0]))
        return await self.conn.fetch(query, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def batch(*events: tuple[str, object]) -> list[RecordedEvent]:
    out = []
    for seq, (aggregate, ev) in enumerate(events, start=1):
        env = CloudEvent(id=str(uuid.uuid4()), source="/caunoi/test", type="t.Tally.v1", subject=aggregate, data={})
        out.append(RecordedEvent(seq, f"caunoi.test.{aggregate}.08", env, cast(DomainEvent, ev)))
    return out


@pytest_asyncio.fixture
async def conn(servers: Servers) -> AsyncIterator[Conn]:
    name = f"t_rows_{uuid.uuid4().hex[:8]}"
    await ensure_database(servers.database_url, name)
    c = await read_model_connection(database_url_with(servers.database_url, name))
    try:
        yield c
    finally:
        await c.close()


async def rows(conn: Conn) -> dict[str, int]:
    return {r["id"]: r["n"] for r in await conn.fetch("SELECT id, n FROM public.tallies")}


async def apply(model: Tallies, conn: Conn, events: Sequence[RecordedEvent]) -> list[list[str]]:
    counting = Counting(conn)
    async with conn.transaction():
        await model.apply(cast(Conn, counting), "public", events)
    return counting.lookups


async def test_the_rows_a_batch_begins_are_not_looked_up(conn: Conn) -> None:
    model = StartingTallies()
    await model.setup(conn, "public")
    assert await apply(model, conn, batch(("a", Opened(1)), ("b", Opened(5)), ("a", Added(2)))) == []
    assert await rows(conn) == {"a": 3, "b": 5}
    # an aggregate seen before is looked up, one opened in the batch is not, whatever the order
    lookups = await apply(model, conn, batch(("c", Opened(7)), ("a", Added(10)), ("c", Added(1)), ("b", Added(1))))
    assert lookups == [["a", "b"]]
    assert await rows(conn) == {"a": 13, "b": 6, "c": 8}


async def test_by_default_every_row_a_batch_touches_is_looked_up(conn: Conn) -> None:
    model = Tallies()
    await model.setup(conn, "public")
    assert await apply(model, conn, batch(("a", Opened(1)), ("b", Opened(5)), ("a", Added(2)))) == [["a", "b"]]
    assert await rows(conn) == {"a": 3, "b": 5}


async def test_a_second_first_event_fails_its_batch_instead_of_folding_over_the_row(conn: Conn) -> None:
    """The log holds one first event per aggregate (the append expects none before it, under any
    unit path); were it to hold two, the batch fails on the key and changes nothing (the
    projection then parks the event) rather than the row being replaced."""
    model = StartingTallies()
    await model.setup(conn, "public")
    await apply(model, conn, batch(("a", Opened(1))))
    with pytest.raises(asyncpg.UniqueViolationError):
        await apply(model, conn, batch(("b", Opened(2)), ("a", Opened(100))))
    assert await rows(conn) == {"a": 1}


async def test_a_second_first_event_within_a_batch_fails_it_too(conn: Conn) -> None:
    model = StartingTallies()
    await model.setup(conn, "public")
    with pytest.raises(SecondStart, match="second first event of b"):
        await apply(model, conn, batch(("a", Opened(1)), ("b", Opened(2)), ("b", Opened(3))))
    assert await rows(conn) == {}
