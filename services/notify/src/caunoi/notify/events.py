"""The notify service's events: its public contract (see docs/events/notify/).

Stream ``NOTIFY``, one subject per notice and per contact, ``caunoi.notify.<id>.<unit path>``:

- a **notice** (``NT-…``, one per triggering event and recipient): ``NoticeQueued`` (what, for
  whom, caused by which event) → ``DeliveryFailed`` (an attempt that did not go through; retried
  later, or on the next channel) … → ``NoticeSent`` or, after the allowed attempts,
  ``NoticeFailed`` (listed for an operator) → ``NoticeRequeued`` (an operator sends it again);
- a **contact** (``unit-<code>``, ``hamlet-<hamlet id>``): ``ContactSet``, ``ContactRemoved``.

``NoticeSent`` and ``NoticeFailed`` are complete on their own (kind, recipient, what it was about,
unit), so reporting counts written replies and delay notices sent without any other event.
Personal data (a petitioner's phone or address) is not in these events: addresses are recorded
masked, and the petitioner's contact stays in this service's read model, erasable.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from caunoi.shared.events import DomainEvent, EventRegistry

registry = EventRegistry()
NS = "vn.caunoi.notify"


class NoticeKind(StrEnum):
    """What a notice says; also its template's name."""

    written_reply = "written_reply"  # văn bản trả lời (to the petitioner and the hamlet)
    delay_notice = "delay_notice"  # thông báo chậm giải quyết so với thời hạn cam kết (seed 000)
    meeting_announced = "meeting_announced"  # thông báo hội nghị và nội dung phát thanh
    meeting_moved = "meeting_moved"  # thông báo đổi, hoãn lịch hội nghị
    meeting_cancelled = "meeting_cancelled"  # thông báo hủy hội nghị
    opinions_reminder = "opinions_reminder"  # nhắc tổng hợp ý kiến trước hội nghị (seed 004)
    broadcast_reminder = "broadcast_reminder"  # nhắc thông báo trên hệ thống truyền thanh (seed 004)
    minutes_reminder = "minutes_reminder"  # nhắc hoàn thành biên bản hội nghị
    deadline_approaching = "deadline_approaching"  # sắp đến hạn giải quyết
    petition_overdue = "petition_overdue"  # quá hạn giải quyết
    report_due = "report_due"  # đến hạn báo cáo
    report_overdue = "report_overdue"  # quá hạn báo cáo


class DeliveryChannel(StrEnum):
    email = "email"
    sms = "sms"
    zalo = "zalo"
    #: a printable letter (PDF), for people with neither phone nor email
    letter = "letter"


class RecipientKind(StrEnum):
    petitioner = "petitioner"  # người phản ánh, kiến nghị (of one petition)
    hamlet = "hamlet"  # thôn, tổ dân phố (its head, its meeting hall)
    unit = "unit"  # an administrative unit's office (commune, district, province)


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoticeRecipient(Part):
    kind: RecipientKind
    #: the petition id, the hamlet id or the unit code
    id: str

    @property
    def ref(self) -> str:
        """``petitioner:PA-…``, ``hamlet:00691-thon-dong-tam``, ``unit:00691``."""
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, ref: str) -> NoticeRecipient:
        kind, _, rid = ref.partition(":")
        return cls(kind=RecipientKind(kind), id=rid)


class Trigger(Part):
    """The event that caused a notice, where it is stored."""

    stream: str
    seq: int
    event_id: str
    type: str
    #: the aggregate it is about (a petition reference, a meeting id)
    subject: str


@registry.register
class NoticeQueued(DomainEvent):
    """A notice is due because of ``trigger``; it will be delivered to ``recipient``."""

    NAME = f"{NS}.NoticeQueued"
    notice_id: str
    kind: NoticeKind
    template: str
    recipient: NoticeRecipient
    trigger: Trigger
    #: the unit concerned (the one handling the petition, the meeting's commune...)
    unit_code: str
    unit_path: list[str]
    dataset: str
    #: units it was handed to (a forwarded petition's), which reach it too
    handed_to: list[str] = Field(default_factory=list)
    #: what the template shows, taken from the triggering event (no personal data)
    context: dict[str, Any]


@registry.register
class DeliveryFailed(DomainEvent):
    """One attempt did not go through. ``permanent``: that channel cannot deliver it (the next
    channel is tried at once); otherwise it is tried again at ``retry_at``. No ``retry_at`` and
    not permanent: that was the last attempt (``NoticeFailed`` follows)."""

    NAME = f"{NS}.DeliveryFailed"
    notice_id: str
    round: int
    attempt: int
    channel: DeliveryChannel
    error: str
    permanent: bool = False
    retry_at: datetime | None = None


@registry.register
class NoticeSent(DomainEvent):
    """Delivered: accepted by the mail server or the SMS/Zalo gateway, or written as a letter to
    print. ``message_id`` is the same on every attempt of a notice, so a copy sent twice (after a
    crash between the server's acceptance and this event) is recognisable; ``possible_duplicate``
    says an earlier attempt's outcome was unknown."""

    NAME = f"{NS}.NoticeSent"
    notice_id: str
    kind: NoticeKind
    recipient: NoticeRecipient
    #: the aggregate the trigger was about (a petition reference, a meeting id)
    about: str
    unit_code: str
    channel: DeliveryChannel
    #: the address, masked (``n***@example.vn``, ``+84 9•• ••• 678``), or the letter's file
    address: str
    message_id: str
    template: str
    template_version: str
    lang: str
    #: SHA-256 of what was sent (the e-mail's subject and body, the text, the PDF)
    content_sha256: str
    round: int
    attempt: int
    possible_duplicate: bool = False


@registry.register
class NoticeFailed(DomainEvent):
    """Given up after the allowed attempts on every usable channel: an operator looks at it
    (``caunoi notify list --state failed``) and may send it again."""

    NAME = f"{NS}.NoticeFailed"
    notice_id: str
    kind: NoticeKind
    recipient: NoticeRecipient
    about: str
    unit_code: str
    round: int
    attempts: int
    channels: list[DeliveryChannel]
    last_error: str


@registry.register
class NoticeRequeued(DomainEvent):
    """An operator sends a failed notice again (a new round of attempts)."""

    NAME = f"{NS}.NoticeRequeued"
    notice_id: str
    round: int
    reason: str


@registry.register
class ContactSet(DomainEvent):
    """How a unit's office or a hamlet is reached (replaces what was set before)."""

    NAME = f"{NS}.ContactSet"
    contact_id: str
    recipient: NoticeRecipient
    name: str | None = None
    unit_path: list[str]
    dataset: str
    email: str | None = None
    phone: str | None = None
    zalo: str | None = None
    address: str | None = None
    preferred: DeliveryChannel | None = None
    lang: str = "vi"


@registry.register
class ContactRemoved(DomainEvent):
    NAME = f"{NS}.ContactRemoved"
    contact_id: str
    reason: str
