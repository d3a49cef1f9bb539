"""Programme 3, "province knows down to the commune, district to the village, commune to each
citizen" (seed 003): a cadre assigned to follow an area (aggregate ``PC-XXXXXXXX``), reassigned to
another cadre, ended. The assignment belongs to the cadre's unit, which made it.

How deep each tier follows: a province cadre follows a commune of the province; a district cadre
a commune or a village (hamlet) of the district; a commune cadre a village of the commune, or
citizens and members (named by a description, optionally within a village).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from caunoi.scheduling.commands import AssignCadre, EndAssignment, ReassignCadre
from caunoi.scheduling.domain.rules import FOLLOW_AREAS, RuleViolated
from caunoi.scheduling.events import AreaKind, AssignmentEnded, CadreAssigned, CadreReassigned
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletRecord
from caunoi.shared.units import LEVEL_COMMUNE, LEVEL_DISTRICT, LEVEL_PROVINCE, UnitTree, require_unit

#: what a cadre of each level may follow
REACH: dict[str, frozenset[AreaKind]] = {
    LEVEL_PROVINCE: frozenset({AreaKind.commune}),
    LEVEL_DISTRICT: frozenset({AreaKind.commune, AreaKind.hamlet}),
    LEVEL_COMMUNE: frozenset({AreaKind.hamlet, AreaKind.citizens}),
}


@dataclass(frozen=True)
class Period:
    cadre: str
    start: date
    end: date | None = None


@dataclass(frozen=True)
class Assignment:
    assignment_id: str = ""
    cadre_unit: str = ""
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    area_kind: AreaKind | None = None
    area_name: str = ""
    periods: tuple[Period, ...] = ()

    @property
    def exists(self) -> bool:
        return bool(self.periods)

    @property
    def current(self) -> Period:
        return self.periods[-1]

    @property
    def ended(self) -> bool:
        return self.exists and self.current.end is not None


def initial() -> Assignment:
    return Assignment()


def _close(periods: tuple[Period, ...], on: date) -> tuple[Period, ...]:
    return (*periods[:-1], replace(periods[-1], end=on))


def evolve(state: Assignment, event: DomainEvent) -> Assignment:
    match event:
        case CadreAssigned():
            return Assignment(
                event.assignment_id,
                event.cadre_unit,
                tuple(event.unit_path),
                event.dataset,
                event.area_kind,
                event.area_name,
                (Period(event.cadre, event.from_date),),
            )
        case CadreReassigned():
            return replace(state, periods=(*_close(state.periods, event.on), Period(event.to_cadre, event.on)))
        case AssignmentEnded():
            return replace(state, periods=_close(state.periods, event.on))
    return state


ASSIGNMENT = AggregateKind[Assignment](
    "assignment", initial, evolve, lambda s: Scope(s.cadre_unit, s.dataset, s.unit_path)
)


@dataclass(frozen=True)
class Facts:
    today: date
    units: UnitTree
    assignment_id: str = ""
    #: the hamlet ``area_id`` names, as this service's list has it
    hamlet: HamletRecord | None = None


def _too_deep(level: str, cmd: AssignCadre, why_vi: str, why_en: str) -> RuleViolated:
    return RuleViolated(FOLLOW_AREAS, why_vi, why_en, field="area_kind", details={"cadre_level": level})


def decide_assign(state: Assignment, cmd: AssignCadre, facts: Facts) -> list[DomainEvent]:
    if state.exists:
        raise InvalidState("Phân công đã có", message_en="assignment already exists", field="command_id")
    units = facts.units
    unit = require_unit(units, cmd.cadre_unit, field="cadre_unit")
    allowed = REACH.get(unit.level, frozenset())
    if cmd.area_kind not in allowed:
        raise _too_deep(
            unit.level,
            cmd,
            f"Cán bộ cấp {unit.level} ({unit.name}) không theo dõi «{cmd.area_kind.value}»",
            f"a {unit.level} cadre does not follow a {cmd.area_kind.value}",
        )
    area_id: str | None = None
    match cmd.area_kind:
        case AreaKind.commune:
            commune = require_unit(units, cmd.area_id or "", field="area_id", level=LEVEL_COMMUNE)
            area_id, area_name, area_path = commune.code, commune.name, units.path(commune.code)
        case AreaKind.hamlet | AreaKind.citizens:
            if cmd.area_kind is AreaKind.hamlet or cmd.area_id:
                h = facts.hamlet
                if h is None or not h.active or h.id != cmd.area_id:
                    raise NotFound(
                        f"Không có thôn, tổ dân phố (đang hoạt động) mã {cmd.area_id}",
                        code="unknown_unit",
                        message_en=f"no active hamlet {cmd.area_id}",
                        field="area_id",
                    )
                area_id, area_name, area_path = h.id, h.name, list(h.unit_path)
            else:
                area_name, area_path = unit.name, units.path(unit.code)
            if cmd.area_kind is AreaKind.citizens:
                if not cmd.description or not cmd.description.strip():
                    raise ValidationFailed(
                        "Phải ghi người dân, đoàn viên, hội viên nào", message_en="describe whom", field="description"
                    )
                area_name = f"{cmd.description.strip()} — {area_name}"
    if unit.code not in area_path:
        raise RuleViolated(
            FOLLOW_AREAS,
            f"«{area_name}» không thuộc địa bàn {unit.name}",
            f"{area_id or area_name} is outside {unit.code}",
            field="area_id",
        )
    from_date = cmd.from_date or facts.today
    return [
        CadreAssigned(
            assignment_id=facts.assignment_id,
            cadre=cmd.cadre,
            cadre_unit=unit.code,
            unit_path=units.path(unit.code),
            dataset=units.dataset,
            area_kind=cmd.area_kind,
            area_id=area_id,
            area_name=area_name,
            area_path=area_path,
            description=cmd.description,
            from_date=from_date,
        )
    ]


def _open(state: Assignment, assignment_id: str, on: date) -> None:
    if not state.exists:
        raise NotFound(
            f"Không tìm thấy phân công {assignment_id}",
            message_en=f"no assignment {assignment_id}",
            field="assignment_id",
        )
    if state.ended:
        raise InvalidState(
            f"Phân công {assignment_id} đã kết thúc ngày {state.current.end}",
            message_en=f"assignment {assignment_id} ended on {state.current.end}",
            field="assignment_id",
        )
    if on <= state.current.start:
        raise ValidationFailed(
            f"Ngày phải sau ngày {state.current.start}",
            message_en=f"the date must be after {state.current.start}",
            field="on",
        )


def decide_reassign(state: Assignment, cmd: ReassignCadre, facts: Facts) -> list[DomainEvent]:
    on = cmd.on or facts.today
    _open(state, cmd.assignment_id, on)
    if cmd.to_cadre == state.current.cadre:
        raise ValidationFailed(
            f"{cmd.to_cadre} đang theo dõi địa bàn này", message_en="that cadre follows it already", field="to_cadre"
        )
    return [
        CadreReassigned(
            assignment_id=state.assignment_id,
            from_cadre=state.current.cadre,
            to_cadre=cmd.to_cadre,
            on=on,
            reason=cmd.reason,
        )
    ]


def decide_end(state: Assignment, cmd: EndAssignment, facts: Facts) -> list[DomainEvent]:
    on = cmd.on or facts.today
    _open(state, cmd.assignment_id, on)
    return [AssignmentEnded(assignment_id=state.assignment_id, on=on, reason=cmd.reason)]
