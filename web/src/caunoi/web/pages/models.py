"""The "Dân vận khéo" models (the reporting service's, issue 11): the models under a unit by field, stage,
level and recognition, those not updated for months marked; registering one (step 1); one model's six
steps as a timeline, its targets against results (a chart), its evaluation, its recognition tier by
tier with the committees' votes, its commendations, and the forms of the steps its state allows the
person (the service's ``actions``); forms 2a and 2b as PDFs, printed by the reporting distribution's
own ``forms``; and the year's candidates for commendation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caunoi.reporting import forms
from caunoi.reporting.labels import (
    COMMENDATION_EN,
    COMMENDATION_VI,
    LEVEL_EN,
    LEVEL_VI,
    MODEL_EVENTS,
    MODEL_FIELD_EN,
    MODEL_FIELD_VI,
    MODEL_KIND_EN,
    MODEL_KIND_VI,
    MONITORING_EN,
    MONITORING_VI,
    STAGE_EN,
    STAGE_VI,
    SUSTAINABILITY_EN,
    SUSTAINABILITY_VI,
    TIER_EN,
    TIER_VI,
)
from caunoi.reporting.model_commands import Stage
from caunoi.reporting.model_events import (
    CommendationForm,
    Direction,
    Level,
    ModelField,
    ModelKind,
    MonitoringKind,
    Sustainability,
    Tier,
)
from caunoi.shared.authz import COMMAND_ROLES
from caunoi.shared.clock import today_vn
from caunoi.web import charts
from caunoi.web.auth import posted_form, require_user
from caunoi.web.i18n import chooser, lang_of
from caunoi.web.pages.base import (
    Module,
    Refusal,
    ask,
    asked,
    int_arg,
    new_command_id,
    payload_from,
    render,
    state,
    submit,
    unit_options,
)

SERVICE = "reporting"
LABELS: dict[str, Any] = {
    "FIELD_VI": MODEL_FIELD_VI, "FIELD_EN": MODEL_FIELD_EN, "KIND_VI": MODEL_KIND_VI, "KIND_EN": MODEL_KIND_EN,
    "STAGE_VI": STAGE_VI, "STAGE_EN": STAGE_EN, "LEVEL_VI": LEVEL_VI, "LEVEL_EN": LEVEL_EN, "TIER_VI": TIER_VI,
    "TIER_EN": TIER_EN, "MONITORING_VI": MONITORING_VI, "MONITORING_EN": MONITORING_EN,
    "SUSTAINABILITY_VI": SUSTAINABILITY_VI, "SUSTAINABILITY_EN": SUSTAINABILITY_EN,
    "COMMENDATION_VI": COMMENDATION_VI, "COMMENDATION_EN": COMMENDATION_EN,
}  # fmt: skip
CHOICES: dict[str, Any] = {
    "fields": list(ModelField), "stages": list(Stage), "levels": list(Level), "tiers": list(Tier),
    "kinds": list(ModelKind), "monitoring_kinds": list(MonitoringKind), "sustainabilities": list(Sustainability),
    "commendation_forms": list(CommendationForm), "directions": list(Direction),
}  # fmt: skip
#: the rows of targets the registration form offers
TARGET_ROWS = 5


# --- the models under a unit ------------------------------------------------------------------


def list_filters(request: Request) -> dict[str, str]:
    p = request.query_params
    return {k: p.get(k, "") for k in ("unit", "field", "stage", "level", "tier", "stale", "months")}


def months_since(day: date, today: date) -> int:
    """Whole calendar months from ``day`` to ``today``."""
    return (today.year - day.year) * 12 + today.month - day.month - (today.day < day.day)


async def listing(request: Request) -> Response:
    """The models under the unit, with counts by stage and level; those not updated for the service's
    number of months (``CAUNOI_MODELS_STALE_MONTHS``, or the months asked for) marked, or alone."""
    user = require_user(request)
    f = list_filters(request)
    months = int_arg(request, "months", 0, 0, 120) or None
    query = {"unit": f["unit"] or None, **{k: f[k] or None for k in ("field", "stage", "level", "tier")},
             "months": months}  # fmt: skip
    both, refusal = await asked(request, asyncio.gather(
        ask(request, SERVICE, "models", {**query, "stale": f["stale"] == "1"}),
        ask(request, SERVICE, "models", {**query, "stale": True}),
    ))  # fmt: skip
    empty: dict[str, Any] = {"total": 0, "counts": {}, "items": [], "stale_months": None}
    result, stale = both or (empty, empty)
    today = today_vn()
    stale_ids = {i["id"] for i in stale["items"]}
    for i in result["items"]:
        i["stale_for"] = months_since(date.fromisoformat(str(i["last_step_on"])[:10]), today)
        i["stale"] = i["id"] in stale_ids
    return render(
        request,
        "models/list.html",
        **LABELS,
        **CHOICES,
        filters=f,
        result=result,
        stale_months=stale.get("stale_months"),
        stale_total=stale["total"],
        units=unit_options(request, f["unit"] or None),
        refusal=refusal,
        may_register=user.has(*COMMAND_ROLES),
        query=urlencode({k: v for k, v in f.items() if k != "stage" and v}),
    )


async def candidates_page(request: Request) -> Response:
    """The year's candidates for commendation under the unit (the service's order: the highest tier
    first, exceeded before met, then the share of targets exceeded)."""
    f = {k: request.query_params.get(k, "") for k in ("unit", "year")}
    year = int_arg(request, "year", today_vn().year, 2000, 2100)
    listed, refusal = await asked(
        request, ask(request, SERVICE, "model_candidates", {"unit": f["unit"] or None, "year": year})
    )
    result = listed or {"year": year, "total": 0, "items": []}
    return render(request, "models/candidates.html", **LABELS, filters=f, year=year, result=result,
                  units=unit_options(request, f["unit"] or None), refusal=refusal)  # fmt: skip


# --- step 1: registering a model ----------------------------------------------------------------

REGISTER_FIELDS = ("unit_code", "agency", "name", "kind", "holder", "field", "problem", "expected_results",
                   "resources.participants", "resources.budget_vnd", "resources.budget_source", "registered_on",
                   "command_id")  # fmt: skip
TARGET_FIELDS = ("text", "value", "unit", "direction")


def lines(form: FormData, name: str) -> list[str]:
    """A textarea's items, one a line (empty lines left out)."""
    value = form.get(name)
    return [s.strip() for s in value.splitlines() if s.strip()] if isinstance(value, str) else []


