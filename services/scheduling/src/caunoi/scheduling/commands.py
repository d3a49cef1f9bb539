"""Request bodies of the scheduling service (``caunoi.cmd.scheduling.*``, ``caunoi.q.scheduling.*``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final

from pydantic import Field, StringConstraints

from caunoi.scheduling.events import (
    AreaKind,
    AttendeeGroup,
    MeetingStatus,
    OrderOfBusiness,
    Programme,
    Representative,
    TargetGroup,
)
from caunoi.shared.endpoints import Command, Request
from caunoi.shared.hamlets import HamletKind
from caunoi.shared.ids import AssignmentId, CommuneCode, HamletId, MeetingId, UnitCode

HAMLET_NAME_MAX: Final = 100

HamletName = Field(min_length=1, max_length=HAMLET_NAME_MAX)
Reason = Field(min_length=1, max_length=2000)
Person = Field(min_length=1, max_length=200)
Venue = Field(min_length=1, max_length=300)
#: a calendar month, ``YYYY-MM``
Month = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


# --- hamlets ------------------------------------------------------------------------------------


class AddHamlet(Command):
    """Thêm thôn, tổ dân phố (hoặc chi bộ cơ quan) vào danh sách của xã."""

    commune_code: CommuneCode
    name: str = HamletName
    kind: HamletKind


class RenameHamlet(Command):
    """Đổi tên thôn, tổ dân phố (mã giữ nguyên)."""

    hamlet_id: HamletId
    name: str = HamletName


class RetireHamlet(Command):
    """Thôi sử dụng thôn, tổ dân phố (sáp nhập, giải thể, nhập nhầm)."""

    hamlet_id: HamletId
    reason: str = Reason
    retired_on: dt.date | None = None


class ListHamlets(Request):
    unit: UnitCode | None = None
    include_retired: bool = False


class ShowHamlet(Request):
    hamlet_id: HamletId


# --- programme 1: pilots and the rotation ---------------------------------------------------------


class ChoosePilotLocalities(Command):
    """Huyện (từ 2025: tỉnh) chọn các xã, phường, thị trấn làm điểm."""

    #: the unit directly above the communes: a district (vn-2024) or the province (vn-2025)
    unit_code: UnitCode
    communes: list[CommuneCode] = Field(min_length=1, max_length=1000)


class ChoosePilotSites(Command):
    """Xã làm điểm chọn các thôn, tổ dân phố, chi bộ cơ quan làm điểm (thứ tự luân phiên)."""

    commune_code: CommuneCode
    sites: list[HamletId] = Field(min_length=1, max_length=1000)


class ProposeRotation(Command):
    """Đề xuất hội nghị tháng tới của xã làm điểm, tại điểm chưa tổ chức trong vòng luân phiên."""

    commune_code: CommuneCode
    month: Month
    #: default: the 15th of the month
    date: dt.date | None = None
    start_time: dt.time | None = None
    #: default: the host's cultural house (nhà văn hóa)
    venue: str | None = Field(default=None, min_length=1, max_length=300)


class ShowPilots(Request):
    #: default: the actor's own unit
    unit: UnitCode | None = None


class ShowRotation(Request):
    commune_code: CommuneCode


# --- meetings -----------------------------------------------------------------------------------


class PlanDialogue(Command):
    """Kế hoạch tiếp xúc, đối thoại của người đứng đầu cấp ủy: một cuộc trong kế hoạch năm."""

    #: whose head holds the dialogue: the commune itself or a unit above it
    plan_unit: UnitCode
    commune_code: CommuneCode
    target_group: TargetGroup
    date: dt.date
    start_time: dt.time | None = None
    venue: str = Venue
    chair: str = Person
    host_id: HamletId | None = None
    title: str | None = Field(default=None, max_length=300)


class AcceptMeeting(Command):
    """Chấp nhận hội nghị do hệ thống đề xuất."""

    meeting_id: MeetingId
    chair: str | None = Field(default=None, min_length=1, max_length=200)


class MoveMeeting(Command):
    """Đổi ngày, giờ, địa điểm hoặc nơi tổ chức."""

    meeting_id: MeetingId
    date: dt.date | None = None
    start_time: dt.time | None = None
    venue: str | None = Field(default=None, min_length=1, max_length=300)
    host_id: HamletId | None = None
    reason: str | None = Field(default=None, max_length=2000)


class PostponeMeeting(Command):
    """Hoãn sang ngày sau, có lý do."""

    meeting_id: MeetingId
    to_date: dt.date
    reason: str = Reason


class CancelMeeting(Command):
    """Hủy, có lý do."""

    meeting_id: MeetingId
    reason: str = Reason


class CompileOpinions(Command):
    """Chương trình 2: các cơ quan đã tổng hợp, báo cáo ý kiến (chậm nhất 10 ngày trước)."""

    meeting_id: MeetingId
    count: Count
    compiled_by: str = Person
    compiled_on: dt.date | None = None


class AnnounceMeeting(Command):
    """Thông báo thời gian, địa điểm trên hệ thống truyền thanh."""

    meeting_id: MeetingId
    broadcast_text: str = Field(min_length=1, max_length=5000)
    announced_on: dt.date | None = None


class HoldMeeting(Command):
    """Ghi nhận hội nghị đã tổ chức."""

    meeting_id: MeetingId
    held_on: dt.date | None = None
    #: default: the planned venue and host
    venue: str | None = Field(default=None, min_length=1, max_length=300)
    host_id: HamletId | None = None
    chair: str = Person
    attendees: dict[AttendeeGroup, Count] = Field(min_length=1)
    representatives: list[Representative] = Field(default_factory=list, max_length=200)
    minutes_ref: str = Field(min_length=1, max_length=200)
    order_of_business: OrderOfBusiness | None = None


class CloseMinutes(Command):
    """Hoàn thành, khóa biên bản hội nghị."""

    meeting_id: MeetingId
    minutes_ref: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=10_000)
    closed_on: dt.date | None = None


class ListMeetings(Request):
    #: a unit and its sub-tree; default the actor's own
    unit: UnitCode | None = None
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    status: MeetingStatus | None = None
    programme: Programme | None = None
    limit: int = Field(default=200, ge=1, le=5000)


class ShowMeeting(Request):
    meeting_id: MeetingId


class MissingMeetings(Request):
    """Communes under a unit with no meeting in a month."""

    unit: UnitCode | None = None
    #: default: this month
    month: Month | None = None
    #: only programme 1's pilot communes
    pilots_only: bool = False


class ShowDialoguePlan(Request):
    """A head's yearly dialogue plan: the programme 2 dialogues of ``plan_unit`` in ``year``."""

    plan_unit: UnitCode
    year: int = Field(ge=2000, le=2100)


