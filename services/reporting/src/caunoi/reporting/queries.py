"""Reads of the reporting read models (:mod:`caunoi.reporting.readmodel`): the facts an area's
figures are compiled from, the reports and enrolments under a unit, and what the duties look for.
Lists are scoped to a unit's sub-tree by unit path (``unit_path @> ARRAY[unit]``); facts by their
qualified unit paths (``reach && <the area's codes>``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from caunoi.reporting.readmodel import (
    ENROLMENTS,
    HAMLETS,
    MEETING_FACTS,
    PETITION_FACTS,
    REPORTS,
    PetitionFactsProjection,
)
from caunoi.shared.hamlets import HamletRecord, list_hamlets
from caunoi.shared.jsonb import decoded
from caunoi.shared.projection import Conn

R = f'"{REPORTS}".reports'
E = f'"{ENROLMENTS}".enrolments'
P = f'"{PETITION_FACTS}".petitions'
M = f'"{MEETING_FACTS}".meetings'


async def petition_facts(conn: Conn, codes: list[str], first: date, last: date) -> list[dict[str, Any]]:
    """The petitions of an area with anything dated in ``[first, last]`` or open then: received by
    ``last``, and not settled before ``first``."""
    rows = await conn.fetch(
        f"SELECT * FROM {P} WHERE reach && $1::text[] AND received_on <= $3"
        " AND (settled_on IS NULL OR settled_on >= $2) ORDER BY petition_id",
        codes,
        first,
        last,
    )
    return [decoded(r, PetitionFactsProjection.JSON) for r in rows]


async def meeting_facts(conn: Conn, codes: list[str], first: date, last: date) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT * FROM {M} WHERE reach && $1::text[]"
        " AND ((held_on BETWEEN $2 AND $3) OR (date BETWEEN $2 AND $3)) ORDER BY meeting_id",
        codes,
        first,
        last,
    )
    return [dict(r) for r in rows]


async def hamlets_under(conn: Conn, unit: str) -> list[HamletRecord]:
    return [HamletRecord.from_row(r) for r in await list_hamlets(conn, HAMLETS, unit)]


async def positions(conn: Conn) -> dict[str, int]:
    """How far the fact read models have followed their streams."""
    out = {}
    for schema, stream in ((PETITION_FACTS, "PETITIONS"), (MEETING_FACTS, "SCHEDULING")):
        out[stream] = int(await conn.fetchval(f'SELECT position FROM "{schema}".checkpoint WHERE id = 1'))
    return out


# --- reports and enrolments ------------------------------------------------------------------------


REPORT_COLUMNS = (
    "id, unit_code, unit_name, unit_level, unit_path, dataset, to_unit, schedule, schedule_title, period,"
    " period_label, period_start, period_end, opens_at, due_at, title, due_recorded_at, opened_on, overdue_at,"
    " submitted_at, late, narrative, corrections, filed, updated_at"
)


def _report(row: Any) -> dict[str, Any]:
    return decoded(row, ("narrative", "corrections", "filed"))


async def get_report(conn: Conn, report_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {REPORT_COLUMNS} FROM {R} WHERE id = $1", report_id)
    return _report(row) if row else None


async def list_reports(
    conn: Conn, unit: str | None, schedule: str | None, period: str | None, limit: int
) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[object] = []
    for cond, value in (("unit_path @> ARRAY[${}::text]", unit), ("schedule = ${}", schedule),
                        ("period = ${}", period)):  # fmt: skip
        if value is not None:
            args.append(value)
            where.append(cond.format(len(args)))
    args.append(limit)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    rows = await conn.fetch(
        f"SELECT {REPORT_COLUMNS} FROM {R}{cond} ORDER BY period_end DESC, schedule, unit_path, id LIMIT ${len(args)}",
        *args,
    )
    return [_report(r) for r in rows]


async def enrolments_under(conn: Conn, unit: str | None, on: date | None = None) -> list[dict[str, Any]]:
    """Enrolled units under ``unit`` (all: None); with ``on``, only those enrolled that day."""
    rows = await conn.fetch(
        f"SELECT * FROM {E} WHERE ($1::text IS NULL OR unit_path @> ARRAY[$1::text])"
        " AND ($2::date IS NULL OR (since <= $2 AND (until IS NULL OR until > $2))) ORDER BY unit_path",
        unit,
        on,
    )
    return [dict(r) for r in rows]


async def reports_with_due(conn: Conn, after: datetime) -> set[str]:
    """Reports whose ``ReportDue`` is recorded, of periods that fell due after ``after``."""
    rows = await conn.fetch(f"SELECT id FROM {R} WHERE due_recorded_at IS NOT NULL AND opens_at > $1", after)
    return {r["id"] for r in rows}


async def deadlines_passed(conn: Conn, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
    """Reports fallen due whose deadline passed, unsubmitted, not yet recorded overdue."""
    rows = await conn.fetch(
        f"SELECT id, due_at FROM {R} WHERE submitted_at IS NULL AND overdue_at IS NULL"
        " AND due_recorded_at IS NOT NULL AND due_at < $1 ORDER BY due_at, id LIMIT $2",
        now,
        limit,
    )
    return [dict(r) for r in rows]
