"""The audit on the running services (the session's servers and service processes), as an auditor
runs it: the replay of every read model is empty after a load run and names the row edited by
hand; erasing a petitioner leaves their name and phone nowhere in clear, while every hash still
verifies and the replay still equals the live read models; an auditor reads, replays and
verifies, and can neither write to a stream nor erase."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from audit.live import (
    COMMUNE,
    PROVINCE,
    auditor_login,
    body,
    caunoi,
    caunoi_json,
    databases_containing,
    load_run,
    settled,
    streams_containing,
)
from support import Servers, db

from caunoi.cli.bus import installed_services
from caunoi.shared.client import Client
from caunoi.shared.context import Role

pytestmark = pytest.mark.asyncio


def clean(jobs: list[dict[str, Any]]) -> bool:
    return all(j["clean"] for j in jobs) and {j["service"] for j in jobs} == {s.name for s in installed_services()}


async def test_the_replay_equals_every_live_read_model_after_a_load_run_and_names_an_edited_row(
    servers: Servers, client: Client
) -> None:
    ids = await load_run(client)
    await settled(client)
    auditor = await auditor_login(servers)
    jobs = await caunoi_json(servers, "audit", "replay", login=auditor)
    assert clean(jobs), jobs
    conn: asyncpg.Connection[Any] = await db(servers, "petitions")
    try:  # the shadows are copies of read models: dropped unless kept
        assert not await conn.fetchval(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name LIKE '%\\_\\_audit'"
        )
    finally:
        await conn.close()
    petitions = next(j for j in jobs if j["service"] == "petitions")
    [main] = [m for m in petitions["models"] if m["name"] == "petitions"]
    assert main["tables"][0]["equal"] >= len(ids) and main["position"] > 0

    # a row of the read model edited by hand is named, with the column and both values
    edited = ids[7]
    conn = await db(servers, "petitions")
    try:
        await conn.execute("UPDATE petitions.petitions SET status = 'closed' WHERE id = $1", edited)
    finally:
        await conn.close()
    res = await caunoi(servers, "--lang", "en", "audit", "replay", "petitions", login=auditor)
    assert res.exit_code == 1, res.output
    assert edited in res.stdout and "status" in res.stdout and "'closed'" in res.stdout, res.stdout
    job = await caunoi_json(
        servers, "audit", "replay", "petitions", "--projection", "petitions", "--keep", login=auditor, ok=False
    )
    [model] = job[0]["models"]
    [table] = model["tables"]
    assert (table["differing"], table["missing"], table["extra"]) == (1, 0, 0)
    [diff] = table["first"]
    assert diff["key"] == {"id": edited} and set(diff["columns"]) == {"status"}

    # the kept shadow lets the next audit replay only what came since
    await client.command("petitions", "raise", body("Người dân mới", "0900000001"))
    await settled(client)
    since = job[0]["models"][0]["position"] + 1
    job = await caunoi_json(servers, "audit", "replay", "petitions", "--projection", "petitions", "--from", str(since),
                      login=auditor, ok=False)  # fmt: skip
    assert job[0]["models"][0]["start"] == since - 1  # continued, not from the start
    # an operator rebuilds the read model from the log: the audit is clean again
    await client.admin("petitions", "rebuild", {"projection": "petitions"})
    assert clean(await caunoi_json(servers, "audit", "replay", login=auditor))


async def test_after_erasing_a_petitioner_nothing_shows_their_name_or_phone(servers: Servers, client: Client) -> None:
    name, phone = f"Lê Thị Xóa {uuid.uuid4().hex[:6]}", f"097{uuid.uuid4().int % 10**7:07d}"
    clerk = await Client.connect(servers.nats_url, servers.login(COMMUNE, Role.clerk))
    try:
        raised = await clerk.command("petitions", "raise", body(name, phone, f"Nhà [[{name}, {phone}]] bị ngập"))
        pid = raised["petition_id"]
        await clerk.command("petitions", "classify", {"petition_id": pid, "kind": "petition", "category": "roads"})
        await clerk.command("petitions", "accept", {"petition_id": pid})
        await clerk.command("petitions", "reply", {"petition_id": pid, "document_no": "5/UBND", "summary": "Đã xử lý"})
        await settled(client)
        # before: the clerk sees the data (opened with the key), nothing else holds them in clear
        shown = await clerk.query("petitions", "show", {"petition_id": pid})
        assert (shown["petition"]["petitioner_name"], shown["petition"]["petitioner_phone"]) == (name, phone)
        assert await streams_containing(servers, name, phone) == 0  # the log: sealed from the start

        # erased by an operator (a clerk may not)
        refused = await caunoi(servers, "audit", "erase", pid, "--reason", "x", login=await clerk_login(servers))
        assert refused.exit_code != 0 and "forbidden" in refused.output
        out = await caunoi(servers, "audit", "erase", pid, "--reason", "Yêu cầu xóa của chủ thể dữ liệu")
        assert out.exit_code == 0 and "khóa đã hủy" in out.stdout, out.output
        await settled(client)

        assert await databases_containing(servers, name, phone) == {}
        assert await streams_containing(servers, name, phone) == 0
        after = await clerk.query("petitions", "show", {"petition_id": pid})
        assert after["erased"] and after["petition"]["petitioner_name"] is None
        assert not {"petitioner", "personal"} & set(after["history"][0]["data"])  # not even the sealed box
    finally:
        await clerk.close()

    auditor = await auditor_login(servers)
    export = servers.root / f"erased-{pid}.jsonl"
    await caunoi_json(servers, "audit", "export", "--out", str(export), login=auditor)
    text = export.read_text()
    assert pid in text and name not in text and phone not in text
    timeline = await caunoi_json(servers, "audit", "timeline", pid, login=auditor)
    assert timeline["erased"] and name not in str(timeline) and phone not in str(timeline)
    assert any(e["type"].startswith("PetitionerDataErased") for e in timeline["events"])
    assert any(e["stream"] == "NOTIFY" for e in timeline["events"])  # the reply's notices, from notify's log
    # and every hash still verifies, the replay still equals the live read models
    reports = await caunoi_json(servers, "audit", "verify", login=auditor)
    assert all(r["ok"] for r in reports), [r["findings"][:3] for r in reports]
    assert clean(await caunoi_json(servers, "audit", "replay", login=auditor))


async def clerk_login(servers: Servers) -> Any:
    path = servers.root / "clerk-00691.json"
    servers.login(COMMUNE, Role.clerk).save(path)
    return path


async def test_an_auditor_reads_and_verifies_but_writes_nothing(servers: Servers, client: Client) -> None:
    auditor = await auditor_login(servers)
    before = (await client.admin("petitions", "status"))["stream"]["messages"]
    assert all(r["ok"] for r in await caunoi_json(servers, "audit", "verify", "petitions", login=auditor))
    keys = await caunoi_json(servers, "audit", "keys", login=auditor)
    assert {k["service"] for k in keys} == {s.name for s in installed_services()} and all(k["key_id"] for k in keys)
    # no command, no other admin request, no erasure
    res = await caunoi(servers, "petitions", "raise", "--channel", "hotline", "--category", "roads", "--name", "X",
                 "--commune", COMMUNE, "--text", "x", login=auditor)  # fmt: skip
    assert res.exit_code != 0
    assert (await caunoi(servers, "audit", "erase", "PA-00000000", "--reason", "x", login=auditor)).exit_code != 0
    assert (await caunoi(servers, "projections", "rebuild", "petitions", login=auditor)).exit_code != 0
    # and its NATS user cannot publish to a stream subject
    from caunoi.shared.client import Login

    login = Login.from_file(auditor)
    errors: list[str] = []

    async def on_error(e: Exception) -> None:
        errors.append(str(e))

    import nats

    nc = await nats.connect(servers.nats_url, error_cb=on_error, **login.nats_options())
    try:
        await nc.publish(f"caunoi.petitions.PA-FORGED00.{PROVINCE}.{COMMUNE}", b"{}")
        await nc.flush()
        for _ in range(100):
            if any("permissions violation" in e.lower() for e in errors):
                break
            await asyncio.sleep(0.02)
        assert any("permissions violation" in e.lower() for e in errors), errors
    finally:
        await nc.close()
    status = await client.admin("petitions", "status")
    assert status["stream"]["messages"] >= before  # (others may append) but nothing of the auditor's:
    assert await streams_containing(servers, "PA-FORGED00") == 0
