"""A dialogue meeting's life (aggregate ``HN-XXXXXXXX``), whichever programme planned it:

    proposed (programme 1's rotation) --accept--> planned      (programme 2's plan: planned at once)
    planned | postponed --announce--> announced  --hold--> held --close minutes--> minutes closed
    proposed | planned | postponed | announced --move--> (same; an announced one must be announced again)
                                               --postpone--> postponed
                                               --cancel--> cancelled

What time causes is decided here too: a programme 2 deadline missed (opinions compiled 10 days,
the broadcast 7 days before), minutes not closed within the set number of days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

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
    ProposeRotation,
)
from caunoi.scheduling.domain.pilots import Sites
from caunoi.scheduling.domain.rotation import RotationMeeting, in_month, month_of, rotation
from caunoi.scheduling.domain.rules import (
    HELD_AS_IT_HAPPENED,
    MINUTES_AFTER_HELD,
    MONTHLY,
    ORDER_OF_BUSINESS,
    OWN_SITES,
    RuleViolated,
)
from caunoi.scheduling.events import (
    DeadlineMissed,
    MeetingAccepted,
    MeetingAnnounced,
    MeetingCancelled,
    MeetingDeadline,
    MeetingHeld,
    MeetingMoved,
    MeetingPlanned,
    MeetingPostponed,
    MeetingProposed,
    MeetingStatus,
    MinutesClosed,
    MinutesOverdue,
    OpinionsCompiled,
    OrderOfBusiness,
    Programme,
    RotationScheduled,
    TargetGroup,
)
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import Conflict, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletKind, HamletRecord
from caunoi.shared.units import LEVEL_COMMUNE, UnitTree, require_unit

#: programme 2: opinions compiled and reported at least this many days before (seed 004)
OPINIONS_LEAD_DAYS = 10
#: programme 2: time and place broadcast at least this many days before (seed 004)
BROADCAST_LEAD_DAYS = 7
#: a rotation meeting's day when the clerk names none
DEFAULT_DAY = 15

S = MeetingStatus
OPEN = frozenset({S.proposed, S.planned, S.postponed, S.announced})
TO_HOLD = frozenset({S.planned, S.postponed, S.announced})

#: every command on an existing meeting, by its request name (``caunoi.cmd.scheduling.<name>``), and
#: the statuses it is accepted in: the decisions below check this table, and ``available_actions``
#: (the ``meeting`` query's ``actions``) offers from it
ACTS: dict[str, frozenset[MeetingStatus]] = {
    "meeting_accept": frozenset({S.proposed}),
    "meeting_move": OPEN,
    "meeting_postpone": OPEN,
    "meeting_cancel": OPEN,
    "meeting_compile": TO_HOLD,
    "meeting_announce": frozenset({S.planned, S.postponed}),
    "meeting_hold": TO_HOLD,
    "meeting_close": frozenset({S.held}),
}

STATUS_VI = {
    S.proposed: "Đề xuất",
    S.planned: "Đã lên lịch",
    S.postponed: "Đã hoãn",
    S.announced: "Đã thông báo",
    S.held: "Đã tổ chức",
    S.minutes_closed: "Đã khóa biên bản",
    S.cancelled: "Đã hủy",
}


@dataclass(frozen=True)
class Meeting:
    meeting_id: str = ""
    programme: Programme | None = None
    status: MeetingStatus | None = None
    commune_code: str = ""
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    host_id: str | None = None
    host_name: str | None = None
    plan_unit: str | None = None
    target_group: TargetGroup | None = None
    cycle: int | None = None
    date: dt.date | None = None
    start_time: dt.time | None = None
    venue: str = ""
    chair: str | None = None
    opinions_due: dt.date | None = None
    broadcast_due: dt.date | None = None
    opinions_compiled_on: dt.date | None = None
    announced_on: dt.date | None = None
    held_on: dt.date | None = None
    minutes_ref: str | None = None
    minutes_closed_on: dt.date | None = None
    #: (deadline, due dt.date) already recorded as missed; minutes reminders already recorded
    missed: frozenset[tuple[MeetingDeadline, dt.date]] = field(default_factory=frozenset)
    minutes_reminded: frozenset[dt.date] = field(default_factory=frozenset)
    #: changes a calendar subscriber must see (iCalendar SEQUENCE)
    sequence: int = 0

    @property
    def exists(self) -> bool:
        return self.status is not None


def initial() -> Meeting:
    return Meeting()


def deadlines(programme: Programme, on: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """Programme 2's due dates for a dialogue on ``on``: opinions compiled, broadcast announced."""
    if programme is not Programme.p2:
        return None, None
    return on - timedelta(days=OPINIONS_LEAD_DAYS), on - timedelta(days=BROADCAST_LEAD_DAYS)


