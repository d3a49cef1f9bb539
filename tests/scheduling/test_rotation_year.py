"""Programme 1's monthly rotation over a year, through the request edge and the real read models:
a pilot commune with 9 pilot hamlets (of 12) gets one meeting a month, each hamlet hosts before
any hosts twice, and a postponement keeps both its host and its month's place."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from scheduling.harness import WARD, hamlets, make, pilot

from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio

YEAR = 2027
ATTENDEES = {"citizens": 28, "party_members": 9, "cadres": 4}


def first(month: int, year: int = YEAR) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


async def test_a_year_of_rotation_with_nine_pilot_hamlets(pool: Pool) -> None:
    svc = await make(pool, date(YEAR - 1, 12, 1))
    listed = await hamlets(svc, WARD, 12)
    sites = listed[:9]
    chosen = await pilot(svc, WARD, sites)
    assert (len(chosen["sites"]), chosen["total"]) == (9, 12)

    held: list[dict[str, Any]] = []
    postponed_to: date | None = None
    march = ""
    for month in range(1, 13):
        start = first(month)
        svc.at(start - timedelta(days=10))  # proposals come the month before
        body = {"commune_code": WARD, "month": f"{start:%Y-%m}"}
        if postponed_to is not None and postponed_to.month == month:
            # March's meeting was put off into April: April has its meeting, no second one
            err = await svc.error("rotation_propose", body)
            assert err["code"] == "rule_violated" and "hằng tháng" in err["message"], err
            svc.at(postponed_to)
            out = await svc.ok("meeting_hold", hold(march))
            held.append(out)
            postponed_to = None
            continue
        proposal = await svc.ok("rotation_propose", body)
        mid = proposal["meeting_id"]
        assert proposal["status"] == "proposed" and proposal["date"] == f"{start:%Y-%m}-15"
        if month == 7:
            # cancelled: its hamlet has not hosted, so the month's new proposal goes to it again
            await svc.ok("meeting_cancel", {"meeting_id": mid, "reason": "Mưa bão"})
            again = await svc.ok("rotation_propose", body)
            assert again["meeting_id"] != mid and again["host_id"] == proposal["host_id"]
            mid = again["meeting_id"]
        await svc.ok("meeting_accept", {"meeting_id": mid, "chair": "Bí thư Đảng ủy phường"})
        if month == 3:
            march = mid
            postponed_to = date(YEAR, 4, 10)
            out = await svc.ok("meeting_postpone", {"meeting_id": mid, "to_date": postponed_to.isoformat(),
                                                    "reason": "Trùng lịch tiếp xúc cử tri"})  # fmt: skip
            assert out["status"] == "postponed" and out["host_id"] == proposal["host_id"]
            continue
        svc.at(start.replace(day=15))
        held.append(await svc.ok("meeting_hold", hold(mid)))
        if month == 6:
            rotation = await svc.ok("rotation", {"commune_code": WARD})
            states = Counter(s["state"] for s in rotation["sites"])
            assert rotation["cycle"] == 1 and states == {"hosted": 5, "remaining": 4}, rotation

    # one meeting a month (none in March, whose meeting was held in April), nothing twice a month
    months = [h["date"][:7] for h in held]
    assert len(months) == len(set(months)) == 11
    assert f"{YEAR}-03" not in months
    # each hamlet hosts before any hosts twice, in the commune's rotation order
    hosts = [h["host_id"] for h in sorted(held, key=lambda h: h["date"])]
    assert hosts[:9] == sites and sorted(hosts[:9]) == sorted(sites)
    assert hosts[9:] == sites[: len(hosts) - 9]
    seen: set[str] = set()
    for h in hosts:
        assert h not in seen or seen == set(sites), f"{h} hosted twice before every site hosted once: {hosts}"
        seen.add(h)
    assert [h["cycle"] for h in sorted(held, key=lambda h: h["date"])] == [1] * 9 + [2] * 2

    # the read models kept live equal a rebuild from sequence 1
    assert await svc.snapshots() == await svc.rebuilt()


def hold(meeting_id: str) -> dict[str, Any]:
    return {"meeting_id": meeting_id, "chair": "Bí thư Đảng ủy phường", "attendees": ATTENDEES,
            "minutes_ref": f"BB-{meeting_id}"}  # fmt: skip


async def test_concurrent_proposals_never_give_one_site_twice(pool: Pool) -> None:
    """Proposals for one commune are decided one at a time (on its pilot-sites aggregate), whoever
    sends them at once: a clerk, another clerk, the service's own rotation duty."""
    svc = await make(pool, date(YEAR - 1, 12, 1))
    sites = await hamlets(svc, WARD, 4)
    await pilot(svc, WARD, sites)
    months = [f"{YEAR}-{m:02d}" for m in range(1, 5)]
    replies = await asyncio.gather(
        *(svc.call("rotation_propose", {"commune_code": WARD, "month": m}) for m in months),
        svc.call("rotation_propose", {"commune_code": WARD, "month": months[0]}),
    )
    accepted = [r["result"] for r in replies if r["ok"]]
    refused = [r["error"]["code"] for r in replies if not r["ok"]]
    assert set(refused) <= {"duplicate", "conflict"} and len(accepted) >= 2, replies
    for m in months:  # what lost a race is sent again
        if m not in {a["date"][:7] for a in accepted}:
            accepted.append(await svc.ok("rotation_propose", {"commune_code": WARD, "month": m}))
    assert sorted(a["date"][:7] for a in accepted) == months
    assert sorted(a["host_id"] for a in accepted) == sorted(sites)
    assert (await svc.ok("rotation", {"commune_code": WARD}))["pending"] == 4