def renumbered(refusal: Refusal, prefix: str, rows: Mapping[int, str], item: str = "") -> Refusal:
    """A refusal of a list the form sent without its empty rows (``targets.1.value``), at the form's own
    inputs (``targets.3.value``): ``rows`` maps each sent item to its input's key; ``item``: the field of
    an item that is the input itself (``results.1.result`` at ``results.t2``)."""

    def where(name: str) -> str:
        m = re.fullmatch(rf"{re.escape(prefix)}\.(\d+)(\..*)?", name)
        if m is None or int(m.group(1)) not in rows:
            return name
        rest = m.group(2) or ""
        return f"{prefix}.{rows[int(m.group(1))]}{'' if item and rest == '.' + item else rest}"

    refusal.fields = {where(k): v for k, v in refusal.fields.items()}
    refusal.field = where(refusal.field) if refusal.field else None
    return refusal


def registration(form: FormData) -> tuple[dict[str, Any], dict[int, str]]:
    """The registration's body, and where each target sent came from (its row of the form)."""
    body = payload_from(form, REGISTER_FIELDS)
    body["criteria"] = lines(form, "criteria")
    body.setdefault("resources", {})["core_team"] = lines(form, "resources.core_team")
    targets: list[dict[str, Any]] = []
    rows: dict[int, str] = {}
    for row in range(TARGET_ROWS):
        target = payload_from(form, [f"targets.{row}.{k}" for k in TARGET_FIELDS]).get("targets", {}).get(str(row))
        if target and ("text" in target or "value" in target):  # a row with only its defaults is unused
            target["essential"] = form.get(f"targets.{row}.essential") in ("on", "true", "1")
            rows[len(targets)] = str(row)
            targets.append(target)
    body["targets"] = targets
    return body, rows