def evolve(state: Meeting, event: DomainEvent) -> Meeting:
    match event:
        case MeetingProposed():
            return Meeting(
                meeting_id=event.meeting_id,
                programme=event.programme,
                status=S.proposed,
                commune_code=event.commune_code,
                unit_path=tuple(event.unit_path),
                dataset=event.dataset,
                host_id=event.host_id,
                host_name=event.host_name,
                cycle=event.cycle,
                date=event.date,
                start_time=event.start_time,
                venue=event.venue,
            )
        case MeetingPlanned():
            return Meeting(
                meeting_id=event.meeting_id,
                programme=event.programme,
                status=S.planned,
                commune_code=event.commune_code,
                unit_path=tuple(event.unit_path),
                dataset=event.dataset,
                host_id=event.host_id,
                host_name=event.host_name,
                plan_unit=event.plan_unit,
                target_group=event.target_group,
                date=event.date,
                start_time=event.start_time,
                venue=event.venue,
                chair=event.chair,
                opinions_due=event.opinions_due,
                broadcast_due=event.broadcast_due,
            )
        case MeetingAccepted():
            return replace(state, status=S.planned, chair=event.chair or state.chair)
        case MeetingMoved():
            return replace(
                state,
                status=S.planned if state.status is S.announced else state.status,
                announced_on=None,
                date=event.date,
                start_time=event.start_time,
                venue=event.venue,
                host_id=event.host_id,
                host_name=event.host_name,
                opinions_due=event.opinions_due,
                broadcast_due=event.broadcast_due,
                sequence=state.sequence + 1,
            )
        case MeetingPostponed():
            return replace(
                state,
                status=S.postponed,
                announced_on=None,
                date=event.date,
                opinions_due=event.opinions_due,
                broadcast_due=event.broadcast_due,
                sequence=state.sequence + 1,
            )
        case MeetingCancelled():
            return replace(state, status=S.cancelled, sequence=state.sequence + 1)
        case OpinionsCompiled():
            return replace(state, opinions_compiled_on=event.compiled_on)
        case MeetingAnnounced():
            return replace(state, status=S.announced, announced_on=event.announced_on)
        case MeetingHeld():
            return replace(
                state,
                status=S.held,
                held_on=event.held_on,
                venue=event.venue,
                chair=event.chair,
                host_id=event.host_id,
                host_name=event.host_name,
                minutes_ref=event.minutes_ref,
            )
        case MinutesClosed():
            return replace(
                state, status=S.minutes_closed, minutes_closed_on=event.closed_on, minutes_ref=event.minutes_ref
            )
        case DeadlineMissed():
            return replace(state, missed=state.missed | {(event.deadline, event.due_on)})
        case MinutesOverdue():
            return replace(state, minutes_reminded=state.minutes_reminded | {event.due_on})
    return state


def scope(state: Meeting) -> Scope:
    """A meeting belongs to its commune (its subject carries the commune's unit path)."""
    return Scope(state.commune_code, state.dataset, state.unit_path)


MEETING = AggregateKind[Meeting]("meeting", initial, evolve, scope)


@dataclass(frozen=True)
class Facts:
    """What a meeting command's handler looked up."""

    today: dt.date
    units: UnitTree
    #: a new meeting's id
    meeting_id: str = ""
    #: the host the command names, as this service's hamlet list has it
    host: HamletRecord | None = None
    #: the commune's programme 1 meetings (rotation, one meeting a month)
    rotation_meetings: Sequence[RotationMeeting] = ()
    #: the commune's pilot sites (proposals)
    sites: Sites | None = None
    #: the commune's active hamlets and party cells, by id (proposals)
    listed: dict[str, HamletRecord] = field(default_factory=dict)
    #: the day the meeting was first recorded (proposed or planned), from its first event (hold)
    planned_on: dt.date | None = None
    #: how many days after it took place a meeting may still be recorded as held
    #: (``CAUNOI_MEETING_RECORD_DAYS``; hold)
    record_days: int | None = None


