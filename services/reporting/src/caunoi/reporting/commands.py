"""Request bodies of the reporting service (``caunoi.cmd.reporting.*``, ``caunoi.q.reporting.*``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from caunoi.reporting.events import Section
from caunoi.shared.endpoints import Command, Request
from caunoi.shared.ids import ReportId, UnitCode
from caunoi.shared.validation import invalid, require_order

ScheduleId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,39}$")]
#: a period's key: ``YYYY-MM`` (its last month) or ``YYYY-Www`` (a week)
PeriodKey = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^\d{4}-(W\d{2}|\d{2})$")]
Reason = Field(min_length=1, max_length=2000)


class ReportStatus(StrEnum):
    """Where a report stands, as the tier above sees it."""

    pending = "pending"  # not due yet, or due and its deadline not passed (đang chờ)
    submitted = "submitted"  # submitted in time (đã nộp)
    late = "late"  # submitted after the deadline (nộp muộn)
    missing = "missing"  # the deadline passed, not submitted (chưa nộp, quá hạn)


class Enrol(Command):
    """Đăng ký đơn vị thực hiện chế độ báo cáo: the unit owes these schedules from ``since``."""

    unit_code: UnitCode
    schedules: list[ScheduleId] = Field(min_length=1, max_length=20)
    #: default today; at most a year back (the periods fallen due since then are owed at once)
    since: dt.date | None = None


class EndEnrolment(Command):
    unit_code: UnitCode
    reason: str = Reason
    until: dt.date | None = None


class ListEnrolments(Request):
    unit: UnitCode | None = None


class ListSchedules(Request):
    pass


class Compile(Request):
    """A unit's figures for a schedule's period (its key; default the last fallen due), or for
    any dates ``from_date``-``to_date``."""

    unit: UnitCode | None = None
    schedule: ScheduleId | None = None
    period: PeriodKey | None = None
    from_date: dt.date | None = None
    to_date: dt.date | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Compile:
        if self.from_date is not None or self.to_date is not None:
            if self.schedule or self.period:
                raise invalid(
                    "schedule",
                    "Chọn kỳ báo cáo theo chế độ, hoặc một khoảng ngày: không cả hai",
                    "give either schedule (and period) or from_date and to_date, not both",
                )
            if self.from_date is None or self.to_date is None:
                raise invalid(
                    "from_date" if self.from_date is None else "to_date",
                    "Cần cả từ ngày và đến ngày",
                    "give both from_date and to_date",
                )
            require_order(self.from_date, self.to_date, "to_date")
        elif not self.schedule:
            raise invalid(
                "schedule",
                "Chọn chế độ báo cáo (và kỳ), hoặc từ ngày và đến ngày",
                "give a schedule (and period), or from_date and to_date",
            )
        return self


class OpenReport(Command):
    """Mở dự thảo báo cáo: a schedule's period (default the last fallen due), or an ad-hoc report
    (``title``, ``from_date``, ``to_date``)."""

    unit_code: UnitCode
    schedule: ScheduleId | None = None
    period: PeriodKey | None = None
    title: str | None = Field(default=None, min_length=1, max_length=500)
    from_date: dt.date | None = None
    to_date: dt.date | None = None

    @model_validator(mode="after")
    def _one_way(self) -> OpenReport:
        adhoc = {"title": self.title, "from_date": self.from_date, "to_date": self.to_date}
        given = [k for k, v in adhoc.items() if v is not None]
        if self.schedule is not None and given:
            raise invalid(
                "schedule",
                "Báo cáo đột xuất (tiêu đề, từ ngày, đến ngày) không theo chế độ báo cáo nào",
                "an ad-hoc report (title, dates) has no schedule",
            )
        if self.schedule is None and len(given) < len(adhoc):
            raise invalid(
                next(k for k in adhoc if k not in given) if given else "schedule",
                "Chọn chế độ báo cáo, hoặc ghi tiêu đề, từ ngày và đến ngày của báo cáo đột xuất",
                "give a schedule, or an ad-hoc report's title, from_date and to_date",
            )
        require_order(self.from_date, self.to_date, "to_date")
        return self


class WriteNarrative(Command):
    report_id: ReportId
    section: Section
    #: empty removes the section
    text: str = Field(max_length=20_000)


class CorrectFigure(Command):
    report_id: ReportId
    figure: str = Field(min_length=1, max_length=60)
    #: the corrected value; None withdraws the correction
    value: int | None = Field(default=None, ge=0, le=100_000_000)
    reason: str = Reason


class SubmitReport(Command):
    report_id: ReportId


class ListReports(Request):
    """The reports of the units under ``unit``: submitted, late, missing, pending."""

    unit: UnitCode | None = None
    schedule: ScheduleId | None = None
    period: PeriodKey | None = None
    status: ReportStatus | None = None
    limit: int = Field(default=500, ge=1, le=10_000)


class ShowReport(Request):
    report_id: ReportId
