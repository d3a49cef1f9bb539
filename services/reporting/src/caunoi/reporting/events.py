"""The reporting service's events: its public contract (see docs/events/reporting/).

Everything is on stream ``REPORTING``, one subject per aggregate,
``caunoi.reporting.<aggregate id>.<unit path>``:

- a unit's **enrolment** (``enrolment-<unit code>``): which report schedules it owes
  (``UnitEnrolled``, replacing any earlier list; ``EnrolmentEnded``);
- a **report** (``BC-<unit code>-<schedule>-<period>``, one per unit, schedule and period; an ad
  hoc one ``BC-<unit code>-adhoc-<reference>``): ``ReportDue`` when its period fell due (what time
  causes, once), ``ReportOpened`` when a clerk opened the draft before that, ``NarrativeWritten``,
  ``FigureCorrected`` (the computed value kept beside the correction), ``ReportSubmitted`` (the
  report as filed: every figure, the corrections, the narrative, the table by sub-unit and the
  monthly series of its charts, so the filed report never changes), ``ReportOverdue`` when its
  deadline passed unsubmitted.

**``ReportDue`` and ``ReportOverdue`` are what other services wait for** (notify reminds the
unit): each carries the unit, its path, the schedule, the period and the deadline.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from caunoi.shared.events import DomainEvent, EventRegistry

registry = EventRegistry()
NS = "vn.caunoi.reporting"


class Section(StrEnum):
    """Parts of a report's narrative, as the provincial reports in the seeds have them."""

    situation = "situation"  # tình hình chung
    assessment = "assessment"  # nhận xét, đánh giá
    proposals = "proposals"  # kiến nghị, đề xuất


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NamedUnit(_Part):
    """A unit (official code) or a hamlet (its local id), with its name."""

    code: str
    name: str


class Forward(_Part):
    """Forwards to one unit (and agency) in the period."""

    to_unit: str
    to_agency: str | None = None
    count: int


class Figures(_Part):
    """Every figure of a results report (DOMAIN.md, "What a results report contains"), for one
    unit's area and one period. Dates decide the period: a meeting's ``held_on``, a petition's
    ``received_on``, an answer's, forward's, reply's or notice's own date; ``outstanding`` and
    ``overdue`` are as things stood on the period's last day."""

    #: meetings dated in the period and not cancelled; those held (by programme); attendees
    meetings_planned: int
    meetings_held: int
    meetings_held_p1: int
    meetings_held_p2: int
    attendees: int
    #: the places that should hold meetings (the communes below, or a commune's hamlets) and those that held none
    units_total: int
    units_without_meeting: list[NamedUnit]
    #: opinions raised (received) in the period, at meetings, by field and by channel
    opinions: int
    opinions_at_meetings: int
    opinions_by_field: dict[str, int]
    opinions_by_channel: dict[str, int]
    answered_on_spot: int
    #: petitions forwarded in the period, and the forwards by receiving unit and agency
    forwarded: int
    forwarded_to: list[Forward]
    #: answered on the spot or by a written reply in the period
    resolved: int
    replies_sent: int
    delay_notices_sent: int
    outstanding: int
    overdue: int
    #: written replies in the period measured against a deadline, and those within it
    on_time: int
    timed: int
    on_time_rate: float | None
    #: "Dân vận khéo" models: registered in the period; evaluated in it (a model once, by its last
    #: evaluation in the period), by level; recognised in it (notices issued) by tier; commended in it
    models_registered: int
    models_evaluated: int
    models_exceeded: int
    models_met: int
    models_below: int
    models_recognised_grassroots: int
    models_recognised_district: int
    models_recognised_province: int
    models_commended: int


#: the models' figures (ReportSubmitted v2); a report filed before them counted none (there were none)
MODEL_FIGURES = (
    "models_registered", "models_evaluated", "models_exceeded", "models_met", "models_below",
    "models_recognised_grassroots", "models_recognised_district", "models_recognised_province", "models_commended",
)  # fmt: skip


def with_model_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """Figures filed before the models' figures existed, with those as 0."""
    return {**dict.fromkeys(MODEL_FIGURES, 0), **figures}


def compilation_with_model_figures(comp: dict[str, Any]) -> dict[str, Any]:
    """A compilation (as JSON) filed before the models' figures existed, with those as 0."""
    by_unit = [{**u, "figures": with_model_figures(u["figures"])} for u in comp["by_unit"]]
    return {**comp, "totals": with_model_figures(comp["totals"]), "by_unit": by_unit}