def registering_units(request: Request) -> list[tuple[str, str]]:
    """Whom a person registers for: their unit and those right below it (a national operator types a code)."""
    user = require_user(request)
    tree = state(request).units
    if not user.unit or user.unit not in tree:
        return []
    return [(u.code, u.name) for u in (tree.get(user.unit), *tree.children(user.unit))]


async def new_page(request: Request, refusal: Refusal | None = None, values: dict[str, Any] | None = None) -> Response:
    user = require_user(request)
    defaults = {"unit_code": user.unit or "", "kind": "collective", **{f"targets.{i}.essential": "on" for i in
                                                                       range(TARGET_ROWS)}}  # fmt: skip
    known = [*REGISTER_FIELDS, "criteria", "resources.core_team", "targets",
             *(f"targets.{i}.{k}" for i in range(TARGET_ROWS) for k in (*TARGET_FIELDS, "essential"))]  # fmt: skip
    return render(request, "models/new.html", 422 if refusal else 200, **LABELS, **CHOICES, refusal=refusal,
                  values=values or defaults, rows=range(TARGET_ROWS), units=registering_units(request), known=known,
                  command_id=new_command_id())  # fmt: skip


async def register(request: Request) -> Response:
    form = await posted_form(request)
    body, rows = registration(form)
    return await submit(
        request, SERVICE, "model_register", body, form,
        again=lambda refusal, values: new_page(request, renumbered(refusal, "targets", rows), values),
        done=lambda out: (f"Đã đăng ký mô hình {out['model_id']}", f"Model registered {out['model_id']}"),
        then=lambda out: f"/models/{out['model_id']}",
    )  # fmt: skip


# --- one model --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A command on a model as its form sends it: ``fields`` as text, ``flags`` as checkboxes, ``lines``
    as one item a line; the page says ``done`` once it is recorded."""

    title: tuple[str, str]
    done: tuple[str, str]
    fields: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()


#: the forms of a model's page, by their path (``/models/<id>/<name>``, command ``model_<name>``), in the
#: steps' order; which are offered is the service's answer
STEPS: dict[str, Step] = {
    "deploy": Step(("Bước 2: Triển khai", "Step 2: deployment"), ("Đã ghi nhận triển khai", "Deployment recorded"),
                   ("survey_report", "plan.form", "plan.start", "plan.end", "plan.place", "plan.budget_vnd",
                    "plan.budget_source", "deployed_on"), ("pledge",),
                   ("steering_board", "survey_team", "publicity_team", "assignments")),
    "monitor": Step(("Bước 3: Theo dõi, kiểm tra", "Step 3: monitoring"),
                    ("Đã ghi nhận theo dõi, kiểm tra", "Monitoring recorded"), ("kind", "text", "by", "on")),
    "evaluate": Step(("Bước 4: Tự đánh giá theo chỉ tiêu", "Step 4: evaluation against the targets"),
                     ("Đã ghi nhận đánh giá", "Evaluation recorded"),
                     ("sustainability", "replicable_at", "findings", "budget_spent_vnd", "evaluated_on")),
    "report": Step(("Bước 5.1: Báo cáo kết quả (Mẫu 2a)", "Step 5.1: results report (form 2a)"),
                   ("Đã ghi nhận báo cáo kết quả", "Results report recorded"),
                   ("achievements", "lessons", "proposals", "number", "proposed_tier", "reported_on")),
    "vote": Step(("Bước 5.2: Cấp ủy biểu quyết công nhận", "Step 5.2: the committee's vote"),
                 ("Đã ghi nhận biểu quyết công nhận", "Vote recorded"),
                 ("tier", "members", "present", "in_favour", "against", "abstaining", "voted_on", "minutes_ref")),
    "notice": Step(("Bước 5.3: Thông báo công nhận (Mẫu 2b)", "Step 5.3: recognition notice (form 2b)"),
                   ("Đã ban hành thông báo công nhận", "Recognition notice recorded"),
                   ("tier", "number", "signer_name", "signer_title", "issued_on")),
    "commend": Step(("Bước 6: Biểu dương, khen thưởng", "Step 6: commendation"),
                    ("Đã ghi nhận khen thưởng", "Commendation recorded"),
                    ("year", "form", "reason", "decision_ref", "on", "by_unit")),
    "replicate": Step(("Bước 6: Kế hoạch nhân rộng", "Step 6: replication plan"),
                      ("Đã ghi nhận kế hoạch nhân rộng", "Replication plan recorded"),
                      ("scope", "plan", "from_date", "by_unit"), lines=("units",)),
}  # fmt: skip


def step_body(
    name: str, form: FormData, mid: str, targets: Sequence[Mapping[str, Any]] = ()
) -> tuple[dict[str, Any], dict[int, str]]:
    """The command's body from its form, and, for an evaluation (of the model's registered
    ``targets``), which target each result sent is for."""
    step = STEPS[name]
    body = payload_from(form, (*step.fields, "command_id"), step.flags)
    for field in step.lines:
        body[field] = lines(form, field)
    rows: dict[int, str] = {}
    if name == "deploy":
        body["assignments"] = [dict(zip(("who", "task"), (s.strip() for s in a.partition(":")[::2]), strict=True))
                               for a in body["assignments"]]  # fmt: skip
    elif name == "evaluate":
        results: list[dict[str, Any]] = []
        for t in targets:
            value = form.get(f"results.{t['id']}")
            if isinstance(value, str) and value.strip():
                rows[len(results)] = t["id"]
                results.append({"target_id": t["id"], "result": value.strip().replace(",", ".")})
        body["results"] = results
    elif name == "replicate":
        body["units"] = [u for u in form.getlist("units") if isinstance(u, str) and u]
    return {**body, "model_id": mid}, rows


def at_inputs(refusal: Refusal, step: Step) -> Refusal:
    """An item of a line-per-item list refused (``assignments.0.task``) shown at its textarea."""
    for key, text in list(refusal.fields.items()):
        head = key.split(".", 1)[0]
        if head in step.lines and "." in key:
            refusal.fields.setdefault(head, text)
    if refusal.field and refusal.field.split(".", 1)[0] in step.lines:
        refusal.field = refusal.field.split(".", 1)[0]
    return refusal


def known_fields(step: Step, targets: Sequence[Mapping[str, Any]]) -> list[str]:
    """The names a step's form shows a refusal at (anything else is shown above it)."""
    return [*step.fields, *step.flags, *step.lines, *(f"results.{t['id']}" for t in targets), "results", "units"]


