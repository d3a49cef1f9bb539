"""Petitions: the unit's inbox, intake at reception or during a meeting, and one petition's
timeline with the actions its state allows (the petitions service says which)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caunoi.petitions.domain import STATUS_EN, STATUS_VI
from caunoi.petitions.events import Category, Channel, Complexity, Kind, Status, Verdict
from caunoi.petitions.labels import (
    CATEGORY_EN,
    CATEGORY_VI,
    CHANNEL_EN,
    CHANNEL_VI,
    COMPLEXITY_EN,
    COMPLEXITY_VI,
    EVENT_LABELS,
    KIND_EN,
    KIND_VI,
    VERDICT_EN,
    VERDICT_VI,
    detail,
    event_name,
)
from caunoi.shared.client import RequestFailed
from caunoi.shared.units import LEVEL_COMMUNE
from caunoi.web.auth import posted_form, require_user
from caunoi.web.i18n import lang_of
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
from caunoi.web.reads import show_petition

SERVICE = "petitions"
PAGE = 50
LABELS: dict[str, Any] = {
    "STATUS_VI": STATUS_VI,
    "STATUS_EN": STATUS_EN,
    "KIND_VI": KIND_VI,
    "KIND_EN": KIND_EN,
    "CATEGORY_VI": CATEGORY_VI,
    "CATEGORY_EN": CATEGORY_EN,
    "CHANNEL_VI": CHANNEL_VI,
    "CHANNEL_EN": CHANNEL_EN,
    "COMPLEXITY_VI": COMPLEXITY_VI,
    "COMPLEXITY_EN": COMPLEXITY_EN,
    "VERDICT_VI": VERDICT_VI,
    "VERDICT_EN": VERDICT_EN,
}
CHOICES = {
    "statuses": [s for s in Status if s is not Status.new],
    "kinds": list(Kind),
    "categories": list(Category),
    "channels": list(Channel),
    "complexities": list(Complexity),
    "verdicts": list(Verdict),
}


@dataclass(frozen=True)
class Action:
    """A command on a petition as its form sends it."""

    title: tuple[str, str]
    fields: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()


#: the forms of the petition page, by command name; which are offered is the service's answer
ACTIONS: dict[str, Action] = {
    "classify": Action(("Phân loại", "Classify"), ("kind", "category", "eligible", "reason")),
    "answer": Action(("Giải đáp tại hội nghị", "Answer on the spot"), ("answer", "answered_by")),
    "forward": Action(("Chuyển cấp có thẩm quyền", "Forward"), ("to_unit", "to_agency", "note")),
    "return": Action(("Trả lại đơn vị chuyển", "Return to the sender"), ("reason",)),
    "accept": Action(("Thụ lý", "Accept"), ("complexity", "note"), flags=("remote_area",)),
    "commit": Action(("Cam kết thời hạn", "Commit a date"), ("committed_date", "note")),
    "extend": Action(("Gia hạn", "Extend"), ("until", "complexity", "reason")),
    "reply": Action(
        ("Ban hành văn bản trả lời", "Issue the written reply"),
        ("document_no", "issued_on", "summary", "internal_note"),
        lists=("recipients",),
    ),
    "merge": Action(("Gộp vào vụ việc", "Merge into a case"), ("case_id", "reason")),
    "verdict": Action(("Ý kiến người nêu", "Petitioner's verdict"), ("verdict", "comment")),
    "withdraw": Action(("Rút đơn", "Withdraw"), ("reason",)),
}
INTAKE_FIELDS = (
    "channel",
    "kind",
    "category",
    "petitioner.name",
    "petitioner.phone",
    "petitioner.address",
    "commune_code",
    "hamlet_id",
    "text",
    "received_on",
    "meeting_id",
    "command_id",
)
#: what intake keeps for the next opinion (the rest of a meeting's opinions share them)
STICKY = ("channel", "commune_code", "hamlet_id", "meeting_id", "received_on", "category")


def common(request: Request) -> dict[str, Any]:
    return {**LABELS, **CHOICES}


# --- the inbox --------------------------------------------------------------------------------


def inbox_filters(request: Request) -> dict[str, Any]:
    p = request.query_params
    return {k: p.get(k, "") for k in ("unit", "status", "kind", "category", "channel", "flag", "q", "from", "to")}


async def inbox(request: Request) -> Response:
    require_user(request)
    f = inbox_filters(request)
    offset = int_arg(request, "offset", 0)
    query = {
        "unit": f["unit"] or None,
        "status": [f["status"]] if f["status"] else None,
        "kind": f["kind"] or None,
        "category": f["category"] or None,
        "channel": f["channel"] or None,
        "overdue": True if f["flag"] == "overdue" else None,
        "approaching": True if f["flag"] == "approaching" else None,
        "search": f["q"] or None,
        "received_from": f["from"] or None,
        "received_to": f["to"] or None,
        "limit": PAGE,
        "offset": offset,
        "counts": True,
    }
    listed, refusal = await asked(request, ask(request, SERVICE, "list", query))
    result = listed or {"total": 0, "items": [], "personal_data": False, "counts": None}
    return render(
        request,
        "petitions/inbox.html",
        **common(request),
        filters=f,
        result=result,
        offset=offset,
        page=PAGE,
        refusal=refusal,
        units=unit_options(request, f["unit"] or None),
        query_without_offset=urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "offset"]),
    )


# --- intake -----------------------------------------------------------------------------------


async def intake_context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    """The choices intake offers: the communes under the user's unit, their hamlets, the meeting."""
    user = require_user(request)
    units = state(request).units
    commune = values.get("commune_code") or ""
    own = units.find(user.unit) if user.unit else None
    if own is not None and own.level == LEVEL_COMMUNE:
        commune = commune or own.code
        communes = [own]
    elif own is not None:
        communes = [u for u in units.descendants(own.code) if u.level == LEVEL_COMMUNE]
    else:
        communes = []
    hamlets: list[dict[str, Any]] = []
    scope = commune or user.unit or None
    if scope:
        try:
            listed = await ask(request, "scheduling", "hamlets", {"unit": scope})
            hamlets = listed.get("items", [])
        except RequestFailed:
            hamlets = []
    values.setdefault("commune_code", commune)
    return {"communes": communes, "hamlets": hamlets, "values": values}


