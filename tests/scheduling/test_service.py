"""The scheduling service as a process on real servers: its read model and queries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from support import wait_projected

from caunoi.scheduling.domain.hamlets import hamlet_id
from caunoi.shared.client import Client, RequestFailed

pytestmark = pytest.mark.asyncio

COMMUNE, OTHER_COMMUNE, PROVINCE = "00691", "00694", "08"


def unique(base: str) -> str:
    return f"{base} {uuid.uuid4().hex[:6]}"


async def ids(c: Client, **query: Any) -> list[str]:
    await wait_projected(c, "scheduling")
    result = await c.query("scheduling", "hamlets", query)
    assert result["total"] == len(result["items"])
    return [r["id"] for r in result["items"]]


async def test_the_read_model_follows_add_rename_retire(client: Client) -> None:
    name, new = unique("Thôn Đồng Tâm"), unique("Thôn Hòa Bình")
    out = await client.command("scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": name, "kind": "thon"})
    hid = out["hamlet_id"]
    assert hid == hamlet_id(COMMUNE, name)
    assert hid in await ids(client, unit=COMMUNE)
    assert hid in await ids(client, unit=PROVINCE)
    assert hid in await ids(client)
    assert hid not in await ids(client, unit=OTHER_COMMUNE)
    row = await client.query("scheduling", "hamlet", {"hamlet_id": hid})
    assert (row["name"], row["commune_code"], row["kind"], row["unit_path"]) == (name, COMMUNE, "thon", ["08", COMMUNE])
    assert row["dataset"] == "vn-2025" and row["retired"] is False and row["retired_on"] is None

    await client.command("scheduling", "hamlet_rename", {"hamlet_id": hid, "name": new})
    await wait_projected(client, "scheduling")
    assert (await client.query("scheduling", "hamlet", {"hamlet_id": hid}))["name"] == new
    with pytest.raises(RequestFailed) as info:
        await client.query("scheduling", "hamlet", {"hamlet_id": hamlet_id(COMMUNE, new)})
    assert info.value.code == "not_found"

    await client.command("scheduling", "hamlet_retire", {"hamlet_id": hid, "reason": "x", "retired_on": "2025-07-01"})
    assert hid not in await ids(client, unit=COMMUNE)
    assert hid in await ids(client, unit=COMMUNE, include_retired=True)
    row = await client.query("scheduling", "hamlet", {"hamlet_id": hid})
    assert row["retired"] is True and row["retired_on"] == "2025-07-01"


async def test_a_name_freed_by_a_rename_can_be_added_again(client: Client) -> None:
    """The name check reads the real read model: a name a rename freed is free."""
    first = unique("Thôn Đông")
    out = await client.command("scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": first, "kind": "thon"})
    await client.command("scheduling", "hamlet_rename", {"hamlet_id": out["hamlet_id"], "name": unique("Thôn Tây")})
    await wait_projected(client, "scheduling")
    with pytest.raises(RequestFailed) as info:  # the id is still the old name's
        await client.command("scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": first, "kind": "thon"})
    assert info.value.code == "duplicate"


async def test_unknown_unit_in_a_query(client: Client) -> None:
    with pytest.raises(RequestFailed) as info:
        await client.query("scheduling", "hamlets", {"unit": "99"})
    assert (info.value.code, info.value.error["field"]) == ("unknown_unit", "unit")


async def test_rebuild_through_the_service_equals_live(client: Client) -> None:
    await client.command("scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": unique("Buôn"), "kind": "buon"})
    before = await ids(client, include_retired=True)
    rebuilt = await client.admin("scheduling", "rebuild", {"projection": "hamlets"})
    assert rebuilt["projection"] == "hamlets" and rebuilt["position"] >= 1
    assert rebuilt["seconds"] >= rebuilt["load_seconds"] + rebuilt["index_seconds"] - 0.02  # (each rounded)
    assert await ids(client, include_retired=True) == before
