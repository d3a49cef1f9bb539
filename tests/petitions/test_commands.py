"""The petitions service end to end, through NATS request/reply, against real servers."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import nats
import pytest
import pytest_asyncio
from support import Servers, db, stream_messages, wait_projected

from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.units import demo_area

pytestmark = pytest.mark.asyncio

PROVINCE, COMMUNES = demo_area("vn-2025")
COMMUNE = COMMUNES[0].code
HAMLET = f"{COMMUNE}-thon-dong-tam"


@pytest_asyncio.fixture(scope="session", autouse=True)
async def hamlets(servers: Servers, petitions_service: object) -> None:
    """The hamlet list the tests raise petitions in, as the scheduling service keeps it."""
    c = await Client.connect(servers.nats_url)
    try:
        for code, name in ((COMMUNE, "Thôn Đồng Tâm"), (COMMUNES[1].code, "Thôn Nà Lầu")):
            await c.command("scheduling", "hamlet_add", {"commune_code": code, "name": name, "kind": "thon"})
        retired = await c.command(
            "scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": "Thôn Cũ", "kind": "thon"}
        )
        await c.command("scheduling", "hamlet_retire", {"hamlet_id": retired["hamlet_id"], "reason": "sáp nhập"})
        await wait_projected(c, "petitions")
    finally:
        await c.close()


def raise_payload(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "meeting",
        "kind": "petition",
        "category": "roads",
        "petitioner": {"name": "Nguyễn Văn An", "phone": "0912345678"},
        "commune_code": COMMUNE,
        "hamlet_id": HAMLET,
        "text": "Đường liên thôn xuống cấp, đề nghị sửa chữa.",
        "received_on": "2026-11-01",
    }
    body.update(over)
    return body


async def raise_one(c: Client, **over: Any) -> str:
    res = await c.command("petitions", "raise", raise_payload(**over))
    return str(res["petition_id"])


async def rejected(c: Client, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Send a command that must be refused; prove the stream did not grow."""
    before = await stream_messages(c, "PETITIONS")
    with pytest.raises(RequestFailed) as info:
        await c.command("petitions", name, payload)
    assert await stream_messages(c, "PETITIONS") == before, "a rejected command stored an event"
    err = info.value.error
    assert err["message"] and err["message_en"]
    return err


async def test_raise_is_stored_and_projected(client: Client) -> None:
    pid = await raise_one(client)
    assert pid.startswith("PA-")
    await wait_projected(client, "petitions")
    listed = await client.query("petitions", "list", {"unit": PROVINCE.code})
    assert pid in [r["id"] for r in listed["items"]]
    shown = await client.query("petitions", "show", {"petition_id": pid})
    assert shown["petition"]["status"] == "received"
    assert [h["type"] for h in shown["history"]] == ["vn.caunoi.petitions.PetitionRaised.v1"]


async def test_full_life_answer_forward_commit_reply(client: Client) -> None:
    spot = await raise_one(client)
    await client.command(
        "petitions", "answer", {"petition_id": spot, "answer": "Đã giải thích.", "answered_by": "Chủ tịch xã"}
    )
    await client.command("petitions", "reply", {"petition_id": spot, "document_no": "12/UBND", "summary": "Trả lời."})

    fwd = await raise_one(client, channel="hotline", hamlet_id=None)
    res = await client.command(
        "petitions", "forward", {"petition_id": fwd, "to_unit": PROVINCE.code, "to_agency": "Sở Xây dựng"}
    )
    assert res["status"] == "forwarded"
    res = await client.command("petitions", "commit", {"petition_id": fwd, "committed_date": "2026-12-15"})
    assert res["status"] == "in_progress"
    res = await client.command(
        "petitions", "reply", {"petition_id": fwd, "document_no": "99/SXD", "summary": "Đã sửa đường."}
    )
    assert res["status"] == "replied"

    await wait_projected(client, "petitions")
    row = (await client.query("petitions", "show", {"petition_id": fwd}))["petition"]
    assert row["status"] == "replied"
    assert row["handling_unit"] == PROVINCE.code
    assert str(row["committed_date"]) == "2026-12-15"
    # the province sees what was forwarded to it; the commune still sees its own
    for unit in (PROVINCE.code, COMMUNE):
        ids = [r["id"] for r in (await client.query("petitions", "list", {"unit": unit, "limit": 1000}))["items"]]
        assert fwd in ids
    other = COMMUNES[1].code
    ids = [r["id"] for r in (await client.query("petitions", "list", {"unit": other, "limit": 1000}))["items"]]
    assert fwd not in ids


