"""Counting days as Vietnamese offices do: calendar days, or working days that skip weekends and
public holidays (Tết, 30 April, 1 May, 2 September, ...), from the maintained ``holidays``
library rather than a hand-typed list. Substitute days off and the Saturdays worked in exchange
that the government announces are in that library too.

"Within N days of X" ends on the Nth day after X (X itself not counted): ``add(X, N)``. A rule
that counts working days never ends on a day off.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from enum import StrEnum
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
        self._days: Any = holidays.country_holidays(country)
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


@functools.cache
def calendar_vn() -> WorkingCalendar:
    """Vietnam's working calendar, built once per process."""
    return WorkingCalendar(COUNTRY)
