"""The reporting service's read models (PostgreSQL), each a projection with its own schema:

- ``reporting`` (table ``reports``): one row per report, its state (from this service's events);
- ``enrolments``: one row per enrolled unit, the schedules it owes;
- ``petition_facts``: one row per petition, its life as a report counts it, from the **petitions
  service's events** (stream ``PETITIONS``, :mod:`caunoi.reporting.petitions_contract`);
- ``meeting_facts``: one row per meeting, from the **scheduling service's events** (stream
  ``SCHEDULING``, :mod:`caunoi.reporting.scheduling_contract`);
- ``hamlets``: this service's copy of the hamlet list (the kernel's shared contract).

Never another service's tables: compilation reads only these. Queries are in
:mod:`caunoi.reporting.queries`.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from caunoi.reporting.domain import petition_life
from caunoi.reporting.events import (
    EnrolmentEnded,
    FigureCorrected,
    NarrativeWritten,
    ReportDue,
    ReportOpened,
    ReportOverdue,
    ReportSubmitted,
    UnitEnrolled,
)
from caunoi.reporting.scheduling_contract import (
    MeetingCancelled,
    MeetingHeld,
    MeetingMoved,
    MeetingPlanned,
    MeetingPostponed,
    MeetingProposed,
)
from caunoi.shared.clock import VN
from caunoi.shared.jsonb import decoded, dumps, encoded, loads
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.units import qualified_path

REPORTS = "reporting"
ENROLMENTS = "enrolments"
PETITION_FACTS = "petition_facts"
MEETING_FACTS = "meeting_facts"
HAMLETS = "hamlets"


class EnrolmentsProjection(RowPerAggregate):
    name = ENROLMENTS
    table = "enrolments"
    columns: ClassVar[dict[str, str]] = {
        "unit_code": "text PRIMARY KEY",
        "unit_name": "text NOT NULL",
        "unit_level": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "schedules": "text[] NOT NULL",
        "since": "date NOT NULL",
        "until": "date",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {"enrolments_unit_path": "USING gin (unit_path)"}

    def key(self, rec: RecordedEvent) -> str | None:
        ev = rec.event
        return ev.unit_code if isinstance(ev, UnitEnrolled | EnrolmentEnded) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, UnitEnrolled):
            return {
                "unit_code": ev.unit_code, "unit_name": ev.unit_name, "unit_level": ev.unit_level,
                "unit_path": list(ev.unit_path), "dataset": ev.dataset, "schedules": list(ev.schedules),
                "since": ev.since, "until": None, "last_seq": rec.seq,
            }  # fmt: skip
        if isinstance(ev, EnrolmentEnded) and row is not None:
            return {**row, "until": ev.until, "last_seq": rec.seq}
        return row


REPORT_EVENTS = (ReportDue, ReportOpened, NarrativeWritten, FigureCorrected, ReportSubmitted, ReportOverdue)


class ReportsProjection(RowPerAggregate):
    """One row per report: the fold of its events."""

    name = REPORTS
    table = "reports"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "unit_code": "text NOT NULL",
        "unit_name": "text NOT NULL",
        "unit_level": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "to_unit": "text",
        "schedule": "text NOT NULL",
        "schedule_title": "text NOT NULL",
        "period": "text NOT NULL",
        "period_label": "text NOT NULL",
        "period_start": "date NOT NULL",
        "period_end": "date NOT NULL",
        "opens_at": "timestamptz",
        "due_at": "timestamptz",
        "title": "text",
        "due_recorded_at": "timestamptz",
        "opened_on": "date",
        "overdue_at": "timestamptz",
        "submitted_at": "timestamptz",
        "late": "boolean",
        #: section -> text; figure -> {value, computed, reason}
        "narrative": "jsonb NOT NULL",
        "corrections": "jsonb NOT NULL",
        #: the report as filed: {compilation, corrections, final}
        "filed": "jsonb",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {
        "reports_unit_path": "USING gin (unit_path)",
        "reports_schedule_period": "(schedule, period)",
        "reports_due": "(due_at) WHERE submitted_at IS NULL AND overdue_at IS NULL",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject if isinstance(rec.event, REPORT_EVENTS) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev, at = rec.event, rec.envelope.time
        if isinstance(ev, ReportDue | ReportOpened):
            if row is None:
                row = {
                    **{k: getattr(ev, k) for k in ReportDue.model_fields if k in self.columns},
                    "id": ev.report_id, "title": None, "due_recorded_at": None, "opened_on": None,
                    "overdue_at": None, "submitted_at": None, "late": None, "narrative": "{}", "corrections": "{}",
                    "filed": None,
                }  # fmt: skip
            if isinstance(ev, ReportDue):
                row = {**row, "due_recorded_at": at}
            else:
                row = {**row, "opened_on": ev.opened_on, "title": ev.title}
            return {**row, "updated_at": at, "last_seq": rec.seq}
        if row is None:
            raise LookupError(f"report {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        change: Row
        match ev:
            case NarrativeWritten():
                narrative = {k: v for k, v in loads(row["narrative"]).items() if k != ev.section.value}
                if ev.text:
                    narrative[ev.section.value] = ev.text
                change = {"narrative": dumps(narrative)}
            case FigureCorrected():
                corrections = {k: v for k, v in loads(row["corrections"]).items() if k != ev.figure}
                if ev.value is not None:
                    corrections[ev.figure] = {"value": ev.value, "computed": ev.computed, "reason": ev.reason}
                change = {"corrections": dumps(corrections)}
            case ReportSubmitted():
                filed = {
                    "compilation": ev.compilation.model_dump(mode="json"), "corrections": ev.corrections,
                    "final": ev.final.model_dump(mode="json"),
                }  # fmt: skip
                change = {"submitted_at": ev.submitted_at, "late": ev.late, "filed": dumps(filed)}
            case ReportOverdue():
                change = {"overdue_at": ev.noticed_at}
            case _:
                return row
        return {**row, **change, "updated_at": at, "last_seq": rec.seq}


class PetitionFactsProjection(RowPerAggregate):
    """One row per petition: its life as a report counts it (:mod:`..domain.petition_life`)."""

    name = PETITION_FACTS
    table = "petitions"
    #: kept as JSON (lists of dated steps)
    JSON = ("deadlines", "steps", "alerts", "forwards", "replies")
    columns: ClassVar[dict[str, str]] = {
        "petition_id": "text PRIMARY KEY",
        "dataset": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        #: the unit path qualified by dataset (``vn-2025:08``): what an area matches
        "reach": "text[] NOT NULL",
        "commune_code": "text NOT NULL",
        "hamlet_id": "text",
        "hamlet_name": "text",
        "meeting_id": "text",
        "channel": "text NOT NULL",
        "kind": "text NOT NULL",
        "category": "text NOT NULL",
        "received_on": "date NOT NULL",
        "status": "text NOT NULL",
        "deadlines": "jsonb NOT NULL",
        "steps": "jsonb NOT NULL",
        "alerts": "jsonb NOT NULL",
        "forwards": "jsonb NOT NULL",
        "replies": "jsonb NOT NULL",
        "answered_on": "date",
        "delay_notices": "date[] NOT NULL",
        #: the day it last stopped being open (resolved, withdrawn...); None while open
        "settled_on": "date",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {
        "petition_facts_reach": "USING gin (reach)",
        "petition_facts_received": "(received_on)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        current = None if row is None else decoded(row, self.JSON)
        day: date = rec.envelope.time.astimezone(VN).date()
        after = petition_life.fold(current, rec.event, day)
        if after is None or after is current:
            return row
        return {**encoded(after, self.JSON), "last_seq": rec.seq}


MEETING_EVENTS = (MeetingProposed, MeetingPlanned, MeetingMoved, MeetingPostponed, MeetingCancelled, MeetingHeld)


class MeetingFactsProjection(RowPerAggregate):
    """One row per meeting: where and when it is (or was) held, and who attended."""

    name = MEETING_FACTS
    table = "meetings"
    columns: ClassVar[dict[str, str]] = {
        "meeting_id": "text PRIMARY KEY",
        "programme": "text NOT NULL",
        "commune_code": "text NOT NULL",
        "dataset": "text NOT NULL",
        "reach": "text[] NOT NULL",
        "host_id": "text",
        "host_name": "text",
        "date": "date NOT NULL",
        "cancelled": "boolean NOT NULL",
        "held_on": "date",
        "attendees": "integer NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {"meeting_facts_reach": "USING gin (reach)"}

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject if isinstance(rec.event, MEETING_EVENTS) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, MeetingProposed | MeetingPlanned):
            return {
                "meeting_id": ev.meeting_id, "programme": ev.programme, "commune_code": ev.commune_code,
                "dataset": ev.dataset, "reach": qualified_path(ev.dataset, ev.unit_path), "host_id": ev.host_id,
                "host_name": ev.host_name, "date": ev.date, "cancelled": False, "held_on": None, "attendees": 0,
                "last_seq": rec.seq,
            }  # fmt: skip
        if row is None:
            return None  # a meeting this reader never saw planned
        change: Row
        match ev:
            case MeetingMoved():
                change = {"date": ev.date, "host_id": ev.host_id, "host_name": ev.host_name}
            case MeetingPostponed():
                change = {"date": ev.date}
            case MeetingCancelled():
                change = {"cancelled": True}
            case MeetingHeld():
                change = {
                    "programme": ev.programme, "host_id": ev.host_id, "host_name": ev.host_name,
                    "held_on": ev.held_on, "attendees": ev.attendees_total,
                    "reach": qualified_path(ev.dataset, ev.unit_path),
                }  # fmt: skip
            case _:
                return row
        return {**row, **change, "last_seq": rec.seq}
