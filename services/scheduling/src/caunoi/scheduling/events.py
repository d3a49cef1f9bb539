"""The scheduling service's events: its public contract (see docs/events/scheduling/).

Everything is on stream ``SCHEDULING``, one subject per aggregate,
``caunoi.scheduling.<aggregate id>.<unit path>``:

- the hamlet list (``HamletAdded`` ...; the contract lives in :mod:`caunoi.shared.hamlets` so
  other services keep their own copy of the list);
- programme 1 pilots: ``PilotLocalitiesChosen`` (a district, or since 2025 a province, picks its
  pilot communes), ``PilotSitesChosen`` (a pilot commune picks the hamlets and agency party cells
  its monthly meeting rotates through);
- dialogue meetings (programme 1's monthly rotating meeting, programme 2's head-of-committee
  dialogue): ``MeetingProposed`` → ``MeetingAccepted`` | ``MeetingPlanned`` → ``MeetingMoved`` /
  ``MeetingPostponed`` → ``OpinionsCompiled`` / ``MeetingAnnounced`` → ``MeetingHeld`` →
  ``MinutesClosed``, or ``MeetingCancelled``; what time causes: ``DeadlineMissed`` (programme 2)
  and ``MinutesOverdue``;
- programme 3: ``CadreAssigned``, ``CadreReassigned``, ``AssignmentEnded``.

**``MeetingHeld`` is what other services wait for** (reporting counts meetings and attendees,
notify tells the hamlet): it carries the whole record, so a consumer needs no other event of the
meeting: meeting id, programme, commune and its unit path, the host (hamlet or agency party cell),
date, venue, chair, attendees by group and their total, the higher-tier representatives present,
the minutes reference and, for programme 2, the order of business.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.hamlets import HAMLET_EVENTS, HamletKind

registry = EventRegistry()
for _hamlet_event in HAMLET_EVENTS:
    registry.register(_hamlet_event)

NS = "vn.caunoi.scheduling"


class Programme(StrEnum):
    """Which programme a meeting belongs to (docs: ../shared/DOMAIN.md)."""

    #: "Phát huy tài dân, sức dân – lợi cho dân": a pilot commune's monthly meeting, rotating
    #: through its pilot hamlets and agency party cells
    p1 = "p1"
    #: the head of the party committee meets the people (tiếp xúc, đối thoại của người đứng đầu),
    #: from the head's yearly plan
    p2 = "p2"


class MeetingStatus(StrEnum):
    proposed = "proposed"  # đề xuất (by the rotation), waiting for the clerk
    planned = "planned"  # đã lên lịch
    postponed = "postponed"  # hoãn sang ngày khác (still to be held)
    announced = "announced"  # đã thông báo trên hệ thống truyền thanh
    held = "held"  # đã tổ chức
    minutes_closed = "minutes_closed"  # đã hoàn thành biên bản
    cancelled = "cancelled"  # hủy


class TargetGroup(StrEnum):
    """Who a programme 2 dialogue is with (seed 004)."""

    front_and_unions = "front_and_unions"  # cán bộ, đoàn viên, hội viên MTTQ và các đoàn thể
    party_members = "party_members"  # cán bộ, đảng viên của đảng bộ
    citizens = "citizens"  # nhân dân


class AttendeeGroup(StrEnum):
    """Who attended (seed 000)."""

    party_committee = "party_committee"  # cấp ủy
    government = "government"  # chính quyền
    cadres = "cadres"  # cán bộ
    party_members = "party_members"  # đảng viên
    civil_servants = "civil_servants"  # công chức, viên chức
    union_members = "union_members"  # đoàn viên, hội viên
    citizens = "citizens"  # nhân dân


class MeetingDeadline(StrEnum):
    """Programme 2's deadlines before a dialogue (seed 004)."""

    opinions = "opinions"  # opinions compiled and reported at least 10 days before
    broadcast = "broadcast"  # time and place broadcast at least 7 days before


class AreaKind(StrEnum):
    """What a cadre follows (programme 3, seed 003)."""

    commune = "commune"  # a province cadre follows a commune
    hamlet = "hamlet"  # a district cadre follows a village
    citizens = "citizens"  # a commune cadre follows citizens or members (of a hamlet, or named)


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PilotLocality(_Part):
    code: str
    name: str
    #: the unit's kind in the dataset: Xã, Phường, Thị trấn, Đặc khu
    kind: str


