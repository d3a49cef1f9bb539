"""The dashboard of a tier: received, resolved, overdue, on-time rate and satisfaction, by field,
by unit and over time, from the petitions service's figures (``stats``)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caunoi.petitions.labels import CATEGORY_EN, CATEGORY_VI
from caunoi.web import charts
from caunoi.web.auth import require_user
from caunoi.web.i18n import chooser, lang_of
from caunoi.web.pages.base import Module, ask, asked, render, state, unit_options


def figures(groups: list[dict[str, Any]], key: str) -> list[float | None]:
    return [g.get(key) for g in groups]


async def dashboard(request: Request) -> Response:
    user = require_user(request)
    p = request.query_params
    base = {"unit": p.get("unit") or None, "received_from": p.get("from") or None, "received_to": p.get("to") or None}
    _ = chooser(lang_of(request))
    lang = lang_of(request)
    stats, refusal = await asked(
        request,
        asyncio.gather(
            ask(request, "petitions", "stats", {**base, "group_by": "category"}),
            ask(request, "petitions", "stats", {**base, "group_by": "unit"}),
            ask(request, "petitions", "stats", {**base, "group_by": "period", "period": "month"}),
        ),
    )
    empty: dict[str, Any] = {"groups": [], "total": None, "unit": base["unit"]}
    by_category, by_unit, by_month = stats or (empty, empty, empty)
    labels = {"received": _("Tiếp nhận", "Received"), "resolved": _("Đã giải quyết", "Resolved"),
              "overdue": _("Quá hạn", "Overdue")}  # fmt: skip
    series = [(labels[k], k) for k in ("received", "resolved", "overdue")]
    cats = by_category["groups"]
    cat_names = [(CATEGORY_VI if lang == "vi" else CATEGORY_EN).get(g["group"], g["group"]) for g in cats]
    units = by_unit["groups"]
    unit_names = [g.get("name") or state(request).unit_name(str(g["group"]).split(":")[-1]) for g in units]
    months = by_month["groups"]
    month_names = [str(g["group"])[:7] for g in months]
    charts_svg = {
        "category": charts.bar(_("Theo lĩnh vực", "By field"), cat_names, [(n, figures(cats, k)) for n, k in series]),
        "unit": charts.bar(
            _("Theo đơn vị", "By unit"), unit_names, [(n, figures(units, k)) for n, k in series], horizontal=True
        ),
        "month": charts.line(
            _("Theo tháng", "Over time"),
            month_names,
            [(n, figures(months, k)) for n, k in series],
            secondary=(_("Tỉ lệ đúng hạn (%)", "On-time rate (%)"), [_pct(g.get("on_time_rate")) for g in months]),
        ),
    }
    scope = by_category.get("unit") or base["unit"] or user.unit
    return render(
        request,
        "dashboard.html",
        total=by_category.get("total"),
        charts=charts_svg,
        by_category=list(zip(cat_names, cats, strict=True)),
        by_unit=list(zip(unit_names, units, strict=True)),
        scope=scope or "",
        units=unit_options(request, base["unit"]),
        filters={"unit": p.get("unit", ""), "from": p.get("from", ""), "to": p.get("to", "")},
        refusal=refusal,
    )


def _pct(rate: Any) -> float | None:
    return round(rate * 100, 1) if isinstance(rate, int | float) else None


module = Module(
    name="dashboard",
    title=("Tổng hợp", "Dashboard"),
    path="/dashboard",
    routes=[Route("/dashboard", dashboard, methods=["GET"])],
)
