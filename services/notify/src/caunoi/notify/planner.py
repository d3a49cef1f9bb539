"""The planners: notify's reactions to the other services' events (one per followed stream). Each
keeps the facts its rules need about what an event is about (a petition's commune, hamlet,
handling unit and petitioner's contact; a meeting's commune, host, date and venue) and queues a
notice per rule and recipient (:mod:`caunoi.notify.rules`) through the kernel's
:class:`~caunoi.shared.reactor.Reactor`, so each event queues each notice once, whatever is
replayed.

The petitioner's contact (name, phone, e-mail, address) is personal data: it stays in the
``from_petitions.petitions`` table (sealed, as the petition's event carries it, for petitions raised
since personal data are sealed: the courier opens it when it sends; in clear for older ones), is
never copied into an event, and is erased when the petition says so.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import structlog

from caunoi.notify import consumed as c
from caunoi.notify.addresses import lenient_phone as phone
from caunoi.notify.domain import NOTICE, notice_id
from caunoi.notify.events import NoticeQueued, NoticeRecipient, Trigger, registry
from caunoi.notify.rules import Rule, rules_for
from caunoi.shared.events import ConsumedEvent, DomainEvent
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.projection import Conn
from caunoi.shared.reactor import Reaction, Reactor
from caunoi.shared.recorded import RecordedEvent

log = structlog.get_logger(__name__)

Row = dict[str, Any]


class Facts(abc.ABC):
    """What a planner remembers about the aggregates its stream's events are about."""

    table: ClassVar[str]
    columns: ClassVar[dict[str, str]]

    async def setup(self, conn: Conn, schema: str) -> None:
        cols = ", ".join(f'"{k}" {v}' for k, v in self.columns.items())
        await conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}"."{self.table}" ({cols})')

    @abc.abstractmethod
    async def remember(self, conn: Conn, schema: str, ev: DomainEvent) -> None: ...

    @abc.abstractmethod
    async def get(self, conn: Conn, schema: str, ev: DomainEvent) -> Row | None:
        """The facts for ``ev``, with the notice's place: ``unit_code``, ``unit_path``,
        ``dataset``, ``handed_to``."""

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        rows = await conn.fetch(f'SELECT * FROM "{schema}"."{self.table}" ORDER BY 1')
        return [dict(r) for r in rows]

    async def _row(self, conn: Conn, schema: str, key: str) -> Row | None:
        row = await conn.fetchrow(f'SELECT * FROM "{schema}"."{self.table}" WHERE {next(iter(self.columns))} = $1', key)
        return dict(row) if row else None


