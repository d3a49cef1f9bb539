"""Reads of the scheduling read models (:mod:`caunoi.scheduling.readmodel`): what the queries
answer and what handlers and duties look up. Every list is scoped to a unit's sub-tree by its
unit path (``unit_path @> ARRAY[unit]``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from caunoi.scheduling.domain.rotation import RotationMeeting
from caunoi.scheduling.events import MeetingStatus, Programme
from caunoi.scheduling.readmodel import ASSIGNMENTS, MEETINGS, OPINIONS, PILOTS
from caunoi.shared.jsonb import decoded, loads
from caunoi.shared.projection import Conn

M = f'"{MEETINGS}".meetings'
O = f'"{OPINIONS}".opinions'  # noqa: E741
P = f'"{PILOTS}".pilots'
A = f'"{ASSIGNMENTS}".assignments'

MEETING_COLUMNS = (
    "id, programme, status, commune_code, unit_path, dataset, host_id, host_name, plan_unit, target_group, cycle,"
    " date, start_time, venue, chair, title, opinions_due, broadcast_due, opinions_compiled_on, opinions_compiled,"
    " announced_on, held_on, attendees_total, minutes_ref, minutes_closed_on, missed, reason, sequence, updated_at"
)
#: a meeting not cancelled
LIVE = f"status <> '{MeetingStatus.cancelled.value}'"


def _opinions(row: dict[str, Any], counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {**row, "opinions": counts.get(row["id"], {"raised": 0, "answered_on_spot": 0, "forwarded": 0})}


async def opinion_counts(conn: Conn, meeting_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per meeting: opinions raised there, answered on the spot, forwarded (from the petitions
    service's events)."""
    rows = await conn.fetch(
        f"SELECT meeting_id, count(*) AS raised, count(*) FILTER (WHERE answered) AS answered_on_spot,"
        f" count(*) FILTER (WHERE forwarded) AS forwarded FROM {O} WHERE meeting_id = ANY($1::text[])"
        " GROUP BY meeting_id",
        meeting_ids,
    )
    return {r["meeting_id"]: {k: int(r[k]) for k in ("raised", "answered_on_spot", "forwarded")} for r in rows}


async def list_meetings(
    conn: Conn,
    *,
    unit: str | None,
    from_date: date | None = None,
    to_date: date | None = None,
    status: str | None = None,
    programme: str | None = None,
    plan_unit: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[Any] = []
    for cond, value in (
        ("unit_path @> ARRAY[${}::text]", unit),
        ("date >= ${}", from_date),
        ("date <= ${}", to_date),
        ("status = ${}", status),
        ("programme = ${}", programme),
        ("plan_unit = ${}", plan_unit),
    ):
        if value is not None:
            args.append(value)
            where.append(cond.format(len(args)))
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    args.append(limit)
    rows = [
        dict(r)
        for r in await conn.fetch(
            f"SELECT {MEETING_COLUMNS} FROM {M}{cond} ORDER BY date, start_time NULLS FIRST, id LIMIT ${len(args)}",
            *args,
        )
    ]
    counts = await opinion_counts(conn, [r["id"] for r in rows])
    return [_opinions(r, counts) for r in rows]


async def get_meeting(conn: Conn, meeting_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT * FROM {M} WHERE id = $1", meeting_id)
    if row is None:
        return None
    out = decoded(row, ("attendees", "representatives", "order_of_business"))
    return _opinions(out, await opinion_counts(conn, [meeting_id]))


async def rotation_meetings(conn: Conn, commune_code: str) -> list[RotationMeeting]:
    rows = await conn.fetch(
        f"SELECT id, host_id, cycle, status, date FROM {M} WHERE commune_code = $1 AND programme = $2",
        commune_code,
        Programme.p1.value,
    )
    return [RotationMeeting(r["id"], r["host_id"], r["cycle"], MeetingStatus(r["status"]), r["date"]) for r in rows]


async def communes_with_meetings(conn: Conn, unit: str | None, first: date, last: date) -> dict[str, list[str]]:
    """Communes under ``unit`` (None: all) with a meeting not cancelled between ``first`` and ``last``."""
    rows = await conn.fetch(
        f"SELECT commune_code, array_agg(id ORDER BY date) AS ids FROM {M}"
        f" WHERE ($1::text IS NULL OR unit_path @> ARRAY[$1::text]) AND date BETWEEN $2 AND $3 AND {LIVE}"
        " GROUP BY commune_code",
        unit,
        first,
        last,
    )
    return {r["commune_code"]: list(r["ids"]) for r in rows}


async def pilots_under(conn: Conn, unit: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT id, kind, unit_code, unit_path, members, names, total, chosen_on FROM {P}"
        " WHERE $1::text IS NULL OR unit_path @> ARRAY[$1::text] ORDER BY kind, unit_code",
        unit,
    )
    return [dict(r) for r in rows]


async def pilot_communes(conn: Conn) -> set[str]:
    """Every commune some unit picked as a pilot."""
    rows = await conn.fetch(f"SELECT unnest(members) AS code FROM {P} WHERE kind = 'localities'")
    return {r["code"] for r in rows}


async def following(conn: Conn, unit: str | None, on: date) -> list[dict[str, Any]]:
    """Assignments under ``unit`` (the cadre's unit or the area is in its sub-tree) in force on
    ``on``, with the cadre who followed the area that day."""
    rows = await conn.fetch(
        f"SELECT id, cadre_unit, area_kind, area_id, area_name, area_path, periods FROM {A}"
        " WHERE $1::text IS NULL OR unit_path @> ARRAY[$1::text] OR area_path @> ARRAY[$1::text]"
        " ORDER BY area_path, id",
        unit,
    )
    out = []
    for r in rows:
        for p in loads(r["periods"]):
            start, end = date.fromisoformat(p["from"]), date.fromisoformat(p["to"]) if p["to"] else None
            if start <= on and (end is None or on < end):
                row = {k: r[k] for k in ("id", "cadre_unit", "area_kind", "area_id", "area_name", "area_path")}
                out.append({**row, "cadre": p["cadre"], "from": start, "to": end})
    return out


# --- what duties look for ---------------------------------------------------------------------------


async def deadlines_passed(conn: Conn, today: date) -> list[dict[str, Any]]:
    """Programme 2 dialogues still to be held whose opinions or broadcast deadline passed
    without the step done and without a recorded miss."""
    rows = await conn.fetch(
        f"SELECT id, opinions_due, broadcast_due, opinions_compiled_on, announced_on, missed FROM {M}"
        " WHERE status = ANY($1::text[]) AND ((opinions_due < $2 AND opinions_compiled_on IS NULL)"
        " OR (broadcast_due < $2 AND announced_on IS NULL))",
        [MeetingStatus.planned.value, MeetingStatus.postponed.value, MeetingStatus.announced.value],
        today,
    )
    return [dict(r) for r in rows]


async def minutes_open(conn: Conn, held_before: date) -> list[dict[str, Any]]:
    """Meetings held on or before ``held_before`` whose minutes are still open."""
    rows = await conn.fetch(
        f"SELECT id, held_on, minutes_reminded FROM {M} WHERE status = $1 AND held_on <= $2",
        MeetingStatus.held.value,
        held_before,
    )
    return [dict(r) for r in rows]
