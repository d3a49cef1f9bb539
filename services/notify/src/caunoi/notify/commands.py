"""Request bodies of the notify service (``caunoi.cmd.notify.*``, ``caunoi.q.notify.*``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from caunoi.notify.addresses import normalize_email, normalize_phone
from caunoi.notify.events import DeliveryChannel, NoticeKind
from caunoi.shared.endpoints import Command, Request
from caunoi.shared.ids import HamletId, NoticeId, RecipientRef, UnitCode
from caunoi.shared.validation import invalid


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValueError as e:
        raise invalid(None, "Không phải số điện thoại (ví dụ 0912 345 678 hoặc +84 912 345 678)", str(e)) from e


def _email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except ValueError as e:
        raise invalid(None, "Không phải địa chỉ thư điện tử", str(e)) from e


Phone = Annotated[str, Field(max_length=30), AfterValidator(_phone)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Lang = Literal["vi", "en"]


class _Whose(Command):
    """A unit's office or a hamlet: exactly one."""

    unit: UnitCode | None = None
    hamlet_id: HamletId | None = None

    @model_validator(mode="after")
    def _one(self) -> _Whose:
        if (self.unit is None) == (self.hamlet_id is None):
            raise invalid(
                "unit", "Chọn đúng một: đơn vị hoặc thôn, tổ dân phố", "give exactly one of unit and hamlet_id"
            )
        return self


class SetContact(_Whose):
    """Cách liên lạc với văn phòng một đơn vị hoặc một thôn, tổ dân phố."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: Email | None = None
    phone: Phone | None = None
    zalo: Phone | None = None
    address: str | None = Field(default=None, min_length=1, max_length=300)
    preferred: DeliveryChannel | None = None
    lang: Lang = "vi"


class RemoveContact(_Whose):
    """Xóa cách liên lạc (thư in giấy vẫn gửi được)."""

    reason: str = Field(min_length=1, max_length=500)


class ResendNotice(Command):
    """Gửi lại một thông báo đã thất bại."""

    notice_id: NoticeId
    reason: str = Field(min_length=1, max_length=500)


class NoticeState(Request):
    pass


class ListNotices(Request):
    unit: UnitCode | None = None
    state: Literal["queued", "sent", "failed"] | None = None
    kind: NoticeKind | None = None
    recipient: RecipientRef | None = None
    #: the triggering event's id, or what it was about (a petition reference, a meeting id)
    event: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class ShowNotice(Request):
    notice_id: NoticeId


class PreviewNotice(Request):
    """A notice rendered from a real event with the template files as they are now."""

    #: a notice id, or the id of the event that caused notices, or what they are about
    ref: str = Field(min_length=1, max_length=200)
    #: which of the notices of that event (their recipient); the first one otherwise
    recipient: RecipientRef | None = None
    #: another template to render with the same event
    template: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,60}$")
    lang: Lang | None = None
    #: include the printable letter (PDF, base64)
    letter: bool = False


class ListContacts(Request):
    unit: UnitCode | None = None
