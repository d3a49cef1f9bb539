"""Dates on printed documents are Vietnam's (UTC+7, no daylight saving)."""

from __future__ import annotations

from datetime import timedelta, timezone

VN = timezone(timedelta(hours=7), "ICT")
