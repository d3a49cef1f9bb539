"""What time causes in the scheduling service (run by the kernel's :class:`DutyRunner`, each
recorded exactly once per meeting and deadline through deterministic command ids):

- ``deadline``: a programme 2 dialogue whose opinions were not compiled 10 days before, or whose
  broadcast was not announced 7 days before: ``DeadlineMissed`` (notify reminds);
- ``minutes``: a held meeting whose minutes were not closed within ``CAUNOI_MINUTES_CLOSE_DAYS``
  days: ``MinutesOverdue``;
- ``rotation``: from day ``CAUNOI_ROTATION_PROPOSE_DAY`` of a month, each pilot commune without a
  meeting next month gets one proposed at the next site of its rotation (``MeetingProposed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from caunoi.scheduling import queries
from caunoi.scheduling.commands import ProposeRotation
from caunoi.scheduling.domain import meetings
from caunoi.scheduling.domain.meetings import Meeting
from caunoi.scheduling.domain.rotation import month_of
from caunoi.scheduling.events import MeetingDeadline
from caunoi.scheduling.handlers import Deps, propose
from caunoi.shared.clock import VN
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import Due, Duty, stored_now
from caunoi.shared.events import DomainEvent


def _today(now: datetime) -> date:
    return now.astimezone(VN).date()


def _missed(state: Meeting, due: Due, today: date) -> list[DomainEvent]:
    return meetings.decide_deadline_missed(state, MeetingDeadline(due.data["deadline"]), due.data["due_on"], today)


def _minutes(state: Meeting, due: Due, today: date) -> list[DomainEvent]:
    return meetings.decide_minutes_overdue(state, due.data["due_on"], today)


class DeadlinesDuty:
    name = "deadline"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        today = _today(now)
        async with deps.pool.acquire() as conn:
            rows = await queries.deadlines_passed(conn, today)
        out = []
        for r in rows:
            for deadline, due_on, done in (
                (MeetingDeadline.opinions, r["opinions_due"], r["opinions_compiled_on"]),
                (MeetingDeadline.broadcast, r["broadcast_due"], r["announced_on"]),
            ):
                key = f"{deadline.value}:{due_on}"
                if due_on is not None and due_on < today and done is None and key not in r["missed"]:
                    out.append(Due(r["id"], key, {"deadline": deadline.value, "due_on": due_on}))
        return out

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        return stored_now(await deps.meetings.execute(due.aggregate_id, ctx, _missed, due, ctx.today))


class MinutesDuty:
    name = "minutes"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        days = deps.settings.minutes_close_days
        today = _today(now)
        async with deps.pool.acquire() as conn:
            rows = await queries.minutes_open(conn, today - timedelta(days=days + 1))
        out = []
        for r in rows:
            due_on = meetings.minutes_due(r["held_on"], days)
            if due_on not in r["minutes_reminded"]:
                out.append(Due(r["id"], f"minutes:{due_on}", {"due_on": due_on}))
        return out

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        return stored_now(await deps.meetings.execute(due.aggregate_id, ctx, _minutes, due, ctx.today))


class RotationDuty:
    name = "rotation"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        today = _today(now)
        if today.day < deps.settings.rotation_propose_day:
            return []
        month = month_of((today.replace(day=28) + timedelta(days=4)).replace(day=1))
        first, last = meetings.month_start(month), (meetings.month_start(month) + timedelta(days=31)).replace(day=1)
        async with deps.pool.acquire() as conn:
            communes = [r["unit_code"] for r in await queries.pilots_under(conn, None) if r["kind"] == "sites"]
            met = await queries.communes_with_meetings(conn, None, first, last - timedelta(days=1))
        return [Due(c, month, {"month": month}) for c in communes if c not in met]

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        cmd = ProposeRotation(commune_code=due.aggregate_id, month=due.data["month"])
        return stored_now(await propose(cmd, ctx, deps))


DUTIES: list[Duty[Any]] = [DeadlinesDuty(), MinutesDuty(), RotationDuty()]
