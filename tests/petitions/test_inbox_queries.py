"""What an inbox asks the running petitions service: the deadline watched now and the
``approaching`` mark time put on it, counts per status under the other filters, petitions raised
at one meeting, and a total beside the statistics' groups."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from petitions.payloads import COMMUNE, raise_payload
from petitions.test_service import hamlets  # noqa: F401  (the fixture)
from support import wait_projected

from caunoi.shared.client import Client
from caunoi.shared.clock import VN

pytestmark = pytest.mark.asyncio


@pytest.mark.usefixtures("hamlets")
async def test_approaching_counts_meeting_and_total(client: Client) -> None:
    word = f"hopthu{uuid.uuid4().hex[:8]}"
    today = datetime.now(VN).date()
    ids = []
    for back in (8, 10, 12, 14, 16, 20, 25, 30):  # some before their warning window, some in it, some past it
        body = raise_payload(channel="hotline", hamlet_id=None, text=f"Kiểm tra {word} {back}",
                             received_on=(today - timedelta(days=back)).isoformat())  # fmt: skip
        ids.append((await client.command("petitions", "raise", body))["petition_id"])
    at_meeting = raise_payload(text=f"Tại hội nghị {word}", meeting_id=f"HN-{word[-8:].upper()}")
    meeting_pid = (await client.command("petitions", "raise", at_meeting))["petition_id"]
    await wait_projected(client, "petitions")  # the duties look for what fell due in the read model
    await client.admin("petitions", "duties")  # time marks them now
    await wait_projected(client, "petitions")

    listed = await client.query("petitions", "list", {"search": word, "counts": True, "limit": 100})
    rows = {r["id"]: r for r in listed["items"]}
    assert set(rows) == {*ids, meeting_pid}
    for pid in ids:
        shown = await client.query("petitions", "show", {"petition_id": pid})
        deadline = shown["history"][0]["data"]["deadline"]
        due, warn = date.fromisoformat(deadline["due_on"]), date.fromisoformat(deadline["warn_on"])
        row = rows[pid]
        assert row["due"] == deadline["due_on"]
        assert row["overdue"] == (due < today), pid
        assert row["approaching"] == (warn <= today <= due), pid
    approaching = [p for p in rows if rows[p]["approaching"]]
    overdue = [p for p in rows if rows[p]["overdue"]]
    assert approaching and overdue  # the range of dates covers both
    assert listed["counts"] == {"by_status": {"received": len(ids) + 1}, "overdue": len(overdue),
                                "approaching": len(approaching)}  # fmt: skip
    # counts ignore the status filter (they are what the other statuses would show)
    only = await client.query("petitions", "list", {"search": word, "status": "forwarded", "counts": True})
    assert only["items"] == [] and only["counts"]["by_status"] == {"received": len(ids) + 1}
    marked = await client.query("petitions", "list", {"search": word, "approaching": True})
    assert {r["id"] for r in marked["items"]} == set(approaching)

    at = await client.query("petitions", "list", {"meeting_id": at_meeting["meeting_id"]})
    assert [r["id"] for r in at["items"]] == [meeting_pid]

    stats = await client.query("petitions", "stats", {"unit": COMMUNE, "group_by": "category"})
    total = stats["total"]
    assert total["received"] == sum(g["received"] for g in stats["groups"]) >= len(ids) + 1
    assert total["overdue"] == sum(g["overdue"] for g in stats["groups"])
    # what the operator (national) may do with it, and where it may go
    shown = await client.query("petitions", "show", {"petition_id": meeting_pid})
    assert "forward" in shown["actions"] and shown["forward_to"] == ["08", COMMUNE]
