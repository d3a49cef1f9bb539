"""The two services as processes on real servers: the opinions a meeting's record shows are counted
from the petitions service's events (the scheduling service follows the PETITIONS stream with its
bus permissions), and they equal the petitions raised with the meeting's id, after a rebuild of
either service's read models."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from support import wait_projected

from caunoi.shared.client import Client
from caunoi.shared.clock import today_vn

pytestmark = pytest.mark.asyncio

COMMUNE = "00706"  # Xã Phú Linh (vn-2025), used by no other test


async def counts(c: Client, meeting_id: str) -> dict[str, Any]:
    await wait_projected(c, "petitions")
    await wait_projected(c, "scheduling")
    shown: dict[str, Any] = await c.query("scheduling", "meeting", {"meeting_id": meeting_id})
    return shown["opinions"]  # type: ignore[no-any-return]


async def test_opinion_counts_equal_the_petitions_raised_after_rebuilds(client: Client) -> None:
    hamlet = await client.command(
        "scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": f"Thôn {uuid.uuid4().hex[:6]}", "kind": "thon"}
    )
    await wait_projected(client, "scheduling")  # the host is looked up in the service's hamlet list
    day = (today_vn() + timedelta(days=12)).isoformat()
    meeting = await client.command("scheduling", "dialogue_plan", {
        "plan_unit": "08", "commune_code": COMMUNE, "target_group": "citizens", "date": day,
        "venue": "Nhà văn hóa xã", "chair": "Bí thư Tỉnh ủy", "host_id": hamlet["hamlet_id"],
    })  # fmt: skip
    mid = meeting["meeting_id"]
    await wait_projected(client, "petitions")  # its copy of the hamlet list has the new hamlet
    raised = []
    for i in range(5):
        out = await client.command("petitions", "raise", {
            "channel": "meeting", "category": "roads", "petitioner": {"name": f"Người dân {i}"},
            "commune_code": COMMUNE, "hamlet_id": hamlet["hamlet_id"], "text": "Đường xuống cấp",
            "meeting_id": mid if i < 4 else None,
        })  # fmt: skip
        raised.append(out["petition_id"])
    await client.command("petitions", "answer", {"petition_id": raised[0], "answer": "Đã giải đáp", "answered_by": "A"})
    await client.command("petitions", "forward", {"petition_id": raised[1], "to_unit": "08"})
    await client.command("petitions", "forward", {"petition_id": raised[4], "to_unit": "08"})  # not this meeting's
    expected = {"raised": 4, "answered_on_spot": 1, "forwarded": 1}
    assert await counts(client, mid) == expected

    rebuilt = await client.admin("scheduling", "rebuild", {"projection": "meeting_opinions"})
    assert rebuilt["projection"] == "meeting_opinions" and rebuilt["position"] >= 7
    assert await counts(client, mid) == expected
    await client.admin("scheduling", "rebuild", {})
    await client.admin("petitions", "rebuild", {})
    assert await counts(client, mid) == expected
    listed = await client.query("scheduling", "meetings", {"unit": COMMUNE})
    assert [m["opinions"] for m in listed["items"] if m["id"] == mid] == [expected]
