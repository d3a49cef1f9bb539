"""Report schedules and their periods, as data (``data/schedules.toml``) turned into dates: which
period a report covers, when it falls due, when it is late. Pure: no clock, no files.

Two shapes of schedule:

- ``every = "week"``: one period a week, the seven days ending on the due weekday (programme 3's
  quick report: Friday to Thursday, compiled by 13:30, due at 14:00 on Thursday). Key
  ``<ISO year>-W<week>`` of the due day.
- ``every = "month"``: periods ending in the listed ``months``; each covers ``length`` months, or
  everything from the start of the year (``from_year_start``, the 2025 periods: Q1, 6 months,
  9 months, the year). With ``cutoff_day`` (default 14, Decree 09/2019/NĐ-CP's cut-off as public
  copies give it: a monthly report counts from the 15th of the month before to the 14th), a
  period ends on that day of its last month and starts the day after the cut-off ``length``
  months earlier; without it, on calendar months. The report is due on ``due_day`` (the 15th)
  of the last month (plus ``due_month_offset``). Key ``<year>-<MM>`` of the last month.

Each period falls due (``ReportDue``) at ``compile_time`` on its due day, when its figures are
compiled, and must be submitted by ``due_time`` (``ReportOverdue`` after that). Times are in
Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROMAN = ("I", "II", "III", "IV")
WEEK_KEY = re.compile(r"^(?P<year>\d{4})-W(?P<week>\d{2})$")
MONTH_KEY = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")


@dataclass(frozen=True)
class Period:
    """One period of one schedule."""

    schedule: str
    key: str
    start: date
    end: date
    #: when it falls due (``ReportDue``): its figures are compiled then
    opens_at: datetime
    #: when it must be submitted by (``ReportOverdue`` after)
    due_at: datetime
    label_vi: str
    label_en: str

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Schedule:
    id: str
    vi: str
    en: str
    source: str
    every: Literal["week", "month"]
    #: unit levels that owe it (``commune``, ``district``, ``province``) and unit datasets
    levels: tuple[str, ...]
    datasets: tuple[str, ...]
    compile_time: time
    due_time: time
    #: week: ISO weekday of the due day (4: Thursday)
    weekday: int = 4
    #: month: the months a period ends in, how many months it covers (or from the year's start)
    months: tuple[int, ...] = ()
    length: int = 1
    from_year_start: bool = False
    cutoff_day: int | None = 14
    due_day: int = 15
    due_month_offset: int = 0

    def applies_to(self, level: str, dataset: str) -> bool:
        return level in self.levels and dataset in self.datasets

    # -- periods ----------------------------------------------------------------------------------

    def period(self, key: str) -> Period:
        """The period with this key; ``ValueError`` if the schedule has none such."""
        if self.every == "week":
            m = WEEK_KEY.fullmatch(key)
            if not m:
                raise ValueError(f"{key!r}: a week is YYYY-Www")
            return self._week(date.fromisocalendar(int(m["year"]), int(m["week"]), self.weekday))
        m = MONTH_KEY.fullmatch(key)
        if not m or not 1 <= int(m["month"]) <= 12:
            raise ValueError(f"{key!r}: a period is YYYY-MM (its last month)")
        year, month = int(m["year"]), int(m["month"])
        if month not in self.months:
            raise ValueError(f"{key!r}: {self.id} periods end in months {list(self.months)}")
        return self._month(year, month)

    def periods_opening(self, after: datetime, until: datetime) -> list[Period]:
        """The periods that fall due in ``(after, until]``, in order."""
        out = []
        for p in self._around(after.astimezone(TZ).date() - timedelta(days=7), until.astimezone(TZ).date()):
            if after < p.opens_at <= until:
                out.append(p)
        return out

    def latest(self, moment: datetime) -> Period:
        """The last period fallen due by ``moment`` (or the first after it, if none has)."""
        day = moment.astimezone(TZ).date()
        candidates = list(self._around(day - timedelta(days=400), day + timedelta(days=400)))
        past = [p for p in candidates if p.opens_at <= moment]
        return past[-1] if past else candidates[0]

    def _around(self, first: date, last: date) -> Iterator[Period]:
        """Periods whose due day lies in ``[first, last]``, in order."""
        if self.every == "week":
            day = first + timedelta(days=(self.weekday - first.isoweekday()) % 7)
            while day <= last:
                yield self._week(day)
                day += timedelta(days=7)
            return
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            if m in self.months:
                p = self._month(y, m)
                if first <= p.due_at.date() <= last:
                    yield p
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)

    def _week(self, due_day: date) -> Period:
        iso = due_day.isocalendar()
        start = due_day - timedelta(days=6)
        return Period(
            self.id,
            f"{iso.year}-W{iso.week:02d}",
            start,
            due_day,
            datetime.combine(due_day, self.compile_time, TZ),
            datetime.combine(due_day, self.due_time, TZ),
            f"Tuần {iso.week}/{iso.year} ({start:%d/%m} – {due_day:%d/%m/%Y})",
            f"Week {iso.week} of {iso.year} ({start:%d %b} – {due_day:%d %b %Y})",
        )

    def _month(self, year: int, month: int) -> Period:
        if self.from_year_start:
            first_y, first_m = year, 1
        else:
            first_y, first_m = _add_months(year, month, -(self.length - 1))
        if self.cutoff_day:
            end = date(year, month, self.cutoff_day)
            py, pm = _add_months(first_y, first_m, -1)
            start = date(py, pm, self.cutoff_day) + timedelta(days=1)
        else:
            end = _month_end(year, month)
            start = date(first_y, first_m, 1)
        dy, dm = _add_months(year, month, self.due_month_offset)
        due_day = date(dy, dm, min(self.due_day, _month_end(dy, dm).day))
        vi, en = self._labels(year, month)
        return Period(
            self.id,
            f"{year}-{month:02d}",
            start,
            end,
            datetime.combine(due_day, self.compile_time, TZ),
            datetime.combine(due_day, self.due_time, TZ),
            vi,
            en,
        )

    def _labels(self, year: int, month: int) -> tuple[str, str]:
        months = month if self.from_year_start else self.length
        if months == 1:
            return f"Tháng {month}/{year}", f"{date(year, month, 1):%B} {year}"
        if months == 3 and month % 3 == 0:
            q = month // 3
            return f"Quý {ROMAN[q - 1]}/{year}", f"Q{q} {year}"
        if months == 6 and month in (6, 12):
            half = "đầu" if month == 6 else "cuối"
            return f"6 tháng {half} năm {year}", f"{'First' if month == 6 else 'Second'} half of {year}"
        if months == 9 and month == 9:
            return f"9 tháng năm {year}", f"Nine months of {year}"
        if months == 12:
            if month == 12:
                return f"Năm {year}", f"Year {year}"
            return f"Năm {year} (tính đến tháng {month})", f"Year {year} (to {date(year, month, 1):%B})"
        return f"{months} tháng đến tháng {month}/{year}", f"{months} months to {date(year, month, 1):%B} {year}"


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    k = year * 12 + month - 1 + n
    return k // 12, k % 12 + 1


def _month_end(year: int, month: int) -> date:
    ny, nm = _add_months(year, month, 1)
    return date(ny, nm, 1) - timedelta(days=1)


def months_between(start: date, end: date) -> list[str]:
    """The calendar months ``YYYY-MM`` from ``start``'s to ``end``'s, in order."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y}-{m:02d}")
        y, m = _add_months(y, m, 1)
    return out


