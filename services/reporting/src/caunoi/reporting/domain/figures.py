"""The figures of a results report, computed from the facts the read models keep (petitions'
lives, meetings), for one area and one period; the same for each unit below it; and the monthly
series the charts draw. Pure: the caller fetched the area's facts and says which places should
hold meetings and where each meeting and petition belongs.

A figure is counted by the date of what it counts: a meeting by the day it was held (planned: the
day it is set for, unless cancelled), an opinion by the day it was received, an answer, forward,
reply or delay notice by its own date. ``outstanding`` and ``overdue`` are as things stood at the
end of the period's last day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from caunoi.reporting.domain.periods import months_between
from caunoi.reporting.domain.petition_life import Life
from caunoi.reporting.events import MODEL_FIGURES, Figures, Forward, NamedUnit, Series, UnitFigures

#: the figures a unit may correct (whole numbers); the others are derived or lists
CORRECTABLE = (
    "meetings_planned",
    "meetings_held",
    "meetings_held_p1",
    "meetings_held_p2",
    "attendees",
    "units_total",
    "opinions",
    "opinions_at_meetings",
    "answered_on_spot",
    "forwarded",
    "resolved",
    "replies_sent",
    "delay_notices_sent",
    "outstanding",
    "overdue",
    "on_time",
    "timed",
    *MODEL_FIGURES,
)


@dataclass(frozen=True)
class Meeting:
    """A meeting's facts, read back from its row."""

    id: str
    programme: str
    commune_code: str
    dataset: str
    reach: tuple[str, ...]
    host_id: str | None
    day: date
    cancelled: bool
    held_on: date | None
    attendees: int


@dataclass(frozen=True)
class ModelLife:
    """A "Dân vận khéo" model's dated steps, read back from its row: registered; each evaluation
    (day, level); each recognition notice (day, tier); each commendation's day."""

    id: str
    dataset: str
    unit_code: str
    registered_on: date
    evaluations: tuple[tuple[date, str], ...] = ()
    notices: tuple[tuple[date, str], ...] = ()
    commendations: tuple[date, ...] = ()


def model_figures(models: Sequence[ModelLife], start: date, end: date) -> dict[str, int]:
    """The models' figures for ``[start, end]``: registered; evaluated (a model once, by its last
    evaluation in the period) by level; recognised (notices issued) by tier; commended (a model once)."""
    last = [max(e) for m in models if (e := [x for x in m.evaluations if start <= x[0] <= end])]
    tiers = Counter(t for m in models for d, t in m.notices if start <= d <= end)
    levels = Counter(level for _, level in last)
    return {
        "models_registered": sum(1 for m in models if start <= m.registered_on <= end),
        "models_evaluated": len(last),
        "models_exceeded": levels["exceeded"],
        "models_met": levels["met"],
        "models_below": levels["below"],
        "models_recognised_grassroots": tiers["grassroots"],
        "models_recognised_district": tiers["district"],
        "models_recognised_province": tiers["province"],
        "models_commended": sum(1 for m in models if any(start <= d <= end for d in m.commendations)),
    }


def _within(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(
    petitions: Sequence[Life],
    meetings: Sequence[Meeting],
    start: date,
    end: date,
    places: Sequence[NamedUnit],
    place_of: Callable[[Meeting], Iterable[str]],
    models: Sequence[ModelLife] = (),
) -> Figures:
    """The figures of these facts for ``[start, end]``. ``places`` should hold meetings;
    ``place_of`` says which of them a meeting was held at (or for)."""
    live = [m for m in meetings if not m.cancelled and _within(m.held_on or m.day, start, end)]
    held = [m for m in meetings if _within(m.held_on, start, end)]
    held_at = {p for m in held for p in place_of(m)}
    raised = [p for p in petitions if _within(p.received_on, start, end)]
    forwards = [(p, f) for p in petitions for f in p.forwards if _within(f[0], start, end)]
    replies = [r for p in petitions for r in p.replies if _within(r[0], start, end)]
    timed = [ok for _, ok in replies if ok is not None]
    to_whom = Counter((f[1], f[2]) for _, f in forwards)
    on_time = sum(1 for ok in timed if ok)
    return Figures(
        meetings_planned=len(live),
        meetings_held=len(held),
        meetings_held_p1=sum(1 for m in held if m.programme == "p1"),
        meetings_held_p2=sum(1 for m in held if m.programme == "p2"),
        attendees=sum(m.attendees for m in held),
        units_total=len(places),
        units_without_meeting=[p for p in places if p.code not in held_at],
        opinions=len(raised),
        opinions_at_meetings=sum(1 for p in raised if p.channel == "meeting"),
        opinions_by_field=dict(sorted(Counter(p.category for p in raised).items())),
        opinions_by_channel=dict(sorted(Counter(p.channel for p in raised).items())),
        answered_on_spot=sum(1 for p in petitions if _within(p.answered_on, start, end)),
        forwarded=len({p.id for p, _ in forwards}),
        forwarded_to=[
            Forward(to_unit=u, to_agency=a, count=n)
            for (u, a), n in sorted(to_whom.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))
        ],
        resolved=sum(1 for p in petitions if any(_within(d, start, end) for d in p.resolutions())),
        replies_sent=len(replies),
        delay_notices_sent=sum(1 for p in petitions for d in p.delay_notices if _within(d, start, end)),
        outstanding=sum(1 for p in petitions if p.outstanding_on(end)),
        overdue=sum(1 for p in petitions if p.overdue_on(end)),
        on_time=on_time,
        timed=len(timed),
        on_time_rate=rate(on_time, len(timed)),
        **model_figures(models, start, end),
    )


def with_corrections(computed: Figures, corrections: dict[str, int]) -> Figures:
    """The figures as filed: the computed ones with the unit's corrections applied."""
    final = computed.model_copy(update=corrections)
    if "on_time" in corrections or "timed" in corrections:
        final = final.model_copy(update={"on_time_rate": rate(final.on_time, final.timed)})
    return final


def series(
    petitions: Sequence[Life],
    meetings: Sequence[Meeting],
    first: date,
    last: date,
    units: Sequence[UnitFigures | NamedUnit],
    unit_of: Callable[[Meeting], Iterable[str]],
) -> Series:
    """Month by month from ``first`` to ``last``: meetings held per unit below, opinions raised,
    the on-time rate of the month's written replies."""
    months = months_between(first, last)
    index = {m: i for i, m in enumerate(months)}

    def month(d: date | None) -> int | None:
        return None if d is None or not first <= d <= last else index.get(f"{d:%Y-%m}")

    by_unit = {u.code: [0] * len(months) for u in units}
    for m in meetings:
        if (i := month(m.held_on)) is not None:
            for code in unit_of(m):
                if code in by_unit:
                    by_unit[code][i] += 1
    opinions = [0] * len(months)
    for p in petitions:
        if (i := month(p.received_on)) is not None:
            opinions[i] += 1
    ok, all_ = [0] * len(months), [0] * len(months)
    for p in petitions:
        for on, judged in p.replies:
            if judged is not None and (i := month(on)) is not None:
                all_[i] += 1
                ok[i] += 1 if judged else 0
    return Series(
        months=months,
        meetings_by_unit=by_unit,
        on_time_rate=[rate(a, b) for a, b in zip(ok, all_, strict=True)],
        opinions=opinions,
    )