def available_actions(state: Meeting) -> list[str]:
    """The commands this meeting's state allows, by request name: what a client offers. The
    decisions check the same table (and the one-time compilation), so an offered command is refused
    only for its input (or a change made since)."""
    out = []
    for name, statuses in ACTS.items():
        if state.status not in statuses:
            continue
        if name == "meeting_compile" and state.opinions_compiled_on is not None:
            continue
        out.append(name)
    return out


# --- helpers ------------------------------------------------------------------------------------


def _must_exist(state: Meeting, meeting_id: str) -> None:
    if not state.exists:
        raise NotFound(
            f"Không tìm thấy hội nghị {meeting_id}", message_en=f"no meeting {meeting_id}", field="meeting_id"
        )


def _refuse(state: Meeting, action_vi: str, action_en: str) -> InvalidState:
    assert state.status is not None
    return InvalidState(
        f"Không thể {action_vi}: hội nghị {state.meeting_id} đang ở trạng thái «{STATUS_VI[state.status]}»",
        message_en=f"cannot {action_en} meeting {state.meeting_id}: it is {state.status.value}",
        field="meeting_id",
        details={"status": state.status.value},
    )


def _in(state: Meeting, allowed: frozenset[MeetingStatus], action_vi: str, action_en: str) -> None:
    if state.status not in allowed:
        raise _refuse(state, action_vi, action_en)


def _not_past(on: dt.date, today: dt.date, field: str) -> None:
    if on < today:
        raise ValidationFailed(
            f"Ngày {on} đã qua", message_en=f"{field} {on} is in the past", field=field, details={"today": str(today)}
        )


def _not_future(on: dt.date, today: dt.date, field: str) -> None:
    if on > today:
        raise ValidationFailed(
            f"Ngày {on} chưa đến",
            message_en=f"{field} {on} is in the future",
            field=field,
            details={"today": str(today)},
        )


def require_host(commune_code: str, host_id: str, host: HamletRecord | None) -> HamletRecord:
    """The hamlet or party cell ``host_id`` of the commune's list: it must be one of the commune's
    own, and in use."""
    if host is None or not host.active:
        raise NotFound(
            f"Không có thôn, tổ dân phố, chi bộ (đang hoạt động) mã {host_id}",
            code="unknown_unit",
            message_en=f"no active hamlet or party cell {host_id}",
            field="host_id",
        )
    if host.commune_code != commune_code:
        raise RuleViolated(
            OWN_SITES,
            f"«{host.name}» ({host_id}) thuộc xã {host.commune_code}, không thuộc xã {commune_code}",
            f"{host_id} belongs to commune {host.commune_code}, not {commune_code}",
            field="host_id",
            details={"host_commune": host.commune_code, "commune": commune_code},
        )
    return host


def default_venue(host: HamletRecord) -> str:
    if host.kind is HamletKind.party_cell:
        return f"Trụ sở {host.name}"
    return f"Nhà văn hóa {host.name}"


def _one_a_month(state: Meeting, on: dt.date, facts: Facts) -> None:
    if state.programme is not Programme.p1:
        return
    other = in_month(facts.rotation_meetings, month_of(on), but=state.meeting_id)
    if other is not None:
        raise RuleViolated(
            MONTHLY,
            f"Tháng {month_of(on)} đã có hội nghị {other.meeting_id} (ngày {other.date})",
            f"month {month_of(on)} already has meeting {other.meeting_id} ({other.date})",
            field="date",
            details={"meeting_id": other.meeting_id},
        )


# --- programme 1: the rotation's proposal --------------------------------------------------------


def month_start(month: str) -> dt.date:
    year, mon = month.split("-")
    return dt.date(int(year), int(mon), 1)