def twelve_months_to(end: date) -> tuple[date, date]:
    """The twelve calendar months ending with ``end``'s month (the charts' trend window)."""
    y, m = _add_months(end.year, end.month, -11)
    return date(y, m, 1), _month_end(end.year, end.month)


@dataclass(frozen=True)
class Schedules:
    """The schedules in force: a version and the list (from the shipped file or an operator's)."""

    version: str
    items: Sequence[Schedule]

    def get(self, schedule_id: str) -> Schedule | None:
        return next((s for s in self.items if s.id == schedule_id), None)

    def for_dataset(self, dataset: str) -> list[Schedule]:
        return [s for s in self.items if dataset in s.datasets]


def dates_period(start: date, end: date) -> Period:
    """Any dates a figure is asked for (no schedule, no due time)."""
    far = datetime.combine(end, time(23, 59), TZ)
    vi, en = f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}", f"{start:%d %b %Y} to {end:%d %b %Y}"
    return Period("dates", f"{start}..{end}", start, end, far, far, vi, en)


def adhoc_period(key: str, start: date, end: date) -> Period:
    """An ad-hoc report's period: what the unit says it covers; no due time of its own (it falls
    due when opened)."""
    far = datetime.combine(end, time(23, 59), TZ)
    label = f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"
    return Period("adhoc", key, start, end, far, far, f"Đột xuất {label}", f"Ad hoc {label}")
