"""Where a fact belongs, in either tier structure: a legacy (vn-2024) province rolls up through its
districts to their communes; a 2025 province directly to its communes; a 2025 unit's area includes
the legacy units it succeeded, and a legacy fact lands on the 2025 commune that succeeded its
commune; a commune's places are its hamlets."""

from __future__ import annotations

from datetime import date

from caunoi.reporting.compilation import area_of
from caunoi.reporting.domain.figures import Meeting, figures
from caunoi.shared.hamlets import HamletKind, HamletRecord
from caunoi.shared.units import UnitTree

LEGACY, NEW = UnitTree.load("vn-2024"), UnitTree.load("vn-2025")


def meeting(commune: str, dataset: str, held: date | None, host: str | None = None, n: int = 30) -> Meeting:
    return Meeting(f"HN-{commune}", "p2", commune, dataset, (), host, held or date(2025, 1, 1), False, held, n)


def test_a_legacy_province_rolls_up_through_its_districts() -> None:
    area = area_of(LEGACY.get("02"), LEGACY)  # Tỉnh Hà Giang, three tiers
    assert area.codes() == ["vn-2024:02"]
    districts = [c.code for c in area.children()]
    assert "024" in districts and all(LEGACY.get(c).level == "district" for c in districts)
    places = [p.code for p in area.places()]
    assert "00691" in places and all(LEGACY.get(c).level == "commune" for c in places)
    assert area.placed("vn-2024", "00691", None, districts) == ["024"]
    # the district's own figures count its communes as the places that should hold meetings
    district = area.below(next(c for c in area.children() if c.code == "024"))
    held = [meeting("00691", "vn-2024", date(2025, 3, 8))]
    codes = [p.code for p in district.places()]
    f = figures([], held, date(2025, 2, 15), date(2025, 3, 14), district.places(),
                lambda m: district.placed(m.dataset, m.commune_code, m.host_id, codes))  # fmt: skip
    assert f.meetings_held == 1 and f.units_total == len(district.places())
    assert "00691" not in {u.code for u in f.units_without_meeting}


def test_a_2025_unit_includes_the_legacy_units_it_succeeded() -> None:
    province = area_of(NEW.get("08"), NEW)
    assert {"vn-2025:08", "vn-2024:08", "vn-2024:02"} <= set(province.codes())
    communes = [c.code for c in province.children()]
    assert province.placed("vn-2024", "00703", None, communes) == ["00706"]  # Kim Thạch -> Phú Linh
    # Quang Trung was divided between Hà Giang 1 and 2: its history is each one's
    assert province.placed("vn-2024", "00688", None, communes) == ["00691", "00694"]
    commune = area_of(NEW.get("00706"), NEW, [
        HamletRecord("00706-thon-1", "00706", "Thôn 1", HamletKind.thon, ("08", "00706"), "vn-2025"),
        HamletRecord("00706-thon-2", "00706", "Thôn 2", HamletKind.thon, ("08", "00706"), "vn-2025", retired=True),
    ])  # fmt: skip
    assert {"vn-2025:00706", "vn-2024:00703", "vn-2024:00706", "vn-2024:00709"} == set(commune.codes())
    assert [h.code for h in commune.children()] == ["00706-thon-1"] == [p.code for p in commune.places()]
    assert commune.placed("vn-2025", "00706", "00706-thon-1", ["00706-thon-1"]) == ["00706-thon-1"]
