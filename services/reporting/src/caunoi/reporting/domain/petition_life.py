"""A petition's life as a report sees it, folded from the petitions service's events (as
:mod:`caunoi.reporting.petitions_contract` reads them): where it came from, the dated steps of its
life with the deadlines in force after each, the deadlines time marked as passed, forwards,
replies (each judged on time or not), delay notices. Pure: ``fold(row, event, day) -> row``
(``day``: the event's date in Vietnam, for the one step whose event carries no date of its own,
a committed date being set), and the questions a report asks of it (:class:`Life`).

Which deadline a reply is measured against, and when a petition is overdue, follow the
producer's published rules (docs/events/petitions: ``DeadlineKind``): a deadline is watched while
the petition is in the states it concerns (handling: received, forwarded, returned; resolving:
accepted, in progress, reopened; the committed date: in progress); a reply is on time if issued
no later than the earliest deadline watched then; a petition is overdue on a day if time recorded
``PetitionOverdue`` for a deadline still watched, with that due date, by then.
tests/reporting/test_figures.py checks the on-time and overdue judgments against the petitions
service's own read model on a generated year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from caunoi.reporting.petitions_contract import (
    CommitmentSet,
    Deadline,
    DelayNoticeRequired,
    PetitionAccepted,
    PetitionAnsweredOnSpot,
    PetitionClassified,
    PetitionExtended,
    PetitionForwarded,
    PetitionMerged,
    PetitionOverdue,
    PetitionRaised,
    PetitionReturned,
    PetitionWithdrawn,
    ReplyIssued,
    VerdictGiven,
)
from caunoi.shared.events import DomainEvent
from caunoi.shared.units import qualified_path

Row = dict[str, Any]

#: still to be resolved
OPEN = frozenset({"received", "classified", "forwarded", "returned", "accepted", "in_progress", "reopened"})
#: each deadline is watched while the petition is in one of these
PENDING = {
    "handle": frozenset({"received", "forwarded", "returned"}),
    "resolve": frozenset({"accepted", "in_progress", "reopened"}),
    "committed": frozenset({"in_progress"}),
}


def watched_due(status: str, deadlines: dict[str, Any]) -> date | None:
    """The deadline a resolution is measured against in ``status``: the earliest watched."""
    dues = [_day(d) for k, d in deadlines.items() if d is not None and status in PENDING.get(k, ())]
    return min(dues) if dues else None


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _with(deadlines: dict[str, Any], d: Deadline | None) -> dict[str, Any]:
    return deadlines if d is None else {**deadlines, d.kind: d.due_on.isoformat()}


def raised(ev: PetitionRaised) -> Row:
    """The row a petition starts with."""
    deadlines = _with({}, ev.deadline)
    return {
        "petition_id": ev.petition_id,
        "dataset": ev.dataset,
        "unit_path": list(ev.unit_path),
        "reach": qualified_path(ev.dataset, ev.unit_path),
        "commune_code": ev.commune_code,
        "hamlet_id": ev.hamlet_id,
        "hamlet_name": ev.hamlet_name,
        "meeting_id": ev.meeting_id,
        "channel": ev.channel,
        "kind": ev.kind,
        "category": ev.category,
        "received_on": ev.received_on,
        "status": "received",
        "deadlines": deadlines,
        "steps": [[ev.received_on.isoformat(), "received", deadlines]],
        "alerts": [],
        "forwards": [],
        "replies": [],
        "answered_on": None,
        "delay_notices": [],
        "settled_on": None,
    }


def fold(row: Row | None, ev: DomainEvent, day: date) -> Row | None:
    """The row after ``ev``; a petition this reader never saw raised stays unknown (None)."""
    if isinstance(ev, PetitionRaised):
        return raised(ev)
    if row is None:
        return None
    status, deadlines = row["status"], row["deadlines"]
    change: Row = {}
    match ev:
        case PetitionClassified():
            return _step(row, ev.classified_on, "classified" if ev.eligible else "ineligible", deadlines,
                         category=ev.category)  # fmt: skip
        case PetitionAnsweredOnSpot():
            return _step(row, ev.answered_on, "answered", deadlines, answered_on=ev.answered_on)
        case PetitionForwarded():
            change["forwards"] = [*row["forwards"], [ev.forwarded_on.isoformat(), ev.to_unit, ev.to_agency]]
            return _step(row, ev.forwarded_on, "forwarded", _with(deadlines, ev.deadline), **change)
        case PetitionReturned():
            return _step(row, ev.returned_on, "returned", _with(deadlines, ev.deadline))
        case PetitionAccepted():
            return _step(row, ev.accepted_on, "accepted", _with(deadlines, ev.deadline))
        case CommitmentSet():
            committed = {**deadlines, "committed": ev.committed_date.isoformat()}
            return _step(row, day, "in_progress", _with(committed, ev.deadline))
        case PetitionExtended():
            return _step(row, ev.extended_on, status, _with(deadlines, ev.deadline))
        case ReplyIssued():
            due = watched_due(status, deadlines)
            on_time = None if due is None else ev.issued_on <= due
            change["replies"] = [*row["replies"], [ev.issued_on.isoformat(), on_time]]
            return _step(row, ev.issued_on, "replied", deadlines, **change)
        case VerdictGiven():
            if ev.verdict == "satisfied":
                return _step(row, ev.given_on, "closed", deadlines)
            reopened = {k: v for k, v in deadlines.items() if k != "committed"}
            return _step(row, ev.given_on, "reopened", _with(reopened, ev.deadline))
        case PetitionWithdrawn():
            return _step(row, ev.withdrawn_on, "withdrawn", deadlines)
        case PetitionMerged():
            return _step(row, ev.merged_on, "merged", deadlines)
        case PetitionOverdue():
            alert = [ev.noticed_on.isoformat(), ev.deadline, ev.due_on.isoformat()]
            return {**row, "alerts": [*row["alerts"], alert]}
        case DelayNoticeRequired():
            return {**row, "delay_notices": [*row["delay_notices"], ev.noticed_on]}
    return row


def _step(row: Row, on: date, status: str, deadlines: dict[str, Any], **more: Any) -> Row:
    settled = None if status in OPEN else on
    step = [on.isoformat(), status, deadlines]
    return {**row, **more, "status": status, "deadlines": deadlines, "steps": [*row["steps"], step],
            "settled_on": settled}  # fmt: skip


@dataclass(frozen=True)
class Life:
    """One petition's facts, read back from its row, and what a report asks of them."""

    id: str
    reach: tuple[str, ...]
    commune_code: str
    dataset: str
    hamlet_id: str | None
    meeting_id: str | None
    channel: str
    category: str
    received_on: date
    steps: tuple[tuple[date, str, dict[str, Any]], ...]
    alerts: tuple[tuple[date, str, date], ...]
    forwards: tuple[tuple[date, str, str | None], ...]
    replies: tuple[tuple[date, bool | None], ...]
    answered_on: date | None
    delay_notices: tuple[date, ...]

    @classmethod
    def of(cls, row: Row) -> Life:
        return cls(
            id=row["petition_id"],
            reach=tuple(row["reach"]),
            commune_code=row["commune_code"],
            dataset=row["dataset"],
            hamlet_id=row["hamlet_id"],
            meeting_id=row["meeting_id"],
            channel=row["channel"],
            category=row["category"],
            received_on=row["received_on"],
            steps=tuple((_day(on), st, dl) for on, st, dl in row["steps"]),
            alerts=tuple((_day(on), k, _day(due)) for on, k, due in row["alerts"]),
            forwards=tuple((_day(on), u, a) for on, u, a in row["forwards"]),
            replies=tuple((_day(on), ok) for on, ok in row["replies"]),
            answered_on=row["answered_on"],
            delay_notices=tuple(row["delay_notices"]),
        )

    def state_on(self, day: date) -> tuple[str, dict[str, Any]] | None:
        """Status and deadlines as they stood at the end of ``day`` (None: not yet received)."""
        now = None
        for on, status, deadlines in self.steps:
            if on <= day:
                now = (status, deadlines)
        return now

    def outstanding_on(self, day: date) -> bool:
        state = self.state_on(day)
        return state is not None and state[0] in OPEN

    def overdue_on(self, day: date) -> bool:
        """Outstanding, and time had recorded a watched deadline of that day as passed."""
        state = self.state_on(day)
        if state is None or state[0] not in OPEN:
            return False
        status, deadlines = state
        return any(
            noticed <= day and status in PENDING.get(kind, ()) and deadlines.get(kind) == due.isoformat()
            for noticed, kind, due in self.alerts
        )

    def resolutions(self) -> Iterable[date]:
        """The days it was answered: on the spot, or by a written reply."""
        if self.answered_on is not None:
            yield self.answered_on
        for on, _ in self.replies:
            yield on
