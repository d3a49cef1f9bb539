"""Template filters: dates as Vietnamese offices write them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jinja2

from caunoi.shared.clock import VN


def vn_date(value: Any) -> str:
    """``2025-03-07`` -> ``07/03/2025``."""
    if isinstance(value, str) and value:
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = value.astimezone(VN).date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return ""


def vn_datetime(value: Any) -> str:
    """An ISO timestamp in Vietnam's time: ``07/03/2025 14:05``."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.astimezone(VN).strftime("%d/%m/%Y %H:%M")
    return ""


def percent(value: Any) -> str:
    return f"{value * 100:.0f} %" if isinstance(value, int | float) else "–"


def zip_labels(values: Any, table: dict[Any, str]) -> list[tuple[str, str]]:
    """Options of a select: each value with its label."""
    return [(str(v), table.get(v, str(v))) for v in values]


def zip_unit_names(codes: Any, unit_name: Any) -> list[tuple[str, str]]:
    """Options of a select of units: each code with its name."""
    return [(c, f"{unit_name(c)} ({c})") for c in codes]


def install(env: jinja2.Environment) -> None:
    env.filters["zip_unit_names"] = zip_unit_names
    env.filters["zip_labels"] = zip_labels
    env.filters["vn_date"] = vn_date
    env.filters["vn_datetime"] = vn_datetime
    env.filters["percent"] = percent
