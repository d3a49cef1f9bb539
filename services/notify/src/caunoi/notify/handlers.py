"""The notify service's handlers: contacts, resending a failed notice, and the queries (notices by
state, recipient and event; one notice with its history; a preview rendered from a real event).

Each is a top-level function ``(request, ctx, deps)``; ``bootstrap.py`` builds ``deps`` and routes
the NATS subjects to them.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caunoi.notify import compose, domain
from caunoi.notify.commands import (
    ListContacts,
    ListNotices,
    PreviewNotice,
    RemoveContact,
    ResendNotice,
    SetContact,
    ShowNotice,
)
from caunoi.notify.domain import Contact, ContactFacts, Notice, Reach
from caunoi.notify.readmodel import get_notice, list_contacts, list_notices, notices_about
from caunoi.notify.templates import TemplateProblem, Templates
from caunoi.printing.letter import render_letter
from caunoi.shared.aggregate import Outcome, Repository, reply
from caunoi.shared.authz import COMMAND_ROLES, query_area
from caunoi.shared.clock import today_vn
from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Endpoint, command, query
from caunoi.shared.errors import NotFound, ValidationFailed
from caunoi.shared.events import EventRegistry
from caunoi.shared.eventstore import EventStore
from caunoi.shared.hamlets import HamletDirectory
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.recorded import decode_message
from caunoi.shared.units import UnitTree, require_unit


@dataclass(frozen=True)
class Followed:
    """A stream notify reads (read only), to find a notice's triggering event again."""

    store: EventStore
    registry: EventRegistry


@dataclass(frozen=True)
class Deps:
    notices: Repository[Notice]
    contacts: Repository[Contact]
    units: UnitTree
    #: notify's copy of the hamlet list (from the scheduling service's events)
    hamlets: HamletDirectory
    templates: Templates
    recipients: compose.Recipients
    #: the other services' streams, by name
    followed: Mapping[str, Followed]
    letters: Path
    #: the read models' database, for queries
    pool: Pool = NO_DATABASE


def contact_result(out: Outcome[Contact]) -> dict[str, Any]:
    c = out.state
    return reply(out, contact_id=out.aggregate_id, recipient=c.recipient.ref if c.recipient else None, exists=c.exists)


