"""A unit's enrolment (aggregate ``enrolment-<unit code>``): which report schedules it owes.

Nothing is owed by default: the country has some 3,300 communes (10,000 before 2025), and a report
per commune, schedule and period for all of them would be hundreds of thousands of aggregates a
year that no one reads. A unit owes reports once it, or a unit above it, or an operator enrols it
(``UnitEnrolled``, which replaces any earlier list), from the date given (at most a year back: the
periods fallen due since then are owed at once) until the enrolment ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from caunoi.reporting.commands import EndEnrolment, Enrol
from caunoi.reporting.domain.periods import Schedules
from caunoi.reporting.domain.reports import check_schedule
from caunoi.reporting.events import EnrolmentEnded, UnitEnrolled
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.units import UnitTree, require_unit

#: how far back an enrolment may start (what falls due since then is owed at once)
MAX_BACKDATE = timedelta(days=366)


def enrolment_id(unit_code: str) -> str:
    return f"enrolment-{unit_code}"


@dataclass(frozen=True)
class Enrolment:
    unit_code: str = ""
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    schedules: tuple[str, ...] = ()
    since: date | None = None
    ended: bool = False

    @property
    def exists(self) -> bool:
        return bool(self.unit_code)


def evolve(state: Enrolment, event: DomainEvent) -> Enrolment:
    if isinstance(event, UnitEnrolled):
        return Enrolment(event.unit_code, tuple(event.unit_path), event.dataset, tuple(event.schedules), event.since)
    if isinstance(event, EnrolmentEnded):
        return Enrolment(state.unit_code, state.unit_path, state.dataset, state.schedules, state.since, ended=True)
    return state


ENROLMENT = AggregateKind[Enrolment](
    "enrolment", Enrolment, evolve, lambda s: Scope(s.unit_code, s.dataset, list(s.unit_path))
)


@dataclass(frozen=True)
class Facts:
    today: date
    units: UnitTree
    schedules: Schedules


def decide_enrol(state: Enrolment, cmd: Enrol, facts: Facts) -> list[DomainEvent]:
    unit = require_unit(facts.units, cmd.unit_code, field="unit_code")
    for sid in cmd.schedules:
        check_schedule(facts.schedules.get(sid), sid, unit, facts.units.dataset)
    if len(set(cmd.schedules)) != len(cmd.schedules):
        raise ValidationFailed("Chế độ báo cáo bị trùng", message_en="a schedule is listed twice", field="schedules")
    since = cmd.since or facts.today
    if not facts.today - MAX_BACKDATE <= since <= facts.today + MAX_BACKDATE:
        raise ValidationFailed(
            "Ngày bắt đầu phải trong vòng một năm trước hoặc sau hôm nay",
            message_en="since must be within a year of today", field="since",
        )  # fmt: skip
    if not state.ended and state.schedules == tuple(cmd.schedules) and state.since == since:
        raise InvalidState("Đăng ký không thay đổi", message_en="the enrolment is unchanged", field="schedules")
    return [
        UnitEnrolled(
            unit_code=unit.code, unit_name=unit.name, unit_level=unit.level, unit_path=facts.units.path(unit.code),
            dataset=facts.units.dataset, schedules=list(cmd.schedules), since=since,
            schedules_version=facts.schedules.version,
        )
    ]  # fmt: skip


def decide_end(state: Enrolment, cmd: EndEnrolment, facts: Facts) -> list[DomainEvent]:
    if not state.exists:
        raise NotFound(
            f"Đơn vị {cmd.unit_code} chưa đăng ký chế độ báo cáo", message_en=f"{cmd.unit_code} is not enrolled",
            field="unit_code",
        )  # fmt: skip
    if state.ended:
        raise InvalidState("Đăng ký đã kết thúc", message_en="the enrolment already ended", field="unit_code")
    return [EnrolmentEnded(unit_code=state.unit_code, until=cmd.until or facts.today, reason=cmd.reason)]
