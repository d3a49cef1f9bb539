"""The petitions read model (PostgreSQL): one row per petition, kept by a projection."""

from __future__ import annotations

from typing import Any, ClassVar

from caunoi.petitions.events import (
    CommitmentSet,
    PetitionAnsweredOnSpot,
    PetitionForwarded,
    PetitionRaised,
    ReplyIssued,
    Status,
)
from caunoi.shared.aggregate import RecordedEvent
from caunoi.shared.projection import Conn
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.units import UnitTree


class PetitionsProjection(RowPerAggregate):
    """One row per petition: the fold of its events."""

    name = "petitions"
    table = "petitions"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "status": "text NOT NULL",
        "channel": "text NOT NULL",
        "kind": "text NOT NULL",
        "category": "text NOT NULL",
        "petitioner_name": "text NOT NULL",
        "confidential": "boolean NOT NULL",
        "commune_code": "text NOT NULL",
        "hamlet_id": "text",
        "hamlet": "text",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "handling_unit": "text NOT NULL",
        #: every unit that reaches the petition: its unit path, and the path of each unit it was
        #: forwarded to (see caunoi.shared.authz); a unit's list is ``reach @> ARRAY[unit]``
        "reach": "text[] NOT NULL",
        "forwarded_to_agency": "text",
        "text": "text NOT NULL",
        "meeting_id": "text",
        "received_on": "date NOT NULL",
        "committed_date": "date",
        "answered_on": "date",
        "answer": "text",
        "replied_on": "date",
        "reply_document": "text",
        "raised_at": "timestamptz NOT NULL",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
        "correlation_id": "text",
    }
    indexes: ClassVar[dict[str, str]] = {
        "petitions_reach": "USING gin (reach)",
        "petitions_handling": "(handling_unit)",
        "petitions_status": "(status, category)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev, at = rec.event, rec.envelope.time
        if isinstance(ev, PetitionRaised):
            return {
                "id": ev.petition_id,
                "status": Status.received.value,
                "channel": ev.channel.value,
                "kind": ev.kind.value,
                "category": ev.category.value,
                "petitioner_name": ev.petitioner.name,
                "confidential": ev.petitioner.confidential,
                "commune_code": ev.commune_code,
                "hamlet_id": ev.hamlet_id,
                "hamlet": ev.hamlet_name,
                "unit_path": ev.unit_path,
                "dataset": ev.dataset,
                "handling_unit": ev.commune_code,
                "reach": list(ev.unit_path),
                "forwarded_to_agency": None,
                "text": ev.text,
                "meeting_id": ev.meeting_id,
                "received_on": ev.received_on,
                "committed_date": None,
                "answered_on": None,
                "answer": None,
                "replied_on": None,
                "reply_document": None,
                "raised_at": at,
                "updated_at": at,
                "last_seq": rec.seq,
                "correlation_id": rec.envelope.correlationid,
            }
        if row is None:
            raise LookupError(f"petition {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        change: Row
        match ev:
            case PetitionAnsweredOnSpot():
                change = {"status": Status.answered.value, "answered_on": ev.answered_on, "answer": ev.answer}
            case PetitionForwarded():
                tree = UnitTree.load(row["dataset"])
                added = tree.path(ev.to_unit) if ev.to_unit in tree else [ev.to_unit]
                change = {
                    "status": Status.forwarded.value,
                    "handling_unit": ev.to_unit,
                    "reach": list(dict.fromkeys([*row["reach"], *added])),
                    "forwarded_to_agency": ev.to_agency,
                }
            case CommitmentSet():
                change = {"status": Status.in_progress.value, "committed_date": ev.committed_date}
            case ReplyIssued():
                change = {"status": Status.replied.value, "replied_on": ev.issued_on, "reply_document": ev.document_no}
            case _:
                return row
        return {**row, **change, "updated_at": at, "last_seq": rec.seq}


COLUMNS = (
    "id, status, channel, kind, category, CASE WHEN confidential THEN NULL ELSE petitioner_name END AS petitioner,"
    " commune_code, hamlet_id, hamlet, unit_path, handling_unit, forwarded_to_agency, text, received_on,"
    " committed_date, answered_on, replied_on, reply_document, updated_at"
)


async def list_petitions(
    conn: Conn,
    *,
    unit: str | None,
    status: str | None,
    category: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where: list[str] = []
    args: list[Any] = []
    if unit:
        args.append(unit)
        where.append(f"reach @> ARRAY[${len(args)}::text]")
    if status:
        args.append(status)
        where.append(f"status = ${len(args)}")
    if category:
        args.append(category)
        where.append(f"category = ${len(args)}")
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    total = await conn.fetchval(f"SELECT count(*) FROM petitions.petitions{cond}", *args)
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM petitions.petitions{cond} ORDER BY received_on DESC, id"
        f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args,
        limit,
        offset,
    )
    return int(total), [dict(r) for r in rows]


async def get_petition(conn: Conn, petition_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM petitions.petitions WHERE id = $1", petition_id)
    return dict(row) if row else None