class UnitFigures(_Part):
    """The figures of one unit below (a district, a commune or a hamlet)."""

    code: str
    name: str
    figures: Figures


class Series(_Part):
    """Month by month over the twelve months to the period's end: what the charts draw."""

    months: list[str]
    #: meetings held per month, per unit below (code -> one count a month)
    meetings_by_unit: dict[str, list[int]]
    on_time_rate: list[float | None]
    opinions: list[int]


class Compilation(_Part):
    """A report's figures as compiled: the area's, each unit's below, the monthly series."""

    unit_code: str
    period_start: dt.date
    period_end: dt.date
    totals: Figures
    by_unit: list[UnitFigures]
    series: Series
    #: stream positions the read models had reached (what the figures were compiled from)
    compiled_from: dict[str, int]


class _ReportHead(DomainEvent):
    """What places a report: whose, which schedule and period, and when it is due."""

    report_id: str
    unit_code: str
    unit_name: str
    unit_level: str
    unit_path: list[str]
    dataset: str
    #: the unit the report goes to (the tier above); None for a province
    to_unit: str | None = None
    schedule: str
    schedule_title: str
    schedules_version: str
    period: str
    period_label: str
    period_start: dt.date
    period_end: dt.date
    #: when it fell due (its figures compiled) and its deadline; None for an ad-hoc report
    opens_at: dt.datetime | None = None
    due_at: dt.datetime | None = None


@registry.register
class ReportDue(_ReportHead):
    """A report's period fell due (đến hạn báo cáo): recorded by time, once per unit, schedule and
    period, at the schedule's compile time."""

    NAME = f"{NS}.ReportDue"


@registry.register
class ReportOpened(_ReportHead):
    """A clerk opened the report's draft (before it fell due, or an ad-hoc report)."""

    NAME = f"{NS}.ReportOpened"
    title: str | None = None
    opened_on: dt.date


@registry.register
class NarrativeWritten(DomainEvent):
    """A part of the narrative written (or rewritten; empty text removes it)."""

    NAME = f"{NS}.NarrativeWritten"
    report_id: str
    section: Section
    text: str


@registry.register
class FigureCorrected(DomainEvent):
    """A figure corrected by the unit, with the reason; ``computed`` is what the compilation gave
    then (kept beside the correction); ``value`` None withdraws the correction."""

    NAME = f"{NS}.FigureCorrected"
    report_id: str
    figure: str
    computed: int
    value: int | None
    reason: str


@registry.register
class ReportSubmitted(DomainEvent):
    """The report as filed: the compilation, the corrections and the final figures, the narrative.
    v2: the figures include the "Dân vận khéo" models' (``MODEL_FIGURES``)."""

    NAME = f"{NS}.ReportSubmitted"
    VERSION = 2
    report_id: str
    unit_code: str
    schedule: str
    period: str
    submitted_at: dt.datetime
    due_at: dt.datetime | None = None
    late: bool
    compilation: Compilation
    corrections: dict[str, int]
    #: the figures as filed: computed, with the corrections applied
    final: Figures
    narrative: dict[Section, str]


@registry.upcaster(ReportSubmitted.NAME, 1)
def _submitted_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 had no models' figures: no model was recorded then, so they are 0."""
    comp = compilation_with_model_figures(data["compilation"])
    return {**data, "compilation": comp, "final": with_model_figures(data["final"])}


@registry.register
class ReportOverdue(DomainEvent):
    """The deadline passed and the report was not submitted (quá hạn báo cáo)."""

    NAME = f"{NS}.ReportOverdue"
    report_id: str
    unit_code: str
    to_unit: str | None = None
    schedule: str
    period: str
    due_at: dt.datetime
    noticed_at: dt.datetime


@registry.register
class UnitEnrolled(DomainEvent):
    """The unit owes these report schedules from ``since`` on; replaces any earlier list."""

    NAME = f"{NS}.UnitEnrolled"
    unit_code: str
    unit_name: str
    unit_level: str
    unit_path: list[str]
    dataset: str
    schedules: list[str] = Field(min_length=1)
    since: dt.date
    schedules_version: str


@registry.register
class EnrolmentEnded(DomainEvent):
    """The unit owes no report any more (from ``until`` on)."""

    NAME = f"{NS}.EnrolmentEnded"
    unit_code: str
    until: dt.date
    reason: str


# The "Dân vận khéo" models' events are in their own module, registered in this same registry.
from caunoi.reporting import model_events as _model_events  # noqa: E402, F401
