"""The day a meeting is recorded as held: a clerk records it a day or a week after it took place,
so a past day is accepted; a day still to come, a day before the meeting was planned or announced,
and a day longer ago than ``CAUNOI_MEETING_RECORD_DAYS`` are refused with the rule quoted."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from functools import reduce

import pytest
from scheduling.harness import PROVINCE, WARD, make

from caunoi.scheduling.commands import AnnounceMeeting, HoldMeeting, PlanDialogue
from caunoi.scheduling.domain import meetings
from caunoi.scheduling.domain.meetings import Facts, Meeting, evolve, initial
from caunoi.scheduling.domain.rules import HELD_AS_IT_HAPPENED
from caunoi.scheduling.events import MeetingHeld, OrderOfBusiness
from caunoi.scheduling.settings import SchedulingSettings
from caunoi.shared.events import DomainEvent
from caunoi.shared.projection import Pool
from caunoi.shared.rules import RuleViolated
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load("vn-2025")
PLANNED_ON = date(2026, 11, 2)  # the day the clerk planned it
MEETING_DAY = date(2026, 11, 20)
MID = {"meeting_id": "HN-TESTH0D1"}
ORDER = OrderOfBusiness(opening="Khai mạc", method="Hỏi đáp", conclusion="Kết luận")
WINDOW = SchedulingSettings().meeting_record_days


def fold(state: Meeting, events: list[DomainEvent]) -> Meeting:
    return reduce(evolve, events, state)


def planned() -> Meeting:
    plan = PlanDialogue(plan_unit=PROVINCE, commune_code=WARD, target_group="citizens", date=MEETING_DAY,
                        venue="Nhà văn hóa", chair="Bí thư")  # fmt: skip
    facts = Facts(PLANNED_ON, UNITS, meeting_id=MID["meeting_id"])
    return fold(initial(), meetings.decide_plan(initial(), plan, facts))


def announced(on: date) -> Meeting:
    state = planned()
    cmd = AnnounceMeeting(**MID, broadcast_text="Mời dự", announced_on=on)
    return fold(state, meetings.decide_announce(state, cmd, Facts(on, UNITS)))


def hold(state: Meeting, today: date, held_on: date | None = None) -> MeetingHeld:
    cmd = HoldMeeting(**MID, held_on=held_on, chair="Bí thư", attendees={"citizens": 40}, minutes_ref="01/BB",
                      order_of_business=ORDER)  # fmt: skip
    facts = Facts(today, UNITS, planned_on=PLANNED_ON, record_days=WINDOW)
    [event] = meetings.decide_hold(state, cmd, facts)
    assert isinstance(event, MeetingHeld)
    return event


def refused(state: Meeting, today: date, held_on: date | None = None) -> RuleViolated:
    with pytest.raises(RuleViolated) as info:
        hold(state, today, held_on)
    err = info.value
    assert err.field == "held_on" and err.details["rule"] == HELD_AS_IT_HAPPENED.vi
    assert "Quy định: «" in err.message and "Rule: " in err.message_en
    return err


@pytest.mark.parametrize("later", [0, 1, 7, WINDOW])
def test_a_meeting_is_recorded_days_after_it_took_place(later: int) -> None:
    today = MEETING_DAY + timedelta(days=later)
    assert hold(planned(), today).held_on == MEETING_DAY  # the planned day, by default
    # held the day before the planned one, after it was announced
    earlier = MEETING_DAY - timedelta(days=1)
    assert hold(announced(date(2026, 11, 12)), earlier + timedelta(days=later), earlier).held_on == earlier


def test_a_meeting_held_earlier_than_planned_but_after_it_was_planned() -> None:
    assert hold(planned(), MEETING_DAY, PLANNED_ON).held_on == PLANNED_ON


def test_a_day_still_to_come_is_refused() -> None:
    err = refused(planned(), MEETING_DAY - timedelta(days=1))  # the planned day has not come yet
    assert "chưa đến" in err.message and err.details["today"] == "2026-11-19"
    refused(planned(), MEETING_DAY, MEETING_DAY + timedelta(days=1))


def test_a_day_before_the_meeting_was_planned_or_announced_is_refused() -> None:
    err = refused(planned(), MEETING_DAY, PLANNED_ON - timedelta(days=1))
    assert err.details["not_before"] == "2026-11-02" and "lên lịch" in err.message
    err = refused(announced(date(2026, 11, 12)), MEETING_DAY, date(2026, 11, 11))
    assert err.details["not_before"] == "2026-11-12" and "thông báo" in err.message


def test_a_meeting_is_recorded_within_the_window() -> None:
    err = refused(planned(), MEETING_DAY + timedelta(days=WINDOW + 1))
    assert err.details["record_days"] == WINDOW and "quá hạn ghi nhận" in err.message


@pytest.mark.asyncio
async def test_a_clerk_records_last_weeks_meeting_through_the_service(pool: Pool) -> None:
    svc = await make(pool, PLANNED_ON)
    plan = {"plan_unit": PROVINCE, "commune_code": WARD, "target_group": "citizens", "date": str(MEETING_DAY),
            "venue": "Nhà văn hóa", "chair": "Bí thư"}  # fmt: skip
    mid = (await svc.ok("dialogue_plan", plan))["meeting_id"]
    body = {"meeting_id": mid, "chair": "Bí thư", "attendees": {"citizens": 40}, "minutes_ref": "01/BB",
            "order_of_business": ORDER.model_dump(mode="json")}  # fmt: skip
    svc.at(MEETING_DAY + timedelta(days=7))  # a week later
    err = await svc.error("meeting_hold", {**body, "held_on": str(PLANNED_ON - timedelta(days=1))})
    assert (err["code"], err["field"], err["details"]["not_before"]) == ("rule_violated", "held_on", str(PLANNED_ON))
    err = await svc.error("meeting_hold", {**body, "held_on": str(svc.today + timedelta(days=1))})
    assert (err["code"], err["field"]) == ("rule_violated", "held_on")
    out = await svc.ok("meeting_hold", body)
    assert out["status"] == "held"
    assert (await svc.ok("meeting", {"meeting_id": mid}))["held_on"] == str(MEETING_DAY)


@pytest.mark.asyncio
async def test_the_window_is_a_setting(pool: Pool) -> None:
    svc = await make(pool, PLANNED_ON)
    svc.deps = replace(svc.deps, settings=SchedulingSettings(meeting_record_days=3))
    plan = {"plan_unit": PROVINCE, "commune_code": WARD, "target_group": "citizens", "date": str(MEETING_DAY),
            "venue": "Nhà văn hóa", "chair": "Bí thư"}  # fmt: skip
    mid = (await svc.ok("dialogue_plan", plan))["meeting_id"]
    body = {"meeting_id": mid, "chair": "Bí thư", "attendees": {"citizens": 40}, "minutes_ref": "01/BB",
            "order_of_business": ORDER.model_dump(mode="json")}  # fmt: skip
    svc.at(MEETING_DAY + timedelta(days=4))
    err = await svc.error("meeting_hold", body)
    assert (err["code"], err["details"]["record_days"]) == ("rule_violated", 3)
    svc.at(MEETING_DAY + timedelta(days=3))
    assert (await svc.ok("meeting_hold", body))["status"] == "held"
