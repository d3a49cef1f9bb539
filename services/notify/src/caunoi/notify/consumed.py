"""What notify reads of the other services' events: consumer-side models (tolerant readers of the
contracts published in docs/events/), one registry per followed stream. Each declares only the
fields notify uses and ignores the rest; types not listed here are skipped. notify never imports
another service's package.

tests/kernel/test_consumed_contracts.py checks every model here against its producer's current
one (type, version, every declared field). **Provisional** models are marked so: their producer
does not publish them yet; a type nobody
publishes only means its rule never fires.
"""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict

from caunoi.shared.events import ConsumedEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.hamlets import SCHEDULING_STREAM
from caunoi.shared.sealed import Sealed

__all__ = ["PETITIONS_STREAM", "REPORTING_STREAM", "SCHEDULING_STREAM"]

#: the streams notify follows (read only), named without importing their owners
PETITIONS_STREAM = StreamSpec(name="PETITIONS", service="petitions", description="caunoi petitions (read by notify)")
REPORTING_STREAM = StreamSpec(name="REPORTING", service="reporting", description="caunoi reporting (read by notify)")

PETITIONS_NS = "vn.caunoi.petitions"
SCHEDULING_NS = "vn.caunoi.scheduling"
REPORTING_NS = "vn.caunoi.reporting"

petitions = EventRegistry()
scheduling = EventRegistry()
reporting = EventRegistry()


# --- petitions: the published contract (docs/events/petitions/) -------------------------------


class Petitioner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    phone: str | None = None
    address: str | None = None
    #: not in PetitionRaised.v1; read when the contract adds it
    email: str | None = None
    zalo: str | None = None


@petitions.register
class PetitionRaised(ConsumedEvent):
    NAME = f"{PETITIONS_NS}.PetitionRaised"
    petition_id: str
    #: in clear: events written before v3
    petitioner: Petitioner | None = None
    #: v3: the contact, sealed under the petitioner's key (notify opens it when it sends)
    personal: Sealed | None = None
    commune_code: str
    hamlet_id: str | None = None
    hamlet_name: str | None = None
    text: str
    received_on: date
    unit_path: list[str]
    dataset: str


@petitions.register
class PetitionForwarded(ConsumedEvent):
    NAME = f"{PETITIONS_NS}.PetitionForwarded"
    petition_id: str
    to_unit: str
    to_agency: str | None = None


@petitions.register
class CommitmentSet(ConsumedEvent):
    NAME = f"{PETITIONS_NS}.CommitmentSet"
    petition_id: str
    committed_date: date
    by_unit: str


@petitions.register
class ReplyIssued(ConsumedEvent):
    NAME = f"{PETITIONS_NS}.ReplyIssued"
    petition_id: str
    document_no: str
    issued_on: date
    by_unit: str
    #: the public answer
    summary: str
    #: who receives it: ``petitioner``, ``hamlet``
    recipients: list[str]


# --- petitions: deadlines and notices ------------------------------------------------------------


@petitions.register
class DelayNoticeRequired(ConsumedEvent):
    """A committed date passed with the petition unresolved; the petitioner
    must be told (seed 000), with the new date when the handling unit set one."""

    NAME = f"{PETITIONS_NS}.DelayNoticeRequired"
    petition_id: str
    committed_date: date
    handling_unit: str
    noticed_on: date


@petitions.register
class PetitionExtended(ConsumedEvent):
    """A deadline moved (gia hạn); its new date is the delay notice's."""

    NAME = f"{PETITIONS_NS}.PetitionExtended"
    petition_id: str
    new_due: date
    reason: str | None = None


@petitions.register
class DeadlineApproaching(ConsumedEvent):
    NAME = f"{PETITIONS_NS}.DeadlineApproaching"
    petition_id: str
    deadline: str
    due_on: date
    handling_unit: str
    days_left: int


@petitions.register
class PetitionOverdue(ConsumedEvent):
    NAME = f"{PETITIONS_NS}.PetitionOverdue"
    petition_id: str
    deadline: str
    due_on: date
    handling_unit: str


@petitions.register
class PetitionerDataErased(ConsumedEvent):
    """The petitioner's personal data were erased (their key destroyed); notify erases its copy of
    the contact, and notices not yet sent to that petitioner fail."""

    NAME = f"{PETITIONS_NS}.PetitionerDataErased"
    petition_id: str


# --- scheduling: meetings and reminders -----------------------------------------------------------


class _Meeting(ConsumedEvent):
    meeting_id: str
    commune_code: str
    unit_path: list[str]
    dataset: str
    host_id: str | None = None
    host_name: str | None = None
    date: date
    start_time: time | None = None
    venue: str
    programme: str | None = None


@scheduling.register
class MeetingProposed(_Meeting):
    """Programme 1's rotation proposed a meeting at a hamlet."""

    NAME = f"{SCHEDULING_NS}.MeetingProposed"


@scheduling.register
class MeetingPlanned(_Meeting):
    """A meeting planned directly (programme 2's yearly plan)."""

    NAME = f"{SCHEDULING_NS}.MeetingPlanned"
    #: programme 2: the unit whose head holds the dialogue
    plan_unit: str | None = None


@scheduling.register
class MeetingAnnounced(ConsumedEvent):
    """The time and place announced, with the radio broadcast's text."""

    NAME = f"{SCHEDULING_NS}.MeetingAnnounced"
    meeting_id: str
    announced_on: date
    broadcast_text: str


@scheduling.register
class MeetingMoved(ConsumedEvent):
    NAME = f"{SCHEDULING_NS}.MeetingMoved"
    meeting_id: str
    from_date: date
    date: date
    start_time: time | None = None
    venue: str | None = None
    host_id: str | None = None
    host_name: str | None = None
    reason: str | None = None


@scheduling.register
class MeetingPostponed(ConsumedEvent):
    NAME = f"{SCHEDULING_NS}.MeetingPostponed"
    meeting_id: str
    from_date: date
    date: date
    reason: str | None = None


@scheduling.register
class MeetingCancelled(ConsumedEvent):
    NAME = f"{SCHEDULING_NS}.MeetingCancelled"
    meeting_id: str
    reason: str
    cancelled_on: date


@scheduling.register
class MeetingDeadlineMissed(ConsumedEvent):
    """A programme 2 deadline passed without the step done: ``opinions``
    (compiled at least 10 days before) or ``broadcast`` (announced at least 7 days before)."""

    NAME = f"{SCHEDULING_NS}.DeadlineMissed"
    meeting_id: str
    deadline: str
    due_on: date
    meeting_date: date


@scheduling.register
class MinutesOverdue(ConsumedEvent):
    """The minutes of a meeting held were not closed in time."""

    NAME = f"{SCHEDULING_NS}.MinutesOverdue"
    meeting_id: str
    held_on: date
    due_on: date


# --- reporting -----------------------------------------------------------------------------------


class _Report(ConsumedEvent):
    report_id: str
    unit_code: str
    #: e.g. ``weekly``, ``monthly``; the period's key, e.g. ``2026-12`` or ``2026-W49``
    schedule: str
    period: str
    #: the deadline (None for an ad-hoc report without one)
    due_at: datetime | None = None


@reporting.register
class ReportDue(_Report):
    """A report's period fell due; the unit must file it by ``due_at``."""

    NAME = f"{REPORTING_NS}.ReportDue"
    unit_name: str
    unit_path: list[str]
    dataset: str
    schedule_title: str
    period_label: str


@reporting.register
class ReportOverdue(_Report):
    """The deadline passed and the report was not submitted."""

    NAME = f"{REPORTING_NS}.ReportOverdue"
