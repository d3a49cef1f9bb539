"""The reporting service as processes on real servers, beside the petitions and scheduling
services: it follows their streams with its bus permissions and compiles a commune's figures from
their events; reports fall due and are missing, filed late, seen by the tier above; a rebuild of
any read model (its own or the others') gives the same figures. And ``ReportDue`` exactly once on
real JetStream, with two duty runners at once (each with its own NATS connection and database
pool, as two processes) and a restart spanning the due time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest
from support import Servers, wait_projected

from caunoi.reporting.bootstrap import STREAM, wire
from caunoi.reporting.deps import Deps
from caunoi.reporting.domain.periods import TZ
from caunoi.reporting.duties import DUTIES
from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.clock import today_vn
from caunoi.shared.context import Role
from caunoi.shared.duties import DutyRunner
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

COMMUNE = "00778"  # Xã Sơn Vĩ (vn-2025), used by no other test
DUE_COMMUNE = "00787"  # Xã Sủng Máng


async def settled(c: Client) -> None:
    for service in ("petitions", "scheduling", "reporting"):
        await wait_projected(c, service)


async def compile_(c: Client, **body: Any) -> dict[str, Any]:
    await settled(c)
    out: dict[str, Any] = await c.query("reporting", "compile", body)
    return out["compilation"]  # type: ignore[no-any-return]


async def test_a_commune_reports_from_the_other_services_events_and_survives_rebuilds(
    servers: Servers, client: Client
) -> None:
    today = today_vn()
    hamlet = (await client.command("scheduling", "hamlet_add", {"commune_code": COMMUNE, "name": "Thôn Lũng Làn",
                                                                "kind": "thon"}))["hamlet_id"]  # fmt: skip
    await wait_projected(client, "scheduling")
    meeting = await client.command("scheduling", "dialogue_plan", {
        "plan_unit": COMMUNE, "commune_code": COMMUNE, "target_group": "citizens", "date": today.isoformat(),
        "venue": "Nhà văn hóa", "chair": "Bí thư Đảng ủy", "host_id": hamlet,
    })  # fmt: skip
    await client.command("scheduling", "meeting_hold", {
        "meeting_id": meeting["meeting_id"], "chair": "Bí thư Đảng ủy", "attendees": {"citizens": 31, "cadres": 4},
        "minutes_ref": "01/BB",
        "order_of_business": {"opening": "Khai mạc", "method": "Hỏi đáp", "conclusion": "Kết luận"},
    })  # fmt: skip
    await wait_projected(client, "petitions")
    raised = []
    for i, category in enumerate(("roads", "roads", "land")):
        out = await client.command("petitions", "raise", {
            "channel": "meeting", "category": category, "petitioner": {"name": f"Người dân {i}"},
            "commune_code": COMMUNE, "hamlet_id": hamlet, "text": "Ý kiến", "meeting_id": meeting["meeting_id"],
        })  # fmt: skip
        raised.append(out["petition_id"])
    await client.command("petitions", "answer", {"petition_id": raised[0], "answer": "Đã giải đáp", "answered_by": "A"})
    await client.command(
        "petitions", "forward", {"petition_id": raised[1], "to_unit": "08", "to_agency": "Sở Xây dựng"}
    )

    span = {"unit": COMMUNE, "from_date": (today - timedelta(days=3)).isoformat(), "to_date": today.isoformat()}
    comp = await compile_(client, **span)
    t = comp["totals"]
    assert (t["meetings_held"], t["attendees"], t["opinions"], t["opinions_at_meetings"]) == (1, 35, 3, 3)
    assert (t["answered_on_spot"], t["forwarded"], t["outstanding"]) == (1, 1, 2)
    assert t["opinions_by_field"] == {"land": 1, "roads": 2}
    assert t["forwarded_to"] == [{"to_unit": "08", "to_agency": "Sở Xây dựng", "count": 1}]
    assert [u["code"] for u in comp["by_unit"]] == [hamlet] and t["units_without_meeting"] == []

    # the commune owes weekly and monthly reports since 40 days ago: those fallen due are recorded now
    await client.command("reporting", "enrol", {"unit_code": COMMUNE, "schedules": ["weekly", "monthly"],
                                                "since": (today - timedelta(days=40)).isoformat()})  # fmt: skip
    await settled(client)
    recorded = (await client.admin("reporting", "duties"))["recorded"]
    assert len([d for d in recorded if d["duty"] == "report-due"]) >= 6
    await settled(client)
    await client.admin("reporting", "duties")  # their deadlines passed: overdue
    await settled(client)
    board = await client.query("reporting", "reports", {"unit": COMMUNE, "schedule": "weekly"})
    assert board["items"] and board["counts"]["missing"] >= 5
    last = board["items"][0]
    # filed by the commune's clerk: late
    login = servers.login(COMMUNE, Role.clerk)
    clerk = await servers.client(login)
    try:
        await clerk.command("reporting", "narrative", {"report_id": last["id"], "section": "assessment",
                                                       "text": "Tình hình ổn định."})  # fmt: skip
        filed = await clerk.command("reporting", "submit", {"report_id": last["id"]})
    finally:
        await clerk.close()
    assert filed["late"] is (last["status"] == "missing")
    await settled(client)
    shown = await client.query("reporting", "report", {"report_id": last["id"]})
    assert shown["status"] in ("late", "submitted") and shown["narrative"] == {"assessment": "Tình hình ổn định."}

    # a "Dân vận khéo" model of the commune, registered by its clerk over NATS; another commune's clerk
    # may not touch it
    clerk = await servers.client(login)
    other = await servers.client(servers.login("00787", Role.clerk))
    try:
        model = await clerk.command("reporting", "model_register", {
            "unit_code": COMMUNE, "name": "Dân vận khéo trong bảo vệ rừng", "holder": "Tổ bảo vệ rừng thôn",
            "field": "defence_security", "problem": "Phá rừng trái phép", "expected_results": "Không còn vụ phá rừng",
            "targets": [{"text": "Vụ phá rừng", "value": 0, "unit": "vụ", "direction": "at_most"}],
        })  # fmt: skip
        assert model["subject"] == f"caunoi.reporting.{model['model_id']}.08.{COMMUNE}"
        with pytest.raises(RequestFailed) as refused:
            await other.command("reporting", "model_monitor", {"model_id": model["model_id"], "kind": "activity",
                                                               "text": "x"})  # fmt: skip
        assert refused.value.error["code"] == "forbidden"
    finally:
        await clerk.close()
        await other.close()
    await settled(client)
    models = await client.query("reporting", "models", {"unit": COMMUNE})
    assert [m["id"] for m in models["items"]] == [model["model_id"]]

    before = (await compile_(client, **span), await client.query("reporting", "reports", {"unit": COMMUNE}), models)
    await client.admin("reporting", "rebuild", {})
    for name in ("petition_facts", "meeting_facts", "hamlets", "enrolments", "models"):
        await client.admin("reporting", "rebuild", {"projection": name})
    await client.admin("petitions", "rebuild", {})
    after = (await compile_(client, **span), await client.query("reporting", "reports", {"unit": COMMUNE}),
             await client.query("reporting", "models", {"unit": COMMUNE}))  # fmt: skip
    assert {k: v for k, v in after[0].items() if k != "compiled_from"} == {
        k: v for k, v in before[0].items() if k != "compiled_from"
    }
    assert after[1] == before[1] and after[2] == before[2]
    assert after[0]["totals"]["models_registered"] == 1


@asynccontextmanager
async def runner(servers: Servers, moment: datetime) -> AsyncIterator[DutyRunner[Deps]]:
    """The reporting duties as a service process runs them, whose clock says ``moment``."""
    nc = await servers.connect()
    pool = await asyncpg.create_pool(
        database_url_with(servers.database_url, "caunoi_reporting"), min_size=1, max_size=2
    )
    deps = wire(JetStreamEventStore(nc, STREAM), UnitTree.load("vn-2025"), pool)
    try:
        yield DutyRunner("reporting", DUTIES, deps, clock=lambda: moment)
    finally:
        await pool.close()
        await nc.close()


async def due_events(client: Client, report_id: str) -> list[str]:
    nc = client.nc
    msgs = await JetStreamEventStore(nc, STREAM).load(report_id)
    return [CloudEvent.from_json_bytes(m.data).type.rsplit(".", 2)[-2] for m in msgs]


async def test_report_due_exactly_once_on_jetstream_with_two_runners_and_a_restart(
    servers: Servers, client: Client
) -> None:
    today = today_vn()
    thursday = today + timedelta(days=(4 - today.isoweekday()) % 7 or 7)
    await client.command("reporting", "enrol", {"unit_code": DUE_COMMUNE, "schedules": ["weekly"],
                                                "since": today.isoformat()})  # fmt: skip
    await settled(client)
    iso = thursday.isocalendar()
    rid = f"BC-{DUE_COMMUNE}-weekly-{iso.year}-W{iso.week:02d}"

    def at(day: Any, hh: int, mm: int) -> datetime:
        return datetime.combine(day, time(hh, mm), TZ).astimezone(UTC)

    async with runner(servers, at(thursday, 13, 29)) as early:
        assert [d for d in await early.tick() if d["aggregate_id"] == rid] == []
    # two processes at once when it falls due
    async with runner(servers, at(thursday, 13, 30)) as a, runner(servers, at(thursday, 13, 30)) as b:
        done = await asyncio.gather(a.tick(), b.tick(), a.tick())
    assert [d["duty"] for r in done for d in r if d["aggregate_id"] == rid] == ["report-due"]
    # the service down over the deadline, restarted the next day: the overdue once, the due not again
    await settled(client)
    async with runner(servers, at(thursday + timedelta(days=1), 9, 0)) as restarted:
        again = await restarted.tick()
        await settled(client)
        again += await restarted.tick()
    assert [d["duty"] for d in again if d["aggregate_id"] == rid] == ["report-overdue"]
    await settled(client)
    async with runner(servers, at(thursday + timedelta(days=2), 9, 0)) as later:
        assert [d for d in await later.tick() if d["aggregate_id"] == rid] == []
    assert await due_events(client, rid) == ["ReportDue", "ReportOverdue"]