class CalendarFeed(Request):
    """Upcoming meetings under a unit as an iCalendar document."""

    unit: UnitCode | None = None
    #: how far ahead (days from today)
    days: int = Field(default=366, ge=1, le=3660)


# --- programme 3: cadres following areas ----------------------------------------------------------


class AssignCadre(Command):
    """Phân công cán bộ theo dõi địa bàn."""

    cadre: str = Person
    #: the cadre's unit: a province follows communes, a district villages, a commune citizens
    cadre_unit: UnitCode
    area_kind: AreaKind
    #: a commune code (area_kind commune) or a hamlet id (hamlet; optional for citizens)
    area_id: str | None = Field(default=None, max_length=120)
    #: who the citizens or members are (area_kind citizens)
    description: str | None = Field(default=None, max_length=500)
    from_date: dt.date | None = None


class ReassignCadre(Command):
    """Giao cho cán bộ khác theo dõi cùng địa bàn."""

    assignment_id: AssignmentId
    to_cadre: str = Person
    on: dt.date | None = None
    reason: str | None = Field(default=None, max_length=2000)


class EndAssignment(Command):
    """Kết thúc phân công."""

    assignment_id: AssignmentId
    reason: str = Reason
    on: dt.date | None = None


class Following(Request):
    """Who follows what under a unit on a date."""

    unit: UnitCode | None = None
    on: dt.date | None = None
