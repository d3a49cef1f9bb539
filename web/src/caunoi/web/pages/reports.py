"""Reports: those due, late and submitted under the person's unit (what the tier above sees: per
unit, submitted, late, missing), one report with its figures computed beside the corrections, its
charts, the narrative and correction forms and the submission for the unit that files it (the
reporting service says which: ``actions``), PDF, XLSX and CSV downloads rendered from the query's
answer as the CLI renders them; and any unit's figures for any dates or period."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caunoi.petitions.labels import CATEGORY_EN, CATEGORY_VI
from caunoi.reporting import export, printout
from caunoi.reporting.commands import ReportStatus
from caunoi.reporting.events import Section
from caunoi.reporting.labels import SECTION_EN, SECTION_VI, STATUS_EN, STATUS_VI, figure_label, figure_rows
from caunoi.shared.clock import today_vn
from caunoi.web import charts
from caunoi.web.auth import posted_form, require_user
from caunoi.web.i18n import chooser, lang_of
from caunoi.web.pages.base import (
    Module,
    Refusal,
    ask,
    asked,
    new_command_id,
    payload_from,
    render,
    submit,
    unit_options,
)

SERVICE = "reporting"
LABELS: dict[str, Any] = {"STATUS_VI": STATUS_VI, "STATUS_EN": STATUS_EN, "SECTION_VI": SECTION_VI,
                          "SECTION_EN": SECTION_EN}  # fmt: skip
#: the download formats and what they are
FORMATS: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
#: the columns of the table by unit below (the printed report's)
BY_UNIT = ("meetings_held", "attendees", "opinions", "answered_on_spot", "forwarded", "resolved", "outstanding",
           "overdue")  # fmt: skip
#: what the chart of the units below draws
UNIT_CHART = ("meetings_held", "opinions", "resolved")
OPEN_FIELDS = ("title", "from_date", "to_date")


# --- what the tier above sees -------------------------------------------------------------------


def board_filters(request: Request) -> dict[str, str]:
    p = request.query_params
    return {k: p.get(k, "") for k in ("unit", "schedule", "period", "status")}


async def board(request: Request, refusal: Refusal | None = None, values: dict[str, Any] | None = None) -> Response:
    """Every report under the unit (or those of one schedule and period, with the enrolled units
    that have none yet), with the counts per status; ``status`` picks one of them."""
    user = require_user(request)
    f = board_filters(request)
    query = {"unit": f["unit"] or None, "schedule": f["schedule"] or None, "period": f["period"] or None}
    schedules = await ask(request, SERVICE, "schedules", {})
    listed, listing_refusal = await asked(request, ask(request, SERVICE, "reports", query))
    result = listed or {"total": 0, "counts": {s.value: 0 for s in ReportStatus}, "items": []}
    items = [i for i in result["items"] if not f["status"] or i["status"] == f["status"]]
    titles = {s["id"]: (s["vi"], s["en"]) for s in schedules["items"]}
    today = today_vn()
    return render(
        request,
        "reports/list.html",
        422 if refusal else 200,
        **LABELS,
        filters=f,
        result=result,
        groups=by_period(items, titles, lang_of(request)),
        statuses=list(ReportStatus),
        schedules=schedules["items"],
        units=unit_options(request, f["unit"] or None),
        refusal=listing_refusal,
        open_refusal=refusal,
        values=values or {"from_date": (today - timedelta(days=7)).isoformat(), "to_date": today.isoformat()},
        may_open=bool(user.unit),
        command_id=new_command_id(),
        query=urlencode({k: v for k, v in f.items() if k != "status" and v}),
    )


def by_period(items: list[dict[str, Any]], titles: Mapping[str, tuple[str, str]], lang: str) -> list[dict[str, Any]]:
    """The reports grouped by schedule and period, newest first (the service's order), each group
    with its counts per status: who filed, who filed late, who is missing."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for i in items:
        vi, en = titles.get(i["schedule"], ("Báo cáo đột xuất", "Ad-hoc report"))
        g = groups.setdefault((i["schedule"], i["period"]), {
            "title": i["title"] or (vi if lang == "vi" else en), "label": i["period_label"], "items": [],
            "counts": Counter(),
        })  # fmt: skip
        g["items"].append(i)
        g["counts"][i["status"]] += 1
    return list(groups.values())


async def board_page(request: Request) -> Response:
    return await board(request)


async def open_adhoc(request: Request) -> Response:
    """An ad-hoc report of the person's own unit (its title and dates)."""
    form = await posted_form(request)
    user = require_user(request)
    body = {**payload_from(form, (*OPEN_FIELDS, "command_id")), "unit_code": user.unit}
    return await submit(
        request, SERVICE, "open", body, form,
        again=lambda refusal, values: board(request, refusal, values),
        done=lambda out: (f"Đã mở báo cáo {out['report_id']}", f"Report opened {out['report_id']}"),
        then=lambda out: f"/reports/{out['report_id']}",
    )  # fmt: skip


# --- one report -------------------------------------------------------------------------------------


def chart_set(view: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The report's charts, as the printed report has them: month by month over the twelve months
    to the period's end (meetings held, opinions raised, on-time rate); opinions by field and the
    units below, when there is something to draw."""
    _ = chooser(lang)
    comp = view["compilation"]
    s, totals = comp["series"], comp["totals"]
    months = [m[5:] + "/" + m[:4] for m in s["months"]]
    held = [sum(v[i] for v in s["meetings_by_unit"].values()) for i in range(len(s["months"]))]
    rates = [None if r is None else round(r * 100, 1) for r in s["on_time_rate"]]
    out = {
        "months": charts.line(
            _("Theo tháng (12 tháng đến hết kỳ)", "Month by month (twelve months to the period's end)"),
            months,
            [(_("Hội nghị đã tổ chức", "Meetings held"), held), (_("Ý kiến, kiến nghị", "Opinions"), s["opinions"])],
            secondary=(_("Tỉ lệ trả lời đúng hạn (%)", "Replies on time (%)"), rates),
        )
    }
    fields = sorted(totals["opinions_by_field"].items(), key=lambda kv: -kv[1])
    if fields:
        names = CATEGORY_VI if lang == "vi" else CATEGORY_EN
        out["fields"] = charts.bar(
            _("Ý kiến, kiến nghị theo lĩnh vực", "Opinions by field"),
            [names.get(k, k) for k, _n in fields],
            [(_("Ý kiến", "Opinions"), [n for _k, n in fields])],
            horizontal=True,
        )
    active = [u for u in comp["by_unit"] if any(u["figures"][k] for k in UNIT_CHART)][:30]
    if active:
        out["units"] = charts.bar(
            _("Theo đơn vị", "By unit"),
            [u["name"] for u in active],
            [(figure_label(k, lang).strip(), [u["figures"][k] for u in active]) for k in UNIT_CHART],
            horizontal=True,
        )
    return out


def figures_context(view: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """What the figures partial shows: the rows (computed beside corrected), the units below with
    figures (the quiet ones counted), the charts."""
    comp = view["compilation"]
    active = [u for u in comp["by_unit"] if any(u["figures"][k] for k in BY_UNIT)]
    return {
        "rows": figure_rows(view, lang),
        "by_unit": active,
        "quiet": len(comp["by_unit"]) - len(active),
        "by_unit_columns": [(k, figure_label(k, lang).strip()) for k in BY_UNIT],
        "charts": chart_set(view, lang),
    }


async def report_page(
    request: Request, open_form: str | None = None, refusal: Refusal | None = None, values: dict[str, Any] | None = None
) -> Response:
    rid = request.path_params["rid"]
    view = await ask(request, SERVICE, "report", {"report_id": rid})
    lang = lang_of(request)
    correctable = [(k, figure_label(k, lang).strip()) for k in view.get("correctable", [])]
    return render(
        request,
        "reports/show.html",
        422 if refusal else 200,
        **LABELS,
        **figures_context(view, lang),
        r=view,
        actions=view.get("actions", []),
        correctable=correctable,
        sections=list(Section),
        open_form=open_form,
        refusal=refusal,
        values=values or {},
        command_id=new_command_id(),
        downloads=[(fmt, f"/reports/{rid}/export/{fmt}") for fmt in FORMATS],
    )


async def show(request: Request) -> Response:
    return await report_page(request)


#: the filing forms: the fields each sends, and what the page says once done
FILING: dict[str, tuple[tuple[str, ...], tuple[str, str]]] = {
    "narrative": (("section", "text"), ("Đã lưu phần nhận định", "Narrative saved")),
    "correct": (("figure", "value", "reason"), ("Đã ghi điều chỉnh số liệu", "Correction recorded")),
    "submit": ((), ("Đã nộp báo cáo", "Report submitted")),
}


async def file(request: Request) -> Response:
    rid, name = request.path_params["rid"], request.path_params["action"]
    form = await posted_form(request)
    if name not in FILING:
        raise HTTPException(404, "no such action")
    fields, done = FILING[name]
    payload = payload_from(form, (*fields, "command_id"))
    if name == "narrative":  # an emptied section is removed: its text is sent even when empty
        text = form.get("text")
        payload["text"] = text.strip() if isinstance(text, str) else ""

    def again(refusal: Refusal, values: dict[str, str]) -> Awaitable[Response]:
        where = f"{name}:{values.get('section', '')}" if name == "narrative" else name
        return report_page(request, where, refusal, values)

    return await submit(
        request, SERVICE, name, {**payload, "report_id": rid}, form,
        again=again, done=lambda _: done, then=lambda _: f"/reports/{rid}",
    )  # fmt: skip


async def rendered(view: Mapping[str, Any], fmt: str, lang: str) -> bytes:
    """A report (or a compilation) as a file, rendered as ``caunoi reporting show|compile --pdf /
    --export`` renders it (off the event loop: the charts and the layout take a moment)."""
    if fmt == "pdf":
        return await asyncio.to_thread(printout.render, view, today_vn())
    return await asyncio.to_thread(export.render, fmt, view, lang)


async def file_response(view: Mapping[str, Any], fmt: str, name: str, lang: str) -> Response:
    if fmt not in FORMATS:
        raise HTTPException(404, "unknown format")
    body = await rendered(view, fmt, lang)
    return Response(body, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})  # fmt: skip


async def export_report(request: Request) -> Response:
    rid, fmt = request.path_params["rid"], request.path_params["fmt"]
    if fmt not in FORMATS:
        raise HTTPException(404, "unknown format")
    view = await ask(request, SERVICE, "report", {"report_id": rid})
    return await file_response(view, fmt, rid, lang_of(request))


# --- any unit, any dates ---------------------------------------------------------------------------


def compile_filters(request: Request) -> dict[str, str]:
    p = request.query_params
    today = today_vn()
    f = {k: p.get(k, "") for k in ("unit", "schedule", "period", "from", "to")}
    if not f["schedule"]:
        f["from"] = f["from"] or today.replace(day=1).isoformat()
        f["to"] = f["to"] or today.isoformat()
    return f


def compile_body(f: Mapping[str, str]) -> dict[str, Any]:
    if f["schedule"]:
        return {"unit": f["unit"] or None, "schedule": f["schedule"], "period": f["period"] or None}
    return {"unit": f["unit"] or None, "from_date": f["from"], "to_date": f["to"]}


async def compile_page(request: Request) -> Response:
    f = compile_filters(request)
    lang = lang_of(request)
    schedules = await ask(request, SERVICE, "schedules", {})
    context: dict[str, Any] = {}
    result, refusal = await asked(request, ask(request, SERVICE, "compile", compile_body(f)))
    if result is not None:
        view = printout.view_of_compilation(result)
        context = {**figures_context(view, lang), "result": result, "r": view}
    query = urlencode({k: v for k, v in f.items() if v})
    return render(
        request,
        "reports/compile.html",
        422 if refusal else 200,
        **LABELS,
        **context,
        filters=f,
        schedules=schedules["items"],
        units=unit_options(request, f["unit"] or None),
        refusal=refusal,
        downloads=[(fmt, f"/reports/compile/export/{fmt}?{query}") for fmt in FORMATS] if result else [],
    )


async def export_compilation(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise HTTPException(404, "unknown format")
    result = await ask(request, SERVICE, "compile", compile_body(compile_filters(request)))
    view = printout.view_of_compilation(result)
    name = f"so-lieu-{view['unit_code']}-{view['period_start']}-{view['period_end']}"
    return await file_response(view, fmt, name, lang_of(request))


module = Module(
    name="reports",
    title=("Báo cáo", "Reports"),
    path="/reports",
    routes=[
        Route("/reports", board_page, methods=["GET"]),
        Route("/reports/open", open_adhoc, methods=["POST"]),
        Route("/reports/compile", compile_page, methods=["GET"]),
        Route("/reports/compile/export/{fmt}", export_compilation, methods=["GET"]),
        Route("/reports/{rid}", show, methods=["GET"]),
        Route("/reports/{rid}/export/{fmt}", export_report, methods=["GET"]),
        Route("/reports/{rid}/{action}", file, methods=["POST"]),
    ],
)