def decide_propose(state: Meeting, cmd: ProposeRotation, facts: Facts) -> list[DomainEvent]:
    """The commune's meeting of ``cmd.month`` at the next site of its rotation."""
    if state.exists:
        raise Conflict(
            f"Hội nghị {state.meeting_id} đã được đề xuất",
            code="duplicate",
            message_en=f"meeting {state.meeting_id} was already proposed",
            field="month",
            details={"meeting_id": state.meeting_id},
        )
    commune = require_unit(facts.units, cmd.commune_code, field="commune_code", level=LEVEL_COMMUNE)
    sites = facts.sites
    if sites is None or not sites.exists:
        raise InvalidState(
            f"{commune.name} chưa chọn thôn, tổ dân phố, chi bộ làm điểm",
            message_en=f"commune {commune.code} has no pilot sites",
            field="commune_code",
        )
    first = month_start(cmd.month)
    on = cmd.date or first.replace(day=DEFAULT_DAY)
    if month_of(on) != cmd.month:
        raise ValidationFailed(
            f"Ngày {on} không thuộc tháng {cmd.month}", message_en=f"{on} is not in {cmd.month}", field="date"
        )
    _not_past(on, facts.today, "date")
    _one_a_month(Meeting(programme=Programme.p1), on, facts)
    active = [s for s in sites.ids if s in facts.listed]
    nxt = rotation(active, facts.rotation_meetings).next_host()
    if nxt is None:
        raise InvalidState(
            f"Các điểm của {commune.name} đều đã thôi sử dụng; hãy chọn lại",
            message_en=f"every pilot site of {commune.code} was retired; choose them again",
            field="commune_code",
        )
    host_id, cycle = nxt
    host = facts.listed[host_id]
    return [
        MeetingProposed(
            meeting_id=facts.meeting_id,
            commune_code=commune.code,
            unit_path=facts.units.path(commune.code),
            dataset=facts.units.dataset,
            host_id=host.id,
            host_name=host.name,
            cycle=cycle,
            month=cmd.month,
            date=on,
            start_time=cmd.start_time,
            venue=cmd.venue or default_venue(host),
        )
    ]


def scheduled(ev: MeetingProposed) -> RotationScheduled:
    """What the commune's pilot-sites aggregate records of a proposal."""
    return RotationScheduled(
        commune_code=ev.commune_code, meeting_id=ev.meeting_id, host_id=ev.host_id, host_name=ev.host_name,
        cycle=ev.cycle, month=ev.month, date=ev.date, start_time=ev.start_time, venue=ev.venue,
    )  # fmt: skip


def proposed(slot: RotationScheduled, sites: Sites) -> MeetingProposed:
    """The proposal a recorded slot stands for (to finish a proposal interrupted after its slot)."""
    return MeetingProposed(
        meeting_id=slot.meeting_id, commune_code=slot.commune_code, unit_path=list(sites.unit_path),
        dataset=sites.dataset or "", host_id=slot.host_id, host_name=slot.host_name, cycle=slot.cycle,
        month=slot.month, date=slot.date, start_time=slot.start_time, venue=slot.venue,
    )  # fmt: skip


