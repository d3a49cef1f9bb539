"""Queries on the running service: a 2025 commune finds what was recorded under the legacy
communes it succeeded, text search ignores accents, every filter narrows, personal data reaches
only the officials of the units concerned, the figures portals publish, and exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from openpyxl import load_workbook
from petitions.payloads import raise_payload
from support import Servers, wait_projected

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.events import PetitionRaised
from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.context import Role
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import NEW_AGGREGATE
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.units import Succession, UnitTree

pytestmark = pytest.mark.asyncio

LEGACY = UnitTree.load("vn-2024")
#: Phường Ngọc Hà (vn-2024, Thành phố Hà Giang), which went whole into Phường Hà Giang 2 (00691, vn-2025)
LEGACY_COMMUNE, SUCCESSOR, NEIGHBOUR = "00692", "00691", "00694"
TAG = uuid.uuid4().hex[:6]


def letter(commune: str, **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = raise_payload(commune_code=commune, channel="letter", hamlet_id=None, **over)
    return payload


async def legacy_petition(servers: Servers, text: str) -> str:
    """A petition recorded before the 2025 reorganisation, as an installation on vn-2024 stored it."""
    pid = f"PA-V{uuid.uuid4().int % 10**7:07d}"
    path = LEGACY.path(LEGACY_COMMUNE)
    ev = PetitionRaised(
        petition_id=pid, channel="letter", kind="petition", category="land",
        petitioner={"name": "Hoàng Thị Mai", "phone": "0988000111"}, commune_code=LEGACY_COMMUNE, text=text,
        received_on=date(2025, 3, 10), unit_path=path, dataset="vn-2024",
    )  # fmt: skip
    env = CloudEvent(
        id=str(uuid.uuid4()), source="/caunoi/petitions", type=ev.type_name(), subject=pid,
        data=ev.model_dump(mode="json"), unitcode=LEGACY_COMMUNE, datasetversion="vn-2024",
    )  # fmt: skip
    nc = await servers.connect()
    try:
        store = JetStreamEventStore(nc, STREAM)
        await store.append(store.subject_for(pid, path), NEW_AGGREGATE, [env])
    finally:
        await nc.close()
    return pid


class Actors:
    def __init__(self, clients: dict[str, Client]) -> None:
        self.c = clients

    def __getattr__(self, name: str) -> Client:
        return self.c[name]


@pytest_asyncio.fixture(scope="module")
async def who(servers: Servers, services: Any) -> Any:
    logins = {
        "clerk": servers.login(SUCCESSOR, Role.clerk),
        "neighbour": servers.login(NEIGHBOUR, Role.clerk),
        "officer": servers.login("08", Role.officer),
        "auditor": servers.login("", Role.auditor),
    }
    clients = {k: await Client.connect(servers.nats_url, v) for k, v in logins.items()}
    clients["operator"] = await servers.client()
    yield Actors(clients)
    for c in clients.values():
        await c.close()


async def ids(c: Client, **q: Any) -> list[str]:
    return [r["id"] for r in (await c.query("petitions", "list", {"limit": 5000, **q}))["items"]]


async def test_a_2025_commune_finds_what_its_legacy_communes_recorded(servers: Servers, who: Actors) -> None:
    assert Succession.load().successors(LEGACY_COMMUNE) == [SUCCESSOR]
    pid = await legacy_petition(servers, f"Tranh chấp đất đai ở tổ 5 {TAG}")
    await wait_projected(who.operator, "petitions")
    assert pid in await ids(who.clerk)  # its own list: the successor commune
    assert pid in await ids(who.clerk, unit=SUCCESSOR)
    assert pid in await ids(who.officer)  # and the province above it (Hà Giang went into Tuyên Quang)
    assert pid not in await ids(who.neighbour)
    # the successor's clerk opens it and acts on it; the neighbour may not
    shown = await who.clerk.query("petitions", "show", {"petition_id": pid})
    assert shown["petition"]["dataset"] == "vn-2024" and shown["petition"]["petitioner_name"] == "Hoàng Thị Mai"
    with pytest.raises(RequestFailed) as e:
        await who.neighbour.query("petitions", "show", {"petition_id": pid})
    assert e.value.code == "forbidden"
    out = await who.clerk.command("petitions", "classify", {"petition_id": pid, "kind": "petition"})
    assert out["status"] == "classified"


async def test_search_ignores_accents_and_filters_narrow(who: Actors) -> None:
    land = await who.clerk.command("petitions", "raise", letter(SUCCESSOR, text=f"Lấn chiếm đất đai {TAG}"))
    road = await who.clerk.command(
        "petitions", "raise", letter(SUCCESSOR, text=f"Đường hỏng {TAG}", category="land", received_on="2026-10-01")
    )
    meet = await who.clerk.command("petitions", "raise", letter(SUCCESSOR, text=f"Đường hỏng {TAG}", kind="complaint"))
    await wait_projected(who.operator, "petitions")
    land_id, road_id, meet_id = land["petition_id"], road["petition_id"], meet["petition_id"]
    assert land_id in await ids(who.clerk, search=f"dat dai {TAG}")
    assert land_id in await ids(who.clerk, search=f"ĐẤT ĐAI {TAG}")
    assert set(await ids(who.clerk, search=f"duong hong {TAG}")) == {road_id, meet_id}
    assert await ids(who.clerk, search=f"duong hong {TAG}", kind="complaint") == [meet_id]
    assert await ids(who.clerk, search=TAG, received_from="2026-10-01", received_to="2026-10-31") == [road_id]
    assert road_id in await ids(who.clerk, search=TAG, status=["received"], channel="letter", category="land")
    assert await ids(who.clerk, search=TAG, overdue=True) == []
    assert land_id in await ids(who.clerk, petitioner="nguyen van an", search=TAG)
    # the petitioner search is personal data: not for an auditor or other systems
    for c in (who.auditor, who.operator):
        with pytest.raises(RequestFailed) as e:
            await c.query("petitions", "list", {"petitioner": "nguyen"})
        assert e.value.code == "forbidden"


async def test_personal_data_only_for_officials_of_the_units_concerned(who: Actors) -> None:
    pid = (await who.clerk.command("petitions", "raise", letter(SUCCESSOR, text=f"Riêng tư {TAG}")))["petition_id"]
    await who.clerk.command("petitions", "accept", {"petition_id": pid})
    await who.clerk.command(
        "petitions",
        "reply",
        {"petition_id": pid, "document_no": "9/UB", "summary": "Công khai", "internal_note": "Nội bộ"},
    )
    await wait_projected(who.operator, "petitions")
    for c, sees in ((who.clerk, True), (who.officer, True), (who.auditor, False), (who.operator, False)):
        listed = await c.query("petitions", "list", {"search": f"rieng tu {TAG}"})
        [row] = listed["items"]
        assert listed["personal_data"] is sees
        assert (row.get("petitioner_name"), row.get("petitioner_phone"), row.get("internal_note")) == (
            ("Nguyễn Văn An", "0912345678", "Nội bộ") if sees else (None, None, None)
        )
        assert row["reply_summary"] == "Công khai"  # the public answer is public
        shown = await c.query("petitions", "show", {"petition_id": pid})
        texts = json.dumps(shown["history"], ensure_ascii=False)
        assert ("0912345678" in texts and "Nội bộ" in texts) is sees
        assert ("0912345678" in texts or "Nội bộ" in texts) is sees
    public = await who.clerk.query("petitions", "list", {"search": f"rieng tu {TAG}", "public": True})
    assert not public["personal_data"] and "petitioner_name" not in public["items"][0]


async def test_the_figures_portals_publish(who: Actors) -> None:
    c = who.officer
    mine = [
        (await c.command("petitions", "raise", letter(NEIGHBOUR, text=f"Số liệu {i} {TAG}", category="drainage")))[
            "petition_id"
        ]
        for i in range(3)
    ]
    await c.command("petitions", "commit", {"petition_id": mine[0], "committed_date": "2026-11-20"})
    reply = {"document_no": "1/X", "summary": "x", "issued_on": "2026-11-10"}
    await c.command("petitions", "reply", {"petition_id": mine[0], **reply})
    await c.command("petitions", "verdict", {"petition_id": mine[0], "verdict": "satisfied"})
    await c.command("petitions", "commit", {"petition_id": mine[1], "committed_date": "2026-11-05"})
    await c.command("petitions", "reply", {"petition_id": mine[1], **reply, "document_no": "2/X"})
    await c.command("petitions", "withdraw", {"petition_id": mine[2]})
    await wait_projected(who.operator, "petitions")
    stats = await c.query("petitions", "stats", {"unit": NEIGHBOUR, "group_by": "category"})
    [drainage] = [g for g in stats["groups"] if g["group"] == "drainage"]
    assert drainage["received"] >= 3 and drainage["resolved"] >= 2 and drainage["withdrawn"] >= 1
    assert drainage["satisfied"] >= 1 and drainage["on_time"] >= 1
    assert 0 < drainage["on_time_rate"] < 1  # one on time (10 < 20 November), one late (10 > 5 November)
    assert drainage["median_days_to_resolve"] == 9.0
    by_unit = await c.query("petitions", "stats", {"group_by": "unit"})
    assert by_unit["unit"] == "08"
    assert {g["group"] for g in by_unit["groups"]} >= {SUCCESSOR, NEIGHBOUR}
    assert next(g for g in by_unit["groups"] if g["group"] == NEIGHBOUR)["name"]
    by_month = await c.query("petitions", "stats", {"group_by": "period", "period": "month"})
    assert all(len(g["group"]) == 10 for g in by_month["groups"])
    assert "petitioner_name" not in json.dumps(by_unit)


async def test_exports_csv_and_xlsx_with_every_lifecycle_date(servers: Servers, who: Actors, tmp_path: Path) -> None:
    pid = (await who.clerk.command("petitions", "raise", letter(SUCCESSOR, text=f"Xuất {TAG}")))["petition_id"]
    await who.clerk.command("petitions", "forward", {"petition_id": pid, "to_unit": "08"})
    await wait_projected(who.operator, "petitions")
    cli = [sys.executable, "-m", "caunoi.cli.main", "--json", "petitions", "list", "--search", f"xuat {TAG}"]
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"export.{fmt}"
        res = await asyncio.to_thread(
            subprocess.run, [*cli, "--export", str(out)], env=servers.env(), capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["rows"] == 1 and "1 / 1" in res.stderr  # progress on stderr
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        else:
            sheet = load_workbook(out).active
            assert sheet is not None
            values = list(sheet.iter_rows(values_only=True))
            rows = [dict(zip(values[0], r, strict=True)) for r in values[1:]]
        [row] = rows
        assert row["id"] == pid and str(row["received_on"])[:10] == "2026-11-01" and row["last_forwarded_on"]
        assert {"received_on", "classified_on", "accepted_on", "replied_on", "withdrawn_on", "merged_on"} <= set(row)
        assert "petitioner_name" not in row  # the operator is no official of the commune