async def set_contact(cmd: SetContact, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    contact = await deps.contacts.get(domain.contact_id(domain.recipient_of(cmd)), ctx)
    if done := contact.done_by(ctx):
        return contact_result(done)
    facts = ContactFacts(deps.units, await deps.hamlets.get(cmd.hamlet_id) if cmd.hamlet_id else None)
    return contact_result(await deps.contacts.save(contact, ctx, domain.decide_set_contact(contact.state, cmd, facts)))


async def remove_contact(cmd: RemoveContact, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    cid = domain.contact_id(domain.recipient_of(cmd))
    return contact_result(await deps.contacts.execute(cid, ctx, domain.decide_remove_contact, cmd, None))


async def resend(cmd: ResendNotice, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    out = await deps.notices.execute(cmd.notice_id, ctx, domain.decide_resend, cmd, None)
    return reply(out, notice_id=out.aggregate_id, state=out.state.state.value, round=out.state.round)


async def list_query(q: ListNotices, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Notices the unit (the actor's own unless it asks for one of its sub-units) reaches."""
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        total, rows = await list_notices(
            conn,
            unit=unit,
            state=q.state,
            kind=q.kind.value if q.kind else None,
            recipient=q.recipient,
            event=q.event,
            limit=q.limit,
            offset=q.offset,
        )
    return {"total": total, "items": rows}


async def show_query(q: ShowNotice, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await deps.notices.get(q.notice_id, ctx)
    if not loaded.exists:
        raise NotFound(
            f"Không tìm thấy thông báo {q.notice_id}", message_en=f"no notice {q.notice_id}", field="notice_id"
        )
    async with deps.pool.acquire() as conn:
        row = await get_notice(conn, q.notice_id)
    return {
        "notice": row,
        "state": loaded.state.state.value,
        #: the commands its state allows this actor (what a client offers)
        "actions": domain.available_actions(loaded.state) if ctx.actor.roles & COMMAND_ROLES else [],
        "history": [
            {
                "seq": r.seq,
                "type": r.envelope.type,
                "time": r.envelope.time.isoformat(),
                "actor": r.envelope.actor,
                "causationid": r.envelope.causationid,
                "correlationid": r.envelope.correlationid,
                "data": r.event.model_dump(mode="json"),
            }
            for r in loaded.history
        ],
    }


async def preview_query(q: PreviewNotice, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """A notice rendered again from its triggering event, read from the other service's stream,
    with the template files as they are now (or another template)."""
    async with deps.pool.acquire() as conn:
        rows = await notices_about(conn, q.ref, query_area(ctx.actor, deps.units, None))
    rows = [r for r in rows if q.recipient is None or r["recipient"] == q.recipient]
    if not rows:
        raise NotFound(
            f"Không có thông báo nào cho «{q.ref}» trong phạm vi của đơn vị",
            message_en=f"no notice for {q.ref!r} within the unit's reach",
            field="ref",
        )
    loaded = await deps.notices.get(rows[0]["id"], ctx)
    n = loaded.state
    assert n.trigger is not None and n.recipient is not None
    followed = deps.followed.get(n.trigger.stream)
    found = await followed.store.read(n.trigger.seq, 1) if followed else []
    if not found or found[0].seq != n.trigger.seq:
        raise NotFound(
            f"Không đọc được sự kiện {n.trigger.event_id}", message_en=f"cannot read event {n.trigger.event_id}"
        )
    assert followed is not None
    rec = decode_message(followed.registry, found[0])
    reach = await deps.recipients.reach(n.recipient, n.dataset or "") or Reach(name=n.recipient.ref)
    lang = q.lang or reach.lang
    context = {**compose.context_for(n, reach, lang), **rec.event.model_dump(mode="json")}
    name = q.template or n.template
    try:
        rendered = deps.templates.render(name, lang, context)
    except TemplateProblem as e:
        raise ValidationFailed(f"Không dựng được mẫu: {e}", message_en=f"cannot render the template: {e}",
                               field="template") from e  # fmt: skip
    out: dict[str, Any] = {
        "notice_id": n.id,
        "recipient": n.recipient.ref,
        "event": {
            "id": rec.envelope.id,
            "type": rec.envelope.type,
            "time": rec.envelope.time.isoformat(),
            "stream": n.trigger.stream,
            "seq": rec.seq,
        },
        "template": name,
        "version": rendered.version,
        "lang": rendered.lang,
        "subject": rendered.subject,
        "short": rendered.short,
        "body": rendered.text,
    }
    if q.letter:
        pdf = await asyncio.to_thread(render_letter, compose.letter_for(n, reach, rendered, today_vn()))
        out["letter_pdf"] = base64.b64encode(pdf).decode()
    return out


async def contacts_query(q: ListContacts, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        rows = await list_contacts(conn, unit)
    return {"total": len(rows), "items": rows}


#: what each request subject runs (``caunoi.cmd|q.<service>.<name>``)
ENDPOINTS: list[Endpoint[Deps]] = [
    command("contact_set", SetContact, set_contact, "Set how a unit's office or a hamlet is reached (liên lạc)"),
    command("contact_remove", RemoveContact, remove_contact, "Remove a unit's or a hamlet's contact"),
    command("resend", ResendNotice, resend, "Send a failed notice again (gửi lại thông báo thất bại)"),
    query("list", ListNotices, list_query, "Notices by unit, state, kind, recipient, event"),
    query("show", ShowNotice, show_query, "One notice and its whole history from the log"),
    query("preview", PreviewNotice, preview_query, "A notice rendered from its real triggering event"),
    query("contacts", ListContacts, contacts_query, "Contacts of the units and hamlets under a unit"),
]
