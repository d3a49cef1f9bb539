"""Meetings: the calendar of a unit's dialogue meetings, and one meeting's record (attendance,
minutes, the opinions raised there), with recording it as held and closing its minutes."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from caunoi.petitions.domain import STATUS_EN as PETITION_STATUS_EN
from caunoi.petitions.domain import STATUS_VI as PETITION_STATUS_VI
from caunoi.scheduling.events import AttendeeGroup, MeetingStatus
from caunoi.scheduling.labels import ATTENDEE_VI, PROGRAMME_EN, PROGRAMME_VI, STATUS_EN, STATUS_VI, TARGET_VI
from caunoi.shared.clock import VN
from caunoi.web.auth import posted_form
from caunoi.web.pages.base import Module, Refusal, ask, new_command_id, payload_from, render, submit

SERVICE = "scheduling"
ATTENDEE_EN = {g: g.value.replace("_", " ") for g in AttendeeGroup}
LABELS: dict[str, Any] = {
    "STATUS_VI": STATUS_VI,
    "STATUS_EN": STATUS_EN,
    "PROGRAMME_VI": PROGRAMME_VI,
    "PROGRAMME_EN": PROGRAMME_EN,
    "ATTENDEE_VI": ATTENDEE_VI,
    "ATTENDEE_EN": ATTENDEE_EN,
    "TARGET_VI": TARGET_VI,
    "PETITION_STATUS_VI": PETITION_STATUS_VI,
    "PETITION_STATUS_EN": PETITION_STATUS_EN,
}
HOLD_FIELDS = ("chair", "minutes_ref", "held_on", "venue", *(f"attendees.{g.value}" for g in AttendeeGroup))
CLOSE_FIELDS = ("minutes_ref", "summary", "closed_on")


def month_of(value: str | None) -> date:
    if value:
        try:
            return datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            pass
    return datetime.now(VN).date().replace(day=1)


def shift(month: date, by: int) -> date:
    n = month.year * 12 + month.month - 1 + by
    return date(n // 12, n % 12 + 1, 1)


async def calendar_page(request: Request) -> Response:
    month = month_of(request.query_params.get("month"))
    unit = request.query_params.get("unit") or None
    last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    result = await ask(
        request,
        SERVICE,
        "meetings",
        {"unit": unit, "from_date": month.isoformat(), "to_date": last.isoformat(), "limit": 1000},
    )
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in result["items"]:
        by_day[str(m["date"])[:10]].append(m)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    return render(
        request,
        "meetings/calendar.html",
        **LABELS,
        month=month,
        prev=shift(month, -1).strftime("%Y-%m"),
        next=shift(month, 1).strftime("%Y-%m"),
        weeks=weeks,
        by_day=by_day,
        items=result["items"],
        unit=unit or "",
    )


async def ics(request: Request) -> Response:
    """The unit's upcoming meetings as an iCalendar file (the scheduling service writes it)."""
    result = await ask(request, SERVICE, "calendar", {"unit": request.query_params.get("unit") or None})
    return Response(
        result["ics"],
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lich-hoi-nghi.ics"'},
    )


async def meeting_page(
    request: Request, open_form: str | None = None, refusal: Refusal | None = None, values: dict[str, Any] | None = None
) -> Response:
    mid = request.path_params["mid"]
    m = await ask(request, SERVICE, "meeting", {"meeting_id": mid})
    opinions = await ask(request, "petitions", "list", {"meeting_id": mid, "limit": 500})
    status = MeetingStatus(m["status"])
    actions = m.get("actions", [])  # what the meeting's state allows this person (the service says)
    return render(
        request,
        "meetings/show.html",
        422 if refusal else 200,
        **LABELS,
        m=m,
        opinions=opinions["items"],
        may_hold="meeting_hold" in actions,
        may_close="meeting_close" in actions,
        may_take_opinions=status is not MeetingStatus.cancelled,
        groups=list(AttendeeGroup),
        hold_fields=HOLD_FIELDS,
        open_form=open_form,
        refusal=refusal,
        values=values or {},
        command_id=new_command_id(),
    )


async def show(request: Request) -> Response:
    return await meeting_page(request)


async def record(request: Request, name: str, fields: tuple[str, ...], done: tuple[str, str]) -> Response:
    mid = request.path_params["mid"]
    form = await posted_form(request)
    body = {**payload_from(form, (*fields, "command_id")), "meeting_id": mid}
    return await submit(
        request, SERVICE, name, body, form,
        again=lambda refusal, values: meeting_page(request, name, refusal, values),
        done=lambda _: done, then=lambda _: f"/meetings/{mid}",
    )  # fmt: skip


async def hold(request: Request) -> Response:
    return await record(request, "meeting_hold", HOLD_FIELDS, ("Đã ghi nhận hội nghị đã tổ chức", "Recorded as held"))


async def close(request: Request) -> Response:
    return await record(request, "meeting_close", CLOSE_FIELDS, ("Đã khóa biên bản", "Minutes closed"))


module = Module(
    name="meetings",
    title=("Hội nghị", "Meetings"),
    path="/meetings",
    routes=[
        Route("/meetings", calendar_page, methods=["GET"]),
        Route("/meetings/calendar.ics", ics, methods=["GET"]),
        Route("/meetings/{mid}", show, methods=["GET"]),
        Route("/meetings/{mid}/hold", hold, methods=["POST"]),
        Route("/meetings/{mid}/close", close, methods=["POST"]),
    ],
)
