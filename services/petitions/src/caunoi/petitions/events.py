"""The petitions service's events: its public contract (see docs/events/)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.sealed import Sealed

registry = EventRegistry()
NS = "vn.caunoi.petitions"


class Channel(StrEnum):
    """Where the opinion came in (kênh tiếp nhận)."""

    meeting = "meeting"  # hội nghị tiếp xúc, đối thoại
    reception = "reception"  # tiếp công dân
    hotline = "hotline"  # đường dây nóng
    letter = "letter"  # đơn thư
    portal = "portal"  # cổng thông tin / dịch vụ công
    cadre = "cadre"  # cán bộ phản ánh


class Kind(StrEnum):
    feedback = "feedback"  # phản ánh
    petition = "petition"  # kiến nghị
    proposal = "proposal"  # đề xuất
    complaint = "complaint"  # khiếu nại lần đầu
    complaint_second = "complaint_second"  # khiếu nại lần hai
    denunciation = "denunciation"  # tố cáo


class Category(StrEnum):
    """Field of the opinion (lĩnh vực), as the seed reports group them."""

    land = "land"  # đất đai
    planning = "planning"  # quy hoạch
    roads = "roads"  # giao thông nông thôn
    drainage = "drainage"  # thủy lợi, thoát nước
    farm_prices = "farm_prices"  # giá nông sản
    security = "security"  # an ninh trật tự, tệ nạn xã hội
    new_rural = "new_rural"  # xây dựng nông thôn mới
    environment = "environment"  # môi trường
    social_policy = "social_policy"  # chính sách xã hội
    administration = "administration"  # thủ tục hành chính
    other = "other"  # khác


class Status(StrEnum):
    """Where a petition stands; its events put it there (the read model and queries use it).
    Overdue is not a status: time marks it (``PetitionOverdue``) whatever the status."""

    new = "new"
    received = "received"  # tiếp nhận
    classified = "classified"  # đã phân loại, đủ điều kiện xử lý
    ineligible = "ineligible"  # không đủ điều kiện xử lý (lưu đơn)
    answered = "answered"  # giải đáp trực tiếp tại hội nghị
    forwarded = "forwarded"  # chuyển cấp có thẩm quyền giải quyết
    returned = "returned"  # đơn vị nhận trả lại, về đơn vị chuyển
    accepted = "accepted"  # thụ lý
    in_progress = "in_progress"  # đang giải quyết, có thời hạn cam kết
    replied = "replied"  # đã giải quyết, có văn bản trả lời
    closed = "closed"  # người nêu hài lòng
    reopened = "reopened"  # người nêu phản ánh lại: chưa được giải quyết
    withdrawn = "withdrawn"  # rút đơn
    merged = "merged"  # gộp vào một vụ việc


class Complexity(StrEnum):
    normal = "normal"  # thông thường
    complex = "complex"  # phức tạp
    especially_complex = "especially_complex"  # đặc biệt phức tạp


class DeadlineKind(StrEnum):
    """The deadlines a petition can have at once. The event that starts or moves one carries it
    (its ``deadline`` field): raised, forwarded, returned (handle); accepted, reopened (resolve);
    committed, extended (committed)."""

    handle = "handle"  # xử lý đơn: phân loại, thụ lý hoặc chuyển
    resolve = "resolve"  # thời hạn giải quyết theo luật
    committed = "committed"  # thời hạn cam kết


class Verdict(StrEnum):
    satisfied = "satisfied"  # hài lòng
    not_resolved = "not_resolved"  # chưa được giải quyết (phản ánh lại)


class Petitioner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=300)
    #: the petitioner asked not to be named in reports
    confidential: bool = False


class PersonalData(BaseModel):
    """What a ``Sealed`` box of this service holds (JSON, AES-256-GCM under the petitioner's key,
    opened with the petition's reference as context): the petitioner's contact, and the petition's
    whole text when the clerk marked passages of it as identifying someone."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    phone: str | None = None
    address: str | None = None
    #: the text as written, with the marked passages (the event's ``text`` has them blanked)
    text: str | None = None


#: what replaces a passage the clerk marked ``[[…]]`` in the public text
MASK = "[…]"


class Deadline(BaseModel):
    """A deadline as the policy in force computed it: what the petition was judged by."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DeadlineKind
    due_on: date
    #: when ``DeadlineApproaching`` is due (None: no warning)
    warn_on: date | None = None
    #: the policy file's version; None for a date a person committed to without a policy rule
    policy_version: str | None = None
    #: how it was counted: the limit, its unit and the date counted from
    limit: int | None = None
    unit: str | None = None
    counted_from: date | None = None
    #: the event the count starts at (received, accepted, ...)
    start_event: str | None = None


@registry.register
class PetitionRaised(DomainEvent):
    """v3: the petitioner's personal data are sealed (``personal``), never in clear; passages of
    the text the clerk marked as identifying someone are blanked in ``text`` (and sealed whole)."""

    NAME = f"{NS}.PetitionRaised"
    VERSION = 3
    petition_id: str
    channel: Channel
    kind: Kind
    category: Category
    #: in clear: only in events written before v3 (they stay so in the log: it is immutable)
    petitioner: Petitioner | None = None
    #: v3: name, phone, address (and the whole text if passages were marked), encrypted
    personal: Sealed | None = None
    #: v3: the petitioner asked not to be named in reports
    confidential: bool = False
    commune_code: str
    #: the hamlet's stable id (``<commune>-<slug>``) and its name when the petition was raised
    hamlet_id: str | None = None
    hamlet_name: str | None = None
    text: str
    received_on: date
    unit_path: list[str]
    dataset: str
    meeting_id: str | None = None
    #: v2: the deadline for handling it (classify, accept or forward), as the policy gives it
    deadline: Deadline | None = None


@registry.upcaster(PetitionRaised.NAME, 1)
def _raised_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "deadline": None}


@registry.upcaster(PetitionRaised.NAME, 2)
def _raised_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    confidential = bool((data.get("petitioner") or {}).get("confidential", False))
    return {**data, "personal": None, "confidential": confidential}


@registry.register
class PetitionAnsweredOnSpot(DomainEvent):
    NAME = f"{NS}.PetitionAnsweredOnSpot"
    petition_id: str
    answer: str
    answered_by: str
    answered_on: date


@registry.register
class PetitionForwarded(DomainEvent):
    NAME = f"{NS}.PetitionForwarded"
    VERSION = 2
    petition_id: str
    from_unit: str
    to_unit: str
    to_agency: str | None = None
    note: str | None = None
    forwarded_on: date
    #: v2: the receiving unit's deadline for handling it
    deadline: Deadline | None = None


@registry.upcaster(PetitionForwarded.NAME, 1)
def _forwarded_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "deadline": None}


@registry.register
class CommitmentSet(DomainEvent):
    NAME = f"{NS}.CommitmentSet"
    VERSION = 2
    petition_id: str
    committed_date: date
    by_unit: str
    note: str | None = None
    #: v2: the committed date as a watched deadline, with the policy's warning before it
    deadline: Deadline | None = None


@registry.upcaster(CommitmentSet.NAME, 1)
def _commitment_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "deadline": None}


@registry.register
class ReplyIssued(DomainEvent):
    """The petition is resolved: the written reply (public) goes to the petitioner and the
    hamlet; the internal note stays in the office."""

    NAME = f"{NS}.ReplyIssued"
    VERSION = 2
    petition_id: str
    document_no: str
    issued_on: date
    by_unit: str
    #: the public answer: what leaves the office
    summary: str
    #: who receives the written reply: the petitioner and the hamlet that held the meeting
    recipients: list[str]
    #: for officials of the units concerned only; never in public outputs
    internal_note: str | None = None
    #: answered as part of this case (a petition merged into it), if any
    case_id: str | None = None


@registry.upcaster(ReplyIssued.NAME, 1)
def _reply_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "internal_note": None, "case_id": None}


@registry.register
class PetitionClassified(DomainEvent):
    NAME = f"{NS}.PetitionClassified"
    petition_id: str
    kind: Kind
    category: Category
    eligible: bool
    #: why not eligible (or a note on the classification)
    reason: str | None = None
    by_unit: str
    classified_on: date


@registry.register
class PetitionReturned(DomainEvent):
    """The receiving unit refused a forwarded petition: it goes back to the sender."""

    NAME = f"{NS}.PetitionReturned"
    petition_id: str
    from_unit: str
    to_unit: str
    reason: str
    returned_on: date
    #: the sender's new deadline for handling it
    deadline: Deadline | None = None


@registry.register
class PetitionAccepted(DomainEvent):
    """Thụ lý: the handling unit takes it on."""

    NAME = f"{NS}.PetitionAccepted"
    petition_id: str
    by_unit: str
    accepted_on: date
    complexity: Complexity = Complexity.normal
    remote_area: bool = False
    note: str | None = None
    #: the statutory deadline for resolving it, if the kind has one
    deadline: Deadline | None = None


@registry.register
class PetitionExtended(DomainEvent):
    """Gia hạn: a deadline moved, with the reason; counted against what the kind allows."""

    NAME = f"{NS}.PetitionExtended"
    petition_id: str
    #: which deadline moved
    which: DeadlineKind
    previous_due: date
    new_due: date
    reason: str
    #: 1 for the first extension, 2 for the second...
    number: int
    complexity: Complexity
    by_unit: str
    extended_on: date
    #: the deadline as it now is
    deadline: Deadline


@registry.register
class VerdictGiven(DomainEvent):
    """The petitioner's verdict on the reply: satisfied closes it, not resolved reopens it."""

    NAME = f"{NS}.VerdictGiven"
    petition_id: str
    verdict: Verdict
    comment: str | None = None
    given_on: date
    #: reopened: the statutory deadline for resolving it again, if the kind has one
    deadline: Deadline | None = None


@registry.register
class PetitionWithdrawn(DomainEvent):
    NAME = f"{NS}.PetitionWithdrawn"
    petition_id: str
    reason: str | None = None
    withdrawn_on: date


@registry.register
class PetitionMerged(DomainEvent):
    """Merged into a case about the same matter: the case's reply answers this petitioner too."""

    NAME = f"{NS}.PetitionMerged"
    petition_id: str
    case_id: str
    reason: str | None = None
    merged_on: date


@registry.register
class DeadlineApproaching(DomainEvent):
    NAME = f"{NS}.DeadlineApproaching"
    petition_id: str
    deadline: DeadlineKind
    due_on: date
    handling_unit: str
    #: days left (in the deadline's unit) on the day it was noticed
    days_left: int


@registry.register
class PetitionOverdue(DomainEvent):
    NAME = f"{NS}.PetitionOverdue"
    petition_id: str
    deadline: DeadlineKind
    due_on: date
    handling_unit: str
    noticed_on: date


@registry.register
class DelayNoticeRequired(DomainEvent):
    """A committed date passed unresolved: the petitioner must be told (seed 000). The notify
    service sends it; this event carries what the notice needs."""

    NAME = f"{NS}.DelayNoticeRequired"
    VERSION = 2
    petition_id: str
    committed_date: date
    handling_unit: str
    handling_agency: str | None = None
    #: to whom: the petitioner, in clear only in v1 events (they stay so in the log)
    petitioner: Petitioner | None = None
    #: v2: the petitioner's contact as the petition sealed it (None once erased, or for a petition
    #: raised before personal data were sealed)
    personal: Sealed | None = None
    #: and the hamlet that held the meeting, if any
    hamlet_id: str | None = None
    hamlet_name: str | None = None
    commune_code: str
    received_on: date
    #: the opinion, as raised
    text: str
    noticed_on: date


@registry.upcaster(DelayNoticeRequired.NAME, 1)
def _delay_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "personal": None}


@registry.register
class PetitionerDataErased(DomainEvent):
    """The petitioner's personal data were erased (crypto-shredding): the key their data were
    sealed under is destroyed, so every sealed copy, in the log, exports and backups, is unreadable
    from now on; read models drop what they kept. ``in_clear`` counts this petition's events
    written before personal data were sealed, which keep them in clear: the log is immutable."""

    NAME = f"{NS}.PetitionerDataErased"
    petition_id: str
    reason: str
    erased_on: date
    #: the destroyed key (None: nothing of this petition was ever sealed)
    key_id: str | None = None
    in_clear: int = 0
