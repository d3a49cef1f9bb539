"""Working days as Vietnamese offices count them, from the holidays library: weekends, Tết, National
Day and the substitute days off skipped; the Saturdays worked in exchange counted."""

from __future__ import annotations

from datetime import date

import pytest

from caunoi.shared.workdays import DayUnit, WorkingCalendar, calendar_vn

CAL = calendar_vn()


def test_tet_2026_is_skipped() -> None:
    # Friday 13 February 2026 is the last working day before Tết (16-20 February)
    assert [CAL.is_working_day(date(2026, 2, d)) for d in range(13, 24)] == [
        True, False, False, False, False, False, False, False, False, False, True,
    ]  # fmt: skip
    assert CAL.add(date(2026, 2, 13), 1, DayUnit.working) == date(2026, 2, 23)
    assert CAL.add(date(2026, 2, 13), 10, "working") == date(2026, 3, 6)
    assert CAL.add(date(2026, 2, 13), 10, "calendar") == date(2026, 2, 23)
    assert CAL.subtract(date(2026, 2, 23), 1, "working") == date(2026, 2, 13)
    assert CAL.between(date(2026, 2, 13), date(2026, 3, 6), "working") == 10
    assert CAL.between(date(2026, 3, 6), date(2026, 2, 13), "working") == -10
    assert CAL.holiday(date(2026, 2, 17)) is not None and CAL.holiday(date(2026, 2, 23)) is None


def test_national_day_2026_with_its_substitute_day_off_and_the_saturday_worked() -> None:
    # 31 August (Monday) off in exchange for Saturday 22 August; 1-2 September National Day
    assert not CAL.is_working_day(date(2026, 8, 31))
    assert not CAL.is_working_day(date(2026, 9, 2))
    assert CAL.is_working_day(date(2026, 8, 22))
    assert CAL.add(date(2026, 8, 28), 1, "working") == date(2026, 9, 3)
    assert CAL.add(date(2026, 8, 28), 3, "working") == date(2026, 9, 7)
    assert CAL.add(date(2026, 8, 21), 1, "working") == date(2026, 8, 22)


def test_tet_2027_too_and_bad_counts() -> None:
    assert CAL.add(date(2027, 2, 3), 1, "working") == date(2027, 2, 11)
    assert CAL.add(date(2027, 2, 3), 0, "working") == date(2027, 2, 3)
    with pytest.raises(ValueError):
        CAL.add(date(2027, 2, 3), -1)
    with pytest.raises(ValueError):
        CAL.add(date(2027, 2, 3), 1, "fortnights")
    assert WorkingCalendar("VN").is_working_day(date(2027, 2, 11))


def test_the_calendar_loads_vietnam_alone_and_gives_what_the_librarys_usual_way_gives() -> None:
    """The service builds its calendar from the library's Vietnam module loaded alone (all 250
    countries cost 8 MB of memory): in a fresh interpreter, nothing of the other countries is
    imported, and every day of 2020-2035 is what ``holidays.country_holidays("VN")`` says in
    another fresh interpreter (the usual import, caunoi not loaded)."""
    import json
    import subprocess
    import sys

    days = (
        "from datetime import date, timedelta\n"
        "d0 = date(2020, 1, 1)\n"
        "days = [d0 + timedelta(days=i) for i in range((date(2036, 1, 1) - d0).days)]\n"
    )
    ours = (
        "import json, sys\n" + days + "from caunoi.shared.workdays import calendar_vn\n"
        "cal = calendar_vn()\n"
        "print(json.dumps({'countries': sorted(m for m in sys.modules if m.startswith('holidays.countries.')),\n"
        "  'days': [[d.isoformat(), cal.is_working_day(d), cal.holiday(d)] for d in days]}))\n"
    )
    usual = (
        "import json, sys\n" + days + "import holidays\n"
        "vn = holidays.country_holidays('VN')\n"
        "assert not any(m.startswith('caunoi') for m in sys.modules)\n"
        "print(json.dumps([[d.isoformat(), bool(vn.is_working_day(d)), str(vn.get(d)) if vn.get(d) else None]\n"
        "  for d in days]))\n"
    )

    def run(script: str) -> object:
        return json.loads(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True).stdout)

    out = run(ours)
    assert isinstance(out, dict)
    assert out["countries"] == ["holidays.countries.vietnam"]
    assert out["days"] == run(usual)