async def test_plain_nats_request_stores_a_cloudevent(servers: Servers, client: Client) -> None:
    """Another service with no caunoi code: a plain nats-py request, then any CloudEvents SDK
    reads what was stored."""
    from cloudevents.core.formats.json import JSONFormat

    nc = await nats.connect(servers.nats_url)
    try:
        reply = await nc.request(
            "caunoi.cmd.petitions.raise",
            json.dumps(raise_payload(channel="portal", hamlet_id=None)).encode(),
            timeout=10,
        )
        body = json.loads(reply.data)
        assert body["ok"], body
        pid = body["result"]["petition_id"]
        seq = body["result"]["events"][0]["seq"]
        stored = await nc.request("$JS.API.DIRECT.GET.PETITIONS", json.dumps({"seq": seq}).encode(), timeout=5)
    finally:
        await nc.close()
    assert stored.headers and stored.headers["Content-Type"] == "application/cloudevents+json"
    ev = JSONFormat().read(None, stored.data)  # the official CloudEvents SDK
    attrs = ev.get_attributes()
    assert attrs["specversion"] == "1.0"
    assert attrs["type"] == "vn.caunoi.petitions.PetitionRaised.v1"
    assert attrs["subject"] == pid
    assert attrs["source"] == "/caunoi/petitions"
    assert attrs["unitcode"] == COMMUNE
    assert attrs["correlationid"] and attrs["causationid"]
    data = ev.get_data()
    assert isinstance(data, dict) and data["petition_id"] == pid
    await wait_projected(client, "petitions")
    conn = await db(servers, "petitions")
    try:
        assert await conn.fetchval("SELECT channel FROM petitions.petitions WHERE id = $1", pid) == "portal"
    finally:
        await conn.close()


async def test_same_command_id_twice_stores_one_event(client: Client) -> None:
    cid = str(uuid.uuid4())
    before = await stream_messages(client, "PETITIONS")
    first = await client.command("petitions", "raise", raise_payload(command_id=cid))
    again = await client.command("petitions", "raise", raise_payload(command_id=cid))
    assert first["petition_id"] == again["petition_id"]
    assert again["replayed"] is True
    assert [e["id"] for e in first["events"]] == [e["id"] for e in again["events"]]
    # concurrently too
    pid = first["petition_id"]
    cid2 = str(uuid.uuid4())
    results = await asyncio.gather(
        *[
            client.command("petitions", "forward", {"petition_id": pid, "to_unit": PROVINCE.code, "command_id": cid2})
            for _ in range(8)
        ],
        return_exceptions=True,
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert await stream_messages(client, "PETITIONS") == before + 2


async def test_concurrent_conflicting_commands_one_wins(client: Client) -> None:
    pid = await raise_one(client, channel="letter", hamlet_id=None)
    before = await stream_messages(client, "PETITIONS")
    n = 12
    results = await asyncio.gather(
        *[
            client.command("petitions", "commit", {"petition_id": pid, "committed_date": f"2026-12-{10 + i:02d}"})
            for i in range(n)
        ],
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, RequestFailed)]
    assert len(wins) == 1, results
    assert len(losses) == n - 1
    # a loser either lost the race to append (conflict) or loaded after the winner (invalid state)
    assert {e.code for e in losses} <= {"conflict", "invalid_state"}
    assert await stream_messages(client, "PETITIONS") == before + 1


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"category": "not-a-category"}, "invalid", "category"),
        ({"commune_code": "123"}, "invalid", "commune_code"),
        ({"text": ""}, "invalid", "text"),
        ({"petitioner": {"name": ""}}, "invalid", "petitioner.name"),
        ({"channel": "pigeon"}, "invalid", "channel"),
        ({"unexpected": 1}, "invalid", "unexpected"),
        ({"received_on": "2999-01-01"}, "invalid", "received_on"),
        ({"hamlet_id": None}, "invalid", "hamlet_id"),  # a meeting opinion names the hamlet
        ({"hamlet_id": "Thôn Đồng Tâm"}, "invalid", "hamlet_id"),
        ({"hamlet_id": "00691-khong-co"}, "unknown_unit", "hamlet_id"),
        ({"hamlet_id": f"{COMMUNES[1].code}-thon-na-lau"}, "unknown_unit", "hamlet_id"),  # another commune's
        ({"hamlet_id": f"{COMMUNE}-thon-cu"}, "unknown_unit", "hamlet_id"),  # retired
        ({"commune_code": "99999"}, "unknown_unit", "commune_code"),
    ],
)
async def test_bad_raise_is_rejected_and_stores_nothing(
    client: Client, payload: dict[str, Any], code: str, field: str
) -> None:
    err = await rejected(client, "raise", raise_payload(**payload))
    assert err["code"] == code
    assert err["field"] == field


