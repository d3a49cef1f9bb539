"""Must show: on a generated year of events (tests/reporting/world.py: four communes, half of it
recorded under the legacy units), every figure the reporting service compiles equals a count made
here independently from the raw events, decoded with the **producers'** own event models and
folded with the petitions service's **own read-model fold** (its status, overdue flag and
on-time judgment), for the province and each commune, for the year and for every month; the
figures of the units below add up to the province's; and a report compiled from a full replay of
both streams into a fresh database is identical to the one kept live, batch by batch, while the
year was generated."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
import pytest_asyncio
from reporting.harness import UNITS, Reporting, fresh_pool
from reporting.world import COMMUNES, PROVINCE, World, noon
from support import Servers

from caunoi.petitions.events import PetitionForwarded, PetitionRaised
from caunoi.petitions.events import registry as petition_events
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.reporting.compilation import compile_report
from caunoi.reporting.domain.petition_life import Life
from caunoi.reporting.events import Compilation
from caunoi.reporting.queries import P, petition_facts
from caunoi.scheduling.events import registry as scheduling_events
from caunoi.shared.clock import VN
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Pool
from caunoi.shared.recorded import RecordedEvent, decode_message
from caunoi.shared.units import Succession

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

YEAR = (date(2024, 12, 15), date(2025, 12, 14))
MONTHS = [(date(2025, m - 1, 15) if m > 1 else date(2024, 12, 15), date(2025, m, 14)) for m in range(1, 13)]
SUCCESSION = Succession.load()


@dataclass
class Generated:
    world: World
    live: Reporting
    replay_pool: Pool


async def everything(store: InMemoryEventStore, registry: Any) -> list[RecordedEvent]:
    msgs = await store.read(1, 1_000_000)
    return [decode_message(registry, m) for m in msgs if registry.knows(m.type_name or "")]


@pytest_asyncio.fixture(scope="module")
async def generated(servers: Servers) -> AsyncIterator[Generated]:
    petitions_pool = await fresh_pool(servers, "t_year_pet")
    reporting_pool = await fresh_pool(servers, "t_year_rep")
    replay_pool = await fresh_pool(servers, "t_year_replay")
    world = World(petitions_pool)
    await world.p_runner.setup()
    live = await Reporting(reporting_pool, world.petitions_store, world.scheduling_store, world.now, batch=7).setup()
    # the live read models follow the streams week by week, in small batches, as the year goes by
    await world.run(each_week=live.projected)
    await live.projected()
    try:
        yield Generated(world, live, replay_pool)
    finally:
        for p in (petitions_pool, reporting_pool, replay_pool):
            await p.close()


# --- the independent count --------------------------------------------------------------------------


def in_2025(commune: str, dataset: str) -> str | None:
    """The 2025 commune a record belongs to (legacy ones through their successor)."""
    if dataset == "vn-2025":
        return commune
    found = [s for s in SUCCESSION.successors(commune) if s in COMMUNES]
    return found[0] if found else None


def event_day(rec: RecordedEvent) -> date:
    # noticed_on first: a delay notice also carries the day the petition was received
    for name in ("noticed_on", "received_on", "answered_on", "classified_on", "forwarded_on", "returned_on",
                 "accepted_on", "extended_on", "issued_on", "given_on", "withdrawn_on", "merged_on"):  # fmt: skip
        if (d := getattr(rec.event, name, None)) is not None:
            return d  # type: ignore[no-any-return]
    return rec.envelope.time.astimezone(VN).date()


def expected(petitions: list[RecordedEvent], meetings: list[RecordedEvent], communes: set[str],
             start: date, end: date) -> dict[str, Any]:  # fmt: skip
    """Every figure, counted from the raw events, for the 2025 communes ``communes``."""

    def within(d: date | None) -> bool:
        return d is not None and start <= d <= end

    by_meeting: dict[str, list[Any]] = {}
    for rec in meetings:
        by_meeting.setdefault(rec.envelope.subject, []).append(rec.event)
    planned = held = p1 = p2 = attendees = 0
    hosts: set[str] = set()
    for evs in by_meeting.values():
        first = evs[0]
        if in_2025(first.commune_code, first.dataset) not in communes:
            continue
        when, cancelled, held_on = first.date, False, None
        for ev in evs:
            name = type(ev).__name__
            if name in ("MeetingMoved", "MeetingPostponed"):
                when = ev.date
            if name == "MeetingCancelled":
                cancelled = True
            if name == "MeetingHeld":
                held_on = ev.held_on
                if within(held_on):
                    held += 1
                    p1 += ev.programme.value == "p1"
                    p2 += ev.programme.value == "p2"
                    attendees += ev.attendees_total
                    hosts.add(in_2025(ev.commune_code, ev.dataset) or "")
        if not cancelled and within(held_on or when):
            planned += 1

    fold = PetitionsProjection()
    rows: dict[str, dict[str, Any]] = {}
    raised, answered, replies, notices, on_time, timed = [], 0, 0, 0, 0, 0
    forwarded: set[str] = set()
    resolved: set[str] = set()
    to_whom: Counter[tuple[str, str | None]] = Counter()
    outstanding_rows: dict[str, dict[str, Any]] = {}
    mine: set[str] = set()
    for rec in petitions:
        pid, ev, name = rec.envelope.subject, rec.event, type(rec.event).__name__
        if isinstance(ev, PetitionRaised) and in_2025(ev.commune_code, ev.dataset) in communes:
            mine.add(pid)
        if pid not in mine:
            continue
        row = fold.fold(rows.get(pid), rec)
        assert row is not None  # the fold gives a petition's row for each of its events
        rows[pid] = row
        day = event_day(rec)
        if day <= end:
            outstanding_rows[pid] = row
        if not within(day):
            continue
        if name == "PetitionRaised":
            raised.append(pid)
        elif name == "PetitionAnsweredOnSpot":
            answered += 1
            resolved.add(pid)
        elif isinstance(ev, PetitionForwarded):
            forwarded.add(pid)
            to_whom[(ev.to_unit, ev.to_agency)] += 1
        elif name == "ReplyIssued":
            replies += 1
            resolved.add(pid)
            if row["on_time"] is not None:
                timed += 1
                on_time += row["on_time"]
        elif name == "DelayNoticeRequired":
            notices += 1
    final = {pid: rows[pid] for pid in raised}
    open_ = {"received", "classified", "forwarded", "returned", "accepted", "in_progress", "reopened"}
    return {
        "meetings_planned": planned, "meetings_held": held, "meetings_held_p1": p1, "meetings_held_p2": p2,
        "attendees": attendees, "held_in": hosts,
        "opinions": len(raised),
        "opinions_at_meetings": sum(1 for r in final.values() if r["channel"] == "meeting"),
        "opinions_by_field": dict(Counter(r["category"] for r in final.values())),
        "opinions_by_channel": dict(Counter(r["channel"] for r in final.values())),
        "answered_on_spot": answered, "forwarded": len(forwarded),
        "forwarded_to": {(u, a): n for (u, a), n in to_whom.items()},
        "resolved": len(resolved), "replies_sent": replies, "delay_notices_sent": notices,
        "outstanding": sum(1 for r in outstanding_rows.values() if r["status"] in open_),
        "overdue": sum(1 for r in outstanding_rows.values() if r["status"] in open_ and r["overdue"]),
        "on_time": on_time, "timed": timed,
    }  # fmt: skip


def check(got: Compilation | Any, want: dict[str, Any], what: str) -> None:
    f = got.totals if isinstance(got, Compilation) else got
    for key, value in want.items():
        if key == "held_in":
            continue
        if key == "forwarded_to":
            mine = {(x.to_unit, x.to_agency): x.count for x in f.forwarded_to}
            assert mine == value, f"{what}: {key}"
        elif key.startswith("opinions_by"):
            assert getattr(f, key) == dict(sorted(value.items())), f"{what}: {key}"
        else:
            assert getattr(f, key) == value, f"{what}: {key}: compiled {getattr(f, key)}, counted {value}"


async def compiled(pool: Pool, unit: str, start: date, end: date) -> Compilation:
    async with pool.acquire() as conn:
        return await compile_report(conn, UNITS.get(unit), UNITS, start, end)


async def test_every_figure_equals_an_independent_count_of_the_raw_events(generated: Generated) -> None:
    world, live = generated.world, generated.live
    petitions = await everything(world.petitions_store, petition_events)
    meetings = [r for r in await everything(world.scheduling_store, scheduling_events)
                if type(r.event).__name__.startswith("Meeting")]  # fmt: skip
    # the generated year has every kind of fact, before and after the reform
    kinds = Counter(type(r.event).__name__ for r in petitions)
    assert {"PetitionOverdue", "DelayNoticeRequired", "ReplyIssued", "PetitionAnsweredOnSpot", "PetitionForwarded",
            "PetitionWithdrawn", "VerdictGiven"} <= set(kinds), kinds  # fmt: skip
    assert {r.event.dataset for r in petitions if isinstance(r.event, PetitionRaised)} == {"vn-2024", "vn-2025"}
    assert any((p := getattr(r.event, "programme", None)) is not None and p.value == "p1" for r in meetings)

    all_communes = set(COMMUNES)
    for start, end in [YEAR, *MONTHS]:
        totals = await compiled(live.pool, PROVINCE, start, end)
        want = expected(petitions, meetings, all_communes, start, end)
        check(totals, want, f"province {start}..{end}")
        for commune in COMMUNES:
            got = await compiled(live.pool, commune, start, end)
            check(got, expected(petitions, meetings, {commune}, start, end), f"{commune} {start}..{end}")
            unit_row = next(u for u in totals.by_unit if u.code == commune)
            check(unit_row.figures, expected(petitions, meetings, {commune}, start, end), f"row {commune}")
        # the province's communes that held none: every commune of the province but those that held one
        province_communes = {u.code for u in UNITS.descendants(PROVINCE) if u.level == "commune"}
        assert {u.code for u in totals.totals.units_without_meeting} == province_communes - want["held_in"]
        # the units below add up to the province (none of these communes shares a divided predecessor)
        for key in ("meetings_held", "attendees", "opinions", "answered_on_spot", "replies_sent", "outstanding"):
            assert sum(getattr(u.figures, key) for u in totals.by_unit) == getattr(totals.totals, key), key

    year = await compiled(live.pool, PROVINCE, *YEAR)
    assert year.totals.meetings_held > 30 and year.totals.opinions > 150 and year.totals.overdue > 0
    assert year.totals.delay_notices_sent > 0 and 0 < year.totals.on_time < year.totals.timed


async def test_the_reporting_reading_of_a_petition_agrees_with_the_petitions_read_model(generated: Generated) -> None:
    """On-time and overdue as reporting judges them (from the events) equal the petitions
    service's own read model, petition by petition, today."""

    today = generated.world.today
    async with generated.world.petitions_pool.acquire() as conn:
        theirs = {
            r["id"]: dict(r) for r in await conn.fetch("SELECT id, on_time, overdue, status FROM petitions.petitions")
        }
    async with generated.live.pool.acquire() as conn:
        codes = [f"vn-2025:{PROVINCE}", "vn-2024:02"]
        mine = {r["petition_id"]: Life.of(r) for r in await petition_facts(conn, codes, date(2000, 1, 1), today)}
        assert await conn.fetchval(f"SELECT count(*) FROM {P}") == len(theirs)
    assert set(mine) == set(theirs) and len(mine) > 150
    for pid, row in theirs.items():
        life = mine[pid]
        assert life.overdue_on(today) == row["overdue"], pid
        open_ = {"received", "classified", "forwarded", "returned", "accepted", "in_progress", "reopened"}
        assert life.outstanding_on(today) == (row["status"] in open_), pid
        if row["on_time"] is not None:
            assert life.replies[-1][1] == row["on_time"], pid


