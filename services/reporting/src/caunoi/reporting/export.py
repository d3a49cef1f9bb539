"""A report's figures for spreadsheets: CSV (UTF-8 with a byte-order mark, so spreadsheet programs
show Vietnamese right) holds the table by unit below with the total; XLSX (openpyxl) holds that
table, the figures with their corrections, opinions by field and channel, and the months."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from caunoi.reporting.events import MODEL_FIGURES
from caunoi.reporting.labels import CHANNELS_VI, FIELDS_VI, figure_label

FORMATS = ("csv", "xlsx")
#: the whole-number figures, in report order (the columns of the table by unit)
COLUMNS = (
    "meetings_planned", "meetings_held", "meetings_held_p1", "meetings_held_p2", "attendees", "units_total",
    "opinions", "opinions_at_meetings", "answered_on_spot", "forwarded", "resolved", "replies_sent",
    "delay_notices_sent", "outstanding", "overdue", "on_time", "timed", "on_time_rate", *MODEL_FIGURES,
)  # fmt: skip


def _line(code: str, name: str, figures: Mapping[str, Any]) -> list[Any]:
    return [code, name, *(figures[c] for c in COLUMNS), len(figures["units_without_meeting"])]


def by_unit_table(view: Mapping[str, Any], lang: str) -> tuple[list[str], list[list[Any]]]:
    comp = view["compilation"]
    head = ["Mã" if lang == "vi" else "Code", "Đơn vị" if lang == "vi" else "Unit",
            *(figure_label(c, lang).strip() for c in COLUMNS), figure_label("units_without", lang)]  # fmt: skip
    rows = [_line(u["code"], u["name"], u["figures"]) for u in comp["by_unit"]]
    rows.append(_line(view["unit_code"], view["unit_name"], view["final"]))
    return head, rows


def to_csv(view: Mapping[str, Any], lang: str = "vi") -> bytes:
    head, rows = by_unit_table(view, lang)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(head)
    w.writerows(["" if v is None else v for v in r] for r in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(view: Mapping[str, Any], lang: str = "vi") -> bytes:
    from openpyxl import Workbook  # loaded by the first spreadsheet, not by every importer
    from openpyxl.utils import get_column_letter

    comp, final, corrections = view["compilation"], view["final"], view.get("corrections") or {}
    wb = Workbook()
    sheets: list[tuple[str, Sequence[str], list[list[Any]]]] = []
    sheets.append((
        "Số liệu",
        ["Chỉ tiêu", "Mã", "Tổng hợp tự động", "Báo cáo", "Lý do điều chỉnh"],
        [[figure_label(c, lang).strip(), c, comp["totals"][c], final[c], (corrections.get(c) or {}).get("reason")]
         for c in COLUMNS],
    ))  # fmt: skip
    sheets.append(("Theo đơn vị", *by_unit_table(view, lang)))
    totals = comp["totals"]
    sheets.append(("Lĩnh vực", ["Lĩnh vực", "Số ý kiến"],
                   [[FIELDS_VI.get(k, k), n] for k, n in totals["opinions_by_field"].items()]))  # fmt: skip
    sheets.append(("Kênh", ["Kênh tiếp nhận", "Số ý kiến"],
                   [[CHANNELS_VI.get(k, k), n] for k, n in totals["opinions_by_channel"].items()]))  # fmt: skip
    s = comp["series"]
    names = {u["code"]: u["name"] for u in comp["by_unit"]}
    sheets.append((
        "Theo tháng",
        ["Tháng", "Ý kiến", "Tỷ lệ đúng hạn", *(names.get(c, c) for c in s["meetings_by_unit"])],
        [[m, s["opinions"][i], s["on_time_rate"][i], *(v[i] for v in s["meetings_by_unit"].values())]
         for i, m in enumerate(s["months"])],
    ))  # fmt: skip
    for i, (title, head, rows) in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(head))
        for r in rows:
            ws.append(r)
        for j, h in enumerate(head, start=1):
            ws.column_dimensions[get_column_letter(j)].width = max(10, min(45, len(str(h)) + 2))
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(fmt: str, view: Mapping[str, Any], lang: str = "vi") -> bytes:
    if fmt == "csv":
        return to_csv(view, lang)
    if fmt == "xlsx":
        return to_xlsx(view, lang)
    raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
