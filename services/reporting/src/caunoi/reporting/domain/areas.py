"""Where a report's facts belong: the area of a unit (its own records and, for a 2025 unit, those
recorded under the legacy units it succeeded), the units right below it (districts, communes, or
a commune's hamlets) and the places that should hold meetings (the communes below, or a commune's
hamlets). Pure: the unit tree, the succession and the hamlet list are given.

Roll-up works in either structure: a fact carries its unit path, so a province's figures include
what every district and commune below recorded (three tiers in vn-2024, two in vn-2025). A fact
recorded under a legacy commune belongs, in the 2025 tree, to the communes that succeeded it (to
each of them when the legacy commune was divided among several: such history appears in each
successor's table, and once in the province's total).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from caunoi.reporting.events import NamedUnit
from caunoi.shared.hamlets import HamletRecord
from caunoi.shared.units import LEVEL_COMMUNE, Unit, UnitTree, area_codes


@dataclass(frozen=True)
class Area:
    """A unit of the installation's tree, as a report's area."""

    unit: Unit
    tree: UnitTree
    #: the 2025 units that took over a legacy unit (``Succession.successors``)
    successors: Callable[[str], list[str]]
    #: the legacy units a 2025 unit was formed from (``Succession.legacy_area``)
    legacy_area: Callable[[str], list[str]]
    #: the hamlets (and agency party cells) of the communes in the area
    hamlets: Sequence[HamletRecord] = ()

    @property
    def is_commune(self) -> bool:
        return self.unit.level == LEVEL_COMMUNE

    def codes(self) -> list[str]:
        """The qualified codes (``vn-2025:08``) whose records are the area's."""
        return area_codes(self.tree, self.unit.code, self.legacy_area)

    def children(self) -> list[NamedUnit]:
        """The units right below: a commune's hamlets, else the tree's children."""
        if self.is_commune:
            return self._hamlets(self.unit.code)
        return [NamedUnit(code=u.code, name=u.name) for u in self.tree.children(self.unit.code)]

    def places(self) -> list[NamedUnit]:
        """Where meetings should be held: a commune's hamlets, else every commune below."""
        if self.is_commune:
            return self._hamlets(self.unit.code)
        below = self.tree.descendants(self.unit.code)
        return [NamedUnit(code=u.code, name=u.name) for u in below if u.level == LEVEL_COMMUNE]

    def _hamlets(self, commune: str) -> list[NamedUnit]:
        return [NamedUnit(code=h.id, name=h.name) for h in self.hamlets if h.commune_code == commune and h.active]

    def below(self, child: NamedUnit) -> Area:
        """The area of a unit right below (a district or commune; not a hamlet)."""
        return Area(self.tree.get(child.code), self.tree, self.successors, self.legacy_area, self.hamlets)

    def placed(self, dataset: str, commune: str, hamlet: str | None, among: Iterable[str]) -> list[str]:
        """Which of the codes ``among`` (units right below, or places) a fact recorded under
        ``commune`` (of ``dataset``) at ``hamlet`` belongs to."""
        wanted = set(among)
        if self.is_commune:
            return [hamlet] if hamlet in wanted else []
        communes = [commune] if dataset == self.tree.dataset else self.successors(commune)
        found = {c for s in communes if s in self.tree for c in self.tree.path(s) if c in wanted}
        return sorted(found)