def target_rows(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each registered target with its latest result and level."""
    ev = view.get("evaluation") or {}
    results = {r["target_id"]: r for r in ev.get("results", [])}
    out = []
    for t in view["registered"]["targets"]:
        r = results.get(t["id"], {})
        out.append({**t, "result": r.get("result"), "level": r.get("level"), "note": r.get("note"),
                    "sign": "≤" if t["direction"] == Direction.at_most else "≥"})  # fmt: skip
    return out


def number(value: float | None, lang: str = "vi") -> str:
    """A target's value or result: ``3,4`` in Vietnamese, ``3.4`` in English."""
    if value is None:
        return "—"
    text = f"{value:g}"
    return text.replace(".", ",") if lang == "vi" else text


def targets_chart(rows: Sequence[Mapping[str, Any]], lang: str) -> str | None:
    """The targets against the latest results, side by side (each with its own unit in its label)."""
    if not rows or all(r["result"] is None for r in rows):
        return None
    _ = chooser(lang)
    labels = [f"{r['text']}{' (' + r['unit'] + ')' if r['unit'] else ''}" for r in rows]
    return charts.bar(
        _("Chỉ tiêu đăng ký và kết quả", "Targets and results"),
        labels,
        [(_("Chỉ tiêu", "Target"), [r["value"] for r in rows]), (_("Kết quả", "Result"), [r["result"] for r in rows])],
        horizontal=True,
        printed=True,
    )


def history(view: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    out = []
    for h in view["history"]:
        name = h["type"].rsplit(".", 2)[-2]
        vi, en = MODEL_EVENTS.get(name, (name, name))
        out.append({**h, "name": name, "label": vi if lang == "vi" else en})
    return out


def step_of_stage(view: Mapping[str, Any]) -> dict[str, bool]:
    """Which of the six steps have anything recorded."""
    return {
        Stage.idea: True,
        Stage.deployment: view["deployed"] is not None,
        Stage.monitoring: bool(view["monitoring"]),
        Stage.evaluation: view["evaluation"] is not None,
        Stage.recognition: bool(view["report"] or view["votes"] or view["notices"]),
        Stage.commendation: bool(view["commendations"] or view["replications"]),
    }


async def model_page(
    request: Request, open_form: str | None = None, refusal: Refusal | None = None, values: dict[str, Any] | None = None
) -> Response:
    mid = request.path_params["mid"]
    view = await ask(request, SERVICE, "model", {"model_id": mid})
    lang = lang_of(request)
    rows = target_rows(view)
    tree = state(request).units
    widest = view["by_units"][-1] if view.get("by_units") else None
    pending = [t for t in view["ladder"] if t in view["votes"] and t not in view["notices"]]
    return render(
        request,
        "models/show.html",
        422 if refusal else 200,
        **LABELS,
        **CHOICES,
        v=view,
        reg=view["registered"],
        actions=[a.removeprefix("model_") for a in view.get("actions", [])],
        steps=STEPS,
        recorded=step_of_stage(view),
        stage_index=list(Stage).index(Stage(view["stage"])),
        targets=rows,
        known={name: known_fields(step, rows) for name, step in STEPS.items()},
        chart=targets_chart(rows, lang),
        events=history(view, lang),
        vote_tier=view["next_tier"],
        notice_tier=pending[0] if pending else None,
        replicate_units=[(u.code, u.name) for u in tree.children(widest)] if widest and widest in tree else [],
        open_form=open_form,
        refusal=refusal,
        values=values or {},
        today=today_vn(),
        command_id=new_command_id(),
        number=partial(number, lang=lang),
    )


async def show(request: Request) -> Response:
    return await model_page(request)


async def act(request: Request) -> Response:
    mid, name = request.path_params["mid"], request.path_params["action"]
    form = await posted_form(request)
    if name not in STEPS:
        raise HTTPException(404, "no such step")
    targets = (
        (await ask(request, SERVICE, "model", {"model_id": mid}))["registered"]["targets"] if name == "evaluate" else []
    )
    body, rows = step_body(name, form, mid, targets)

    def again(refusal: Refusal, values: dict[str, str]) -> Awaitable[Response]:
        shown = at_inputs(refusal, STEPS[name])
        if name == "evaluate":  # a result refused (``results.1.result``) at its target's input (``results.t2``)
            shown = renumbered(shown, "results", rows, item="result")
        return model_page(request, name, shown, values)

    return await submit(
        request, SERVICE, f"model_{name}", body, form,
        again=again, done=lambda _: STEPS[name].done, then=lambda _: f"/models/{mid}",
    )  # fmt: skip


# --- forms 2a and 2b ----------------------------------------------------------------------------------


def pdf(body: bytes, name: str) -> Response:
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})  # fmt: skip