async def test_a_report_from_a_full_replay_is_identical_to_the_live_one(generated: Generated) -> None:
    world = generated.world
    replay = await Reporting(generated.replay_pool, world.petitions_store, world.scheduling_store, world.now,
                             batch=10_000).setup()  # fmt: skip
    await replay.projected()
    for r_live, r_replay in zip(generated.live.runners, replay.runners, strict=True):
        assert await r_live.snapshot() == await r_replay.snapshot(), r_live.projection.name
    for unit in (PROVINCE, *COMMUNES):
        for start, end in (YEAR, MONTHS[6], MONTHS[11]):
            assert await compiled(replay.pool, unit, start, end) == await compiled(
                generated.live.pool, unit, start, end
            )
    # and the view a clerk gets through the request edge
    body = {"unit": PROVINCE, "schedule": "yearly", "period": "2025-12"}
    for h in (generated.live, replay):
        h.now = noon(date(2026, 1, 5))
    assert await replay.ok("compile", body) == await generated.live.ok("compile", body)
    _ = datetime


async def test_the_printed_report_opens_keeps_its_diacritics_and_holds_the_charts(generated: Generated) -> None:
    """The province's yearly report as the CLI prints it (``caunoi reporting compile --pdf``): the
    PDF opens with an independent reader (pypdf), its text extracts with the Vietnamese diacritics
    intact, its font is embedded, and it holds the three charts; the CSV and XLSX hold the figures."""
    import io
    import unicodedata

    import openpyxl
    from pypdf import PdfReader

    from caunoi.reporting import export, printout

    live = generated.live
    live.now = noon(date(2026, 1, 5))
    result = await live.ok("compile", {"unit": PROVINCE, "schedule": "yearly", "period": "2025-12"})
    view = printout.view_of_compilation(result)
    pdf = printout.render(view, date(2026, 1, 5))
    reader = PdfReader(io.BytesIO(pdf))
    text = unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in reader.pages))
    for phrase in ("BÁO CÁO", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Tỉnh Tuyên Quang",
                   "Năm 2025", "KẾT QUẢ THỰC HIỆN", "Hội nghị tiếp xúc, đối thoại", "Phường Hà Giang 2", "Xã Phú Linh",
                   "Tiếp nhận", "ý kiến, kiến nghị", "Tỷ lệ đúng hạn", "Nơi nhận", "NHẬN XÉT, ĐÁNH GIÁ"):  # fmt: skip
        assert phrase in text, phrase
    figures = result["compilation"]["totals"]
    assert f"{figures['opinions']} ý kiến" in text and f"{figures['meetings_held']} cuộc hội nghị" in text
    images = [img for page in reader.pages for img in page.images]
    assert len(images) >= 3
    fonts = [f.get_object() for page in reader.pages if "/Font" in page["/Resources"]  # type: ignore[operator]
             for f in page["/Resources"]["/Font"].values()]  # type: ignore[index]  # fmt: skip
    assert fonts and all("DejaVuSerif" in str(f["/BaseFont"]) for f in fonts)
    # embedded: each font carries its TrueType program
    assert all("/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts)

    rows = export.to_csv(view).decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Mã,Đơn vị,Hội nghị theo kế hoạch") and rows[-1].startswith("08,Tỉnh Tuyên Quang,")
    assert str(figures["meetings_planned"]) == rows[-1].split(",")[2]
    book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(view)))
    assert book.sheetnames == ["Số liệu", "Theo đơn vị", "Lĩnh vực", "Kênh", "Theo tháng"]
    sheet = {r[1]: r[2] for r in book["Số liệu"].iter_rows(min_row=2, values_only=True)}
    assert sheet["opinions"] == figures["opinions"] and sheet["attendees"] == figures["attendees"]
