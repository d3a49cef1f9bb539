"""Request bodies of the petitions service (``caunoi.cmd.petitions.*``, ``caunoi.q.petitions.*``)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from caunoi.petitions.events import Category, Channel, Kind, Petitioner, Status
from caunoi.shared.endpoints import Command, Request
from caunoi.shared.ids import CommuneCode, HamletId, PetitionId, UnitCode

Text = Field(min_length=1, max_length=10_000)
Short = Field(min_length=1, max_length=300)
Note = Field(default=None, max_length=2000)


class RaisePetition(Command):
    """Tiếp nhận ý kiến, kiến nghị."""

    channel: Channel
    kind: Kind = Kind.feedback
    category: Category
    petitioner: Petitioner
    commune_code: CommuneCode
    #: the hamlet's id from the hamlet list (``caunoi scheduling hamlets list``); required for a meeting
    hamlet_id: HamletId | None = None
    text: str = Text
    received_on: date | None = None
    meeting_id: str | None = Field(default=None, max_length=80)


class AnswerOnSpot(Command):
    """Giải đáp trực tiếp tại hội nghị."""

    petition_id: PetitionId
    answer: str = Text
    answered_by: str = Short
    answered_on: date | None = None


class ForwardPetition(Command):
    """Chuyển cấp có thẩm quyền giải quyết."""

    petition_id: PetitionId
    to_unit: UnitCode
    to_agency: str | None = Field(default=None, max_length=300)
    note: str | None = Note
    forwarded_on: date | None = None


class SetCommitment(Command):
    """Đặt thời hạn cam kết giải quyết."""

    petition_id: PetitionId
    committed_date: date
    note: str | None = Note


class Recipient(StrEnum):
    petitioner = "petitioner"
    hamlet = "hamlet"


class IssueReply(Command):
    """Ban hành văn bản trả lời."""

    petition_id: PetitionId
    document_no: str = Field(min_length=1, max_length=80)
    issued_on: date | None = None
    summary: str = Text
    recipients: list[Recipient] = Field(default_factory=lambda: [Recipient.petitioner, Recipient.hamlet], min_length=1)


class ListPetitions(Request):
    unit: UnitCode | None = None
    status: Status | None = None
    category: Category | None = None
    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class ShowPetition(Request):
    petition_id: PetitionId
