"""What time and cases cause, recorded by the petitions service itself (``caunoi.shared.duties``):

- ``deadline-approaching``: ``DeadlineApproaching`` once per petition and deadline, when the
  deadline enters its warning window (the policy's ``warn_before``);
- ``deadline-overdue``: ``PetitionOverdue`` once per petition and deadline when it passes with the
  petition still pending, with ``DelayNoticeRequired`` when that was a committed date;
- ``case-reply``: a petition merged into a case gets the case's written reply, so every
  petitioner is answered.

Each finds its work in the read model and records it through the repository with a pure decide
(domain.py); the runner's deterministic command ids make each happen once, whatever restarts or
how many runners.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from caunoi.petitions import domain
from caunoi.petitions.domain import Alert
from caunoi.petitions.events import DeadlineKind
from caunoi.petitions.handlers import Deps, facts_for
from caunoi.petitions.readmodel import cases_answered, deadlines_due
from caunoi.shared.clock import VN
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import Due, Duty, stored_now


class DeadlineWatch:
    """Deadlines entering their warning window (``approaching``) or passed (``overdue``)."""

    def __init__(self, what: Literal["approaching", "overdue"]) -> None:
        self.what = what
        self.name = f"deadline-{what}"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        today = now.astimezone(VN).date()
        async with deps.pool.acquire() as conn:
            rows = await deadlines_due(conn, self.what, today)
        return [
            Due(
                r["id"],
                f"{r['deadline']}:{r['due_on'].isoformat()}",
                {"deadline": r["deadline"], "due_on": r["due_on"]},
            )
            for r in rows
        ]

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        alert = Alert(DeadlineKind(due.data["deadline"]), date.fromisoformat(str(due.data["due_on"])))
        decide = domain.decide_overdue if self.what == "overdue" else domain.decide_approaching
        out = await deps.petitions.execute(due.aggregate_id, ctx, decide, alert, facts_for(ctx, deps))
        return stored_now(out)


class CaseReplies:
    """Petitions merged into an answered case get its reply."""

    name = "case-reply"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        async with deps.pool.acquire() as conn:
            rows = await cases_answered(conn)
        return [Due(r["id"], f"{r['case_id']}:{r['reply_document']}", {"case_id": r["case_id"]}) for r in rows]

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        case = (await deps.petitions.load(str(due.data["case_id"]))).state
        out = await deps.petitions.execute(due.aggregate_id, ctx, domain.decide_case_reply, case, facts_for(ctx, deps))
        return stored_now(out)


DUTIES: list[Duty[Deps]] = [DeadlineWatch("overdue"), DeadlineWatch("approaching"), CaseReplies()]
