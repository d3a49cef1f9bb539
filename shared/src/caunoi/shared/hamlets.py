"""The hamlet list as a contract (thôn, ấp, bản, buôn, làng, tổ dân phố, khu phố, khóm): the
editable list of places under each commune, where the commune's dialogue meetings rotate.

The **scheduling** service owns the hamlet aggregate and its rules (services/scheduling) and alone
appends its events, on :data:`SCHEDULING_STREAM`. What every service may need lives here: the
events (a public contract), the read-model projection any service runs in its own database to keep
its own copy of the list, and :class:`HamletDirectory`, the lookups handlers make on that copy
(PostgreSQL in production; :class:`InMemoryHamletDirectory` in handler tests, proven equal by
tests/kernel/test_hamlet_directory.py).

A hamlet's id is ``<commune code>-<slug of the name it was added with>``
(:func:`caunoi.shared.units.hamlet_id`) and never changes: a rename keeps the id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.projection import Conn, Pool
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.recorded import RecordedEvent

__all__ = [
    "HAMLET_EVENTS",
    "NS",
    "SCHEDULING_STREAM",
    "HamletAdded",
    "HamletDirectory",
    "HamletKind",
    "HamletRecord",
    "HamletRenamed",
    "HamletRetired",
    "HamletsProjection",
    "InMemoryHamletDirectory",
    "PgHamletDirectory",
    "get_hamlet",
    "list_hamlets",
    "registry",
]

#: The owner's stream. Readers in other services follow it with
#: ``rt.add_projection(HamletsProjection(...), stream=SCHEDULING_STREAM)`` without importing the
#: scheduling package.
SCHEDULING_STREAM = StreamSpec(
    name="SCHEDULING",
    service="scheduling",
    description="caunoi scheduling: hamlets and dialogue meetings (events, CloudEvents 1.0 JSON)",
)

registry = EventRegistry()
NS = "vn.caunoi.units"


class HamletKind(StrEnum):
    """What the place is called locally; the name differs by region, the role is the same."""

    thon = "thon"  # thôn (northern and central rural)
    ap = "ap"  # ấp (southern rural)
    ban = "ban"  # bản (northern mountains)
    buon = "buon"  # buôn (Central Highlands)
    lang = "lang"  # làng
    to_dan_pho = "to_dan_pho"  # tổ dân phố (urban)
    khu_pho = "khu_pho"  # khu phố (urban)
    khom = "khom"  # khóm (southern urban)
    #: an agency's party cell (chi bộ cơ quan – ngành): not a place people live, but programme 1
    #: meetings rotate through the commune's agency party cells as through its hamlets, so the
    #: commune keeps them in the same list (and petitions raised there name it)
    party_cell = "party_cell"
    other = "other"  # khác


# --- events (public contract) -----------------------------------------------------------------


@registry.register
class HamletAdded(DomainEvent):
    NAME = f"{NS}.HamletAdded"
    hamlet_id: str
    commune_code: str
    name: str
    kind: HamletKind
    #: codes from the province down to the commune, in ``dataset``
    unit_path: list[str]
    dataset: str


@registry.register
class HamletRenamed(DomainEvent):
    NAME = f"{NS}.HamletRenamed"
    hamlet_id: str
    old_name: str
    new_name: str


@registry.register
class HamletRetired(DomainEvent):
    NAME = f"{NS}.HamletRetired"
    hamlet_id: str
    reason: str
    retired_on: date


HAMLET_EVENTS: tuple[type[DomainEvent], ...] = (HamletAdded, HamletRenamed, HamletRetired)


# --- the read model ---------------------------------------------------------------------------

COLUMNS = "id, commune_code, name, kind, unit_path, dataset, retired, retired_on, last_seq"


class HamletsProjection(RowPerAggregate):
    """The hamlet list as a table ``"<schema>".hamlets``. ``name`` is the projection's name and its
    live schema; a reader service picks one that does not clash with its own read models."""

    table = "hamlets"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "commune_code": "text NOT NULL",
        "name": "text NOT NULL",
        "kind": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "retired": "boolean NOT NULL DEFAULT false",
        "retired_on": "date",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {"hamlets_unit_path": "USING gin (unit_path)"}

    def __init__(self, name: str = "hamlets") -> None:
        self.name = name

    def key(self, rec: RecordedEvent) -> str | None:
        hid = getattr(rec.event, "hamlet_id", None)
        return hid if isinstance(hid, str) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        record = fold_hamlet(HamletRecord.from_row(row) if row else None, rec.event)
        if record is None:
            return None
        return {
            "id": record.id,
            "commune_code": record.commune_code,
            "name": record.name,
            "kind": record.kind.value,
            "unit_path": list(record.unit_path),
            "dataset": record.dataset,
            "retired": record.retired,
            "retired_on": record.retired_on,
            "last_seq": rec.seq,
        }


async def list_hamlets(
    conn: Conn, schema: str, unit: str | None = None, include_retired: bool = False
) -> list[dict[str, Any]]:
    """Hamlets under ``unit`` (a code at any level of their unit path: province, district or
    commune; ``None``: all), active ones only unless ``include_retired``; by commune, then name."""
    rows = await conn.fetch(
        f'SELECT {COLUMNS} FROM "{schema}".hamlets'
        " WHERE ($1::text IS NULL OR unit_path @> ARRAY[$1::text]) AND ($2 OR NOT retired)"
        " ORDER BY commune_code, name, id",
        unit,
        include_retired,
    )
    return [dict(r) for r in rows]


async def get_hamlet(conn: Conn, schema: str, hamlet_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f'SELECT {COLUMNS} FROM "{schema}".hamlets WHERE id = $1', hamlet_id)
    return dict(row) if row else None


# --- lookups handlers make on a copy of the list ------------------------------------------------


@dataclass(frozen=True)
class HamletRecord:
    """One hamlet as a copy of the list holds it."""

    id: str
    commune_code: str
    name: str
    kind: HamletKind
    unit_path: tuple[str, ...]
    dataset: str
    retired: bool = False
    retired_on: date | None = None

    @property
    def active(self) -> bool:
        return not self.retired

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HamletRecord:
        return cls(
            id=row["id"],
            commune_code=row["commune_code"],
            name=row["name"],
            kind=HamletKind(row["kind"]),
            unit_path=tuple(row["unit_path"]),
            dataset=row["dataset"],
            retired=row["retired"],
            retired_on=row["retired_on"],
        )


def fold_hamlet(record: HamletRecord | None, event: DomainEvent) -> HamletRecord | None:
    """A hamlet's record after ``event`` (the one definition of what each event changes)."""
    match event:
        case HamletAdded():
            return HamletRecord(
                event.hamlet_id, event.commune_code, event.name, event.kind, tuple(event.unit_path), event.dataset
            )
        case HamletRenamed() if record is not None:
            return replace(record, name=event.new_name)
        case HamletRetired() if record is not None:
            return replace(record, retired=True, retired_on=event.retired_on)
        case HamletRenamed() | HamletRetired():
            raise LookupError(f"hamlet {event.hamlet_id} is not in the list")
    return record


