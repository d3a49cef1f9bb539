"""Dates as Vietnamese offices count them (UTC+7, no daylight saving)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VN = timezone(timedelta(hours=7), "ICT")


def now_utc() -> datetime:
    return datetime.now(UTC)


def today_vn() -> date:
    return datetime.now(VN).date()