class Site(_Part):
    """A hamlet or agency party cell of the commune's list."""

    id: str
    name: str
    kind: HamletKind


class Representative(_Part):
    """A higher-tier representative present (district or province leaders, boards, Front)."""

    unit_code: str
    name: str = Field(min_length=1, max_length=200)
    #: office or board, e.g. "Ban Dân vận Tỉnh ủy"
    office: str = Field(default="", max_length=300)


class Speaker(_Part):
    """One registered speaker, in order, and what became of what they raised."""

    order: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    topic: str = Field(min_length=1, max_length=2000)
    #: the chair's (or a unit's) answer at the meeting
    answer: str | None = Field(default=None, max_length=5000)
    #: the agency assigned to resolve what was not settled at the meeting, and answer the speaker
    assigned_to: str | None = Field(default=None, max_length=300)


class OrderOfBusiness(_Part):
    """Programme 2's order of business (seed 004)."""

    opening: str = Field(min_length=1, max_length=2000)
    method: str = Field(min_length=1, max_length=2000)
    speakers: list[Speaker] = Field(default_factory=list, max_length=500)
    conclusion: str = Field(min_length=1, max_length=5000)


# --- programme 1 pilots -------------------------------------------------------------------------


@registry.register
class PilotLocalitiesChosen(DomainEvent):
    """The unit directly above the communes (a district in vn-2024, the province in vn-2025)
    chose its pilot localities; replaces any earlier choice."""

    NAME = f"{NS}.PilotLocalitiesChosen"
    unit_code: str
    unit_level: str
    unit_path: list[str]
    dataset: str
    localities: list[PilotLocality]
    chosen_on: dt.date


@registry.register
class PilotSitesChosen(DomainEvent):
    """A pilot commune chose the hamlets and agency party cells its monthly meeting rotates
    through, in rotation order; replaces any earlier choice. ``total`` is how many active ones
    the commune's list had (the 50 % rule's base)."""

    NAME = f"{NS}.PilotSitesChosen"
    commune_code: str
    unit_path: list[str]
    dataset: str
    sites: list[Site]
    total: int
    chosen_on: dt.date


@registry.register
class RotationScheduled(DomainEvent):
    """The rotation gave a pilot commune's meeting of ``month`` to ``host_id``, recorded on the
    commune's pilot-sites aggregate before the meeting's ``MeetingProposed``: proposals for one
    commune are decided one at a time, from what this aggregate and the meetings' own events say
    (never from a read model that may lag)."""

    NAME = f"{NS}.RotationScheduled"
    commune_code: str
    meeting_id: str
    host_id: str
    host_name: str
    cycle: int
    month: str
    date: dt.date
    start_time: dt.time | None = None
    venue: str


# --- meetings -----------------------------------------------------------------------------------


@registry.register
class MeetingProposed(DomainEvent):
    """The rotation proposed a pilot commune's meeting for ``month`` at a host not yet visited in
    rotation cycle ``cycle``."""

    NAME = f"{NS}.MeetingProposed"
    meeting_id: str
    programme: Programme = Programme.p1
    commune_code: str
    unit_path: list[str]
    dataset: str
    host_id: str
    host_name: str
    cycle: int
    month: str
    date: dt.date
    start_time: dt.time | None = None
    venue: str


@registry.register
class MeetingAccepted(DomainEvent):
    """The clerk accepted a proposed meeting."""

    NAME = f"{NS}.MeetingAccepted"
    meeting_id: str
    chair: str | None = None


@registry.register
class MeetingPlanned(DomainEvent):
    """A meeting planned directly: an item of a head's yearly dialogue plan (programme 2)."""

    NAME = f"{NS}.MeetingPlanned"
    meeting_id: str
    programme: Programme
    commune_code: str
    unit_path: list[str]
    dataset: str
    #: the unit whose head holds the dialogue (the plan's owner: the commune or a unit above it)
    plan_unit: str
    target_group: TargetGroup
    host_id: str | None = None
    host_name: str | None = None
    date: dt.date
    start_time: dt.time | None = None
    venue: str
    chair: str
    title: str | None = None
    #: programme 2's deadlines for this date (opinions compiled, broadcast announced)
    opinions_due: dt.date | None = None
    broadcast_due: dt.date | None = None


