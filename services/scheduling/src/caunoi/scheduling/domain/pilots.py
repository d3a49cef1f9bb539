"""Programme 1's pilots, two aggregates:

- **pilot localities** (``pilots-<unit code>``): the unit directly above the communes picks its
  pilot communes. In the three-tier data (vn-2024) that is a district: one rural commune and one
  town or ward. In the two-tier structure (vn-2025) there is no district; the province, to which
  the districts' tasks passed, picks: at least one rural commune and one ward when it has both.
- **pilot sites** (``sites-<commune code>``): a pilot commune picks the hamlets and agency party
  cells its monthly meeting rotates through, in rotation order: all of its list, or at least 50 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from caunoi.scheduling.commands import ChoosePilotLocalities, ChoosePilotSites
from caunoi.scheduling.domain.rules import PILOT_DISTRICT, PILOT_ONLY, PILOT_PROVINCE, PILOT_SITES, RuleViolated
from caunoi.scheduling.events import PilotLocalitiesChosen, PilotLocality, PilotSitesChosen, RotationScheduled, Site
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletRecord
from caunoi.shared.units import LEVEL_COMMUNE, LEVEL_DISTRICT, Unit, UnitTree, require_unit

#: kinds of commune that count as a town or ward (urban) for the pilot rule; the others (Xã, and
#: since 2025 Đặc khu) are rural
URBAN_KINDS = frozenset({"Phường", "Thị trấn"})


def localities_id(unit_code: str) -> str:
    return f"pilots-{unit_code}"


def sites_id(commune_code: str) -> str:
    return f"sites-{commune_code}"


# --- pilot localities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Localities:
    unit_code: str = ""
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    communes: tuple[str, ...] = ()
    chosen_on: date | None = None


def evolve_localities(state: Localities, event: DomainEvent) -> Localities:
    if isinstance(event, PilotLocalitiesChosen):
        return Localities(
            event.unit_code,
            tuple(event.unit_path),
            event.dataset,
            tuple(c.code for c in event.localities),
            event.chosen_on,
        )
    return state


LOCALITIES = AggregateKind[Localities](
    "pilot localities", Localities, evolve_localities, lambda s: Scope(s.unit_code, s.dataset, s.unit_path)
)


def picking_unit(units: UnitTree, commune_code: str) -> str | None:
    """Who picks a commune as a pilot: the unit directly above it (its district, or since 2025
    its province)."""
    unit = units.find(commune_code)
    return unit.parent_code if unit is not None else None


def _is_urban(unit: Unit) -> bool:
    return unit.kind in URBAN_KINDS


@dataclass(frozen=True)
class LocalityFacts:
    today: date
    units: UnitTree


def decide_choose_localities(state: Localities, cmd: ChoosePilotLocalities, facts: LocalityFacts) -> list[DomainEvent]:
    units = facts.units
    picker = require_unit(units, cmd.unit_code, field="unit_code")
    below = units.children(picker.code)
    if not below or any(u.level != LEVEL_COMMUNE for u in below):
        raise ValidationFailed(
            f"{picker.name} không trực tiếp quản lý xã, phường: đơn vị chọn điểm là huyện (từ 01/7/2025: tỉnh)",
            message_en=f"{picker.code} is not directly above communes: the district (since 2025 the province) picks",
            field="unit_code",
        )
    if len(set(cmd.communes)) != len(cmd.communes):
        raise ValidationFailed("Danh sách xã bị trùng", message_en="a commune is listed twice", field="communes")
    chosen = []
    for code in cmd.communes:
        unit = units.find(code)
        if unit is None or unit.parent_code != picker.code:
            raise NotFound(
                f"{picker.name} không có xã, phường mã {code}",
                code="unknown_unit",
                message_en=f"{picker.code} has no commune {code}",
                field="communes",
            )
        chosen.append(unit)
    if tuple(cmd.communes) == state.communes:
        raise ValidationFailed(
            "Danh sách điểm không thay đổi", message_en="the pilot localities are unchanged", field="communes"
        )
    _check_pilot_rule(picker, below, chosen)
    return [
        PilotLocalitiesChosen(
            unit_code=picker.code,
            unit_level=picker.level,
            unit_path=units.path(picker.code),
            dataset=units.dataset,
            localities=[PilotLocality(code=u.code, name=u.name, kind=u.kind) for u in chosen],
            chosen_on=facts.today,
        )
    ]


def _check_pilot_rule(picker: Unit, below: Sequence[Unit], chosen: Sequence[Unit]) -> None:
    has_urban, has_rural = any(map(_is_urban, below)), not all(map(_is_urban, below))
    urban = sum(map(_is_urban, chosen))
    rural = len(chosen) - urban
    if picker.level == LEVEL_DISTRICT:
        # one of each kind the district has; a district with only one kind picks two of it
        if has_rural and has_urban:
            want = (1, 1)
        elif has_rural:
            want = (min(2, len(below)), 0)
        else:
            want = (0, min(2, len(below)))
        if (rural, urban) != want:
            raise RuleViolated(
                PILOT_DISTRICT,
                f"Đã chọn {rural} xã và {urban} thị trấn/phường",
                f"{rural} rural commune(s) and {urban} town(s)/ward(s) chosen",
                field="communes",
                details={"rural": rural, "urban": urban, "required": {"rural": want[0], "urban": want[1]}},
            )
        return
    if (has_rural and rural < 1) or (has_urban and urban < 1):
        raise RuleViolated(
            PILOT_PROVINCE,
            f"Đã chọn {rural} xã và {urban} phường",
            f"{rural} rural commune(s) and {urban} ward(s) chosen",
            field="communes",
            details={"rural": rural, "urban": urban},
        )


# --- pilot sites --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sites:
    commune_code: str = ""
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    sites: tuple[Site, ...] = ()
    total: int = 0
    chosen_on: date | None = None
    #: the rotation's meetings, in the order they were scheduled
    scheduled: tuple[RotationScheduled, ...] = ()

    @property
    def exists(self) -> bool:
        return bool(self.sites)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.sites]


def evolve_sites(state: Sites, event: DomainEvent) -> Sites:
    if isinstance(event, PilotSitesChosen):
        return replace(
            state,
            commune_code=event.commune_code,
            unit_path=tuple(event.unit_path),
            dataset=event.dataset,
            sites=tuple(event.sites),
            total=event.total,
            chosen_on=event.chosen_on,
        )
    if isinstance(event, RotationScheduled):
        return replace(state, scheduled=(*state.scheduled, event))
    return state


SITES = AggregateKind[Sites](
    "pilot sites", Sites, evolve_sites, lambda s: Scope(s.commune_code, s.dataset, s.unit_path)
)


@dataclass(frozen=True)
class SiteFacts:
    today: date
    units: UnitTree
    #: the commune's active hamlets and agency party cells (this service's read model)
    listed: Sequence[HamletRecord]
    #: the communes the unit above picked as pilots
    pilot_communes: frozenset[str]


def share(chosen: int, total: int) -> str:
    return f"{chosen}/{total} ({100 * chosen // max(total, 1)} %)"


def decide_choose_sites(state: Sites, cmd: ChoosePilotSites, facts: SiteFacts) -> list[DomainEvent]:
    commune = require_unit(facts.units, cmd.commune_code, field="commune_code", level=LEVEL_COMMUNE)
    if commune.code not in facts.pilot_communes:
        raise RuleViolated(
            PILOT_ONLY,
            f"{commune.name} chưa được chọn làm điểm",
            f"commune {commune.code} is not a pilot locality",
            field="commune_code",
        )
    if len(set(cmd.sites)) != len(cmd.sites):
        raise ValidationFailed("Danh sách điểm bị trùng", message_en="a site is listed twice", field="sites")
    listed = {h.id: h for h in facts.listed if h.commune_code == commune.code and h.active}
    missing = [s for s in cmd.sites if s not in listed]
    if missing:
        raise NotFound(
            f"{commune.name} không có thôn, tổ dân phố, chi bộ (đang hoạt động) mã {', '.join(missing)}",
            code="unknown_unit",
            message_en=f"commune {commune.code} has no active hamlet or party cell {', '.join(missing)}",
            field="sites",
            details={"unknown": missing},
        )
    total = len(listed)
    if 2 * len(cmd.sites) < total:
        raise RuleViolated(
            PILOT_SITES,
            f"Chỉ chọn {share(len(cmd.sites), total)} ấp, khóm, chi bộ của {commune.name};"
            f" cần ít nhất {(total + 1) // 2}",
            f"only {share(len(cmd.sites), total)} of the commune's hamlets and party cells chosen;"
            f" at least {(total + 1) // 2} needed",
            field="sites",
            details={"chosen": len(cmd.sites), "total": total, "minimum": (total + 1) // 2},
        )
    if state.exists and state.ids == list(cmd.sites):
        raise ValidationFailed(
            "Danh sách điểm không thay đổi", message_en="the pilot sites are unchanged", field="sites"
        )
    return [
        PilotSitesChosen(
            commune_code=commune.code,
            unit_path=facts.units.path(commune.code),
            dataset=facts.units.dataset,
            sites=[Site(id=h.id, name=h.name, kind=h.kind) for h in (listed[s] for s in cmd.sites)],
            total=total,
            chosen_on=facts.today,
        )
    ]
