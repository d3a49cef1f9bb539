"""Request bodies of the scheduling service (``caunoi.cmd.scheduling.*``, ``caunoi.q.scheduling.*``)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from caunoi.shared.endpoints import Command, Request
from caunoi.shared.hamlets import HamletKind
from caunoi.shared.ids import CommuneCode, HamletId, UnitCode
from caunoi.shared.units import HAMLET_NAME_MAX

HamletName = Field(min_length=1, max_length=HAMLET_NAME_MAX)


class AddHamlet(Command):
    """Thêm thôn, tổ dân phố vào danh sách của xã."""

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
    reason: str = Field(min_length=1, max_length=2000)
    retired_on: date | None = None


class ListHamlets(Request):
    unit: UnitCode | None = None
    include_retired: bool = False


class ShowHamlet(Request):
    hamlet_id: HamletId
