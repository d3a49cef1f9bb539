"""What a client offers on a meeting (``available_actions``, the ``actions`` of the ``meeting``
query) is exactly what the decisions accept: for a meeting in every status, an offered command
with valid input is never refused, and one not offered always is."""

from __future__ import annotations

from datetime import date, timedelta
from functools import reduce
from typing import Any

import pytest

from caunoi.scheduling.commands import (
    AcceptMeeting,
    AnnounceMeeting,
    CancelMeeting,
    CloseMinutes,
    CompileOpinions,
    HoldMeeting,
    MoveMeeting,
    PlanDialogue,
    PostponeMeeting,
)
from caunoi.scheduling.domain import meetings
from caunoi.scheduling.domain.meetings import ACTS, Facts, Meeting, available_actions, evolve, initial
from caunoi.scheduling.events import MeetingProposed, MeetingStatus, OrderOfBusiness
from caunoi.shared.errors import CommandError
from caunoi.shared.events import DomainEvent
from caunoi.shared.units import UnitTree

TODAY = date(2025, 9, 1)
UNITS = UnitTree.load("vn-2025")
FACTS = Facts(TODAY, UNITS, meeting_id="HN-TESTACT1")
MID = {"meeting_id": "HN-TESTACT1"}
ORDER = OrderOfBusiness(opening="Khai mạc", method="Hỏi đáp", conclusion="Kết luận")


def fold(state: Meeting, events: list[DomainEvent]) -> Meeting:
    return reduce(evolve, events, state)


def lives() -> dict[str, Meeting]:
    """A meeting in each status (and a planned one whose opinions were compiled), as the decisions
    put it there; the proposal as the rotation records it."""
    plan = PlanDialogue(plan_unit="08", commune_code="00691", target_group="citizens", date=TODAY + timedelta(days=19),
                        venue="Nhà văn hóa", chair="Bí thư")  # fmt: skip
    planned = fold(initial(), meetings.decide_plan(initial(), plan, FACTS))
    announced = fold(planned, meetings.decide_announce(planned, AnnounceMeeting(**MID, broadcast_text="Mời"), FACTS))
    hold = HoldMeeting(**MID, held_on=TODAY, chair="Bí thư", attendees={"citizens": 30}, minutes_ref="01/BB",
                       order_of_business=ORDER)  # fmt: skip
    held = fold(announced, meetings.decide_hold(announced, hold, FACTS))
    proposed = MeetingProposed(meeting_id=MID["meeting_id"], commune_code="00691", unit_path=["08", "00691"],
                               dataset="vn-2025", host_id="00691-thon-a", host_name="Thôn A", cycle=1,
                               month="2025-09", date=TODAY + timedelta(days=14), venue="Nhà văn hóa")  # fmt: skip
    compile_ = CompileOpinions(**MID, count=3, compiled_by="A")
    postpone = PostponeMeeting(**MID, to_date=TODAY + timedelta(days=24), reason="mưa lũ")
    return {
        "proposed": fold(initial(), [proposed]),
        "planned": planned,
        "compiled": fold(planned, meetings.decide_compile(planned, compile_, FACTS)),
        "postponed": fold(planned, meetings.decide_postpone(planned, postpone, FACTS)),
        "announced": announced,
        "held": held,
        "minutes closed": fold(held, meetings.decide_close_minutes(held, CloseMinutes(**MID), FACTS)),
        "cancelled": fold(planned, meetings.decide_cancel(planned, CancelMeeting(**MID, reason="r"), FACTS)),
    }


def attempt(name: str, state: Meeting) -> Any:
    """The decision for a valid command ``name`` on ``state``."""
    day = (state.date or TODAY) + timedelta(days=1)
    match name:
        case "meeting_accept":
            return meetings.decide_accept(state, AcceptMeeting(**MID), FACTS)
        case "meeting_move":
            return meetings.decide_move(state, MoveMeeting(**MID, date=day), FACTS)
        case "meeting_postpone":
            return meetings.decide_postpone(state, PostponeMeeting(**MID, to_date=day, reason="r"), FACTS)
        case "meeting_cancel":
            return meetings.decide_cancel(state, CancelMeeting(**MID, reason="r"), FACTS)
        case "meeting_compile":
            return meetings.decide_compile(state, CompileOpinions(**MID, count=2, compiled_by="A"), FACTS)
        case "meeting_announce":
            return meetings.decide_announce(state, AnnounceMeeting(**MID, broadcast_text="Mời"), FACTS)
        case "meeting_hold":
            hold = HoldMeeting(**MID, held_on=TODAY, chair="B", attendees={"citizens": 5}, minutes_ref="02/BB",
                               order_of_business=ORDER)  # fmt: skip
            return meetings.decide_hold(state, hold, FACTS)
        case "meeting_close":
            return meetings.decide_close_minutes(state, CloseMinutes(**MID), FACTS)
    raise AssertionError(name)


@pytest.mark.parametrize("life", list(lives()))
def test_offered_actions_are_exactly_those_the_decisions_accept(life: str) -> None:
    state = lives()[life]
    offered = available_actions(state)
    assert set(offered) <= set(ACTS)
    for name in ACTS:
        try:
            attempt(name, state)
            refused: CommandError | None = None
        except CommandError as e:
            refused = e
        assert (name in offered) == (refused is None), (life, name, refused and refused.message_en)


def test_what_each_status_offers() -> None:
    offered = {life: available_actions(state) for life, state in lives().items()}
    assert {life: lives()[life].status for life in offered} == {
        "proposed": MeetingStatus.proposed, "planned": MeetingStatus.planned, "compiled": MeetingStatus.planned,
        "postponed": MeetingStatus.postponed, "announced": MeetingStatus.announced, "held": MeetingStatus.held,
        "minutes closed": MeetingStatus.minutes_closed, "cancelled": MeetingStatus.cancelled,
    }  # fmt: skip
    assert "meeting_hold" in offered["announced"] and "meeting_hold" not in offered["proposed"]
    assert "meeting_compile" in offered["planned"] and "meeting_compile" not in offered["compiled"]
    assert offered["held"] == ["meeting_close"]
    assert offered["minutes closed"] == offered["cancelled"] == []
