"""The scheduling service process. This release: the commune's hamlet list (thôn, tổ dân phố...),
whose events this service owns; the dialogue meetings that rotate through the hamlets come later.

Run: ``caunoi-scheduling`` (or ``python -m caunoi.scheduling``). Subjects:
``caunoi.cmd.scheduling.hamlet_add|hamlet_rename|hamlet_retire`` and
``caunoi.q.scheduling.hamlets|hamlet``; events on stream ``SCHEDULING``, subjects
``caunoi.scheduling.<hamlet id>.<province>[.<district>].<commune>``.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from pydantic import Field

from caunoi.shared import hamlets
from caunoi.shared.aggregate import Outcome, Repository
from caunoi.shared.clock import today_vn
from caunoi.shared.errors import NotFound, ValidationFailed
from caunoi.shared.hamlets import (
    HAMLET_AGGREGATE,
    SCHEDULING_STREAM,
    Hamlet,
    HamletKind,
    HamletsProjection,
    get_hamlet,
    list_hamlets,
    require_commune,
)
from caunoi.shared.service import Command, Query, ServiceRuntime
from caunoi.shared.units import HAMLET_NAME_MAX, slugify

SERVICE = "scheduling"  # == SCHEDULING_STREAM.service

HamletId = Field(min_length=3, max_length=200, pattern=r"^[0-9]+-[a-z0-9]+(?:-[a-z0-9]+)*$")
HamletName = Field(min_length=1, max_length=HAMLET_NAME_MAX)


class AddHamlet(Command):
    """Thêm thôn, tổ dân phố vào danh sách của xã."""

    commune_code: str = Field(pattern=r"^\d{5}$")
    name: str = HamletName
    kind: HamletKind


class RenameHamlet(Command):
    """Đổi tên thôn, tổ dân phố (mã giữ nguyên)."""

    hamlet_id: str = HamletId
    name: str = HamletName


class RetireHamlet(Command):
    """Thôi sử dụng thôn, tổ dân phố (sáp nhập, giải thể, nhập nhầm)."""

    hamlet_id: str = HamletId
    reason: str = Field(min_length=1, max_length=2000)
    retired_on: date | None = None


class ListHamlets(Query):
    unit: str | None = Field(default=None, pattern=r"^\d{2,5}$")
    include_retired: bool = False


class ShowHamlet(Query):
    hamlet_id: str = HamletId


def build(runtime: ServiceRuntime | None = None) -> ServiceRuntime:
    rt = runtime or ServiceRuntime(SERVICE, SCHEDULING_STREAM, hamlets.registry)
    projection = HamletsProjection()
    rt.add_projection(projection)
    tree = rt.units

    def repo() -> Repository[Hamlet]:
        return rt.repository(HAMLET_AGGREGATE)

    async def names_in_use(commune_code: str) -> dict[str, str]:
        """Name key -> id of the commune's active hamlets, from the read model. Catches names
        that renames took or freed; the aggregate itself catches a second add of one id."""
        async with rt.pool.acquire() as conn:
            rows = await list_hamlets(conn, projection.name, commune_code)
        return {slugify(r["name"]): r["id"] for r in rows if r["commune_code"] == commune_code}

    def result(out: Outcome[Hamlet]) -> dict[str, Any]:
        s = out.state
        return {
            "hamlet_id": out.aggregate_id,
            "commune_code": s.commune_code,
            "name": s.name,
            "kind": s.kind.value,
            "retired": s.retired,
            "retired_on": s.retired_on,
            "events": [{"id": r.envelope.id, "type": r.envelope.type, "seq": r.seq} for r in out.events],
            "replayed": out.replayed,
        }

    @rt.command("hamlet_add", AddHamlet, "Add a hamlet to a commune's list (thêm thôn, tổ dân phố)")
    async def hamlet_add(cmd: AddHamlet) -> dict[str, Any]:
        unit = require_commune(tree(), cmd.commune_code)
        hid = hamlets.new_hamlet_id(unit.code, cmd.name)
        path = tree().path(unit.code)
        taken = {k: v for k, v in (await names_in_use(unit.code)).items() if v != hid}
        out = await repo().execute(
            hid,
            cmd.meta(),
            lambda s: hamlets.decide_add(
                s.state,
                commune_code=unit.code,
                name=cmd.name,
                kind=cmd.kind,
                unit_path=path,
                dataset=tree().dataset,
                taken=taken,
            ),
        )
        return result(out)

    @rt.command("hamlet_rename", RenameHamlet, "Rename a hamlet; its id stays (đổi tên thôn, tổ dân phố)")
    async def hamlet_rename(cmd: RenameHamlet) -> dict[str, Any]:
        commune_code = cmd.hamlet_id.split("-", 1)[0]
        taken = await names_in_use(commune_code)
        out = await repo().execute(
            cmd.hamlet_id,
            cmd.meta(),
            lambda s: hamlets.decide_rename(s.state, cmd.hamlet_id, cmd.name, taken),
        )
        return result(out)

    @rt.command("hamlet_retire", RetireHamlet, "Stop using a hamlet; its history stays (thôi sử dụng)")
    async def hamlet_retire(cmd: RetireHamlet) -> dict[str, Any]:
        today = today_vn()
        out = await repo().execute(
            cmd.hamlet_id,
            cmd.meta(),
            lambda s: hamlets.decide_retire(s.state, cmd.hamlet_id, cmd.reason, cmd.retired_on or today, today),
        )
        return result(out)

    @rt.query("hamlets", ListHamlets, "Hamlets under a unit (province, district or commune)")
    async def list_(q: ListHamlets) -> dict[str, Any]:
        if q.unit and tree().find(q.unit) is None:
            raise ValidationFailed(
                f"Không có đơn vị mã {q.unit} trong danh mục {tree().dataset}",
                code="unknown_unit",
                message_en=f"no unit with code {q.unit} in dataset {tree().dataset}",
                field="unit",
            )
        async with rt.pool.acquire() as conn:
            rows = await list_hamlets(conn, projection.name, q.unit, q.include_retired)
        return {"total": len(rows), "items": rows}

    @rt.query("hamlet", ShowHamlet, "One hamlet from the read model")
    async def show(q: ShowHamlet) -> dict[str, Any]:
        async with rt.pool.acquire() as conn:
            row = await get_hamlet(conn, projection.name, q.hamlet_id)
        if row is None:
            raise NotFound(
                f"Không tìm thấy thôn, tổ dân phố {q.hamlet_id}",
                message_en=f"no hamlet {q.hamlet_id}",
                field="hamlet_id",
            )
        return row

    return rt


def main() -> None:
    asyncio.run(build().app().run())


if __name__ == "__main__":
    main()