async def form_2a(request: Request) -> Response:
    """Mẫu 2a, the results report, as ``caunoi reporting models show --pdf-2a`` prints it (a draft
    before the report is written)."""
    mid = request.path_params["mid"]
    view = await ask(request, SERVICE, "model", {"model_id": mid})
    return pdf(await asyncio.to_thread(forms.form_2a, view, today_vn()), f"mau-2a-{mid}")


async def form_2b(request: Request) -> Response:
    """Mẫu 2b, the recognition notice at a tier."""
    mid, tier = request.path_params["mid"], request.path_params["tier"]
    view = await ask(request, SERVICE, "model", {"model_id": mid})
    if tier not in view["notices"]:
        raise HTTPException(404, "no recognition notice at that tier")
    return pdf(await asyncio.to_thread(forms.form_2b, view, tier), f"mau-2b-{mid}-{tier}")


module = Module(
    name="models",
    title=("Mô hình Dân vận khéo", "Models"),
    path="/models",
    routes=[
        Route("/models", listing, methods=["GET"]),
        Route("/models/candidates", candidates_page, methods=["GET"]),
        Route("/models/new", new_page, methods=["GET"]),
        Route("/models/new", register, methods=["POST"]),
        Route("/models/{mid}", show, methods=["GET"]),
        Route("/models/{mid}/2a.pdf", form_2a, methods=["GET"]),
        Route("/models/{mid}/2b/{tier}.pdf", form_2b, methods=["GET"]),
        Route("/models/{mid}/{action}", act, methods=["POST"]),
    ],
)
