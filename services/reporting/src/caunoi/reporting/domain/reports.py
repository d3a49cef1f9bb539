"""A report (aggregate ``BC-<unit>-<schedule>-<period>``): one per unit, schedule and period.

    (time) --ReportDue--> due ----narrative, corrections----> --submit--> submitted (late if after the deadline)
    (clerk) --ReportOpened--> draft --(time) ReportDue--> due                  \\--(time, unsubmitted) ReportOverdue

Its figures are never stored while it is a draft: they are compiled from the read models each
time it is shown, so they are always the current ones; a correction keeps the value computed at
that moment beside it, and the submission records the whole compilation as filed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from caunoi.reporting.commands import CorrectFigure, OpenReport, SubmitReport, WriteNarrative
from caunoi.reporting.domain.figures import CORRECTABLE, with_corrections
from caunoi.reporting.domain.periods import Period, Schedule
from caunoi.reporting.events import (
    Compilation,
    FigureCorrected,
    NarrativeWritten,
    ReportDue,
    ReportOpened,
    ReportOverdue,
    ReportSubmitted,
    Section,
)
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.ids import report_id
from caunoi.shared.units import Unit, UnitTree

ADHOC = "adhoc"


@dataclass(frozen=True)
class Correction:
    value: int
    computed: int
    reason: str


@dataclass(frozen=True)
class Report:
    id: str = ""
    head: Mapping[str, Any] = field(default_factory=dict)
    due_recorded: bool = False
    overdue_recorded: bool = False
    narrative: Mapping[Section, str] = field(default_factory=dict)
    corrections: Mapping[str, Correction] = field(default_factory=dict)
    submitted_at: datetime | None = None
    late: bool = False

    @property
    def exists(self) -> bool:
        return bool(self.head)

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def due_at(self) -> datetime | None:
        due: datetime | None = self.head.get("due_at")
        return due


HEAD_FIELDS = tuple(ReportDue.model_fields)


def evolve(state: Report, event: DomainEvent) -> Report:
    match event:
        case ReportDue():
            head = state.head or {k: getattr(event, k) for k in HEAD_FIELDS}
            return replace(state, id=event.report_id, head=head, due_recorded=True)
        case ReportOpened():
            opened = {**{k: getattr(event, k) for k in HEAD_FIELDS}, "title": event.title}
            return replace(state, id=event.report_id, head=opened)
        case NarrativeWritten():
            narrative = {k: v for k, v in state.narrative.items() if k is not event.section}
            if event.text.strip():
                narrative[event.section] = event.text
            return replace(state, narrative=narrative)
        case FigureCorrected():
            corrections = {k: v for k, v in state.corrections.items() if k != event.figure}
            if event.value is not None:
                corrections[event.figure] = Correction(event.value, event.computed, event.reason)
            return replace(state, corrections=corrections)
        case ReportSubmitted():
            return replace(state, submitted_at=event.submitted_at, late=event.late)
        case ReportOverdue():
            return replace(state, overdue_recorded=True)
    return state


def scope(state: Report) -> Scope:
    h = state.head
    return Scope(h.get("unit_code", ""), h.get("dataset"), list(h.get("unit_path", ())))


REPORT = AggregateKind[Report]("report", Report, evolve, scope)


def head(unit: Unit, tree: UnitTree, schedule_id: str, title: str, version: str, period: Period) -> dict[str, Any]:
    """What places a report: the unit, the tier it goes to, the schedule and the period."""
    return {
        "report_id": report_id(unit.code, schedule_id, period.key),
        "unit_code": unit.code,
        "unit_name": unit.name,
        "unit_level": unit.level,
        "unit_path": tree.path(unit.code),
        "dataset": tree.dataset,
        "to_unit": unit.parent_code,
        "schedule": schedule_id,
        "schedule_title": title,
        "schedules_version": version,
        "period": period.key,
        "period_label": period.label_vi,
        "period_start": period.start,
        "period_end": period.end,
        "opens_at": period.opens_at if schedule_id != ADHOC else None,
        "due_at": period.due_at if schedule_id != ADHOC else None,
    }


def check_schedule(schedule: Schedule | None, schedule_id: str, unit: Unit, dataset: str) -> Schedule:
    if schedule is None:
        raise NotFound(
            f"Không có chế độ báo cáo «{schedule_id}»", code="unknown_schedule",
            message_en=f"no report schedule {schedule_id!r}", field="schedule",
        )  # fmt: skip
    if not schedule.applies_to(unit.level, dataset):
        raise ValidationFailed(
            f"Chế độ «{schedule.vi}» không áp dụng cho {unit.name} (cấp {unit.level}, danh mục {dataset})",
            message_en=f"schedule {schedule.id} does not apply to {unit.code} ({unit.level}, {dataset})",
            field="schedule",
            details={"levels": list(schedule.levels), "datasets": list(schedule.datasets)},
        )
    return schedule


# --- what time causes ---------------------------------------------------------------------------


def decide_due(state: Report, spec: Mapping[str, Any], now: datetime) -> list[DomainEvent]:
    """``ReportDue`` once, when its period fell due."""
    if state.due_recorded or spec["opens_at"] is None or spec["opens_at"] > now:
        return []
    return [ReportDue(**spec)]


def decide_overdue(state: Report, now: datetime) -> list[DomainEvent]:
    """``ReportOverdue`` once, when the deadline passed and it was not submitted."""
    due = state.due_at
    if not state.due_recorded or state.submitted or state.overdue_recorded or due is None or due >= now:
        return []
    h = state.head
    return [
        ReportOverdue(
            report_id=state.id, unit_code=h["unit_code"], to_unit=h["to_unit"], schedule=h["schedule"],
            period=h["period"], due_at=due, noticed_at=now,
        )
    ]  # fmt: skip


# --- the clerk's steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenFacts:
    today: date
    spec: Mapping[str, Any]
    title: str | None = None


def decide_open(state: Report, cmd: OpenReport, facts: OpenFacts) -> list[DomainEvent]:
    if state.exists:
        raise InvalidState(
            f"Báo cáo {state.id} đã được mở", code="duplicate", message_en=f"report {state.id} is already open",
            details={"report_id": state.id},
        )  # fmt: skip
    return [ReportOpened(**facts.spec, title=facts.title, opened_on=facts.today)]


#: the filing unit's commands on a report, by request name (``caunoi.cmd.reporting.<name>``)
FILING = ("narrative", "correct", "submit")


def period_over(state: Report, today: date) -> bool:
    """A report is submitted once its period has ended."""
    end: date = state.head["period_end"]
    return today >= end


def available_actions(state: Report, files_it: bool, today: date) -> list[str]:
    """The filing commands this report's state allows an actor, by request name: what a client
    offers. ``files_it``: the actor files it (its own unit, or national; the handlers check the
    same). The decisions check the same state, so an offered command is refused only for its input
    (or a change made since)."""
    if not files_it or not state.exists or state.submitted:
        return []
    return [name for name in FILING if name != "submit" or period_over(state, today)]


def editable(state: Report, report_id_: str) -> None:
    if not state.exists:
        raise NotFound(f"Không có báo cáo {report_id_}", message_en=f"no report {report_id_}", field="report_id")
    if state.submitted:
        raise InvalidState(
            f"Báo cáo {state.id} đã nộp, không sửa được", message_en=f"report {state.id} was submitted; it is final"
        )


def decide_narrative(state: Report, cmd: WriteNarrative, facts: None = None) -> list[DomainEvent]:
    editable(state, cmd.report_id)
    if state.narrative.get(cmd.section, "") == cmd.text.strip():
        return []
    return [NarrativeWritten(report_id=state.id, section=cmd.section, text=cmd.text.strip())]


def decide_correct(state: Report, cmd: CorrectFigure, computed: Mapping[str, Any]) -> list[DomainEvent]:
    """``computed``: the figures as compiled now, kept beside the correction."""
    editable(state, cmd.report_id)
    if cmd.figure not in CORRECTABLE:
        raise ValidationFailed(
            f"Không sửa được chỉ tiêu «{cmd.figure}»", message_en=f"figure {cmd.figure!r} cannot be corrected",
            field="figure", details={"correctable": list(CORRECTABLE)},
        )  # fmt: skip
    if cmd.value is None and cmd.figure not in state.corrections:
        raise InvalidState(
            f"Chỉ tiêu «{cmd.figure}» chưa được sửa", message_en=f"figure {cmd.figure!r} has no correction",
            field="figure",
        )  # fmt: skip
    return [
        FigureCorrected(
            report_id=state.id, figure=cmd.figure, computed=int(computed[cmd.figure]), value=cmd.value,
            reason=cmd.reason,
        )
    ]  # fmt: skip


@dataclass(frozen=True)
class SubmitFacts:
    today: date
    now: datetime
    compilation: Compilation


def decide_submit(state: Report, cmd: SubmitReport, facts: SubmitFacts) -> list[DomainEvent]:
    editable(state, cmd.report_id)
    end: date = state.head["period_end"]
    if not period_over(state, facts.today):
        raise InvalidState(
            f"Kỳ báo cáo đến hết ngày {end:%d/%m/%Y}; chưa nộp được",
            message_en=f"the period runs until {end}; it cannot be submitted yet", details={"period_end": end},
        )  # fmt: skip
    corrections = {k: c.value for k, c in state.corrections.items()}
    due = state.due_at
    return [
        ReportSubmitted(
            report_id=state.id, unit_code=state.head["unit_code"], schedule=state.head["schedule"],
            period=state.head["period"], submitted_at=facts.now, due_at=due,
            late=due is not None and facts.now > due, compilation=facts.compilation, corrections=corrections,
            final=with_corrections(facts.compilation.totals, corrections), narrative=dict(state.narrative),
        )
    ]  # fmt: skip
