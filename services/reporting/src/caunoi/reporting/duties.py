"""What time causes in the reporting service (run by the kernel's :class:`DutyRunner`, each
recorded exactly once per report through deterministic command ids, ``<duty>:<report id>:<key>``,
across restarts and with several processes):

- ``report-due``: each enrolled unit's report of each schedule it owes, for every period that fell
  due since it was enrolled (a service that was down at the time catches up on its next tick):
  ``ReportDue`` (the report aggregate ``BC-<unit>-<schedule>-<period>`` is created by it, unless
  a clerk opened the draft first);
- ``report-overdue``: a report fallen due whose deadline passed unsubmitted: ``ReportOverdue``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from caunoi.reporting import queries
from caunoi.reporting.deps import Deps
from caunoi.reporting.domain import reports
from caunoi.reporting.domain.periods import TZ
from caunoi.reporting.handlers import spec_for
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import Due, Duty, stored_now

#: a moment just before an enrolment's first day, so a period falling due at midnight counts
_JUST_BEFORE = timedelta(microseconds=1)


def _midnight(day: Any) -> datetime:
    return datetime.combine(day, time(0), TZ)


class ReportDueDuty:
    name = "report-due"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        async with deps.pool.acquire() as conn:
            enrolled = await queries.enrolments_under(conn, None)
            if not enrolled:
                return []
            earliest = min(_midnight(e["since"]) for e in enrolled) - _JUST_BEFORE
            recorded = await queries.reports_with_due(conn, earliest)
        out = []
        for e in enrolled:
            unit = deps.units.find(e["unit_code"])
            if unit is None or e["dataset"] != deps.units.dataset:
                continue  # enrolled under another unit dataset: owes nothing in this one
            after = _midnight(e["since"]) - _JUST_BEFORE
            until = now if e["until"] is None else min(now, _midnight(e["until"]) - _JUST_BEFORE)
            for sid in e["schedules"]:
                schedule = deps.schedules.get(sid)
                if schedule is None or not schedule.applies_to(unit.level, deps.units.dataset):
                    continue  # the schedules file changed: a schedule no longer in it is owed no more
                for period in schedule.periods_opening(after, until):
                    spec = spec_for(deps, unit, schedule, period)
                    if spec["report_id"] not in recorded:
                        out.append(Due(spec["report_id"], period.key, {"spec": spec}))
        return out

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        out = await deps.reports.execute(due.aggregate_id, ctx, reports.decide_due, due.data["spec"], ctx.received_at)
        return stored_now(out)


class ReportOverdueDuty:
    name = "report-overdue"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        async with deps.pool.acquire() as conn:
            rows = await queries.deadlines_passed(conn, now)
        return [Due(r["id"], f"overdue:{r['due_at'].astimezone(TZ).isoformat()}") for r in rows]

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        out = await deps.reports.execute(due.aggregate_id, ctx, _overdue, None, ctx.received_at)
        return stored_now(out)


def _overdue(state: reports.Report, _: None, now: datetime) -> list[Any]:
    return reports.decide_overdue(state, now)


DUTIES: list[Duty[Any]] = [ReportDueDuty(), ReportOverdueDuty()]
