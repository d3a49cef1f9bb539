"""The petitions service's events: its public contract (see docs/events/)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from caunoi.shared.events import DomainEvent, EventRegistry

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
    complaint = "complaint"  # khiếu nại
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
    """Where a petition stands; its events put it there (the read model and queries use it)."""

    new = "new"
    received = "received"  # tiếp nhận
    answered = "answered"  # giải đáp trực tiếp tại hội nghị
    forwarded = "forwarded"  # chuyển cấp có thẩm quyền giải quyết
    in_progress = "in_progress"  # đang giải quyết, có thời hạn cam kết
    replied = "replied"  # đã có văn bản trả lời


class Petitioner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=300)
    #: the petitioner asked not to be named in reports
    confidential: bool = False


@registry.register
class PetitionRaised(DomainEvent):
    NAME = f"{NS}.PetitionRaised"
    petition_id: str
    channel: Channel
    kind: Kind
    category: Category
    petitioner: Petitioner
    commune_code: str
    #: the hamlet's stable id (``<commune>-<slug>``) and its name when the petition was raised
    hamlet_id: str | None = None
    hamlet_name: str | None = None
    text: str
    received_on: date
    unit_path: list[str]
    dataset: str
    meeting_id: str | None = None


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
    petition_id: str
    from_unit: str
    to_unit: str
    to_agency: str | None = None
    note: str | None = None
    forwarded_on: date


@registry.register
class CommitmentSet(DomainEvent):
    NAME = f"{NS}.CommitmentSet"
    petition_id: str
    committed_date: date
    by_unit: str
    note: str | None = None


@registry.register
class ReplyIssued(DomainEvent):
    NAME = f"{NS}.ReplyIssued"
    petition_id: str
    document_no: str
    issued_on: date
    by_unit: str
    summary: str
    #: who receives the written reply: the petitioner and the hamlet that held the meeting
    recipients: list[str]
