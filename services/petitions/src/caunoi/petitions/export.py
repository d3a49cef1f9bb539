"""Exports of a listing: one row per petition with every lifecycle date, as CSV (UTF-8 with a
byte-order mark, so spreadsheet programs show Vietnamese right) or XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

FORMATS = ("csv", "xlsx")


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: lists joined, timestamps without their zone."""
    if isinstance(value, list | tuple):
        return ".".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(headers or columns)
    for r in rows:
        w.writerow(["" if (v := cell(r.get(c))) is None else v for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    headers: Sequence[str] | None = None,
    sheet: str = "petitions",
) -> bytes:
    wb = Workbook(write_only=False)
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    ws.append(list(headers or columns))
    for r in rows:
        ws.append([_xlsx_value(cell(r.get(c))) for c in columns])
    for i, name in enumerate(headers or columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(name)) + 2))
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(v: Any) -> Any:
    if v is None or isinstance(v, int | float | bool | date | datetime | str):
        return v
    return str(v)


def render(
    fmt: str, rows: Iterable[Mapping[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None
) -> bytes:
    if fmt == "csv":
        return to_csv(rows, columns, headers)
    if fmt == "xlsx":
        return to_xlsx(rows, columns, headers)
    raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
