"""Report schedules as data: the periods and due times of the shipped file (the seeds' Thursday
13:30 / 14:00 and the 15th; the 2025 periods counted from the year's start), an operator's own
file through CAUNOI_REPORTING_SCHEDULES, and a wrong file refused with its name and field."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from caunoi.reporting import schedules
from caunoi.reporting.domain.periods import TZ

SHIPPED = schedules.shipped()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_the_quick_report_covers_friday_to_thursday_compiled_at_13_30_due_at_14_00() -> None:
    weekly = SHIPPED.get("weekly")
    assert weekly is not None
    p = weekly.period("2026-W21")
    assert (p.start, p.end) == (date(2026, 5, 15), date(2026, 5, 21)) and p.end.isoweekday() == 4
    assert (p.opens_at, p.due_at) == (at(2026, 5, 21, 13, 30), at(2026, 5, 21, 14))
    assert p.opens_at.utcoffset() is not None and p.opens_at.utcoffset().total_seconds() == 7 * 3600  # type: ignore[union-attr]
    # what falls due in May 2026: every Thursday, once
    keys = [x.key for x in weekly.periods_opening(at(2026, 5, 1), at(2026, 5, 31, 23, 59))]
    assert keys == ["2026-W19", "2026-W20", "2026-W21", "2026-W22"]
    assert weekly.periods_opening(at(2026, 5, 21, 13, 29), at(2026, 5, 21, 13, 30))[0].key == "2026-W21"
    assert weekly.periods_opening(at(2026, 5, 21, 13, 30), at(2026, 5, 21, 23)) == []


def test_periodic_reports_are_due_on_the_15th_with_the_14th_as_cut_off() -> None:
    monthly, quarterly, yearly = (SHIPPED.get(s) for s in ("monthly", "quarterly", "yearly"))
    assert monthly and quarterly and yearly
    m = monthly.period("2026-01")
    assert (m.start, m.end, m.due_at) == (date(2025, 12, 15), date(2026, 1, 14), at(2026, 1, 15, 17))
    assert m.label_vi == "Tháng 1/2026"
    q = quarterly.period("2026-06")
    assert (q.start, q.end, q.label_vi) == (date(2026, 3, 15), date(2026, 6, 14), "Quý II/2026")
    y = yearly.period("2025-12")
    assert (y.start, y.end, y.label_vi) == (date(2024, 12, 15), date(2025, 12, 14), "Năm 2025")
    with pytest.raises(ValueError, match="months"):
        quarterly.period("2026-05")
    assert monthly.latest(at(2026, 5, 15, 7, 59)).key == "2026-04"
    assert monthly.latest(at(2026, 5, 15, 8)).key == "2026-05"


def test_the_2025_periods_count_from_the_start_of_the_year_and_have_no_district_tier() -> None:
    new = {s.id for s in SHIPPED.for_dataset("vn-2025")}
    assert new == {"weekly", "monthly", "q1", "six_months", "nine_months", "yearly"}
    nine = SHIPPED.get("nine_months")
    assert nine is not None and nine.period("2026-09").start == date(2025, 12, 15)
    assert nine.period("2026-09").label_vi == "9 tháng năm 2026"
    assert all("district" not in s.levels for s in SHIPPED.items if s.datasets == ("vn-2025",))
    legacy = {s.id for s in SHIPPED.for_dataset("vn-2024")}
    assert {"p1_half_yearly", "p1_yearly", "quarterly", "half_yearly"} <= legacy
    p1 = SHIPPED.get("p1_yearly")
    assert p1 is not None and p1.levels == ("district",) and p1.period("2025-11").due_at == at(2025, 11, 15, 17)


def test_an_operator_file_replaces_the_shipped_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lich.toml"
    path.write_text(
        'version = "tinh-08-1"\n[[schedule]]\nid = "weekly"\nvi = "Báo cáo nhanh"\nen = "Quick"\nevery = "week"\n'
        'weekday = 5\ncompile_time = "09:00"\ndue_time = "10:00"\nlevels = ["commune"]\ndatasets = ["vn-2025"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CAUNOI_REPORTING_SCHEDULES", str(path))
    loaded = schedules.load()
    assert loaded.version == "tinh-08-1" and [s.id for s in loaded.items] == ["weekly"]
    p = loaded.items[0].period("2026-W21")
    assert p.end == date(2026, 5, 22) and p.due_at.time() == time(10)

    path.write_text('version = "x"\n[[schedule]]\nid = "Bad Id"\n', encoding="utf-8")
    with pytest.raises(schedules.ScheduleError, match=r"lich\.toml.*id"):
        schedules.load()
    monkeypatch.setenv("CAUNOI_REPORTING_SCHEDULES", str(tmp_path / "missing.toml"))
    with pytest.raises(schedules.ScheduleError, match="CAUNOI_REPORTING_SCHEDULES"):
        schedules.load()