async def test_not_json_is_rejected(servers: Servers, client: Client) -> None:
    before = await stream_messages(client, "PETITIONS")
    reply = await client.nc.request("caunoi.cmd.petitions.raise", b"{not json", timeout=5)
    body = json.loads(reply.data)
    assert body["ok"] is False and body["error"]["code"] == "invalid"
    assert await stream_messages(client, "PETITIONS") == before


async def test_wrong_state_commands_are_rejected_and_store_nothing(client: Client) -> None:
    hotline = await raise_one(client, channel="hotline", hamlet_id=None)
    err = await rejected(client, "answer", {"petition_id": hotline, "answer": "x", "answered_by": "y"})
    assert err["code"] == "invalid_state"
    err = await rejected(client, "reply", {"petition_id": hotline, "document_no": "1", "summary": "x"})
    assert err["code"] == "invalid_state"
    # forward only upwards
    err = await rejected(client, "forward", {"petition_id": hotline, "to_unit": COMMUNES[1].code})
    assert (err["code"], err["field"]) == ("invalid", "to_unit")
    await client.command("petitions", "commit", {"petition_id": hotline, "committed_date": "2026-12-01"})
    err = await rejected(client, "commit", {"petition_id": hotline, "committed_date": "2026-12-20"})
    assert (err["code"], err["field"]) == ("invalid_state", "committed_date")
    err = await rejected(client, "commit", {"petition_id": await raise_one(client), "committed_date": "2026-10-01"})
    assert (err["code"], err["field"]) == ("invalid", "committed_date")
    spot = await raise_one(client)
    await client.command("petitions", "answer", {"petition_id": spot, "answer": "x", "answered_by": "y"})
    err = await rejected(client, "answer", {"petition_id": spot, "answer": "x", "answered_by": "y"})
    assert err["code"] == "invalid_state"
    err = await rejected(client, "forward", {"petition_id": spot, "to_unit": PROVINCE.code})
    assert err["code"] == "invalid_state"


async def test_unknown_petition_is_rejected_and_stores_nothing(client: Client) -> None:
    err = await rejected(client, "answer", {"petition_id": "PA-NOPE0000", "answer": "x", "answered_by": "y"})
    assert (err["code"], err["field"]) == ("not_found", "petition_id")
    err = await rejected(client, "reply", {"petition_id": "bad id!", "document_no": "1", "summary": "x"})
    assert (err["code"], err["field"]) == ("invalid", "petition_id")
    with pytest.raises(RequestFailed) as info:
        await client.query("petitions", "show", {"petition_id": "PA-NOPE0000"})
    assert info.value.code == "not_found"