@registry.register
class MeetingMoved(DomainEvent):
    """Another dt.date, dt.time, venue or host (before it is held)."""

    NAME = f"{NS}.MeetingMoved"
    meeting_id: str
    from_date: dt.date
    date: dt.date
    start_time: dt.time | None = None
    venue: str
    host_id: str | None = None
    host_name: str | None = None
    reason: str | None = None
    opinions_due: dt.date | None = None
    broadcast_due: dt.date | None = None


@registry.register
class MeetingPostponed(DomainEvent):
    """Put off to a later dt.date, with a reason; it keeps its host (and its place in the rotation)."""

    NAME = f"{NS}.MeetingPostponed"
    meeting_id: str
    from_date: dt.date
    date: dt.date
    reason: str
    opinions_due: dt.date | None = None
    broadcast_due: dt.date | None = None


@registry.register
class MeetingCancelled(DomainEvent):
    """Called off, with a reason; a rotation host whose meeting is cancelled has not hosted."""

    NAME = f"{NS}.MeetingCancelled"
    meeting_id: str
    reason: str
    cancelled_on: dt.date


@registry.register
class OpinionsCompiled(DomainEvent):
    """Programme 2: the agencies compiled and reported the opinions to be raised."""

    NAME = f"{NS}.OpinionsCompiled"
    meeting_id: str
    compiled_on: dt.date
    compiled_by: str
    count: int
    due_on: dt.date | None = None
    late: bool = False


@registry.register
class MeetingAnnounced(DomainEvent):
    """The time and place were announced (broadcast on the local radio system)."""

    NAME = f"{NS}.MeetingAnnounced"
    meeting_id: str
    announced_on: dt.date
    broadcast_text: str
    due_on: dt.date | None = None
    late: bool = False


@registry.register
class MeetingHeld(DomainEvent):
    """The meeting took place. Complete on its own: other services (reporting, notify) need no
    other event of the meeting."""

    NAME = f"{NS}.MeetingHeld"
    meeting_id: str
    programme: Programme
    commune_code: str
    unit_path: list[str]
    dataset: str
    #: the hamlet or agency party cell that hosted (programme 1; programme 2 when it had one)
    host_id: str | None = None
    host_name: str | None = None
    #: the head's unit (programme 2)
    plan_unit: str | None = None
    target_group: TargetGroup | None = None
    #: programme 1's rotation cycle
    cycle: int | None = None
    held_on: dt.date
    start_time: dt.time | None = None
    venue: str
    chair: str
    attendees: dict[AttendeeGroup, int]
    attendees_total: int
    representatives: list[Representative] = Field(default_factory=list)
    #: the minutes' reference (số biên bản), where they are kept
    minutes_ref: str
    order_of_business: OrderOfBusiness | None = None


@registry.register
class MinutesClosed(DomainEvent):
    """The minutes are complete and closed."""

    NAME = f"{NS}.MinutesClosed"
    meeting_id: str
    closed_on: dt.date
    minutes_ref: str
    summary: str | None = None


@registry.register
class DeadlineMissed(DomainEvent):
    """What time recorded: a programme 2 deadline passed without the step done."""

    NAME = f"{NS}.DeadlineMissed"
    meeting_id: str
    deadline: MeetingDeadline
    due_on: dt.date
    meeting_date: dt.date


@registry.register
class MinutesOverdue(DomainEvent):
    """What time recorded: the minutes were not closed within the set number of days."""

    NAME = f"{NS}.MinutesOverdue"
    meeting_id: str
    held_on: dt.date
    due_on: dt.date


# --- programme 3 --------------------------------------------------------------------------------


@registry.register
class CadreAssigned(DomainEvent):
    NAME = f"{NS}.CadreAssigned"
    assignment_id: str
    cadre: str
    #: the cadre's unit (who assigns; the aggregate is placed there)
    cadre_unit: str
    unit_path: list[str]
    dataset: str
    area_kind: AreaKind
    #: a commune code, or a hamlet id; none for citizens named only by ``description``
    area_id: str | None = None
    area_name: str
    #: the unit path of the followed area (its commune's path for a hamlet)
    area_path: list[str]
    description: str | None = None
    from_date: dt.date


@registry.register
class CadreReassigned(DomainEvent):
    """Another cadre follows the same area from ``on``."""

    NAME = f"{NS}.CadreReassigned"
    assignment_id: str
    from_cadre: str
    to_cadre: str
    on: dt.date
    reason: str | None = None


@registry.register
class AssignmentEnded(DomainEvent):
    NAME = f"{NS}.AssignmentEnded"
    assignment_id: str
    on: dt.date
    reason: str
