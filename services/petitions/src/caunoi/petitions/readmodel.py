"""The petitions read model (PostgreSQL): one row per petition, kept by a projection."""

from __future__ import annotations

from typing import Any

from caunoi.petitions.events import (
    CommitmentSet,
    PetitionAnsweredOnSpot,
    PetitionForwarded,
    PetitionRaised,
    ReplyIssued,
)
from caunoi.shared.aggregate import RecordedEvent
from caunoi.shared.projection import Conn

DDL = """
CREATE TABLE IF NOT EXISTS "{s}".petitions (
    id              text PRIMARY KEY,
    status          text NOT NULL,
    channel         text NOT NULL,
    kind            text NOT NULL,
    category        text NOT NULL,
    petitioner_name text NOT NULL,
    confidential    boolean NOT NULL,
    commune_code    text NOT NULL,
    hamlet_id       text,
    hamlet          text,
    unit_path       text[] NOT NULL,
    dataset         text NOT NULL,
    handling_unit   text NOT NULL,
    forwarded_to_agency text,
    text            text NOT NULL,
    meeting_id      text,
    received_on     date NOT NULL,
    committed_date  date,
    answered_on     date,
    answer          text,
    replied_on      date,
    reply_document  text,
    raised_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_seq        bigint NOT NULL,
    correlation_id  text
);
CREATE INDEX IF NOT EXISTS petitions_unit_path ON "{s}".petitions USING gin (unit_path);
CREATE INDEX IF NOT EXISTS petitions_handling ON "{s}".petitions (handling_unit);
CREATE INDEX IF NOT EXISTS petitions_status ON "{s}".petitions (status, category);
"""


class PetitionsProjection:
    name = "petitions"

    async def setup(self, conn: Conn, schema: str) -> None:
        await conn.execute(DDL.format(s=schema))

    async def apply(self, conn: Conn, schema: str, rec: RecordedEvent) -> None:
        ev = rec.event
        t = f'"{schema}".petitions'
        at = rec.envelope.time
        match ev:
            case PetitionRaised():
                await conn.execute(
                    f"INSERT INTO {t} (id, status, channel, kind, category, petitioner_name, confidential,"
                    " commune_code, hamlet, unit_path, dataset, handling_unit, text, meeting_id, received_on,"
                    " raised_at, updated_at, last_seq, correlation_id, hamlet_id)"
                    " VALUES ($1,'received',$2,$3,$4,$5,$6,$7,$8,$9,$10,$7,$11,$12,$13,$14,$14,$15,$16,$17)",
                    ev.petition_id,
                    ev.channel.value,
                    ev.kind.value,
                    ev.category.value,
                    ev.petitioner.name,
                    ev.petitioner.confidential,
                    ev.commune_code,
                    ev.hamlet_name,
                    ev.unit_path,
                    ev.dataset,
                    ev.text,
                    ev.meeting_id,
                    ev.received_on,
                    at,
                    rec.seq,
                    rec.envelope.correlationid,
                    ev.hamlet_id,
                )
            case PetitionAnsweredOnSpot():
                await self._update(
                    conn, t, rec, "status='answered', answered_on=$4, answer=$5", ev.answered_on, ev.answer
                )
            case PetitionForwarded():
                await self._update(
                    conn,
                    t,
                    rec,
                    "status='forwarded', handling_unit=$4, forwarded_to_agency=$5",
                    ev.to_unit,
                    ev.to_agency,
                )
            case CommitmentSet():
                await self._update(conn, t, rec, "status='in_progress', committed_date=$4", ev.committed_date)
            case ReplyIssued():
                await self._update(
                    conn, t, rec, "status='replied', replied_on=$4, reply_document=$5", ev.issued_on, ev.document_no
                )

    @staticmethod
    async def _update(conn: Conn, table: str, rec: RecordedEvent, sets: str, *args: Any) -> None:
        pid = rec.envelope.subject
        res = await conn.execute(
            f"UPDATE {table} SET {sets}, updated_at=$2, last_seq=$3 WHERE id=$1", pid, rec.envelope.time, rec.seq, *args
        )
        if res != "UPDATE 1":
            raise LookupError(f"petition {pid} is not in the read model (event seq {rec.seq})")

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        rows = await conn.fetch(f'SELECT * FROM "{schema}".petitions ORDER BY id')
        return [dict(r) for r in rows]


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
        where.append(f"(unit_path @> ARRAY[${len(args)}::text] OR handling_unit = ${len(args)})")
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
