"""A meeting's life through the request edge and the real read models: programme 2's plan and its
deadlines (events recorded exactly once by the duties), the order of business, ``MeetingHeld``,
minutes and their reminder, the opinions counted from the petitions service's events, the
iCalendar feed read by an independent parser, the views."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import vobject
from scheduling.harness import PROVINCE, RURAL, WARD, WARD_2, Scheduling, hamlets, make, pilot
from support import credential

from caunoi.scheduling.events import DeadlineMissed, MeetingHeld, MinutesOverdue, registry
from caunoi.shared.context import Role
from caunoi.shared.projection import Pool
from caunoi.shared.recorded import decode_message

pytestmark = pytest.mark.asyncio

TODAY = date(2026, 12, 1)
AGENDA = {
    "opening": "Tuyên bố lý do, giới thiệu đại biểu",
    "method": "Chủ trì nêu phương pháp: mỗi người phát biểu không quá 5 phút",
    "speakers": [
        {"order": 1, "name": "Ông Nguyễn Văn Bình", "topic": "Đường liên thôn", "answer": "Đã có kế hoạch năm 2027"},
        {"order": 2, "name": "Bà Lò Thị Mai", "topic": "Giá chè", "assigned_to": "Sở Nông nghiệp và Môi trường"},
    ],
    "conclusion": "Chủ trì kết luận, giao các cơ quan trả lời",
}


def plan_body(**over: Any) -> dict[str, Any]:
    return {"plan_unit": PROVINCE, "commune_code": WARD, "target_group": "party_members", "date": "2026-12-20",
            "start_time": "08:00", "venue": "Hội trường phường", "chair": "Bí thư Tỉnh ủy", **over}  # fmt: skip


async def events_of(svc: Scheduling, type_name: str) -> list[Any]:
    msgs = await svc.store.read(1, 100_000)
    return [decode_message(registry, m).event for m in msgs if m.type_name == type_name]


async def test_the_yearly_plan_and_its_deadlines_recorded_once(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    a = await svc.ok("dialogue_plan", plan_body())
    b = await svc.ok("dialogue_plan", plan_body(commune_code=RURAL, target_group="front_and_unions", date="2027-03-10"))
    assert a["status"] == "planned"
    shown = await svc.ok("meeting", {"meeting_id": a["meeting_id"]})
    assert (shown["opinions_due"], shown["broadcast_due"]) == ("2026-12-10", "2026-12-13")
    # what its state allows (what the web application offers); an auditor acts on nothing
    assert {"meeting_hold", "meeting_announce", "meeting_compile"} <= set(shown["actions"])
    assert "meeting_close" not in shown["actions"]
    audited = await svc.ok("meeting", {"meeting_id": a["meeting_id"]}, as_=credential("", Role.auditor))
    assert audited["actions"] == [] and audited["status"] == "planned"
    plan = await svc.ok("plan", {"plan_unit": PROVINCE, "year": 2026})
    assert [m["id"] for m in plan["items"]] == [a["meeting_id"]]
    assert (await svc.ok("plan", {"plan_unit": PROVINCE, "year": 2027}))["total"] == 1

    # nothing due yet; the day after the opinions deadline: one event, however often the duty runs
    assert await svc.tick() == []
    svc.at(date(2026, 12, 11))
    assert [d["key"] for d in await svc.tick()] == ["opinions:2026-12-10"]
    assert await svc.tick() == []
    # compiled late: accepted, marked late
    out = await svc.call("meeting_compile", {"meeting_id": a["meeting_id"], "count": 14, "compiled_by": "Ban Dân vận"})
    assert out["ok"]
    svc.at(date(2026, 12, 14))
    assert [d["key"] for d in await svc.tick()] == ["broadcast:2026-12-13"]
    # moved: new deadlines, and the missed broadcast of the new date is a new event
    await svc.ok("meeting_move", {"meeting_id": a["meeting_id"], "date": "2026-12-22", "reason": "Trùng lịch"})
    svc.at(date(2026, 12, 16))
    assert [d["key"] for d in await svc.tick()] == ["broadcast:2026-12-15"]
    missed = await events_of(svc, DeadlineMissed.type_name())
    assert [(e.deadline.value, e.due_on) for e in missed] == [
        ("opinions", date(2026, 12, 10)), ("broadcast", date(2026, 12, 13)), ("broadcast", date(2026, 12, 15)),
    ]  # fmt: skip
    compiled = await svc.ok("meeting", {"meeting_id": a["meeting_id"]})
    assert compiled["opinions_compiled"] == 14 and len(compiled["missed"]) == 3

    # announced, held with its order of business, minutes closed
    await svc.ok("meeting_announce", {"meeting_id": a["meeting_id"], "broadcast_text": "Thông báo: 8h ngày 22/12"})
    svc.at(date(2026, 12, 22))
    rep = {"unit_code": PROVINCE, "name": "Ông Trần Văn C", "office": "Ban Dân vận Tỉnh ủy"}
    hold = {"meeting_id": a["meeting_id"], "chair": "Bí thư Tỉnh ủy", "minutes_ref": "12/BB-TU",
            "attendees": {"party_members": 60, "cadres": 12}, "representatives": [rep]}  # fmt: skip
    quoted = await svc.error("meeting_hold", hold)  # a programme 2 dialogue records its order of business
    assert quoted["code"] == "rule_violated" and quoted["field"] == "order_of_business"
    bad = {**AGENDA, "speakers": [{**AGENDA["speakers"][1], "assigned_to": None}]}  # type: ignore[dict-item]
    err = await svc.error("meeting_hold", {**hold, "order_of_business": bad})
    assert err["code"] == "rule_violated" and err["details"]["orders"] == [2]
    svc_b = b["meeting_id"]
    await svc.ok("meeting_hold", {**hold, "order_of_business": AGENDA})
    [held] = await events_of(svc, MeetingHeld.type_name())
    assert (held.programme.value, held.plan_unit, held.target_group.value) == ("p2", PROVINCE, "party_members")
    assert held.attendees_total == 72 and held.order_of_business.speakers[1].assigned_to.startswith("Sở")
    assert (held.commune_code, held.unit_path, held.venue) == (WARD, ["08", WARD], "Hội trường phường")
    await svc.ok("meeting_close", {"meeting_id": a["meeting_id"], "summary": "Đã hoàn thành biên bản"})
    closed = await svc.ok("meeting", {"meeting_id": a["meeting_id"]})
    assert (closed["status"], closed["actions"]) == ("minutes_closed", [])
    assert (await svc.ok("meeting", {"meeting_id": svc_b}))["status"] == "planned"
    assert await svc.snapshots() == await svc.rebuilt()


async def test_minutes_not_closed_raise_one_reminder(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 2)
    await pilot(svc, WARD, ids)
    out = await svc.ok("rotation_propose", {"commune_code": WARD, "month": "2026-12", "date": "2026-12-05"})
    mid = out["meeting_id"]
    await svc.ok("meeting_accept", {"meeting_id": mid})
    svc.at(date(2026, 12, 5))
    reps = [{"unit_code": PROVINCE, "name": "Bà Hà Thị D", "office": "Ủy ban MTTQ tỉnh"}]
    body = {"meeting_id": mid, "chair": "Chủ tịch UBND phường", "attendees": {"citizens": 31, "party_members": 9},
            "minutes_ref": "05/BB", "representatives": reps}  # fmt: skip
    err = await svc.error("meeting_hold", {**body, "representatives": [{"unit_code": WARD_2, "name": "X"}]})
    assert (err["code"], err["field"]) == ("invalid", "representatives")
    assert (await svc.error("meeting_hold", {**body, "attendees": {"citizens": 0}}))["field"] == "attendees"
    await svc.ok("meeting_hold", body)
    svc.at(date(2026, 12, 12))  # the 7th day after: still in time
    assert [d for d in await svc.tick() if d["duty"] == "minutes"] == []
    svc.at(date(2026, 12, 13))
    assert [d["key"] for d in await svc.tick() if d["duty"] == "minutes"] == ["minutes:2026-12-12"]
    svc.at(date(2026, 12, 20))
    assert [d for d in await svc.tick() if d["duty"] == "minutes"] == []
    [reminder] = await events_of(svc, MinutesOverdue.type_name())
    assert (reminder.meeting_id, reminder.held_on, reminder.due_on) == (mid, date(2026, 12, 5), date(2026, 12, 12))
    await svc.ok("meeting_close", {"meeting_id": mid})
    assert (await svc.ok("meeting", {"meeting_id": mid}))["minutes_reminded"] == ["2026-12-12"]


async def test_the_rotation_duty_proposes_next_month_once(pool: Pool) -> None:
    svc = await make(pool, date(2026, 12, 2))
    ids = await hamlets(svc, WARD, 3)
    await pilot(svc, WARD, ids)
    assert [d for d in await svc.tick() if d["duty"] == "rotation"] == []  # before the 20th
    svc.at(date(2026, 12, 21))
    assert [(d["aggregate_id"], d["key"]) for d in await svc.tick() if d["duty"] == "rotation"] == [(WARD, "2027-01")]
    assert [d for d in await svc.tick() if d["duty"] == "rotation"] == []
    [proposed] = (await svc.ok("meetings", {"unit": WARD}))["items"]
    assert (proposed["status"], str(proposed["date"]), proposed["host_id"]) == ("proposed", "2027-01-15", ids[0])
    # cancelled by the clerk: the duty does not propose it again
    await svc.ok("meeting_cancel", {"meeting_id": proposed["id"], "reason": "Gộp với hội nghị cử tri"})
    assert [d for d in await svc.tick() if d["duty"] == "rotation"] == []


async def test_opinions_are_counted_from_the_petitions_events(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 2)
    await pilot(svc, WARD, ids)
    mid = (await svc.ok("rotation_propose", {"commune_code": WARD, "month": "2026-12"}))["meeting_id"]
    raised = "vn.caunoi.petitions.PetitionRaised.v1"
    for i in range(5):
        # the producer's data, with fields this reader does not declare
        await svc.petition_event(f"PA-0000000{i}", raised, {
            "petition_id": f"PA-0000000{i}", "meeting_id": mid if i < 4 else None, "commune_code": WARD,
            "channel": "meeting", "category": "roads", "text": "…", "a_field_added_later": [1, 2],
        })  # fmt: skip
    await svc.petition_event("PA-00000000", "vn.caunoi.petitions.PetitionAnsweredOnSpot.v1",
                             {"petition_id": "PA-00000000", "answer": "…"})  # fmt: skip
    for pid in ("PA-00000001", "PA-00000002", "PA-00000004"):
        await svc.petition_event(pid, "vn.caunoi.petitions.PetitionForwarded.v1", {"petition_id": pid, "to_unit": "08"})
    # a type the producer added since, which this reader does not know: passed over
    await svc.petition_event("PA-00000003", "vn.caunoi.petitions.PetitionAccepted.v1", {"petition_id": "PA-00000003"})
    shown = await svc.ok("meeting", {"meeting_id": mid})
    assert shown["opinions"] == {"raised": 4, "answered_on_spot": 1, "forwarded": 2}
    listed = (await svc.ok("meetings", {"unit": PROVINCE}))["items"]
    assert [m["opinions"]["raised"] for m in listed] == [4]
    assert await svc.snapshots() == await svc.rebuilt()


async def test_the_calendar_feed_parses_and_shows_moves_and_cancellations(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 2)
    await pilot(svc, WARD, ids)
    kept = await svc.ok("rotation_propose", {"commune_code": WARD, "month": "2026-12", "start_time": "14:00"})
    moved = await svc.ok("dialogue_plan", plan_body(date="2027-01-20"))
    dropped = await svc.ok("dialogue_plan", plan_body(date="2027-02-10", target_group="citizens"))
    await svc.ok("meeting_move", {"meeting_id": moved["meeting_id"], "date": "2027-01-22", "venue": "Nhà văn hóa tổ 5"})
    await svc.ok("meeting_cancel", {"meeting_id": dropped["meeting_id"], "reason": "Lãnh đạo đi công tác"})
    feed = await svc.ok("calendar", {"unit": PROVINCE})
    assert feed["content_type"] == "text/calendar" and feed["count"] == 3

    cal = vobject.readOne(feed["ics"])  # an independent parser, not the library that wrote it
    assert cal.version.value == "2.0"
    events = {e.uid.value.split("@")[0]: e for e in cal.vevent_list}
    assert set(events) == {kept["meeting_id"], moved["meeting_id"], dropped["meeting_id"]}
    k, m, d = events[kept["meeting_id"]], events[moved["meeting_id"]], events[dropped["meeting_id"]]
    assert (k.status.value, k.sequence.value) == ("TENTATIVE", "0")  # a proposal
    assert isinstance(k.dtstart.value, datetime) and k.dtstart.value.isoformat() == "2026-12-15T07:00:00+00:00"
    assert k.dtend.value - k.dtstart.value == timedelta(hours=3)
    assert "Thôn 1" in k.summary.value
    assert (m.status.value, m.sequence.value, m.location.value) == ("CONFIRMED", "1", "Nhà văn hóa tổ 5")
    assert m.dtstart.value.date() == date(2027, 1, 22)
    assert (d.status.value, d.sequence.value) == ("CANCELLED", "1")
    assert "Lãnh đạo đi công tác" in d.description.value
    # a unit's feed has only its own area's meetings
    assert (await svc.ok("calendar", {"unit": RURAL}))["count"] == 0


async def test_views_missing_upcoming_rotation(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 3)
    await pilot(svc, WARD, ids)
    await svc.ok("rotation_propose", {"commune_code": WARD, "month": "2026-12"})
    await svc.ok("dialogue_plan", plan_body(commune_code=RURAL, date="2027-01-05"))
    missing = await svc.ok("missing", {"unit": PROVINCE, "month": "2026-12"})
    without = {c["code"] for c in missing["without"]}
    assert WARD not in without and {RURAL, WARD_2} <= without
    assert missing["with_meeting"] == 1 and missing["communes"] == len(without) + 1
    pilots_only = await svc.ok("missing", {"unit": PROVINCE, "month": "2026-12", "pilots_only": True})
    assert (pilots_only["communes"], [c["code"] for c in pilots_only["without"]]) == (2, [RURAL])
    upcoming = await svc.ok("meetings", {"unit": PROVINCE, "from_date": "2026-12-01"})
    assert [m["commune_code"] for m in upcoming["items"]] == [WARD, RURAL]
    assert [m["commune_code"] for m in (await svc.ok("meetings", {"unit": RURAL}))["items"]] == [RURAL]
    rot = await svc.ok("rotation", {"commune_code": WARD})
    assert [s["state"] for s in rot["sites"]] == ["pending", "remaining", "remaining"]
    assert rot["next"] == {"host_id": ids[1], "cycle": 1}
    pilots = await svc.ok("pilots", {"unit": PROVINCE})
    assert [r["unit_code"] for r in pilots["localities"]] == [PROVINCE]
    assert [r["members"] for r in pilots["sites"]] == [ids]


async def test_compile_and_announce_refusals_store_nothing(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 2)
    await pilot(svc, WARD, ids)
    proposal = (await svc.ok("rotation_propose", {"commune_code": WARD, "month": "2026-12"}))["meeting_id"]
    text = {"broadcast_text": "Thông báo"}
    assert (await svc.error("meeting_announce", {"meeting_id": proposal, **text}))["code"] == "invalid_state"
    dialogue = (await svc.ok("dialogue_plan", plan_body()))["meeting_id"]
    compiled = {"meeting_id": dialogue, "count": 3, "compiled_by": "Ban Dân vận"}
    assert (await svc.error("meeting_compile", {**compiled, "compiled_on": "2026-12-02"}))["field"] == "compiled_on"
    out = await svc.ok("meeting_compile", compiled)
    assert out["status"] == "planned"
    assert (await svc.error("meeting_compile", compiled))["code"] == "invalid_state"
    err = await svc.error("meeting_announce", {"meeting_id": dialogue, **text, "announced_on": "2026-12-02"})
    assert err["field"] == "announced_on"
    await svc.ok("meeting_announce", {"meeting_id": dialogue, **text})
    assert (await svc.error("meeting_announce", {"meeting_id": dialogue, **text}))["code"] == "invalid_state"
    # moving an announced dialogue makes it planned again: it must be announced anew
    moved = await svc.ok("meeting_move", {"meeting_id": dialogue, "date": "2026-12-21"})
    assert moved["status"] == "planned"
