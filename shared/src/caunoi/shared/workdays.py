"""Counting days as Vietnamese offices do: calendar days, or working days that skip weekends and
public holidays (Tết, 30 April, 1 May, 2 September, ...), from the maintained ``holidays``
library rather than a hand-typed list. Substitute days off and the Saturdays worked in exchange
that the government announces are in that library too.

"Within N days of X" ends on the Nth day after X (X itself not counted): ``add(X, N)``. A rule
that counts working days never ends on a day off.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import holidays

__all__ = ["COUNTRY", "DayUnit", "WorkingCalendar", "calendar_vn"]

COUNTRY = "VN"


class DayUnit(StrEnum):
    calendar = "calendar"  # ngày (lịch)
    working = "working"  # ngày làm việc


class WorkingCalendar:
    """Working days of one country (Vietnam unless told otherwise); immutable, shareable."""

    def __init__(self, country: str = COUNTRY) -> None:
        self.country = country
        self._days: Any = _vietnam() if country == COUNTRY else holidays.country_holidays(country)
        # the n-th working day from a day: a pure function of the two (the calendar never changes
        # once built), asked with the same few (day, n) pairs by every command of a day, and it
        # walks day by day through the library (about a tenth of a ``raise``'s CPU before this)
        self._nth = functools.lru_cache(maxsize=16_384)(self._nth_working_day)

    def _nth_working_day(self, day: date, n: int) -> date:
        return date.fromisoformat(str(self._days.get_nth_working_day(day, n)))

    def is_working_day(self, day: date) -> bool:
        return bool(self._days.is_working_day(day))

    def holiday(self, day: date) -> str | None:
        """The holiday's name (English, as the library gives it), or None."""
        name = self._days.get(day)
        return str(name) if name else None

    def add(self, start: date, n: int, unit: DayUnit | str = DayUnit.calendar) -> date:
        """The ``n``-th day after ``start`` (``n`` >= 0), counting calendar or working days."""
        if n < 0:
            raise ValueError(f"cannot count {n} days")
        if DayUnit(unit) is DayUnit.calendar or n == 0:
            return start + timedelta(days=n)
        return self._nth(start, n)

    def subtract(self, end: date, n: int, unit: DayUnit | str = DayUnit.calendar) -> date:
        """The day ``n`` days (calendar or working) before ``end``."""
        if n < 0:
            raise ValueError(f"cannot count {n} days")
        if DayUnit(unit) is DayUnit.calendar or n == 0:
            return end - timedelta(days=n)
        return self._nth(end, -n)

    def between(self, start: date, end: date, unit: DayUnit | str = DayUnit.calendar) -> int:
        """Days after ``start`` up to and including ``end`` (negative if ``end`` is earlier)."""
        if end < start:
            return -self.between(end, start, unit)
        if DayUnit(unit) is DayUnit.calendar:
            return (end - start).days
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=i)))


def _vietnam() -> Any:
    """The library's Vietnam holidays, its module loaded alone where it can be: importing
    ``holidays.countries`` (what ``country_holidays`` does) imports all 250 countries' modules,
    8 MB of every service's 80 (bench: resident memory). The same class either way
    (tests/kernel/test_workdays.py compares them)."""
    name = "holidays.countries.vietnam"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.find_spec("holidays")
        found = [Path(p) / "countries" / "vietnam.py" for p in (spec.submodule_search_locations or [])] if spec else []
        source = next((p for p in found if p.is_file()), None)
        loader = importlib.util.spec_from_file_location(name, source) if source else None
        if loader is None or loader.loader is None:
            return holidays.country_holidays(COUNTRY)  # the library moved things: the usual way
        module = importlib.util.module_from_spec(loader)
        sys.modules[name] = module  # later imports of the countries package reuse it
        try:
            loader.loader.exec_module(module)
        except Exception:
            del sys.modules[name]
            raise
    return module.Vietnam()


@functools.cache
def calendar_vn() -> WorkingCalendar:
    """Vietnam's working calendar, built once per process."""
    return WorkingCalendar(COUNTRY)
