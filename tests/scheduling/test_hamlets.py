"""The scheduling service's hamlet list against real servers: JetStream for the events, PostgreSQL
for the read model. Every rejected command must leave the stream as it was."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from caunoi.shared.aggregate import decode_message
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletAdded, HamletRenamed, HamletRetired, registry
from caunoi.shared.units import hamlet_id

if TYPE_CHECKING:
    from .conftest import Caller

pytestmark = pytest.mark.asyncio(loop_scope="session")

COMMUNE = "00691"  # Phường Hà Giang 2, vn-2025
OTHER_COMMUNE = "00694"  # Phường Hà Giang 1
PROVINCE = "08"  # Tỉnh Tuyên Quang


def unique(base: str = "Thôn Đồng Tâm") -> str:
    return f"{base} {uuid.uuid4().hex[:6]}"


async def add(svc: Caller, name: str, commune: str = COMMUNE, kind: str = "thon", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = await svc.ok("hamlet_add", {"commune_code": commune, "name": name, "kind": kind, **extra})
    return result


async def ids(svc: Caller, **query: Any) -> list[str]:
    await svc.projected()
    result = await svc.ok("hamlets", query)
    assert result["total"] == len(result["items"])
    return [r["id"] for r in result["items"]]


async def test_add_appears_in_read_model(svc: Caller) -> None:
    name = unique()
    before = await svc.messages()
    out = await add(svc, name)
    hid = hamlet_id(COMMUNE, name)
    assert out["hamlet_id"] == hid
    assert out["name"] == name and out["kind"] == "thon" and out["replayed"] is False
    assert [e["type"] for e in out["events"]] == [HamletAdded.type_name()]
    assert await svc.messages() == before + 1

    assert hid in await ids(svc, unit=COMMUNE)
    assert hid in await ids(svc, unit=PROVINCE)
    assert hid in await ids(svc)
    assert hid not in await ids(svc, unit=OTHER_COMMUNE)

    row = await svc.ok("hamlet", {"hamlet_id": hid})
    assert row["name"] == name
    assert row["commune_code"] == COMMUNE
    assert row["kind"] == "thon"
    assert row["unit_path"] == [PROVINCE, COMMUNE]
    assert row["dataset"] == "vn-2025"
    assert row["retired"] is False and row["retired_on"] is None

    # The event is on the aggregate's own subject, scoped by the unit path, in CloudEvents form.
    [msg] = await svc.rt.store.load(hid)
    assert msg.subject == f"{SCHEDULING_STREAM.subject_prefix}.{hid}.{PROVINCE}.{COMMUNE}"
    rec = decode_message(registry, msg)
    assert rec.envelope.unitcode == COMMUNE and rec.envelope.datasetversion == "vn-2025"
    assert rec.envelope.source == "/caunoi/scheduling"


async def test_duplicate_name_in_same_commune_rejected(svc: Caller) -> None:
    name = unique()
    await add(svc, name)
    before = await svc.messages()
    for spelling in (name, name.upper(), f"  {name.replace(' ', '   ')} "):
        err = await svc.error("hamlet_add", {"commune_code": COMMUNE, "name": spelling, "kind": "ap"})
        assert err["code"] == "duplicate", err
        assert err["field"] == "name"
        assert err["details"]["hamlet_id"] == hamlet_id(COMMUNE, name)
        assert err["message"] and err["message_en"]
    assert await svc.messages() == before
    # The same name in another commune is another hamlet.
    other = await add(svc, name, commune=OTHER_COMMUNE)
    assert other["hamlet_id"] == hamlet_id(OTHER_COMMUNE, name)


async def test_name_taken_by_a_rename_is_a_duplicate(svc: Caller) -> None:
    first, second = unique("Thôn Đông"), unique("Thôn Tây")
    out = await add(svc, first)
    await svc.ok("hamlet_rename", {"hamlet_id": out["hamlet_id"], "name": second})
    await svc.projected()
    before = await svc.messages()
    err = await svc.error("hamlet_add", {"commune_code": COMMUNE, "name": second, "kind": "thon"})
    assert (err["code"], err["field"], err["details"]["hamlet_id"]) == ("duplicate", "name", out["hamlet_id"])
    other = await add(svc, unique("Thôn Nam"))
    err = await svc.error("hamlet_rename", {"hamlet_id": other["hamlet_id"], "name": second})
    assert (err["code"], err["field"]) == ("duplicate", "name")
    assert await svc.messages() == before + 1  # only the add of "Thôn Nam"


async def test_unknown_commune_rejected(svc: Caller) -> None:
    before = await svc.messages()
    for code in ("99999", "00000"):
        err = await svc.error("hamlet_add", {"commune_code": code, "name": unique(), "kind": "thon"})
        assert (err["code"], err["field"]) == ("unknown_unit", "commune_code"), err
    assert await svc.messages() == before
    err = await svc.error("hamlets", {"unit": "99"})
    assert (err["code"], err["field"]) == ("unknown_unit", "unit")


async def test_rename_keeps_id(svc: Caller) -> None:
    old, new = unique("Tổ dân phố 5"), unique("Tổ dân phố Hòa Bình")
    out = await add(svc, old, kind="to_dan_pho")
    hid = out["hamlet_id"]
    before = await svc.messages()
    renamed = await svc.ok("hamlet_rename", {"hamlet_id": hid, "name": new})
    assert renamed["hamlet_id"] == hid and renamed["name"] == new
    assert [e["type"] for e in renamed["events"]] == [HamletRenamed.type_name()]
    assert await svc.messages() == before + 1
    await svc.projected()
    row = await svc.ok("hamlet", {"hamlet_id": hid})
    assert (row["id"], row["name"], row["kind"]) == (hid, new, "to_dan_pho")
    assert hamlet_id(COMMUNE, new) not in await ids(svc, unit=COMMUNE)
    assert (await svc.call("hamlet", {"hamlet_id": hamlet_id(COMMUNE, new)}))["error"]["code"] == "not_found"
    # Both events are on the one subject the aggregate got when it was added.
    msgs = await svc.rt.store.load(hid)
    assert len({m.subject for m in msgs}) == 1 and len(msgs) == 2

    # Renaming to the same name, or a hamlet that does not exist, stores nothing.
    before = await svc.messages()
    err = await svc.error("hamlet_rename", {"hamlet_id": hid, "name": new})
    assert (err["code"], err["field"]) == ("invalid", "name")
    err = await svc.error("hamlet_rename", {"hamlet_id": f"{COMMUNE}-khong-co-{uuid.uuid4().hex[:6]}", "name": new})
    assert (err["code"], err["field"]) == ("not_found", "hamlet_id")
    assert await svc.messages() == before


async def test_retire_then_rename_rejected(svc: Caller) -> None:
    out = await add(svc, unique("Bản Phiêng"), kind="ban")
    hid = out["hamlet_id"]
    retired = await svc.ok(
        "hamlet_retire", {"hamlet_id": hid, "reason": "Sáp nhập vào bản Nà Tèn", "retired_on": "2025-07-01"}
    )
    assert retired["retired"] is True and retired["retired_on"] == "2025-07-01"
    assert [e["type"] for e in retired["events"]] == [HamletRetired.type_name()]
    before = await svc.messages()

    err = await svc.error("hamlet_rename", {"hamlet_id": hid, "name": unique("Bản Mới")})
    assert (err["code"], err["field"]) == ("invalid_state", "hamlet_id"), err
    err = await svc.error("hamlet_retire", {"hamlet_id": hid, "reason": "again"})
    assert err["code"] == "invalid_state"
    assert await svc.messages() == before

    assert hid not in await ids(svc, unit=COMMUNE)
    assert hid in await ids(svc, unit=COMMUNE, include_retired=True)
    row = await svc.ok("hamlet", {"hamlet_id": hid})
    assert row["retired"] is True and row["retired_on"] == "2025-07-01"


async def test_retire_in_the_future_rejected(svc: Caller) -> None:
    out = await add(svc, unique("Khu phố 3"), kind="khu_pho")
    before = await svc.messages()
    err = await svc.error("hamlet_retire", {"hamlet_id": out["hamlet_id"], "reason": "x", "retired_on": "2999-01-01"})
    assert (err["code"], err["field"]) == ("invalid", "retired_on")
    assert await svc.messages() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"commune_code": COMMUNE, "name": "", "kind": "thon"}, "name"),
        ({"commune_code": COMMUNE, "name": "   ", "kind": "thon"}, "name"),
        ({"commune_code": COMMUNE, "name": "!!! ???", "kind": "thon"}, "name"),
        ({"commune_code": COMMUNE, "name": "Thôn " + "A" * 200, "kind": "thon"}, "name"),
        ({"commune_code": COMMUNE, "name": "Thôn Mới", "kind": "village"}, "kind"),
        ({"commune_code": "0069", "name": "Thôn Mới", "kind": "thon"}, "commune_code"),
        ({"name": "Thôn Mới", "kind": "thon"}, "commune_code"),
        ({"commune_code": COMMUNE, "name": "Thôn Mới", "kind": "thon", "color": "red"}, "color"),
    ],
)
async def test_bad_input_rejected(svc: Caller, payload: dict[str, Any], field: str) -> None:
    before = await svc.messages()
    err = await svc.error("hamlet_add", payload)
    assert (err["code"], err["field"]) == ("invalid", field), err
    assert await svc.messages() == before


async def test_bad_input_on_rename_and_retire_rejected(svc: Caller) -> None:
    out = await add(svc, unique("Ấp 4"), kind="ap")
    before = await svc.messages()
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("hamlet_rename", {"hamlet_id": "Not An Id", "name": "Ấp 5"}, "hamlet_id"),
        ("hamlet_rename", {"hamlet_id": out["hamlet_id"], "name": ""}, "name"),
        ("hamlet_retire", {"hamlet_id": out["hamlet_id"], "reason": " "}, "reason"),
        ("hamlet_retire", {"hamlet_id": out["hamlet_id"], "reason": "x", "retired_on": "01/07/2025"}, "retired_on"),
    ]
    for name, payload, field in cases:
        err = await svc.error(name, payload)
        assert (err["code"], err["field"]) == ("invalid", field), (name, payload, err)
    assert await svc.messages() == before


async def test_same_command_id_twice_stores_one_event(svc: Caller) -> None:
    name, new = unique("Làng Chăm"), unique("Làng Chăm Mới")
    cid = str(uuid.uuid4())
    before = await svc.messages()
    first = await add(svc, name, kind="lang", command_id=cid)
    again = await add(svc, name, kind="lang", command_id=cid)
    assert first["replayed"] is False and again["replayed"] is True
    assert again["hamlet_id"] == first["hamlet_id"]
    assert again["events"] == first["events"]
    assert await svc.messages() == before + 1

    rid = str(uuid.uuid4())
    r1 = await svc.ok("hamlet_rename", {"hamlet_id": first["hamlet_id"], "name": new, "command_id": rid})
    await svc.projected()  # the read model now has the new name: the retry must still replay
    r2 = await svc.ok("hamlet_rename", {"hamlet_id": first["hamlet_id"], "name": new, "command_id": rid})
    assert r2["replayed"] is True and r2["events"] == r1["events"]
    assert await svc.messages() == before + 2
    assert len(await svc.rt.store.load(first["hamlet_id"])) == 2


async def test_read_model_rebuild_matches_live(svc: Caller) -> None:
    await add(svc, unique("Buôn Ma"), kind="buon")
    runner = svc.rt.runners["hamlets"]
    await runner.catch_up()
    live = await runner.snapshot()
    assert live and [r["id"] for r in live] == sorted(r["id"] for r in live)
    await runner.rebuild_into("hamlets_check")
    assert await runner.snapshot("hamlets_check") == live
