"""The petitions service as a process on real servers: plain NATS requests, the read model and
its queries, a rebuild while it serves, and optimistic concurrency on real JetStream."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import pytest_asyncio
from petitions.payloads import raise_payload
from support import Servers, db, stream_messages, wait_projected

from caunoi.cli.demo import demo_area
from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.context import Role

pytestmark = pytest.mark.asyncio

PROVINCE, COMMUNES = demo_area("vn-2025")
COMMUNE = COMMUNES[0].code


@pytest_asyncio.fixture(scope="session")
async def hamlets(servers: Servers, services: object) -> None:
    """The hamlet the tests raise petitions in, as the scheduling service keeps it."""
    c = await servers.client()
    try:
        body = {"commune_code": COMMUNE, "name": "Thôn Đồng Tâm", "kind": "thon", "command_id": "test-hamlet-1"}
        await c.command("scheduling", "hamlet_add", body)
        await wait_projected(c, "petitions")
    finally:
        await c.close()


async def test_raise_is_stored_projected_listed_and_shown(client: Client, hamlets: None) -> None:
    pid = (await client.command("petitions", "raise", raise_payload()))["petition_id"]
    fwd = (await client.command("petitions", "raise", raise_payload(channel="hotline", hamlet_id=None)))["petition_id"]
    await client.command("petitions", "forward", {"petition_id": fwd, "to_unit": PROVINCE.code})
    await client.command("petitions", "commit", {"petition_id": fwd, "committed_date": "2026-12-15"})
    await wait_projected(client, "petitions")
    shown = await client.query("petitions", "show", {"petition_id": pid})
    assert shown["petition"]["status"] == "received" and shown["petition"]["hamlet"] == "Thôn Đồng Tâm"
    assert [h["type"] for h in shown["history"]] == ["vn.caunoi.petitions.PetitionRaised.v3"]
    assert shown["history"][0]["data"]["deadline"]["kind"] == "handle"
    # the operator is no official of the commune: no personal data, anywhere
    assert not shown["personal_data"] and "petitioner_name" not in shown["petition"]
    assert "petitioner" not in shown["history"][0]["data"]
    row = (await client.query("petitions", "show", {"petition_id": fwd}))["petition"]
    assert (row["status"], row["handling_unit"], row["committed_date"]) == ("in_progress", PROVINCE.code, "2026-12-15")
    # the province sees what was forwarded to it; the commune still sees its own; others don't
    for unit in (PROVINCE.code, COMMUNE):
        ids = [r["id"] for r in (await client.query("petitions", "list", {"unit": unit, "limit": 1000}))["items"]]
        assert {pid, fwd} <= set(ids)
    other = COMMUNES[1].code
    assert fwd not in [r["id"] for r in (await client.query("petitions", "list", {"unit": other}))["items"]]
    res = await client.query("petitions", "list", {"unit": COMMUNE, "status": "in_progress", "category": "roads"})
    assert fwd in [r["id"] for r in res["items"]] and pid not in [r["id"] for r in res["items"]]
    with pytest.raises(RequestFailed) as info:
        await client.query("petitions", "list", {"unit": "99999"})
    assert info.value.code == "unknown_unit"
    with pytest.raises(RequestFailed) as info:
        await client.query("petitions", "show", {"petition_id": "PA-NQPE0000"})
    assert info.value.code == "not_found"


async def test_plain_nats_request_stores_a_cloudevent(servers: Servers, client: Client) -> None:
    """Another system with no caunoi code: a plain nats-py request; any CloudEvents SDK reads what
    was stored, with its automatic mode detection."""
    from cloudevents.core.bindings.http import HTTPMessage, from_http
    from cloudevents.core.formats.json import JSONFormat

    portal = servers.login("08", Role.service)  # a city portal acting for the province
    nc = await servers.connect(portal)
    try:
        body = json.dumps(raise_payload(channel="portal", hamlet_id=None)).encode()
        headers = {"Authorization": f"Bearer {portal.token}"}
        reply = json.loads((await nc.request("caunoi.cmd.petitions.raise", body, timeout=10, headers=headers)).data)
        assert reply["ok"], reply
        pid, seq = reply["result"]["petition_id"], reply["result"]["events"][0]["seq"]
    finally:
        await nc.close()
    nc = await servers.connect()  # reading the stream directly takes the operator
    try:
        stored = await nc.request("$JS.API.DIRECT.GET.PETITIONS", json.dumps({"seq": seq}).encode(), timeout=5)
    finally:
        await nc.close()
    assert stored.headers and stored.headers["Content-Type"] == "application/cloudevents+json"
    ev = from_http(HTTPMessage(dict(stored.headers), stored.data), JSONFormat())
    attrs = ev.get_attributes()
    assert attrs["specversion"] == "1.0" and attrs["type"] == "vn.caunoi.petitions.PetitionRaised.v3"
    assert (attrs["subject"], attrs["source"], attrs["unitcode"]) == (pid, "/caunoi/petitions", COMMUNE)
    assert attrs["correlationid"] and attrs["causationid"]
    assert (attrs["actor"], attrs["actorunit"]) == ("service.08", "08")  # the credential, not the body
    data = ev.get_data()
    assert isinstance(data, dict) and data["petition_id"] == pid
    await wait_projected(client, "petitions")
    conn = await db(servers, "petitions")
    try:
        assert await conn.fetchval("SELECT channel FROM petitions.petitions WHERE id = $1", pid) == "portal"
    finally:
        await conn.close()


async def test_a_body_that_is_not_json_gets_a_structured_reply(client: Client) -> None:
    before = await stream_messages(client, "PETITIONS")
    for body in (b"{not json", b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000):
        msg = await client.nc.request("caunoi.cmd.petitions.raise", body, timeout=1, headers=client.login.headers())
        reply = json.loads(msg.data)
        assert reply["ok"] is False and reply["error"]["code"] == "invalid"
    assert await stream_messages(client, "PETITIONS") == before


async def test_concurrent_conflicting_commands_on_real_jetstream_one_wins(client: Client) -> None:
    pid = (await client.command("petitions", "raise", raise_payload(channel="letter", hamlet_id=None)))["petition_id"]
    before = await stream_messages(client, "PETITIONS")
    results = await asyncio.gather(
        *[
            client.command("petitions", "commit", {"petition_id": pid, "committed_date": f"2026-12-{10 + i:02d}"})
            for i in range(12)
        ],
        return_exceptions=True,
    )
    assert len([r for r in results if not isinstance(r, Exception)]) == 1, results
    assert {r.code for r in results if isinstance(r, RequestFailed)} <= {"conflict", "invalid_state"}
    assert await stream_messages(client, "PETITIONS") == before + 1
    cid = str(uuid.uuid4())  # and one command id sent 8 times at once stores once
    same = {"petition_id": pid, "document_no": "1/UB", "summary": "x", "command_id": cid}
    replies = await asyncio.gather(*[client.command("petitions", "reply", same) for _ in range(8)])
    assert len({r["events"][0]["id"] for r in replies}) == 1
    assert await stream_messages(client, "PETITIONS") == before + 2


async def test_rebuild_through_the_service_equals_live_and_queries_keep_working(client: Client) -> None:
    await client.command("petitions", "raise", raise_payload(channel="cadre", hamlet_id=None))
    await wait_projected(client, "petitions")
    before = await client.query("petitions", "list", {"limit": 1000})
    rebuilt = await client.admin("petitions", "rebuild", {"projection": "petitions"})
    assert rebuilt["position"] >= 1
    assert await client.query("petitions", "list", {"limit": 1000}) == before
    pid = (await client.command("petitions", "raise", raise_payload(channel="cadre", hamlet_id=None)))["petition_id"]
    await wait_projected(client, "petitions")  # the swapped-in schema serves new events too
    assert pid in [r["id"] for r in (await client.query("petitions", "list", {"limit": 1000}))["items"]]
