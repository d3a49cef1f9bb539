"""Notices: those the notify service sent, is sending and gave up on, by state (failed first, for
an operator to act on), one notice's details and history as the service returns them (never more
personal data than it gives that person), and sending a failed one again with a reason."""

from __future__ import annotations

import asyncio
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caunoi.notify.events import NoticeKind
from caunoi.notify.labels import (
    CHANNEL_EN,
    CHANNEL_VI,
    EVENT_LABELS,
    KIND_EN,
    KIND_VI,
    RECIPIENT_EN,
    RECIPIENT_VI,
    STATE_EN,
    STATE_VI,
)
from caunoi.web.auth import posted_form
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
    submit,
    unit_options,
)

SERVICE = "notify"
PAGE: Final = 50
#: the states, in the order the page lists them: what needs an operator first
STATES: Final = ("failed", "queued", "sent")
LABELS: dict[str, Any] = {
    "STATE_VI": STATE_VI, "STATE_EN": STATE_EN, "KIND_VI": KIND_VI, "KIND_EN": KIND_EN,
    "CHANNEL_VI": CHANNEL_VI, "CHANNEL_EN": CHANNEL_EN, "RECIPIENT_VI": RECIPIENT_VI, "RECIPIENT_EN": RECIPIENT_EN,
}  # fmt: skip


def notice_filters(request: Request) -> dict[str, str]:
    p = request.query_params
    f = {k: p.get(k, "") for k in ("unit", "state", "kind", "q")}
    f["state"] = f["state"] if f["state"] in (*STATES, "all") else "failed"
    return f


async def listing(request: Request) -> Response:
    f = notice_filters(request)
    offset = int_arg(request, "offset", 0)
    base = {"unit": f["unit"] or None, "kind": f["kind"] or None, "event": f["q"] or None}
    # how many in each state (one count each), and the page of the state asked for
    pages, refusal = await asked(request, asyncio.gather(
        *(ask(request, SERVICE, "list", {**base, "state": s, "limit": 1}) for s in STATES),
        ask(request, SERVICE, "list", {**base, "state": None if f["state"] == "all" else f["state"],
                                       "limit": PAGE, "offset": offset}),
    ))  # fmt: skip
    *totals, result = pages or [*({"total": 0} for _ in STATES), {"total": 0, "items": []}]
    counts = {s: t["total"] for s, t in zip(STATES, totals, strict=True)}
    return render(
        request,
        "notices/list.html",
        **LABELS,
        filters=f,
        counts=counts,
        result=result,
        offset=offset,
        page=PAGE,
        kinds=list(NoticeKind),
        states=STATES,
        units=unit_options(request, f["unit"] or None),
        refusal=refusal,
        query=urlencode({k: v for k, v in f.items() if k != "state" and v}),
        query_without_offset=urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "offset"]),
    )


def history(items: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    out = []
    for h in items:
        name = h["type"].split(".")[-2]
        vi, en = EVENT_LABELS.get(name, (name, name))
        out.append({**h, "name": name, "label": vi if lang == "vi" else en})
    return out


async def notice_page(
    request: Request, refusal: Refusal | None = None, values: dict[str, Any] | None = None
) -> Response:
    nid = request.path_params["nid"]
    shown = await ask(request, SERVICE, "show", {"notice_id": nid})
    return render(
        request,
        "notices/show.html",
        422 if refusal else 200,
        **LABELS,
        n=shown["notice"] or {"id": nid, "state": shown["state"]},
        shown=shown,
        events=history(shown["history"], lang_of(request)),
        actions=shown.get("actions", []),
        refusal=refusal,
        values=values or {},
        command_id=new_command_id(),
    )


async def show(request: Request) -> Response:
    return await notice_page(request)


async def resend(request: Request) -> Response:
    nid = request.path_params["nid"]
    form = await posted_form(request)
    body = {**payload_from(form, ("reason", "command_id")), "notice_id": nid}
    return await submit(
        request, SERVICE, "resend", body, form,
        again=lambda refusal, values: notice_page(request, refusal, values),
        done=lambda out: (f"Đã đưa vào hàng gửi lại: {nid} (lượt {out['round']})",
                          f"Queued to be sent again: {nid} (round {out['round']})"),
        then=lambda _: f"/notices/{nid}",
    )  # fmt: skip


module = Module(
    name="notices",
    title=("Thông báo", "Notices"),
    path="/notices",
    routes=[
        Route("/notices", listing, methods=["GET"]),
        Route("/notices/{nid}", show, methods=["GET"]),
        Route("/notices/{nid}/resend", resend, methods=["POST"]),
    ],
)