async def from_meeting(request: Request, meeting_id: str) -> dict[str, Any]:
    """Intake during a meeting: its commune, host hamlet and date."""
    m = await ask(request, "scheduling", "meeting", {"meeting_id": meeting_id})
    values = {"channel": Channel.meeting.value, "meeting_id": m["id"], "commune_code": m["commune_code"]}
    if m.get("host_id"):
        values["hamlet_id"] = m["host_id"]
    held = m.get("held_on") or m.get("date")
    if held:
        values["received_on"] = str(held)[:10]
    return values | {"meeting": m}


async def intake_page(request: Request) -> Response:
    require_user(request)
    p = request.query_params
    values: dict[str, Any] = {k: p[k] for k in STICKY if p.get(k)}
    if p.get("meeting"):
        values |= await from_meeting(request, p["meeting"])
    values.setdefault("channel", Channel.reception.value)
    values["command_id"] = new_command_id()
    ctx = await intake_context(request, values)
    return render(request, "petitions/new.html", **common(request), **ctx, refusal=None)


async def intake_post(request: Request) -> Response:
    form = await posted_form(request)
    payload = payload_from(form, INTAKE_FIELDS, flags=("petitioner.confidential",))

    async def again(refusal: Refusal, values: dict[str, str]) -> Response:
        ctx = await intake_context(request, values)
        return render(request, "petitions/new.html", 422, **common(request), **ctx, refusal=refusal)

    def then(result: dict[str, Any]) -> str:
        """The new petition, or (``again``) a new intake keeping the meeting's fields."""
        pid = result["petition_id"]
        request.session["last_raised"] = pid
        sticky = urlencode({k: v for k in STICKY if isinstance(v := form.get(k), str) and v})
        return f"/petitions/new?{sticky}" if form.get("again") else f"/petitions/{pid}"

    return await submit(
        request, SERVICE, "raise", payload, form, again=again, then=then,
        done=lambda out: (f"Đã tiếp nhận {out['petition_id']}", f"Received {out['petition_id']}"),
    )  # fmt: skip


# --- one petition -------------------------------------------------------------------------------


def timeline(history: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    out = []
    for h in history:
        name = event_name(h["type"])
        vi, en = EVENT_LABELS.get(name, (name, name))
        out.append(
            {
                **h,
                "name": name,
                "label": vi if lang == "vi" else en,
                "detail": detail(name, h["data"]),
                "time_only": name in ("DeadlineApproaching", "PetitionOverdue", "DelayNoticeRequired"),
            }
        )
    return out


async def petition_page(
    request: Request,
    open_action: str | None = None,
    refusal: Refusal | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    pid = request.path_params["pid"]
    shown = await show_petition(lambda body: ask(request, SERVICE, "show", body), pid)
    if shown.get("petition") is None:  # the read model is behind: the page reloads itself
        return render(request, "petitions/pending.html", pid=pid)
    lang = lang_of(request)
    return render(
        request,
        "petitions/show.html",
        422 if refusal else 200,
        **common(request),
        p=shown["petition"],
        shown=shown,
        events=timeline(shown["history"], lang),
        actions=[(name, ACTIONS[name]) for name in ACTIONS if name in shown.get("actions", [])],
        open_action=open_action,
        refusal=refusal,
        values=values or {},
        command_id=new_command_id(),
    )


async def show(request: Request) -> Response:
    return await petition_page(request)


async def act(request: Request) -> Response:
    pid, name = request.path_params["pid"], request.path_params["action"]
    form = await posted_form(request)
    action = ACTIONS.get(name)
    if action is None:
        return await petition_page(request)
    body = {**payload_from(form, (*action.fields, "command_id"), action.flags, action.lists), "petition_id": pid}
    vi, en = action.title
    return await submit(
        request, SERVICE, name, body, form,
        again=lambda refusal, values: petition_page(request, name, refusal, values),
        done=lambda _: (f"Đã ghi: {vi}", f"Recorded: {en}"), then=lambda _: f"/petitions/{pid}",
    )  # fmt: skip


module = Module(
    name="petitions",
    title=("Ý kiến, kiến nghị", "Petitions"),
    path="/petitions",
    routes=[
        Route("/petitions", inbox, methods=["GET"]),
        Route("/petitions/new", intake_page, methods=["GET"]),
        Route("/petitions/new", intake_post, methods=["POST"]),
        Route("/petitions/{pid}", show, methods=["GET"]),
        Route("/petitions/{pid}/{action}", act, methods=["POST"]),
    ],
)
