"""Programme 3: cadres assigned to follow areas, reassigned, ended; who follows what on any date;
the tiers' depth quoted when refused; scope."""

from __future__ import annotations

from datetime import date

import pytest
from scheduling.harness import PROVINCE, RURAL, WARD, WARD_2, hamlets, make
from support import credential

from caunoi.shared.context import Role
from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio


async def test_who_follows_what_on_any_date(pool: Pool) -> None:
    svc = await make(pool, date(2026, 1, 10))
    [thon] = await hamlets(svc, WARD, 1)
    a = await svc.ok("cadre_assign", {"cadre": "Nguyễn Văn An", "cadre_unit": PROVINCE, "area_kind": "commune",
                                      "area_id": WARD, "from_date": "2026-01-01"})  # fmt: skip
    b = await svc.ok("cadre_assign", {"cadre": "Lò Văn Bảo", "cadre_unit": WARD, "area_kind": "citizens",
                                      "area_id": thon, "description": "Hội viên Hội Nông dân"})  # fmt: skip
    assert b["area_name"] == "Hội viên Hội Nông dân — Thôn 1" and b["from_date"] == "2026-01-10"
    svc.at(date(2026, 3, 1))
    await svc.ok("cadre_reassign", {"assignment_id": a["assignment_id"], "to_cadre": "Trần Thị Cúc",
                                    "reason": "Luân chuyển"})  # fmt: skip
    svc.at(date(2026, 6, 1))
    await svc.ok("cadre_end", {"assignment_id": b["assignment_id"], "reason": "Nghỉ hưu"})

    async def who(unit: str, on: str) -> list[tuple[str, str]]:
        rows = (await svc.ok("following", {"unit": unit, "on": on}))["items"]
        return sorted((r["id"], r["cadre"]) for r in rows)

    assert await who(PROVINCE, "2026-02-01") == sorted(
        [(a["assignment_id"], "Nguyễn Văn An"), (b["assignment_id"], "Lò Văn Bảo")]
    )
    assert await who(PROVINCE, "2026-03-01") == sorted(
        [(a["assignment_id"], "Trần Thị Cúc"), (b["assignment_id"], "Lò Văn Bảo")]
    )
    assert await who(PROVINCE, "2026-06-01") == [(a["assignment_id"], "Trần Thị Cúc")]
    assert await who(WARD, "2026-01-05") == [(a["assignment_id"], "Nguyễn Văn An")]  # the area is in the ward
    assert await who(WARD_2, "2026-02-01") == []
    # a commune clerk sees what concerns its area, not others'
    err = await svc.error("following", {"unit": PROVINCE}, as_=credential(WARD, Role.clerk))
    assert err["code"] == "forbidden"
    assert await svc.snapshots() == await svc.rebuilt()


async def test_refusals(pool: Pool) -> None:
    svc = await make(pool, date(2026, 1, 10))
    [thon] = await hamlets(svc, WARD, 1)
    # a province cadre follows communes, not villages; a commune cadre not another commune's village
    err = await svc.error(
        "cadre_assign", {"cadre": "A", "cadre_unit": PROVINCE, "area_kind": "hamlet", "area_id": thon}
    )
    assert err["code"] == "rule_violated" and "Tỉnh nắm đến xã" in err["message"]
    err = await svc.error("cadre_assign", {"cadre": "A", "cadre_unit": RURAL, "area_kind": "hamlet", "area_id": thon})
    assert err["code"] == "rule_violated" and err["field"] == "area_id"
    err = await svc.error(
        "cadre_assign", {"cadre": "A", "cadre_unit": PROVINCE, "area_kind": "commune", "area_id": "00004"}
    )  # fmt: skip  (a Hà Nội ward)
    assert err["code"] == "rule_violated"
    err = await svc.error("cadre_assign", {"cadre": "A", "cadre_unit": WARD, "area_kind": "citizens"})
    assert err["field"] == "description"
    # a commune clerk assigns for its own unit only
    body = {"cadre": "A", "cadre_unit": PROVINCE, "area_kind": "commune", "area_id": WARD}
    assert (await svc.error("cadre_assign", body, as_=credential(WARD, Role.clerk)))["code"] == "forbidden"
    out = await svc.ok("cadre_assign", body)
    for payload, field in (
        ({"assignment_id": out["assignment_id"], "to_cadre": "A", "on": "2026-02-01"}, "to_cadre"),
        ({"assignment_id": out["assignment_id"], "to_cadre": "B", "on": "2026-01-10"}, "on"),
        ({"assignment_id": "PC-00000000", "to_cadre": "B"}, "assignment_id"),
    ):
        assert (await svc.error("cadre_reassign", payload))["field"] == field
    await svc.ok("cadre_end", {"assignment_id": out["assignment_id"], "reason": "x", "on": "2026-01-20"})
    err = await svc.error("cadre_end", {"assignment_id": out["assignment_id"], "reason": "x", "on": "2026-02-20"})
    assert err["code"] == "invalid_state"