def decide_accept(state: Meeting, cmd: AcceptMeeting, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    _in(state, ACTS["meeting_accept"], "chấp nhận", "accept")
    return [MeetingAccepted(meeting_id=state.meeting_id, chair=cmd.chair)]


# --- programme 2: the head's yearly plan -------------------------------------------------------------


def decide_plan(state: Meeting, cmd: PlanDialogue, facts: Facts) -> list[DomainEvent]:
    if state.exists:
        raise Conflict(
            f"Hội nghị {state.meeting_id} đã có",
            code="duplicate",
            message_en="meeting already exists",
            field="command_id",
        )
    commune = require_unit(facts.units, cmd.commune_code, field="commune_code", level=LEVEL_COMMUNE)
    plan_unit = require_unit(facts.units, cmd.plan_unit, field="plan_unit")
    if plan_unit.code not in facts.units.path(commune.code):
        raise ValidationFailed(
            f"{plan_unit.name} không phải {commune.name} hoặc cấp trên của xã",
            message_en=f"{plan_unit.code} is neither commune {commune.code} nor a unit above it",
            field="plan_unit",
        )
    _not_past(cmd.date, facts.today, "date")
    host = require_host(commune.code, cmd.host_id, facts.host) if cmd.host_id else None
    opinions_due, broadcast_due = deadlines(Programme.p2, cmd.date)
    return [
        MeetingPlanned(
            meeting_id=facts.meeting_id,
            programme=Programme.p2,
            commune_code=commune.code,
            unit_path=facts.units.path(commune.code),
            dataset=facts.units.dataset,
            plan_unit=plan_unit.code,
            target_group=cmd.target_group,
            host_id=host.id if host else None,
            host_name=host.name if host else None,
            date=cmd.date,
            start_time=cmd.start_time,
            venue=cmd.venue,
            chair=cmd.chair,
            title=cmd.title,
            opinions_due=opinions_due,
            broadcast_due=broadcast_due,
        )
    ]


# --- changes before it is held -----------------------------------------------------------------------


def decide_move(state: Meeting, cmd: MoveMeeting, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    _in(state, ACTS["meeting_move"], "đổi lịch", "move")
    assert state.date is not None and state.programme is not None
    on = cmd.date or state.date
    host_id, host_name = state.host_id, state.host_name
    if cmd.host_id and cmd.host_id != state.host_id:
        host = require_host(state.commune_code, cmd.host_id, facts.host)
        host_id, host_name = host.id, host.name
    venue = cmd.venue or state.venue
    start = cmd.start_time or state.start_time
    if (on, start, venue, host_id) == (state.date, state.start_time, state.venue, state.host_id):
        raise ValidationFailed("Không có gì thay đổi", message_en="nothing changes", field="date")
    if on != state.date:
        _not_past(on, facts.today, "date")
        if state.programme is Programme.p1 and month_of(on) != month_of(state.date):
            raise RuleViolated(
                MONTHLY,
                "Đổi lịch trong cùng tháng; muốn chuyển sang tháng khác thì hoãn (có lý do)",
                "a move stays in the month; to put it off to another month, postpone it (with a reason)",
                field="date",
            )
    opinions_due, broadcast_due = deadlines(state.programme, on)
    return [
        MeetingMoved(
            meeting_id=state.meeting_id,
            from_date=state.date,
            date=on,
            start_time=start,
            venue=venue,
            host_id=host_id,
            host_name=host_name,
            reason=cmd.reason,
            opinions_due=opinions_due,
            broadcast_due=broadcast_due,
        )
    ]


def decide_postpone(state: Meeting, cmd: PostponeMeeting, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    _in(state, ACTS["meeting_postpone"], "hoãn", "postpone")
    assert state.date is not None and state.programme is not None
    if cmd.to_date <= state.date:
        raise ValidationFailed(
            f"Ngày hoãn đến phải sau ngày {state.date}",
            message_en=f"to_date must be after {state.date}",
            field="to_date",
        )
    _not_past(cmd.to_date, facts.today, "to_date")
    _one_a_month(state, cmd.to_date, facts)
    opinions_due, broadcast_due = deadlines(state.programme, cmd.to_date)
    return [
        MeetingPostponed(
            meeting_id=state.meeting_id,
            from_date=state.date,
            date=cmd.to_date,
            reason=cmd.reason,
            opinions_due=opinions_due,
            broadcast_due=broadcast_due,
        )
    ]


def decide_cancel(state: Meeting, cmd: CancelMeeting, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    _in(state, ACTS["meeting_cancel"], "hủy", "cancel")
    return [MeetingCancelled(meeting_id=state.meeting_id, reason=cmd.reason, cancelled_on=facts.today)]


def decide_compile(state: Meeting, cmd: CompileOpinions, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    _in(state, ACTS["meeting_compile"], "ghi nhận tổng hợp ý kiến", "record compiled opinions for")
    if state.opinions_compiled_on is not None:
        raise InvalidState(
            f"Đã ghi nhận tổng hợp ý kiến ngày {state.opinions_compiled_on}",
            message_en=f"opinions were compiled on {state.opinions_compiled_on}",
            field="meeting_id",
        )
    on = cmd.compiled_on or facts.today
    _not_future(on, facts.today, "compiled_on")
    due = state.opinions_due
    return [
        OpinionsCompiled(
            meeting_id=state.meeting_id,
            compiled_on=on,
            compiled_by=cmd.compiled_by,
            count=cmd.count,
            due_on=due,
            late=due is not None and on > due,
        )
    ]


def decide_announce(state: Meeting, cmd: AnnounceMeeting, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    _in(state, ACTS["meeting_announce"], "thông báo", "announce")
    assert state.date is not None
    on = cmd.announced_on or facts.today
    _not_future(on, facts.today, "announced_on")
    if on > state.date:
        raise ValidationFailed(
            "Thông báo phải trước ngày hội nghị",
            message_en="the announcement is after the meeting",
            field="announced_on",
        )
    due = state.broadcast_due
    return [
        MeetingAnnounced(
            meeting_id=state.meeting_id,
            announced_on=on,
            broadcast_text=cmd.broadcast_text,
            due_on=due,
            late=due is not None and on > due,
        )
    ]


# --- held, minutes ------------------------------------------------------------------------------------


def _check_order_of_business(order: OrderOfBusiness) -> None:
    orders = [s.order for s in order.speakers]
    if orders != list(range(1, len(orders) + 1)):
        raise RuleViolated(
            ORDER_OF_BUSINESS,
            "Người phát biểu phải đánh số theo thứ tự 1, 2, 3, …",
            "speakers must be numbered in order 1, 2, 3, ...",
            field="order_of_business.speakers",
            details={"orders": orders},
        )
    unsettled = [s.order for s in order.speakers if not s.answer and not s.assigned_to]
    if unsettled:
        raise RuleViolated(
            ORDER_OF_BUSINESS,
            f"Ý kiến của người phát biểu số {', '.join(map(str, unsettled))} chưa được trả lời"
            " cũng chưa giao cơ quan giải quyết",
            f"speaker(s) {', '.join(map(str, unsettled))} got neither an answer nor an agency assigned",
            field="order_of_business.speakers",
            details={"unsettled": unsettled},
        )


def _as_it_happened(state: Meeting, held_on: dt.date, facts: Facts) -> None:
    """A held meeting's day: not to come, not before the meeting was planned or announced, and
    not longer ago than the window for recording it."""
    details = {"held_on": str(held_on), "today": str(facts.today)}
    if held_on > facts.today:
        raise RuleViolated(
            HELD_AS_IT_HAPPENED,
            f"Ngày {held_on:%d/%m/%Y} chưa đến",
            f"held_on {held_on} is still to come",
            field="held_on",
            details=details,
        )
    for since, vi, en in (
        (facts.planned_on, "hội nghị được lên lịch", "the meeting was planned"),
        (state.announced_on, "hội nghị được thông báo", "the meeting was announced"),
    ):
        if since is not None and held_on < since:
            raise RuleViolated(
                HELD_AS_IT_HAPPENED,
                f"Ngày {held_on:%d/%m/%Y} trước ngày {vi} ({since:%d/%m/%Y})",
                f"held_on {held_on} is before {en} ({since})",
                field="held_on",
                details={**details, "not_before": str(since)},
            )
    if facts.record_days is not None and held_on < facts.today - timedelta(days=facts.record_days):
        raise RuleViolated(
            HELD_AS_IT_HAPPENED,
            f"Ngày {held_on:%d/%m/%Y} đã quá {facts.record_days} ngày: quá hạn ghi nhận",
            f"held_on {held_on} is more than {facts.record_days} days ago: too late to record",
            field="held_on",
            details={**details, "record_days": facts.record_days},
        )


def decide_hold(state: Meeting, cmd: HoldMeeting, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    if state.status is S.proposed:
        raise InvalidState(
            f"Hội nghị {state.meeting_id} mới là đề xuất: hãy chấp nhận trước",
            message_en=f"meeting {state.meeting_id} is only proposed: accept it first",
            field="meeting_id",
        )
    _in(state, ACTS["meeting_hold"], "ghi nhận đã tổ chức", "record as held")
    assert state.date is not None and state.programme is not None
    held_on = cmd.held_on or state.date
    _as_it_happened(state, held_on, facts)
    host_id, host_name = state.host_id, state.host_name
    if cmd.host_id and cmd.host_id != state.host_id:
        host = require_host(state.commune_code, cmd.host_id, facts.host)
        host_id, host_name = host.id, host.name
    total = sum(cmd.attendees.values())
    if total < 1:
        raise ValidationFailed("Phải có người tham dự", message_en="nobody attended", field="attendees")
    above = {u.code for u in facts.units.higher_units(state.commune_code)}
    strangers = [r.unit_code for r in cmd.representatives if r.unit_code not in above]
    if strangers:
        raise ValidationFailed(
            f"Đơn vị {', '.join(strangers)} không phải cấp trên của xã {state.commune_code}",
            message_en=f"{', '.join(strangers)} is not above commune {state.commune_code}",
            field="representatives",
            details={"allowed": sorted(above)},
        )
    if state.programme is Programme.p2 and cmd.order_of_business is None:
        raise RuleViolated(
            ORDER_OF_BUSINESS,
            "Hội nghị tiếp xúc, đối thoại phải ghi trình tự hội nghị",
            "a programme 2 dialogue records its order of business",
            field="order_of_business",
        )
    if cmd.order_of_business is not None:
        _check_order_of_business(cmd.order_of_business)
    return [
        MeetingHeld(
            meeting_id=state.meeting_id,
            programme=state.programme,
            commune_code=state.commune_code,
            unit_path=list(state.unit_path),
            dataset=state.dataset or facts.units.dataset,
            host_id=host_id,
            host_name=host_name,
            plan_unit=state.plan_unit,
            target_group=state.target_group,
            cycle=state.cycle,
            held_on=held_on,
            start_time=state.start_time,
            venue=cmd.venue or state.venue,
            chair=cmd.chair,
            attendees={g: n for g, n in cmd.attendees.items()},
            attendees_total=total,
            representatives=list(cmd.representatives),
            minutes_ref=cmd.minutes_ref,
            order_of_business=cmd.order_of_business,
        )
    ]


def decide_close_minutes(state: Meeting, cmd: CloseMinutes, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.meeting_id)
    if state.status in OPEN:
        assert state.status is not None
        raise RuleViolated(
            MINUTES_AFTER_HELD,
            f"Hội nghị {state.meeting_id} chưa tổ chức (trạng thái «{STATUS_VI[state.status]}»)",
            f"meeting {state.meeting_id} has not been held (it is {state.status.value})",
            field="meeting_id",
            details={"status": state.status.value},
        )
    _in(state, ACTS["meeting_close"], "khóa biên bản", "close the minutes of")
    assert state.held_on is not None
    on = cmd.closed_on or facts.today
    _not_future(on, facts.today, "closed_on")
    if on < state.held_on:
        raise ValidationFailed(
            "Ngày khóa biên bản trước ngày hội nghị", message_en="closed_on is before the meeting", field="closed_on"
        )
    return [
        MinutesClosed(
            meeting_id=state.meeting_id,
            closed_on=on,
            minutes_ref=cmd.minutes_ref or state.minutes_ref or "",
            summary=cmd.summary,
        )
    ]


# --- what time causes ----------------------------------------------------------------------------------


def decide_deadline_missed(
    state: Meeting, deadline: MeetingDeadline, due_on: dt.date, today: dt.date
) -> list[DomainEvent]:
    """Record that ``deadline`` (due ``due_on``) passed without the step done; nothing if it was
    done, the meeting moved (another due date), is over, or it was recorded already."""
    if state.status not in TO_HOLD or state.date is None or today <= due_on:
        return []
    current = state.opinions_due if deadline is MeetingDeadline.opinions else state.broadcast_due
    done = state.opinions_compiled_on if deadline is MeetingDeadline.opinions else state.announced_on
    if current != due_on or done is not None or (deadline, due_on) in state.missed:
        return []
    return [DeadlineMissed(meeting_id=state.meeting_id, deadline=deadline, due_on=due_on, meeting_date=state.date)]


def minutes_due(held_on: dt.date, days: int) -> dt.date:
    """The last day to close the minutes of a meeting held on ``held_on``."""
    return held_on + timedelta(days=days)


def decide_minutes_overdue(state: Meeting, due_on: dt.date, today: dt.date) -> list[DomainEvent]:
    if state.status is not S.held or state.held_on is None or today <= due_on or due_on in state.minutes_reminded:
        return []
    return [MinutesOverdue(meeting_id=state.meeting_id, held_on=state.held_on, due_on=due_on)]
