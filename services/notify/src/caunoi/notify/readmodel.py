"""notify's read models (PostgreSQL), from its own stream: one row per notice (what the sender
picks its work from, what clerks and operators list) and one row per contact."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from caunoi.notify.events import (
    ContactRemoved,
    ContactSet,
    DeliveryFailed,
    NoticeFailed,
    NoticeQueued,
    NoticeRequeued,
    NoticeSent,
)
from caunoi.shared.projection import Conn
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.units import UnitTree


def reach_of(dataset: str, unit_path: list[str], handed_to: list[str]) -> list[str]:
    """Every unit that reaches a notice: its unit path and the path of each unit it was handed
    to (see caunoi.shared.authz); a unit's list is ``reach @> ARRAY[unit]``."""
    tree = UnitTree.load(dataset)
    added = [u for h in handed_to for u in (tree.path(h) if h in tree else [h])]
    return list(dict.fromkeys([*unit_path, *added]))


class NoticesProjection(RowPerAggregate):
    name = "notices"
    table = "notices"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "state": "text NOT NULL",
        "kind": "text NOT NULL",
        "template": "text NOT NULL",
        "recipient": "text NOT NULL",
        "recipient_kind": "text NOT NULL",
        "about": "text NOT NULL",
        "trigger_event_id": "text NOT NULL",
        "trigger_type": "text NOT NULL",
        "trigger_stream": "text NOT NULL",
        "trigger_seq": "bigint NOT NULL",
        "unit_code": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "reach": "text[] NOT NULL",
        "round": "integer NOT NULL",
        "attempts": "integer NOT NULL",
        "next_attempt_at": "timestamptz",
        "channel": "text",
        "address": "text",
        "message_id": "text",
        "template_version": "text",
        "lang": "text",
        "possible_duplicate": "boolean NOT NULL",
        "last_error": "text",
        "queued_at": "timestamptz NOT NULL",
        "sent_at": "timestamptz",
        "failed_at": "timestamptz",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
        "correlation_id": "text",
    }
    indexes: ClassVar[dict[str, str]] = {
        "notices_due": "(next_attempt_at) WHERE state = 'queued'",
        "notices_reach": "USING gin (reach)",
        "notices_about": "(about)",
        "notices_trigger": "(trigger_event_id)",
        "notices_recipient": "(recipient)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        nid = getattr(rec.event, "notice_id", None)
        return nid if isinstance(nid, str) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev, at = rec.event, rec.envelope.time
        if isinstance(ev, NoticeQueued):
            return {
                "id": ev.notice_id,
                "state": "queued",
                "kind": ev.kind.value,
                "template": ev.template,
                "recipient": ev.recipient.ref,
                "recipient_kind": ev.recipient.kind.value,
                "about": ev.trigger.subject,
                "trigger_event_id": ev.trigger.event_id,
                "trigger_type": ev.trigger.type,
                "trigger_stream": ev.trigger.stream,
                "trigger_seq": ev.trigger.seq,
                "unit_code": ev.unit_code,
                "unit_path": ev.unit_path,
                "dataset": ev.dataset,
                "reach": reach_of(ev.dataset, ev.unit_path, ev.handed_to),
                "round": 1,
                "attempts": 0,
                "next_attempt_at": at,
                "channel": None,
                "address": None,
                "message_id": None,
                "template_version": None,
                "lang": None,
                "possible_duplicate": False,
                "last_error": None,
                "queued_at": at,
                "sent_at": None,
                "failed_at": None,
                "updated_at": at,
                "last_seq": rec.seq,
                "correlation_id": rec.envelope.correlationid,
            }
        if row is None:
            raise LookupError(f"notice {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        change: Row
        match ev:
            case DeliveryFailed():
                change = {
                    "attempts": ev.attempt,
                    "next_attempt_at": ev.retry_at,
                    "channel": ev.channel.value,
                    "last_error": ev.error,
                }
            case NoticeSent():
                change = {
                    "state": "sent",
                    "attempts": ev.attempt,
                    "next_attempt_at": None,
                    "channel": ev.channel.value,
                    "address": ev.address,
                    "message_id": ev.message_id,
                    "template_version": ev.template_version,
                    "lang": ev.lang,
                    "possible_duplicate": ev.possible_duplicate,
                    "last_error": None,
                    "sent_at": at,
                }
            case NoticeFailed():
                change = {
                    "state": "failed",
                    "attempts": ev.attempts,
                    "next_attempt_at": None,
                    "last_error": ev.last_error,
                    "failed_at": at,
                }
            case NoticeRequeued():
                change = {"state": "queued", "round": ev.round, "attempts": 0, "next_attempt_at": at, "failed_at": None}
            case _:
                return row
        return {**row, **change, "updated_at": at, "last_seq": rec.seq}


class ContactsProjection(RowPerAggregate):
    name = "contacts"
    table = "contacts"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "recipient": "text NOT NULL UNIQUE",
        "kind": "text NOT NULL",
        "name": "text",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "email": "text",
        "phone": "text",
        "zalo": "text",
        "address": "text",
        "preferred": "text",
        "lang": "text NOT NULL",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {"contacts_unit_path": "USING gin (unit_path)"}

    def key(self, rec: RecordedEvent) -> str | None:
        cid = getattr(rec.event, "contact_id", None)
        return cid if isinstance(cid, str) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, ContactRemoved):
            return None
        if not isinstance(ev, ContactSet):
            return row
        return {
            "id": ev.contact_id,
            "recipient": ev.recipient.ref,
            "kind": ev.recipient.kind.value,
            "name": ev.name,
            "unit_path": ev.unit_path,
            "dataset": ev.dataset,
            "email": ev.email,
            "phone": ev.phone,
            "zalo": ev.zalo,
            "address": ev.address,
            "preferred": ev.preferred.value if ev.preferred else None,
            "lang": ev.lang,
            "updated_at": rec.envelope.time,
            "last_seq": rec.seq,
        }


# --- queries ------------------------------------------------------------------------------------

LIST_COLUMNS = (
    "id, state, kind, recipient, about, trigger_event_id, unit_code, round, attempts, next_attempt_at, channel,"
    " address, message_id, template, template_version, possible_duplicate, last_error, queued_at, sent_at, failed_at"
)


async def due_notices(conn: Conn, now: datetime, limit: int) -> list[tuple[str, int]]:
    """Notices waiting whose next attempt is due, oldest first, with the stream sequence of the
    last event the row reflects."""
    rows = await conn.fetch(
        "SELECT id, last_seq FROM notices.notices WHERE state = 'queued' AND next_attempt_at <= $1"
        " ORDER BY next_attempt_at, id LIMIT $2",
        now,
        limit,
    )
    return [(r["id"], r["last_seq"]) for r in rows]


async def list_notices(
    conn: Conn,
    *,
    unit: str | None,
    state: str | None = None,
    kind: str | None = None,
    recipient: str | None = None,
    event: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    where: list[str] = []
    args: list[Any] = []

    def add(cond: str, value: Any) -> None:
        args.append(value)
        where.append(cond.replace("?", f"${len(args)}"))

    if unit:
        add("reach @> ARRAY[?::text]", unit)
    if state:
        add("state = ?", state)
    if kind:
        add("kind = ?", kind)
    if recipient:
        add("recipient = ?", recipient)
    if event:
        add("(trigger_event_id = ? OR about = ?)", event)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    total = await conn.fetchval(f"SELECT count(*) FROM notices.notices{cond}", *args)
    rows = await conn.fetch(
        f"SELECT {LIST_COLUMNS} FROM notices.notices{cond} ORDER BY queued_at DESC, id"
        f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args,
        limit,
        offset,
    )
    return int(total), [dict(r) for r in rows]


async def get_notice(conn: Conn, notice_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM notices.notices WHERE id = $1", notice_id)
    return dict(row) if row else None


async def notices_about(conn: Conn, ref: str, unit: str | None) -> list[dict[str, Any]]:
    """Notices with id ``ref``, caused by event ``ref``, or about aggregate ``ref`` (within
    ``unit``'s reach when given)."""
    rows = await conn.fetch(
        "SELECT * FROM notices.notices WHERE (id = $1 OR trigger_event_id = $1 OR about = $1)"
        " AND ($2::text IS NULL OR reach @> ARRAY[$2::text]) ORDER BY queued_at DESC, id",
        ref,
        unit,
    )
    return [dict(r) for r in rows]


async def list_contacts(conn: Conn, unit: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT id, recipient, kind, name, email, phone, zalo, address, preferred, lang, unit_path, updated_at"
        " FROM contacts.contacts WHERE ($1::text IS NULL OR unit_path @> ARRAY[$1::text]) ORDER BY recipient",
        unit,
    )
    return [dict(r) for r in rows]


async def get_contact(conn: Conn, recipient: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM contacts.contacts WHERE recipient = $1", recipient)
    return dict(row) if row else None
