"""A report that compiles itself: the facts of an area fetched from the read models, and the
figures of the area, of each unit right below it and month by month (:mod:`..domain.figures`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from caunoi.reporting import model_queries, queries
from caunoi.reporting.domain.areas import Area
from caunoi.reporting.domain.figures import Meeting, ModelLife, figures, series
from caunoi.reporting.domain.periods import twelve_months_to
from caunoi.reporting.domain.petition_life import Life
from caunoi.reporting.events import Compilation, NamedUnit, UnitFigures
from caunoi.shared.projection import Conn
from caunoi.shared.units import Succession, Unit, UnitTree


def area_of(unit: Unit, tree: UnitTree, hamlets: Iterable[Any] = ()) -> Area:
    succession = Succession.load()
    return Area(unit, tree, succession.successors, succession.legacy_area, tuple(hamlets))


def meeting(row: dict[str, Any]) -> Meeting:
    return Meeting(
        id=row["meeting_id"],
        programme=row["programme"],
        commune_code=row["commune_code"],
        dataset=row["dataset"],
        reach=tuple(row["reach"]),
        host_id=row["host_id"],
        day=row["date"],
        cancelled=row["cancelled"],
        held_on=row["held_on"],
        attendees=row["attendees"],
    )


async def compile_report(conn: Conn, unit: Unit, tree: UnitTree, start: date, end: date) -> Compilation:
    """The figures of ``unit``'s area for ``[start, end]``, of each unit right below, and the
    twelve months to ``end`` month by month."""
    area = area_of(unit, tree, await queries.hamlets_under(conn, unit.code))
    first, last = twelve_months_to(end)
    codes = area.codes()
    lives = [Life.of(r) for r in await queries.petition_facts(conn, codes, min(start, first), end)]
    meetings = [meeting(r) for r in await queries.meeting_facts(conn, codes, min(start, first), end)]
    models = await model_queries.model_facts(conn, codes, end)
    compiled_from = await queries.positions(conn)

    places = area.places()
    totals = figures(lives, meetings, start, end, places, _placed(area, [p.code for p in places]), models)
    children = area.children()
    child_codes = [c.code for c in children]
    lives_of: dict[str, list[Life]] = defaultdict(list)
    meetings_of: dict[str, list[Meeting]] = defaultdict(list)
    for p in lives:
        for c in area.placed(p.dataset, p.commune_code, p.hamlet_id, child_codes):
            lives_of[c].append(p)
    for m in meetings:
        for c in area.placed(m.dataset, m.commune_code, m.host_id, child_codes):
            meetings_of[c].append(m)
    models_of: dict[str, list[ModelLife]] = defaultdict(list)
    for x in models:  # a model of the area's own unit (a province's agency) belongs to no unit below
        for c in area.placed(x.dataset, x.unit_code, None, child_codes):
            models_of[c].append(x)
    by_unit = []
    for child in children:
        if area.is_commune:  # a hamlet: it should hold meetings itself
            own: list[NamedUnit] = [child]
            placed: Callable[[Meeting], Iterable[str]] = _hosted_at(child.code)
        else:
            sub = area.below(child)
            own = sub.places()
            placed = _placed(sub, [p.code for p in own])
        by_unit.append(
            UnitFigures(
                code=child.code,
                name=child.name,
                figures=figures(
                    lives_of[child.code], meetings_of[child.code], start, end, own, placed, models_of[child.code]
                ),
            )
        )
    monthly = series(lives, meetings, first, last, children, _placed(area, child_codes))
    return Compilation(
        unit_code=unit.code,
        period_start=start,
        period_end=end,
        totals=totals,
        by_unit=by_unit,
        series=monthly,
        compiled_from=compiled_from,
    )


def _placed(area: Area, among: list[str]) -> Callable[[Meeting], Iterable[str]]:
    return lambda m: area.placed(m.dataset, m.commune_code, m.host_id, among)


def _hosted_at(hamlet: str) -> Callable[[Meeting], Iterable[str]]:
    return lambda m: [hamlet] if m.host_id == hamlet else []
