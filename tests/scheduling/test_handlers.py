"""The scheduling service's commands through the request edge, on the in-memory event store and
an in-memory copy of the hamlet list (both proven equal to the real ones by their contract tests).
Every refused command is shown to store nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from support import Follower, Harness

from caunoi.scheduling.bootstrap import wire
from caunoi.scheduling.domain.hamlets import hamlet_id
from caunoi.scheduling.events import registry
from caunoi.scheduling.handlers import ENDPOINTS, Deps
from caunoi.shared.hamlets import (
    SCHEDULING_STREAM,
    HamletAdded,
    HamletRenamed,
    HamletRetired,
    InMemoryHamletDirectory,
)
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.recorded import decode_message
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

COMMUNE = "00691"  # Phường Hà Giang 2, vn-2025
OTHER_COMMUNE = "00694"  # Phường Hà Giang 1
PROVINCE = "08"  # Tỉnh Tuyên Quang


class Scheduling(Harness[Deps]):
    def __init__(self) -> None:
        store = InMemoryEventStore(SCHEDULING_STREAM)
        self.directory = InMemoryHamletDirectory()
        units = UnitTree.load("vn-2025")
        deps = wire(store, units, directory=self.directory)
        super().__init__("scheduling", ENDPOINTS, deps, store)
        self.follower = Follower(store, registry, self.directory.apply)

    async def projected(self) -> None:
        await self.follower.catch_up()

    async def add(self, name: str, commune: str = COMMUNE, kind: str = "thon", **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = await self.ok(
            "hamlet_add", {"commune_code": commune, "name": name, "kind": kind, **extra}
        )
        await self.projected()
        return out


@pytest.fixture
def svc() -> Scheduling:
    return Scheduling()


async def test_add_is_stored_on_the_hamlets_own_subject(svc: Scheduling) -> None:
    out = await svc.add("Thôn Đồng Tâm")
    hid = hamlet_id(COMMUNE, "Thôn Đồng Tâm")
    assert out["hamlet_id"] == hid == "00691-thon-dong-tam"
    assert out["name"] == "Thôn Đồng Tâm" and out["kind"] == "thon" and out["replayed"] is False
    assert [e["type"] for e in out["events"]] == [HamletAdded.type_name()]
    assert await svc.messages() == 1
    [msg] = await svc.store.load(hid)
    assert msg.subject == f"{SCHEDULING_STREAM.subject_prefix}.{hid}.{PROVINCE}.{COMMUNE}"
    rec = decode_message(registry, msg)
    assert rec.envelope.unitcode == COMMUNE and rec.envelope.datasetversion == "vn-2025"
    assert rec.envelope.source == "/caunoi/scheduling"


async def test_duplicate_name_in_same_commune_rejected(svc: Scheduling) -> None:
    await svc.add("Thôn Đồng Tâm")
    for spelling in ("Thôn Đồng Tâm", "THÔN ĐỒNG TÂM", "  Thôn   Đồng  Tâm "):
        err = await svc.error("hamlet_add", {"commune_code": COMMUNE, "name": spelling, "kind": "ap"})
        assert (err["code"], err["field"]) == ("duplicate", "name"), err
        assert err["details"]["hamlet_id"] == "00691-thon-dong-tam"
    other = await svc.add("Thôn Đồng Tâm", commune=OTHER_COMMUNE)  # another commune: another hamlet
    assert other["hamlet_id"] == "00694-thon-dong-tam"


async def test_name_taken_by_a_rename_is_a_duplicate(svc: Scheduling) -> None:
    out = await svc.add("Thôn Đông")
    await svc.ok("hamlet_rename", {"hamlet_id": out["hamlet_id"], "name": "Thôn Tây"})
    await svc.projected()
    err = await svc.error("hamlet_add", {"commune_code": COMMUNE, "name": "Thôn Tây", "kind": "thon"})
    assert (err["code"], err["field"], err["details"]["hamlet_id"]) == ("duplicate", "name", out["hamlet_id"])
    other = await svc.add("Thôn Nam")
    err = await svc.error("hamlet_rename", {"hamlet_id": other["hamlet_id"], "name": "thôn tây"})
    assert (err["code"], err["field"]) == ("duplicate", "name")


async def test_unknown_commune_rejected(svc: Scheduling) -> None:
    for code in ("99999", "00000"):
        err = await svc.error("hamlet_add", {"commune_code": code, "name": "Thôn Mới", "kind": "thon"})
        assert (err["code"], err["field"]) == ("unknown_unit", "commune_code"), err


async def test_rename_keeps_id_and_subject(svc: Scheduling) -> None:
    out = await svc.add("Tổ dân phố 5", kind="to_dan_pho")
    hid = out["hamlet_id"]
    renamed = await svc.ok("hamlet_rename", {"hamlet_id": hid, "name": "Tổ dân phố Hòa Bình"})
    assert renamed["hamlet_id"] == hid and renamed["name"] == "Tổ dân phố Hòa Bình"
    assert [e["type"] for e in renamed["events"]] == [HamletRenamed.type_name()]
    msgs = await svc.store.load(hid)
    assert len({m.subject for m in msgs}) == 1 and len(msgs) == 2
    err = await svc.error("hamlet_rename", {"hamlet_id": hid, "name": "Tổ dân phố Hòa Bình"})
    assert (err["code"], err["field"]) == ("invalid", "name")
    err = await svc.error("hamlet_rename", {"hamlet_id": f"{COMMUNE}-khong-co", "name": "Thôn X"})
    assert (err["code"], err["field"]) == ("not_found", "hamlet_id")


async def test_retire_then_rename_or_retire_again_rejected(svc: Scheduling) -> None:
    hid = (await svc.add("Bản Phiêng", kind="ban"))["hamlet_id"]
    retired = await svc.ok("hamlet_retire", {"hamlet_id": hid, "reason": "Sáp nhập", "retired_on": "2025-07-01"})
    assert retired["retired"] is True and retired["retired_on"] == "2025-07-01"
    assert [e["type"] for e in retired["events"]] == [HamletRetired.type_name()]
    err = await svc.error("hamlet_rename", {"hamlet_id": hid, "name": "Bản Mới"})
    assert (err["code"], err["field"]) == ("invalid_state", "hamlet_id"), err
    err = await svc.error("hamlet_retire", {"hamlet_id": hid, "reason": "again"})
    assert err["code"] == "invalid_state"
    err = await svc.error("hamlet_retire", {"hamlet_id": "00691-khong-co", "reason": "x"})
    assert (err["code"], err["field"]) == ("not_found", "hamlet_id")


async def test_retire_in_the_future_rejected(svc: Scheduling) -> None:
    hid = (await svc.add("Khu phố 3", kind="khu_pho"))["hamlet_id"]
    err = await svc.error("hamlet_retire", {"hamlet_id": hid, "reason": "x", "retired_on": "2999-01-01"})
    assert (err["code"], err["field"]) == ("invalid", "retired_on")


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [
        ("hamlet_add", {"commune_code": COMMUNE, "name": "", "kind": "thon"}, "name"),
        ("hamlet_add", {"commune_code": COMMUNE, "name": "   ", "kind": "thon"}, "name"),
        ("hamlet_add", {"commune_code": COMMUNE, "name": "!!! ???", "kind": "thon"}, "name"),
        ("hamlet_add", {"commune_code": COMMUNE, "name": "Thôn " + "A" * 200, "kind": "thon"}, "name"),
        ("hamlet_add", {"commune_code": COMMUNE, "name": "Thôn Mới", "kind": "village"}, "kind"),
        ("hamlet_add", {"commune_code": "0069", "name": "Thôn Mới", "kind": "thon"}, "commune_code"),
        ("hamlet_add", {"name": "Thôn Mới", "kind": "thon"}, "commune_code"),
        ("hamlet_add", {"commune_code": COMMUNE, "name": "Thôn Mới", "kind": "thon", "color": "red"}, "color"),
        ("hamlet_rename", {"hamlet_id": "Not An Id", "name": "Ấp 5"}, "hamlet_id"),
        ("hamlet_rename", {"hamlet_id": "00691-ap-4", "name": ""}, "name"),
        ("hamlet_retire", {"hamlet_id": "00691-ap-4", "reason": " "}, "reason"),
        ("hamlet_retire", {"hamlet_id": "00691-ap-4", "reason": "x", "retired_on": "01/07/2025"}, "retired_on"),
    ],
)
async def test_bad_input_rejected(svc: Scheduling, name: str, payload: dict[str, Any], field: str) -> None:
    await svc.add("Ấp 4", kind="ap")
    err = await svc.error(name, payload)
    assert (err["code"], err["field"]) == ("invalid", field), err


async def test_same_command_id_twice_stores_one_event(svc: Scheduling) -> None:
    cid = str(uuid.uuid4())
    first = await svc.add("Làng Chăm", kind="lang", command_id=cid)
    again = await svc.add("Làng Chăm", kind="lang", command_id=cid)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["hamlet_id"] == first["hamlet_id"] and again["events"] == first["events"]
    assert await svc.messages() == 1
    rid = str(uuid.uuid4())
    body = {"hamlet_id": first["hamlet_id"], "name": "Làng Chăm Mới", "command_id": rid}
    r1 = await svc.ok("hamlet_rename", body)
    await svc.projected()  # the list now has the new name: the retry must still replay, not refuse
    r2 = await svc.ok("hamlet_rename", body)
    assert r2["replayed"] is True and r2["events"] == r1["events"]
    assert await svc.messages() == 2


async def test_concurrent_renames_of_one_hamlet_one_wins(svc: Scheduling) -> None:
    hid = (await svc.add("Thôn Một"))["hamlet_id"]
    replies = await asyncio.gather(
        *[svc.call("hamlet_rename", {"hamlet_id": hid, "name": f"Thôn Số {i}"}) for i in range(8)]
    )
    assert sum(r["ok"] for r in replies) == 1, replies
    assert {r["error"]["code"] for r in replies if not r["ok"]} == {"conflict"}
    assert await svc.messages() == 2