class PetitionFacts(Facts):
    table = "petitions"
    columns: ClassVar[dict[str, str]] = {
        "petition_id": "text PRIMARY KEY",
        "commune_code": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "hamlet_id": "text",
        "hamlet_name": "text",
        "handling_unit": "text NOT NULL",
        "handed_to": "text[] NOT NULL",
        "received_on": "date NOT NULL",
        "text": "text NOT NULL",
        "committed_date": "date",
        "latest_due": "date",
        "latest_reason": "text",
        "petitioner_name": "text",
        "petitioner_phone": "text",
        "petitioner_email": "text",
        "petitioner_zalo": "text",
        "petitioner_address": "text",
        "erased": "boolean NOT NULL DEFAULT false",
        #: the contact as the petition sealed it (JSON of a caunoi.shared.vault.Sealed box)
        "petitioner_sealed": "text",
    }

    async def setup(self, conn: Conn, schema: str) -> None:
        await super().setup(conn, schema)
        # a table made before personal data were sealed gets the column
        await conn.execute(f'ALTER TABLE "{schema}".petitions ADD COLUMN IF NOT EXISTS petitioner_sealed text')

    async def remember(self, conn: Conn, schema: str, ev: DomainEvent) -> None:
        t = f'"{schema}".petitions'
        match ev:
            case c.PetitionRaised():
                p = ev.petitioner or c.Petitioner(name="")
                await conn.execute(
                    f"INSERT INTO {t} (petition_id, commune_code, unit_path, dataset, hamlet_id, hamlet_name,"
                    " handling_unit, handed_to, received_on, text, petitioner_name, petitioner_phone,"
                    " petitioner_email, petitioner_zalo, petitioner_address, petitioner_sealed)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $2, '{}', $7, $8, $9, $10, $11, $12, $13, $14)"
                    " ON CONFLICT (petition_id) DO NOTHING",
                    ev.petition_id, ev.commune_code, ev.unit_path, ev.dataset, ev.hamlet_id, ev.hamlet_name,
                    ev.received_on, ev.text, p.name or None, phone(p.phone), p.email, phone(p.zalo), p.address,
                    ev.personal.model_dump_json() if ev.personal else None,
                )  # fmt: skip
            case c.PetitionForwarded():
                await conn.execute(
                    f"UPDATE {t} SET handling_unit = $2, handed_to = array_append(handed_to, $2)"
                    " WHERE petition_id = $1",
                    ev.petition_id,
                    ev.to_unit,
                )
            case c.CommitmentSet():
                await conn.execute(f"UPDATE {t} SET committed_date = $2 WHERE petition_id = $1", ev.petition_id,
                                   ev.committed_date)  # fmt: skip
            case c.PetitionExtended():
                await conn.execute(
                    f"UPDATE {t} SET latest_due = $2, latest_reason = $3 WHERE petition_id = $1",
                    ev.petition_id, ev.new_due, ev.reason,
                )  # fmt: skip
            case c.PetitionerDataErased():
                await conn.execute(
                    f"UPDATE {t} SET petitioner_name = NULL, petitioner_phone = NULL, petitioner_email = NULL,"
                    " petitioner_zalo = NULL, petitioner_address = NULL, petitioner_sealed = NULL, erased = true"
                    " WHERE petition_id = $1",
                    ev.petition_id,
                )

    async def get(self, conn: Conn, schema: str, ev: DomainEvent) -> Row | None:
        row = await self._row(conn, schema, getattr(ev, "petition_id", ""))
        if row is None:
            return None
        return {**row, "unit_code": row["handling_unit"]}


class MeetingFacts(Facts):
    table = "meetings"
    columns: ClassVar[dict[str, str]] = {
        "meeting_id": "text PRIMARY KEY",
        "commune_code": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "programme": "text",
        "plan_unit": "text",
        "host_id": "text",
        "host_name": "text",
        "date": "date NOT NULL",
        "start_time": "time",
        "venue": "text NOT NULL",
    }

    async def remember(self, conn: Conn, schema: str, ev: DomainEvent) -> None:
        t = f'"{schema}".meetings'
        match ev:
            case c.MeetingProposed() | c.MeetingPlanned():
                await conn.execute(
                    f"INSERT INTO {t} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    " ON CONFLICT (meeting_id) DO NOTHING",
                    ev.meeting_id, ev.commune_code, ev.unit_path, ev.dataset, ev.programme,
                    ev.plan_unit if isinstance(ev, c.MeetingPlanned) else None,
                    ev.host_id, ev.host_name, ev.date, ev.start_time, ev.venue,
                )  # fmt: skip
            case c.MeetingMoved():
                await conn.execute(
                    f"UPDATE {t} SET date = $2, start_time = coalesce($3, start_time), venue = coalesce($4, venue),"
                    " host_id = coalesce($5, host_id), host_name = coalesce($6, host_name) WHERE meeting_id = $1",
                    ev.meeting_id, ev.date, ev.start_time, ev.venue, ev.host_id, ev.host_name,
                )  # fmt: skip
            case c.MeetingPostponed():
                await conn.execute(f"UPDATE {t} SET date = $2 WHERE meeting_id = $1", ev.meeting_id, ev.date)

    async def get(self, conn: Conn, schema: str, ev: DomainEvent) -> Row | None:
        row = await self._row(conn, schema, getattr(ev, "meeting_id", ""))
        if row is None:
            return None
        if row["start_time"] is not None:
            row["start_time"] = row["start_time"].isoformat()
        return {**row, "unit_code": row["commune_code"], "handed_to": []}