class HamletDirectory(Protocol):
    """The lookups a handler makes on its service's copy of the hamlet list."""

    async def get(self, hamlet_id: str) -> HamletRecord | None:
        """One hamlet, retired or not; None if the list has no such id."""

    async def in_commune(self, commune_code: str) -> list[HamletRecord]:
        """The commune's active hamlets, by name."""


class PgHamletDirectory:
    """A service's copy of the list in its PostgreSQL read model (schema ``schema``)."""

    def __init__(self, pool: Pool, schema: str) -> None:
        self.pool = pool
        self.schema = schema

    async def get(self, hamlet_id: str) -> HamletRecord | None:
        async with self.pool.acquire() as conn:
            row = await get_hamlet(conn, self.schema, hamlet_id)
        return HamletRecord.from_row(row) if row else None

    async def in_commune(self, commune_code: str) -> list[HamletRecord]:
        async with self.pool.acquire() as conn:
            rows = await list_hamlets(conn, self.schema, commune_code)
        return [HamletRecord.from_row(r) for r in rows if r["commune_code"] == commune_code]


class InMemoryHamletDirectory:
    """The same lookups over events folded in memory, for handler tests."""

    def __init__(self) -> None:
        self.records: dict[str, HamletRecord] = {}

    def apply(self, event: DomainEvent) -> None:
        hid = getattr(event, "hamlet_id", None)
        if isinstance(hid, str) and (record := fold_hamlet(self.records.get(hid), event)) is not None:
            self.records[hid] = record

    async def get(self, hamlet_id: str) -> HamletRecord | None:
        return self.records.get(hamlet_id)

    async def in_commune(self, commune_code: str) -> list[HamletRecord]:
        found = [r for r in self.records.values() if r.commune_code == commune_code and r.active]
        return sorted(found, key=lambda r: (r.name, r.id))
