"""Who may do what, on the running services with real credentials: a commune's clerk acts on its
own commune's petitions only, an officer of the unit above acts on all of them, a forged, expired
or revoked credential is refused, and the actor stored in an event is the credential's subject."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import pytest
from petitions.payloads import raise_payload
from support import TEST_KEY, Servers, stream_messages, wait_projected

from caunoi.cli.demo import demo_area
from caunoi.shared.client import Client, Login, RequestFailed
from caunoi.shared.context import Role
from caunoi.shared.identity import issue, load_private_key

pytestmark = pytest.mark.asyncio

PROVINCE, COMMUNES = demo_area("vn-2025")
A, B = COMMUNES[0].code, COMMUNES[1].code


def letter(commune: str) -> dict[str, Any]:
    payload: dict[str, Any] = raise_payload(commune_code=commune, channel="letter", hamlet_id=None)
    return payload


async def connect(servers: Servers, login: Login) -> Client:
    return await Client.connect(servers.nats_url, login)


async def refused(c: Client, operator: Client, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    before = await stream_messages(operator, "PETITIONS")
    with pytest.raises(RequestFailed) as info:
        await (c.command if kind == "command" else c.query)("petitions", name, body)
    assert await stream_messages(operator, "PETITIONS") == before, "a refused command stored an event"
    return info.value.error


async def test_a_clerk_acts_on_its_own_commune_only_and_an_officer_above_on_both(
    servers: Servers, services: Any, client: Client
) -> None:
    clerk_a = await connect(servers, servers.login(A, Role.clerk))
    clerk_b = await connect(servers, servers.login(B, Role.clerk))
    officer = await connect(servers, servers.login(PROVINCE.code, Role.officer))
    try:
        in_a = await clerk_a.command(
            "petitions", "raise", raise_payload(commune_code=A, channel="letter", hamlet_id=None)
        )
        in_b = await clerk_b.command(
            "petitions", "raise", raise_payload(commune_code=B, channel="letter", hamlet_id=None)
        )
        pa, pb = in_a["petition_id"], in_b["petition_id"]
        # commune A's clerk: nothing on B's petition, nor raising in B
        for name, body in (
            ("forward", {"petition_id": pb, "to_unit": PROVINCE.code}),
            ("commit", {"petition_id": pb, "committed_date": "2026-12-31"}),
            ("reply", {"petition_id": pb, "document_no": "1/UB", "summary": "x"}),
            ("raise", letter(B)),
        ):
            err = await refused(clerk_a, client, "command", name, body)
            assert err["code"] == "forbidden", (name, err)
        assert (await refused(clerk_a, client, "query", "show", {"petition_id": pb}))["code"] == "forbidden"
        assert (await refused(clerk_a, client, "query", "list", {"unit": PROVINCE.code}))["code"] == "forbidden"
        await wait_projected(client, "petitions")
        listed = {r["id"] for r in (await clerk_a.query("petitions", "list", {"limit": 1000}))["items"]}
        assert pa in listed and pb not in listed
        # the province's officer sees and acts on both
        listed = {r["id"] for r in (await officer.query("petitions", "list", {"limit": 1000}))["items"]}
        assert {pa, pb} <= listed
        for pid in (pa, pb):
            assert (await officer.command("petitions", "commit", {"petition_id": pid, "committed_date": "2026-12-31"}))[
                "status"
            ] == "in_progress"
            shown = await officer.query("petitions", "show", {"petition_id": pid})
            assert shown["history"][-1]["actor"] == f"officer.{PROVINCE.code}"
        # forwarded up, the petition stays the commune's too: its clerk still sees it
        await clerk_a.command("petitions", "raise", letter(A))
        assert (await clerk_a.query("petitions", "show", {"petition_id": pa}))["status"] == "in_progress"
    finally:
        for c in (clerk_a, clerk_b, officer):
            await c.close()


async def test_roles_limit_the_kind_of_request(servers: Servers, services: Any, client: Client) -> None:
    auditor = await connect(servers, servers.login("", Role.auditor))
    clerk = await connect(servers, servers.login(A, Role.clerk))
    try:
        assert (await auditor.query("petitions", "list", {}))["total"] >= 0  # an auditor reads everything
        body = letter(A)
        assert (await refused(auditor, client, "command", "raise", body))["code"] == "forbidden"  # never writes
        with pytest.raises(RequestFailed) as info:
            await clerk.admin("petitions", "status")
        assert info.value.code == "forbidden"  # only operators use admin subjects
    finally:
        await auditor.close()
        await clerk.close()


async def test_forged_expired_missing_and_revoked_credentials_are_refused(
    servers: Servers, services: Any, client: Client
) -> None:
    clerk = servers.login(A, Role.clerk)
    key = load_private_key(servers.installation.signing_key)
    old = issue(key, subject="old", name="old", unit=A, dataset="vn-2025", roles=[Role.clerk], now=time.time() - 4e7)
    forged = issue(TEST_KEY, subject="x", name="x", unit=A, dataset="vn-2025", roles=[Role.clerk])  # another key
    tampered = clerk.token.rsplit(".", 1)[0] + ".AAAA" if clerk.token else ""
    body = raise_payload(commune_code=A, channel="letter", hamlet_id=None)
    for token, says in (
        (None, "no credential"),
        (forged.token, "not valid"),
        (tampered, "not valid"),
        (old.token, "expired"),
    ):
        c = await connect(servers, Login(**{**clerk.__dict__, "token": token}))
        try:
            err = await refused(c, client, "command", "raise", body)
            assert err["code"] == "unauthenticated" and says in err["message_en"], err
        finally:
            await c.close()

    # revoked with the operators' tool: refused from then on, by every service
    clerk, credential_id = await servers.issue(A, Role.clerk)
    c = await connect(servers, clerk)
    try:
        await c.command("petitions", "raise", body)
        cli = [sys.executable, "-m", "caunoi.cli.main", "identities", "revoke", credential_id, "--reason", "nghỉ việc"]
        res = await asyncio.to_thread(
            subprocess.run, cli, env=servers.env(), capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0, res.stderr
        # each service follows the revocations on its own: wait until both refuse it
        deadline = time.monotonic() + 10
        for service, name, query in (("scheduling", "hamlets", {"unit": A}), ("petitions", "list", {})):
            while True:
                try:
                    await c.query(service, name, query)
                except RequestFailed as e:
                    assert e.code == "unauthenticated" and "revoked" in e.error["message_en"]
                    break
                assert time.monotonic() < deadline, f"{service} still accepts the revoked credential"
                await c.nc.flush()
        assert (await refused(c, client, "command", "raise", body))["code"] == "unauthenticated"
    finally:
        await c.close()