class ReportFacts(Facts):
    """A report's place and labels, from ``ReportDue`` (``ReportOverdue`` names only the report)."""

    table = "reports"
    columns: ClassVar[dict[str, str]] = {
        "report_id": "text PRIMARY KEY",
        "unit_code": "text NOT NULL",
        "unit_name": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "schedule_title": "text NOT NULL",
        "period_label": "text NOT NULL",
    }

    async def remember(self, conn: Conn, schema: str, ev: DomainEvent) -> None:
        if isinstance(ev, c.ReportDue):
            await conn.execute(
                f'INSERT INTO "{schema}".reports VALUES ($1, $2, $3, $4, $5, $6, $7)'
                " ON CONFLICT (report_id) DO NOTHING",
                ev.report_id, ev.unit_code, ev.unit_name, ev.unit_path, ev.dataset, ev.schedule_title,
                ev.period_label,
            )  # fmt: skip

    async def get(self, conn: Conn, schema: str, ev: DomainEvent) -> Row | None:
        row = await self._row(conn, schema, str(getattr(ev, "report_id", "")))
        return None if row is None else {**row, "handed_to": []}


class Planner(Reactor):
    """Queues the notices a followed stream's events cause."""

    def __init__(self, name: str, stream: StreamSpec, facts: Facts, max_age: timedelta | None = None) -> None:
        super().__init__(name, NOTICE, registry)
        self.stream = stream
        self.facts = facts
        self.max_age = max_age
        self.stale = 0

    async def setup(self, conn: Conn, schema: str) -> None:
        await self.facts.setup(conn, schema)

    async def remember(self, conn: Conn, schema: str, rec: RecordedEvent) -> None:
        await self.facts.remember(conn, schema, rec.event)

    async def react(self, conn: Conn, schema: str, rec: RecordedEvent) -> Sequence[Reaction]:
        ev = rec.event
        rules = rules_for(type(ev)) if isinstance(ev, ConsumedEvent) else []
        if not rules:
            return []
        if self.max_age is not None and datetime.now(UTC) - rec.envelope.time > self.max_age:
            self.stale += 1
            log.info("notify.event_too_old", event_id=rec.envelope.id, type=rec.envelope.type, seq=rec.seq)
            return []
        facts = await self.facts.get(conn, schema, ev)
        if facts is None:
            env = rec.envelope
            log.warning("notify.no_facts", event_id=env.id, type=env.type, subject=env.subject)
            return []
        trigger = Trigger(
            stream=self.stream.name, seq=rec.seq, event_id=rec.envelope.id, type=rec.envelope.type,
            subject=rec.envelope.subject,
        )  # fmt: skip
        out = []
        for rule in rules:
            context = rule.context_for(ev, facts)
            for r in rule.recipients_for(ev, facts):
                nid = notice_id(rec.envelope.id, r)
                out.append(Reaction(nid, [queued(nid, rule, r, trigger, facts, context)]))
        return out

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        return await self.facts.snapshot(conn, schema)


def queued(nid: str, rule: Rule, r: NoticeRecipient, trigger: Trigger, facts: Row, ctx: dict[str, Any]) -> NoticeQueued:
    return NoticeQueued(
        notice_id=nid,
        kind=rule.kind,
        template=rule.template_name,
        recipient=r,
        trigger=trigger,
        unit_code=facts["unit_code"],
        unit_path=list(facts["unit_path"]),
        dataset=facts["dataset"],
        handed_to=list(facts.get("handed_to") or []),
        context=ctx,
    )
