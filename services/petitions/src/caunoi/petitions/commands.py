"""Request bodies of the petitions service (``caunoi.cmd.petitions.*``, ``caunoi.q.petitions.*``)."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from caunoi.petitions.events import MASK, Category, Channel, Complexity, Kind, Petitioner, Status, Verdict
from caunoi.shared.endpoints import Command, Request
from caunoi.shared.ids import CommuneCode, HamletId, PetitionId, UnitCode
from caunoi.shared.validation import invalid

Text = Field(min_length=1, max_length=10_000)
Reason = Field(min_length=1, max_length=2000)
Short = Field(min_length=1, max_length=300)
Note = Field(default=None, max_length=2000)


_MARKED = re.compile(r"\[\[(.+?)\]\]", re.S)


def public_text(text: str) -> tuple[str, bool]:
    """The text as the public sees it: each passage marked ``[[…]]`` (it identifies someone)
    replaced by ``[…]``; and whether there was one."""
    public, n = _MARKED.subn(MASK, text)
    return public, n > 0


class RaisePetition(Command):
    """Tiếp nhận ý kiến, kiến nghị. The petitioner's name, phone and address are sealed before
    they are stored (erasable); passages of the text marked ``[[…]]`` too (the public text shows
    ``[…]`` instead)."""

    channel: Channel
    kind: Kind = Kind.feedback
    category: Category
    petitioner: Petitioner
    commune_code: CommuneCode
    #: the hamlet's id from the hamlet list (``caunoi scheduling hamlets list``); required for a meeting
    hamlet_id: HamletId | None = None
    #: passages that identify someone go between ``[[`` and ``]]``
    text: str = Text
    received_on: date | None = None
    meeting_id: str | None = Field(default=None, max_length=80)

    @field_validator("text")
    @classmethod
    def _marks_close(cls, v: str) -> str:
        rest = _MARKED.sub("", v)
        if "[[" in rest or "]]" in rest:
            raise invalid(
                None,
                "Đoạn đánh dấu thông tin cá nhân phải mở bằng [[ và đóng bằng ]], không lồng nhau",
                "a passage marked as personal must open with [[ and close with ]], not nested",
            )
        return v


class AnswerOnSpot(Command):
    """Giải đáp trực tiếp tại hội nghị."""

    petition_id: PetitionId
    answer: str = Text
    answered_by: str = Short
    answered_on: date | None = None


class ClassifyPetition(Command):
    """Phân loại: loại đơn, lĩnh vực, đủ hay không đủ điều kiện xử lý (và lý do)."""

    petition_id: PetitionId
    kind: Kind
    category: Category | None = None
    eligible: bool = True
    reason: str | None = Field(default=None, max_length=2000)
    classified_on: date | None = None


class ForwardPetition(Command):
    """Chuyển cấp có thẩm quyền giải quyết: lên cấp trên (có thể vượt cấp), hoặc sang cơ quan
    khác cùng cấp (``to_unit`` là đơn vị đang giải quyết, ``to_agency`` là cơ quan nhận)."""

    petition_id: PetitionId
    to_unit: UnitCode
    to_agency: str | None = Field(default=None, max_length=300)
    note: str | None = Note
    forwarded_on: date | None = None


class ReturnPetition(Command):
    """Đơn vị nhận từ chối, trả lại đơn vị chuyển (có lý do)."""

    petition_id: PetitionId
    reason: str = Reason
    returned_on: date | None = None


class AcceptPetition(Command):
    """Thụ lý."""

    petition_id: PetitionId
    complexity: Complexity = Complexity.normal
    #: vùng sâu, vùng xa, đi lại khó khăn: the policy's remote-area limits apply
    remote_area: bool = False
    accepted_on: date | None = None
    note: str | None = Note


class ExtendDeadline(Command):
    """Gia hạn (có lý do). A committed date moves to ``until``; a statutory limit moves by the
    days the policy gives an extension, and the matter may be declared more complex."""

    petition_id: PetitionId
    reason: str = Reason
    until: date | None = None
    complexity: Complexity | None = None
    extended_on: date | None = None


class GiveVerdict(Command):
    """Ý kiến của người nêu về văn bản trả lời: hài lòng, hoặc chưa được giải quyết (mở lại)."""

    petition_id: PetitionId
    verdict: Verdict
    comment: str | None = Note
    given_on: date | None = None


class WithdrawPetition(Command):
    """Rút đơn (trước khi giải quyết xong)."""

    petition_id: PetitionId
    reason: str | None = Note
    withdrawn_on: date | None = None


class ErasePetitioner(Command):
    """Xóa dữ liệu cá nhân của người nêu ý kiến (Nghị định 13/2023/NĐ-CP; Luật Bảo vệ dữ liệu cá
    nhân 2025): operators only, with the reason (the data subject's request, its reference)."""

    petition_id: PetitionId
    reason: str = Reason


class MergePetition(Command):
    """Gộp vào một vụ việc cùng nội dung: văn bản trả lời vụ việc được gửi cho cả người nêu này."""

    petition_id: PetitionId
    case_id: PetitionId
    reason: str | None = Note
    merged_on: date | None = None


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
    #: the public answer (what leaves the office)
    summary: str = Text
    #: for the officials of the units concerned only
    internal_note: str | None = Field(default=None, max_length=10_000)
    recipients: list[Recipient] = Field(default_factory=lambda: [Recipient.petitioner, Recipient.hamlet], min_length=1)


class ListPetitions(Request):
    """A listing: every filter narrows it. Personal data only for officials of the units
    concerned, never with ``public``."""

    unit: UnitCode | None = None
    #: one status or several
    status: list[Status] | None = None
    kind: Kind | None = None
    category: Category | None = None
    channel: Channel | None = None
    #: raised at this meeting (``HN-…``)
    meeting_id: str | None = Field(default=None, min_length=1, max_length=80)
    overdue: bool | None = None
    #: time marked a watched deadline approaching, and none has passed
    approaching: bool | None = None
    received_from: date | None = None
    received_to: date | None = None
    #: the petitioner's name, any case, with or without accents (officials only)
    petitioner: str | None = Field(default=None, min_length=1, max_length=200)
    #: words of the text, the hamlet or the reference, with or without accents ("dat dai")
    search: str | None = Field(default=None, min_length=1, max_length=200)
    #: what the public may see: no personal data, no internal notes
    public: bool = False
    #: every lifecycle date of each petition (exports)
    full: bool = False
    #: also how many each status holds under the other filters (an inbox's counts)
    counts: bool = False
    limit: int = Field(default=50, ge=1, le=5000)
    offset: int = Field(default=0, ge=0, le=10_000_000)

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_several(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ShowPetition(Request):
    petition_id: PetitionId


class Period(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


class GroupBy(StrEnum):
    unit = "unit"  # the units directly below the one asked for (or the commune)
    category = "category"
    period = "period"
    kind = "kind"
    channel = "channel"


class PetitionStats(Request):
    """The figures city portals publish: received, resolved, in progress, overdue, median days to
    resolve, on-time rate, satisfaction; by unit, category or period. Public: no personal data."""

    unit: UnitCode | None = None
    group_by: GroupBy = GroupBy.category
    period: Period = Period.month
    received_from: date | None = None
    received_to: date | None = None
