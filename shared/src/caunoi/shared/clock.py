"""Dates as Vietnamese offices count them (UTC+7, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VN = timezone(timedelta(hours=7), "ICT")


def today_vn() -> date:
    return datetime.now(VN).date()
