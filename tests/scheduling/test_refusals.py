"""What the programmes forbid is refused with the rule quoted, and a refused command stores nothing
(``Harness.error`` checks the store before and after); a unit outside its reach gets ``forbidden``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from scheduling.harness import PROVINCE, RURAL, WARD, WARD_2, Scheduling, hamlets, make, pilot
from support import credential

from caunoi.shared.context import Role
from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio

TODAY = date(2026, 12, 1)


def quoted(err: dict[str, Any], words: str) -> None:
    """A rule refusal: its code, the rule quoted in both languages and in the details."""
    assert err["code"] == "rule_violated", err
    assert "Quy định: «" in err["message"] and "Rule: " in err["message_en"], err
    assert words in err["details"]["rule"], err
    assert err["details"]["rule"] in err["message"] and err["details"]["source"]


async def planned(svc: Scheduling, commune: str = WARD) -> str:
    ids = await hamlets(svc, commune, 4)
    await pilot(svc, commune, ids[:2])
    out = await svc.ok("rotation_propose", {"commune_code": commune, "month": "2026-12"})
    await svc.ok("meeting_accept", {"meeting_id": out["meeting_id"]})
    return str(out["meeting_id"])


async def test_a_pilot_set_under_half_is_refused_with_the_rule(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 7)
    cell = await svc.ok("hamlet_add", {"commune_code": WARD, "name": "Chi bộ Trường THCS", "kind": "party_cell"})
    await svc.ok("pilot_localities", {"unit_code": PROVINCE, "communes": [WARD, RURAL]})
    err = await svc.error("pilot_sites", {"commune_code": WARD, "sites": ids[:3]})
    quoted(err, "không ít hơn 50%")
    assert (err["field"], err["details"]["chosen"], err["details"]["total"], err["details"]["minimum"]) == (
        "sites", 3, 8, 4,
    )  # fmt: skip
    # half of the hamlets and party cells together is enough
    out = await svc.ok("pilot_sites", {"commune_code": WARD, "sites": [*ids[:3], cell["hamlet_id"]]})
    assert [s["kind"] for s in out["sites"]] == ["thon"] * 3 + ["party_cell"]


async def test_sites_only_in_a_pilot_commune_and_only_its_own(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    ids = await hamlets(svc, WARD, 2)
    others = await hamlets(svc, WARD_2, 2)
    quoted(await svc.error("pilot_sites", {"commune_code": WARD, "sites": ids}), "làm điểm")
    await svc.ok("pilot_localities", {"unit_code": PROVINCE, "communes": [WARD, RURAL]})
    err = await svc.error("pilot_sites", {"commune_code": WARD, "sites": [ids[0], others[0]]})
    assert (err["code"], err["field"], err["details"]["unknown"]) == ("unknown_unit", "sites", [others[0]])


async def test_pilot_localities_rule(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    # the province has wards and rural communes: two wards break the rule
    quoted(await svc.error("pilot_localities", {"unit_code": PROVINCE, "communes": [WARD, WARD_2]}), "01 xã")
    err = await svc.error("pilot_localities", {"unit_code": WARD, "communes": [WARD]})
    assert (err["code"], err["field"]) == ("invalid", "unit_code")
    err = await svc.error("pilot_localities", {"unit_code": PROVINCE, "communes": [WARD, "00004"]})
    assert (err["code"], err["field"]) == ("unknown_unit", "communes")
    await svc.ok("pilot_localities", {"unit_code": PROVINCE, "communes": [WARD, RURAL, WARD_2]})


async def test_a_meeting_held_in_a_hamlet_of_another_commune_is_refused(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    mid = await planned(svc)
    [elsewhere] = await hamlets(svc, WARD_2, 1)
    svc.at(date(2026, 12, 15))
    body = {"meeting_id": mid, "chair": "A", "attendees": {"citizens": 30}, "minutes_ref": "1/BB", "host_id": elsewhere}
    err = await svc.error("meeting_hold", body)
    quoted(err, "chi bộ, ấp, khóm")
    assert (err["field"], err["details"]["host_commune"]) == ("host_id", WARD_2)
    # nor moved there, nor planned there
    quoted(await svc.error("meeting_move", {"meeting_id": mid, "host_id": elsewhere}), "ấp, khóm")
    plan = {"plan_unit": PROVINCE, "commune_code": WARD, "target_group": "citizens", "date": "2026-12-20",
            "venue": "Hội trường", "chair": "Bí thư Tỉnh ủy", "host_id": elsewhere}  # fmt: skip
    quoted(await svc.error("dialogue_plan", plan), "ấp, khóm")


async def test_minutes_of_a_meeting_not_yet_held_are_refused(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    mid = await planned(svc)
    err = await svc.error("meeting_close", {"meeting_id": mid, "minutes_ref": "1/BB"})
    quoted(err, "sau khi hội nghị đã tổ chức")
    assert err["details"]["status"] == "planned"


async def test_a_clerk_planning_for_another_commune_is_forbidden(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    mid = await planned(svc)
    other_clerk = credential(WARD_2, Role.clerk)
    own_clerk = credential(WARD, Role.clerk)
    plan = {"plan_unit": WARD, "commune_code": WARD, "target_group": "party_members", "date": "2026-12-20",
            "venue": "Hội trường phường", "chair": "Bí thư Đảng ủy phường"}  # fmt: skip
    for name, body in (
        ("dialogue_plan", plan),
        ("rotation_propose", {"commune_code": WARD, "month": "2027-01"}),
        ("meeting_move", {"meeting_id": mid, "date": "2026-12-16"}),
        ("meeting_cancel", {"meeting_id": mid, "reason": "x"}),
        ("pilot_sites", {"commune_code": WARD, "sites": [f"{WARD}-thon-1"]}),
    ):
        err = await svc.error(name, body, as_=other_clerk)
        assert err["code"] == "forbidden", (name, err)
    # a commune clerk picks neither the province's pilots nor plans the province head's dialogue
    err = await svc.error("pilot_localities", {"unit_code": PROVINCE, "communes": [WARD, RURAL]}, as_=own_clerk)
    assert err["code"] == "forbidden"
    assert (await svc.error("dialogue_plan", {**plan, "plan_unit": PROVINCE}, as_=own_clerk))["code"] == "forbidden"
    # reads are scoped the same way
    for name, body in (
        ("meeting", {"meeting_id": mid}),
        ("meetings", {"unit": WARD}),
        ("rotation", {"commune_code": WARD}),
    ):
        assert (await svc.error(name, body, as_=other_clerk))["code"] == "forbidden", name
    # the commune's own clerk may
    await svc.ok("dialogue_plan", plan, as_=own_clerk)


async def test_one_meeting_a_month_and_what_a_meeting_must_be(pool: Pool) -> None:
    svc = await make(pool, TODAY)
    mid = await planned(svc)
    dec = {"commune_code": WARD, "month": "2026-12"}
    err = await svc.error("rotation_propose", dec)
    assert (err["code"], err["details"]["meeting_id"]) == ("duplicate", mid)
    jan = await svc.ok("rotation_propose", {"commune_code": WARD, "month": "2027-01"})
    # postponing December's meeting into January, which has its own, breaks "one a month"
    err = await svc.error("meeting_postpone", {"meeting_id": mid, "to_date": "2027-01-20", "reason": "x"})
    quoted(err, "hằng tháng")
    # a move stays in its month (a postponement is what puts it off)
    quoted(await svc.error("meeting_move", {"meeting_id": jan["meeting_id"], "date": "2027-02-02"}), "hằng tháng")
    for name, body, field in (
        ("rotation_propose", {"commune_code": WARD, "month": "2026-11"}, "date"),  # the past
        ("rotation_propose", {"commune_code": WARD, "month": "2027-02", "date": "2027-03-01"}, "date"),
        ("rotation_propose", {"commune_code": RURAL, "month": "2027-02"}, "commune_code"),  # no sites chosen
        ("meeting_postpone", {"meeting_id": mid, "to_date": "2026-12-10", "reason": "x"}, "to_date"),
        ("meeting_hold", {"meeting_id": jan["meeting_id"], "chair": "A", "attendees": {"citizens": 3},
                          "minutes_ref": "x"}, "meeting_id"),  # only proposed
        ("meeting_hold", {"meeting_id": mid, "chair": "A", "attendees": {"citizens": 3}, "minutes_ref": "x"},
         "held_on"),  # not yet
        ("meeting_accept", {"meeting_id": mid}, "meeting_id"),  # not a proposal any more
        ("meeting_cancel", {"meeting_id": "HN-00000000", "reason": "x"}, "meeting_id"),
        ("rotation_propose", {"commune_code": WARD, "month": "2027-13"}, "month"),
    ):  # fmt: skip
        err = await svc.error(name, body)
        assert err["field"] == field, (name, err)
