"""The usual shapes of a read model, applied set-wise: a service says what a row is, the kernel
writes a batch with PostgreSQL's COPY.

- :class:`RowPerEvent`: one row per event of interest (a log, a list of meetings held). A new
  read model of this shape is a dozen lines; see examples/petitions_by_category.py.
- :class:`RowPerAggregate`: one row per aggregate, the fold of its events (a petition's current
  state). ``fold(row, event) -> row`` is a pure function; a batch reads the rows it touches once,
  folds every event in stream order in memory, and writes each changed row once.

Both are :class:`caunoi.shared.projection.Projection` s: the runner gives them a batch of events
inside the transaction that also moves the checkpoint.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from caunoi.shared.projection import Conn, Pool
from caunoi.shared.recorded import RecordedEvent

Row = dict[str, Any]


class _Table(abc.ABC):
    #: the projection's name, which is also its live schema
    name: str
    #: the table, in that schema
    table: ClassVar[str]
    #: column name -> SQL type and constraints, in table order
    columns: ClassVar[Mapping[str, str]]
    #: index name -> ``CREATE INDEX`` body, e.g. ``"(handling_unit)"`` or ``"USING gin (unit_path)"``
    indexes: ClassVar[Mapping[str, str]] = {}
    #: the ``ORDER BY`` of :meth:`snapshot`
    order_by: ClassVar[str] = "1"
    #: the rows are disjoint per aggregate, so a rebuild may run over several processes, each
    #: applying the events of a share of the aggregates (:mod:`caunoi.shared.partitions`): true
    #: for a :class:`RowPerEvent` whose ``row`` reads nothing but its event, and for a
    #: :class:`RowPerAggregate` whose ``key`` is the event's aggregate (``rec.envelope.subject``)
    partitionable: ClassVar[bool] = False

    def qualified(self, schema: str) -> str:
        return f'"{schema}"."{self.table}"'

    async def setup(self, conn: Conn, schema: str) -> None:
        await self.setup_tables(conn, schema)
        await self.create_indexes(conn, schema)

    async def setup_tables(self, conn: Conn, schema: str) -> None:
        """The table alone: a rebuild loads it first and indexes it once at the end. A table of
        an older shape (a new release changed its columns) is dropped and its schema's checkpoint
        set back to 0, so the runner fills the new one from the log."""
        existing = [
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2"
                " ORDER BY ordinal_position",
                schema,
                self.table,
            )
        ]
        if existing and existing != list(self.columns):
            await conn.execute(f"DROP TABLE {self.qualified(schema)}")
            await conn.execute(f'UPDATE "{schema}".checkpoint SET position = 0')
        cols = ", ".join(f'"{c}" {t}' for c, t in self.columns.items())
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {self.qualified(schema)} ({cols})")

    def index_statements(self, schema: str) -> list[str]:
        """A ``CREATE INDEX`` statement per entry of :attr:`indexes`, in that order."""
        return [
            f'CREATE INDEX IF NOT EXISTS "{index}" ON {self.qualified(schema)} {spec}'
            for index, spec in self.indexes.items()
        ]

    async def create_indexes(self, conn: Conn, schema: str) -> None:
        for statement in self.index_statements(schema):
            await conn.execute(statement)

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        rows = await conn.fetch(f"SELECT * FROM {self.qualified(schema)} ORDER BY {self.order_by}")
        return [dict(r) for r in rows]

    async def _copy(self, conn: Conn, schema: str, rows: Sequence[Row]) -> None:
        names = list(self.columns)
        record = operator.itemgetter(*names)  # a row's values in column order, in C
        await conn.copy_records_to_table(self.table, schema_name=schema, columns=names, records=map(record, rows))


class RowPerEvent(_Table):
    """One row per event: ``row(event)`` returns it (every column), or None to skip the event."""

    @abc.abstractmethod
    def row(self, rec: RecordedEvent) -> Row | None: ...

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        rows = [r for rec in events if (r := self.row(rec)) is not None]
        if rows:
            await self._copy(conn, schema, rows)


class RowPerAggregate(_Table):
    """One row per aggregate, keyed by the first column: ``key(event)`` names the row an event
    changes (None: not this read model's), ``fold(row, event)`` returns the row after it (the row
    is None before the aggregate's first event; returning None deletes it). ``starts(event)``
    may say which events begin an aggregate: a batch does not look up the rows they begin."""

    @abc.abstractmethod
    def key(self, rec: RecordedEvent) -> str | None: ...

    @abc.abstractmethod
    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None: ...

    def starts(self, rec: RecordedEvent) -> bool:
        """Whether ``rec`` is the first event of the aggregate whose row it keys, so that row
        cannot exist yet and is not looked up (a brand-new aggregate's first append expects
        sequence 0: the log holds one such event per aggregate). Only for a read model keyed by
        the event's aggregate. False (the default): every row a batch touches is looked up. Were
        the log to hold a second one anyway, its batch fails (on the key when the row was written
        by an earlier batch, else as :class:`SecondStart`; the event is parked, as any that does
        not apply) instead of the row being folded over."""
        return False

    @property
    def key_column(self) -> str:
        return next(iter(self.columns))

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        touched = [(k, rec) for rec in events if (k := self.key(rec)) is not None]
        if not touched:
            return
        table, key = self.qualified(schema), self.key_column
        rows: dict[str, Row | None] = {}
        stored: list[str] = []  # the rows that may exist: looked up
        for k, rec in touched:
            if k not in rows:
                rows[k] = None
                if not self.starts(rec):
                    stored.append(k)
            elif self.starts(rec):
                raise SecondStart(k, rec.seq)
        if stored:
            for r in await conn.fetch(f'SELECT * FROM {table} WHERE "{key}" = ANY($1::text[])', stored):
                rows[r[key]] = dict(r)
        existed = {k for k, r in rows.items() if r is not None}
        for k, rec in touched:
            rows[k] = self.fold(rows[k], rec)
        if existed:
            await conn.execute(f'DELETE FROM {table} WHERE "{key}" = ANY($1::text[])', list(existed))
        await self._copy(conn, schema, [r for r in rows.values() if r is not None])


class SecondStart(ValueError):
    """An aggregate's first event (:meth:`RowPerAggregate.starts`) after its row was begun."""

    def __init__(self, key: str, seq: int) -> None:
        super().__init__(f"a second first event of {key} (seq {seq}): its row exists")


class _NoDatabase:
    """Stands in for a read model's pool where there is none (handler tests of commands): any
    query through it fails loudly instead of pretending."""

    def acquire(self) -> Any:
        raise RuntimeError("no read-model database here: queries need a real one")


#: A :data:`Pool` for dependencies that must not be queried.
NO_DATABASE = cast("Pool", _NoDatabase())
