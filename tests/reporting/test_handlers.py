"""The reporting service through the request edge (in-memory store, real read models): enrolment,
``ReportDue`` exactly once per unit, schedule and period (across a restart spanning the due time,
with the service down at the due time, with two runners at once), ``ReportOverdue``, the filing
of a report (draft, narrative, corrections beside the computed figures, submit), what the tier
above sees, and refusals that store nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from reporting.harness import Reporting
from support import credential

from caunoi.reporting.domain.periods import TZ
from caunoi.shared.context import Role
from caunoi.shared.duties import DutyRunner
from caunoi.shared.hamlets import SCHEDULING_STREAM
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Pool

pytestmark = pytest.mark.asyncio

PROVINCE, COMMUNE, OTHER = "08", "00691", "00694"
CLERK = credential(COMMUNE, Role.clerk)
OTHER_CLERK = credential(OTHER, Role.clerk)
OFFICER = credential(PROVINCE, Role.officer)


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ).astimezone(UTC)


async def service(pool: Pool, now: datetime) -> Reporting:
    from caunoi.petitions.bootstrap import STREAM

    return await Reporting(pool, InMemoryEventStore(STREAM), InMemoryEventStore(SCHEDULING_STREAM), now).setup()


async def types(svc: Reporting) -> Counter[str]:
    return Counter((m.type_name or "").rsplit(".", 2)[-2] for m in await svc.store.read(1, 100_000))


async def test_report_due_once_per_unit_schedule_and_period(pool: Pool) -> None:
    svc = await service(pool, at(2026, 5, 20))
    out = await svc.ok("enrol", {"unit_code": COMMUNE, "schedules": ["weekly", "monthly"], "since": "2026-05-01"},
                       as_=OFFICER)  # fmt: skip
    assert out["schedules"] == ["weekly", "monthly"]
    await svc.ok("enrol", {"unit_code": PROVINCE, "schedules": ["monthly"], "since": "2026-05-01"}, as_=OFFICER)
    # the service was down since 1 May: on its first tick it catches up, once per period
    done = await svc.tick()
    due = sorted(d["aggregate_id"] for d in done if d["duty"] == "report-due")
    assert due == [
        "BC-00691-monthly-2026-05", "BC-00691-weekly-2026-W19", "BC-00691-weekly-2026-W20", "BC-08-monthly-2026-05",
    ]  # fmt: skip
    # restarted (a new runner) and two runners at once, later the same day: nothing new
    again = [DutyRunner("reporting", svc.duties.duties, svc.deps, clock=lambda: at(2026, 5, 20, 18)) for _ in range(2)]
    results = await asyncio.gather(*(r.tick() for r in again))
    assert [d for r in results for d in r if d["duty"] == "report-due"] == []
    # the deadlines of those already passed: ReportOverdue, once each, whichever runner got there first
    assert sorted(d["aggregate_id"] for r in results for d in r) == due
    assert await again[1].tick() == []
    assert (await types(svc))["ReportDue"] == 4 and (await types(svc))["ReportOverdue"] == 4

    # the next quick report: not before 13:30 on Thursday; then once, from two runners racing
    svc.now = at(2026, 5, 21, 13, 29)
    assert [d for d in await svc.tick() if d["duty"] == "report-due"] == []
    moment = at(2026, 5, 21, 13, 30)
    racing = [DutyRunner("reporting", svc.duties.duties, svc.deps, clock=lambda: moment) for _ in range(3)]
    results = await asyncio.gather(*(r.tick() for r in racing))
    await svc.projected()
    assert [d["aggregate_id"] for r in results for d in r] == ["BC-00691-weekly-2026-W21"]
    assert (await types(svc))["ReportDue"] == 5

    # a restart spanning the due time: down before it, up again a day after
    svc.now = at(2026, 5, 28, 9)
    assert [d for d in await svc.tick() if d["duty"] == "report-due"] == []
    svc.now = at(2026, 5, 29, 9)
    fresh = DutyRunner("reporting", svc.duties.duties, svc.deps, clock=lambda: svc.now)
    assert [d["aggregate_id"] for d in await fresh.tick() if d["duty"] == "report-due"] == ["BC-00691-weekly-2026-W22"]
    await svc.projected()
    assert [d for d in await fresh.tick() if d["duty"] == "report-due"] == []
    assert (await types(svc))["ReportDue"] == 6
    # each was recorded by the service itself, with the period and the deadline
    msg, *_ = await svc.store.load("BC-00691-weekly-2026-W22")
    from caunoi.shared.envelope import CloudEvent

    env = CloudEvent.from_json_bytes(msg.data)
    assert env.actor == "system:reporting" and env.unitcode == COMMUNE
    assert env.data["due_at"] == "2026-05-28T14:00:00+07:00" and env.data["to_unit"] == PROVINCE
    assert msg.subject == "caunoi.reporting.BC-00691-weekly-2026-W22.08.00691"


async def test_overdue_then_filed_late_and_the_tier_above_sees_who_filed(pool: Pool) -> None:
    svc = await service(pool, at(2026, 5, 14))
    await svc.ok("enrol", {"unit_code": COMMUNE, "schedules": ["monthly"], "since": "2026-05-01"}, as_=OFFICER)
    await svc.ok("enrol", {"unit_code": OTHER, "schedules": ["monthly"], "since": "2026-05-01"}, as_=OFFICER)
    svc.now = at(2026, 5, 15, 9)
    await svc.tick()
    rid, other = "BC-00691-monthly-2026-05", "BC-00694-monthly-2026-05"
    # the commune files in time: its narrative, a correction beside the computed figure, submit
    await svc.ok("narrative", {"report_id": rid, "section": "assessment", "text": "Nhân dân đồng thuận cao."},
                 as_=CLERK)  # fmt: skip
    fixed = await svc.ok("correct", {"report_id": rid, "figure": "attendees", "value": 85,
                                     "reason": "Biên bản ghi thiếu 85 người"}, as_=CLERK)  # fmt: skip
    assert fixed["corrections"]["attendees"] == {"value": 85, "computed": 0, "reason": "Biên bản ghi thiếu 85 người"}
    shown = await svc.ok("report", {"report_id": rid}, as_=OFFICER)
    assert shown["compilation"]["totals"]["attendees"] == 0 and shown["final"]["attendees"] == 85
    assert shown["status"] == "pending" and shown["narrative"] == {"assessment": "Nhân dân đồng thuận cao."}
    # what a client offers: the filing commands to the commune's clerk alone (the tier above reads)
    assert (shown["actions"], shown["correctable"]) == ([], [])
    own = await svc.ok("report", {"report_id": rid}, as_=CLERK)
    assert own["actions"] == ["narrative", "correct", "submit"] and "attendees" in own["correctable"]
    assert "on_time_rate" not in own["correctable"]
    assert (await svc.ok("report", {"report_id": rid}, as_=credential("", Role.auditor)))["actions"] == []
    filed = await svc.ok("submit", {"report_id": rid}, as_=CLERK)
    assert filed["late"] is False and filed["submitted_at"]
    assert (await svc.ok("report", {"report_id": rid}, as_=CLERK))["actions"] == []

    # the other does not: at 17:00 its deadline passes, ReportOverdue once
    svc.now = at(2026, 5, 15, 17, 1)
    done = await svc.tick()
    assert [(d["duty"], d["aggregate_id"]) for d in done] == [("report-overdue", other)]
    assert await svc.tick() == []
    board = await svc.ok("reports", {"unit": PROVINCE, "schedule": "monthly", "period": "2026-05"}, as_=OFFICER)
    assert {i["unit_code"]: i["status"] for i in board["items"]} == {COMMUNE: "submitted", OTHER: "missing"}
    assert board["counts"]["missing"] == 1
    # filed the next day: late
    svc.now = at(2026, 5, 16, 8)
    late = await svc.ok("submit", {"report_id": other}, as_=OTHER_CLERK)
    assert late["late"] is True
    board = await svc.ok("reports", {"unit": PROVINCE, "schedule": "monthly", "period": "2026-05"}, as_=OFFICER)
    assert {i["unit_code"]: i["status"] for i in board["items"]} == {COMMUNE: "submitted", OTHER: "late"}
    assert (await types(svc))["ReportOverdue"] == 1
    # a submitted report is final
    err = await svc.error("narrative", {"report_id": rid, "section": "proposals", "text": "x"}, as_=CLERK)
    assert err["code"] == "invalid_state"


async def test_refusals_store_nothing(pool: Pool) -> None:
    svc = await service(pool, at(2026, 5, 20))
    # enrolment: unknown schedule, one that does not apply, a unit outside the actor's area
    assert (await svc.error("enrol", {"unit_code": COMMUNE, "schedules": ["nope"]}))["code"] == "unknown_schedule"
    err = await svc.error("enrol", {"unit_code": COMMUNE, "schedules": ["p1_yearly"]})
    assert err["code"] == "invalid" and err["field"] == "schedule"
    err = await svc.error("enrol", {"unit_code": COMMUNE, "schedules": ["monthly"]}, as_=OTHER_CLERK)
    assert err["code"] == "forbidden"
    err = await svc.error("enrol", {"unit_code": COMMUNE, "schedules": ["monthly"], "since": "2020-01-01"})
    assert err["field"] == "since"
    assert (await svc.error("enrol", {"unit_code": "99999", "schedules": ["monthly"]}))["code"] == "unknown_unit"
    # opening: a bad period, another unit's report, one already open
    err = await svc.error("open", {"unit_code": COMMUNE, "schedule": "monthly", "period": "2026-13"}, as_=CLERK)
    assert err["field"] == "period"
    err = await svc.error("open", {"unit_code": COMMUNE, "schedule": "monthly"}, as_=OFFICER)
    assert err["code"] == "forbidden"
    opened = await svc.ok("open", {"unit_code": COMMUNE, "schedule": "monthly", "period": "2026-06"}, as_=CLERK)
    rid = opened["report_id"]
    assert rid == "BC-00691-monthly-2026-06"
    err = await svc.error("open", {"unit_code": COMMUNE, "schedule": "monthly", "period": "2026-06"}, as_=CLERK)
    assert err["code"] == "duplicate"
    # filing: before the period ends (not offered), by another unit, an uncorrectable figure, nothing to withdraw
    assert (await svc.ok("report", {"report_id": rid}, as_=CLERK))["actions"] == ["narrative", "correct"]
    err = await svc.error("submit", {"report_id": rid}, as_=CLERK)
    assert err["code"] == "invalid_state" and "2026-06-14" in str(err["details"])
    assert (await svc.error("submit", {"report_id": rid}, as_=OFFICER))["code"] == "forbidden"
    assert (await svc.error("submit", {"report_id": rid}, as_=OTHER_CLERK))["code"] == "forbidden"
    body = {"report_id": rid, "figure": "on_time_rate", "value": 1, "reason": "x"}
    assert (await svc.error("correct", body, as_=CLERK))["field"] == "figure"
    body = {"report_id": rid, "figure": "attendees", "reason": "x"}
    assert (await svc.error("correct", body, as_=CLERK))["code"] == "invalid_state"
    assert (await svc.error("submit", {"report_id": "BC-00691-monthly-2026-01"}, as_=CLERK))["code"] == "not_found"
    # queries: another commune's report or figures
    assert (await svc.error("report", {"report_id": rid}, as_=OTHER_CLERK))["code"] == "forbidden"
    assert (await svc.error("compile", {"unit": COMMUNE, "schedule": "monthly"}, as_=OTHER_CLERK))[
        "code"
    ] == "forbidden"
    assert (await svc.error("reports", {"unit": PROVINCE}, as_=CLERK))["code"] == "forbidden"
    # an ad-hoc report: the unit's own, without a schedule
    adhoc = await svc.ok("open", {"unit_code": COMMUNE, "title": "Báo cáo vụ sạt lở", "from_date": "2026-05-01",
                                  "to_date": "2026-05-10"}, as_=CLERK)  # fmt: skip
    assert adhoc["report_id"].startswith("BC-00691-adhoc-") and adhoc["due_at"] is None
    assert (await svc.ok("submit", {"report_id": adhoc["report_id"]}, as_=CLERK))["late"] is False
    # the same command id again stores nothing new
    cmd = {"report_id": rid, "section": "situation", "text": "Ổn định", "command_id": "n-1"}
    assert (await svc.ok("narrative", cmd, as_=CLERK))["replayed"] is False
    assert (await svc.ok("narrative", cmd, as_=CLERK))["replayed"] is True
    _ = date