async def test_list_filters(client: Client) -> None:
    pid = await raise_one(client, category="security", commune_code=COMMUNES[2].code, channel="cadre", hamlet_id=None)
    await wait_projected(client, "petitions")
    res = await client.query(
        "petitions", "list", {"unit": COMMUNES[2].code, "category": "security", "status": "received"}
    )
    assert pid in [r["id"] for r in res["items"]]
    assert all(r["category"] == "security" and r["status"] == "received" for r in res["items"])
    with pytest.raises(RequestFailed) as info:
        await client.query("petitions", "list", {"unit": "99999"})
    assert info.value.code == "unknown_unit"


async def test_a_retried_raise_is_replayed_even_if_its_hamlet_was_retired_since(client: Client) -> None:
    """Checks that need the read model run after the idempotency check, so a retry of an
    accepted command is answered with what it did, not refused by a later change."""
    added = await client.command(
        "scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": "Thôn Tạm", "kind": "thon"}
    )
    await wait_projected(client, "petitions")
    cid = str(uuid.uuid4())
    first = await client.command("petitions", "raise", raise_payload(command_id=cid, hamlet_id=added["hamlet_id"]))
    await client.command("scheduling", "hamlet_retire", {"hamlet_id": added["hamlet_id"], "reason": "thử"})
    await wait_projected(client, "petitions")
    again = await client.command("petitions", "raise", raise_payload(command_id=cid, hamlet_id=added["hamlet_id"]))
    assert again["replayed"] and again["petition_id"] == first["petition_id"]
    err = await rejected(client, "raise", raise_payload(hamlet_id=added["hamlet_id"]))  # a new one is refused
    assert (err["code"], err["field"]) == ("unknown_unit", "hamlet_id")


async def test_rebuild_through_the_service_equals_live_and_queries_keep_working(client: Client) -> None:
    await raise_one(client)
    await wait_projected(client, "petitions")
    before = await client.query("petitions", "list", {"limit": 1000})
    rebuilt = await client.admin("petitions", "rebuild", {"projection": "petitions"})
    assert rebuilt["position"] >= 1
    after = await client.query("petitions", "list", {"limit": 1000})
    assert after == before
    # the swapped-in schema serves new events too
    pid = await raise_one(client)
    await wait_projected(client, "petitions")
    assert pid in [r["id"] for r in (await client.query("petitions", "list", {"limit": 1000}))["items"]]


async def test_a_taken_reference_moves_to_the_next_one_deterministically(client: Client) -> None:
    """Two command ids whose references collide: the second petition gets the alternative, and a
    retry of it finds that same alternative again."""
    from caunoi.petitions.domain import reference_for

    cid = str(uuid.uuid4())
    squatter = await client.command("petitions", "raise", raise_payload())  # any other petition…
    # …placed on the reference `cid` will derive, as a colliding hash would:
    shown = await client.query("petitions", "show", {"petition_id": squatter["petition_id"]})
    data = {**shown["history"][0]["data"], "petition_id": reference_for(cid)}
    from caunoi.petitions.app import STREAM
    from caunoi.shared.envelope import CloudEvent
    from caunoi.shared.eventstore import EventStore

    store = EventStore(client.nc, STREAM)
    env = CloudEvent(
        id=str(uuid.uuid4()),
        source="/test",
        type=shown["history"][0]["type"],
        subject=reference_for(cid),
        data=data,
        causationid="someone-else",
    )
    await store.append(store.subject_for(reference_for(cid), data["unit_path"]), 0, [env])

    first = await client.command("petitions", "raise", raise_payload(command_id=cid))
    assert first["petition_id"] == reference_for(cid, 1)
    again = await client.command("petitions", "raise", raise_payload(command_id=cid))
    assert again["replayed"] and again["petition_id"] == first["petition_id"]
