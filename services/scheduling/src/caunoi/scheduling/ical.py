"""Upcoming meetings as an iCalendar (RFC 5545) document a phone calendar subscribes to, written
with the ``icalendar`` library.

Each meeting is one ``VEVENT`` whose ``UID`` is its id, so a subscriber updates it in place:
``SEQUENCE`` counts the changes a subscriber must see (moves, postponements, the cancellation),
``STATUS`` is ``TENTATIVE`` for a proposal, ``CANCELLED`` once called off, ``CONFIRMED`` otherwise.
A meeting with a start time lasts :data:`DURATION` (times in UTC); one without is a whole day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Calendar, Event

from caunoi.scheduling.events import MeetingStatus, Programme
from caunoi.scheduling.labels import TARGET_VI
from caunoi.shared.clock import VN

DURATION = timedelta(hours=3)
PRODID = "-//caunoi//scheduling//VI"

ICAL_STATUS = {MeetingStatus.proposed.value: "TENTATIVE", MeetingStatus.cancelled.value: "CANCELLED"}


def summary(m: dict[str, Any]) -> str:
    if m["programme"] == Programme.p2.value:
        group = TARGET_VI.get(m["target_group"], m["target_group"])
        return m["title"] or f"Tiếp xúc, đối thoại với {group[:1].lower()}{group[1:]}"
    return f"Hội nghị đối thoại tại {m['host_name']}"


def _start(day: date, at: time | None) -> datetime | date:
    if at is None:
        return day
    return datetime.combine(day, at, tzinfo=VN).astimezone(UTC)


def render(meetings: Sequence[dict[str, Any]], name: str) -> str:
    """``meetings``: rows of the meetings read model (:func:`caunoi.scheduling.queries.list_meetings`)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for m in meetings:
        ev = Event()
        ev.add("uid", f"{m['id']}@caunoi")
        ev.add("dtstamp", m["updated_at"].astimezone(UTC))
        ev.add("last-modified", m["updated_at"].astimezone(UTC))
        ev.add("sequence", m["sequence"])
        start = _start(m["date"], m["start_time"])
        ev.add("dtstart", start)
        ev.add("dtend", start + (DURATION if isinstance(start, datetime) else timedelta(days=1)))
        ev.add("summary", summary(m))
        ev.add("location", m["venue"])
        ev.add("status", ICAL_STATUS.get(m["status"], "CONFIRMED"))
        lines = [f"Mã hội nghị: {m['id']}", f"Xã: {m['commune_code']}"]
        if m["chair"]:
            lines.append(f"Chủ trì: {m['chair']}")
        if m["reason"]:
            lines.append(f"Lý do hoãn/hủy: {m['reason']}")
        ev.add("description", "\n".join(lines))
        cal.add_component(ev)
    return str(cal.to_ical().decode())
