"""Programme 1's pilot rules as pure functions, in both unit datasets: a district (three-tier data)
picks one rural commune and one town or ward; a province (two-tier data, no district) at least one
of each; a pilot commune picks at least half its hamlets and party cells."""

from __future__ import annotations

from datetime import date

import pytest

from caunoi.scheduling.commands import ChoosePilotLocalities, ChoosePilotSites
from caunoi.scheduling.domain.pilots import (
    Localities,
    LocalityFacts,
    SiteFacts,
    Sites,
    decide_choose_localities,
    decide_choose_sites,
    evolve_localities,
    picking_unit,
)
from caunoi.scheduling.domain.rules import RuleViolated
from caunoi.scheduling.events import PilotLocalitiesChosen, PilotSitesChosen
from caunoi.shared.errors import ValidationFailed
from caunoi.shared.hamlets import HamletKind, HamletRecord
from caunoi.shared.units import UnitTree

LEGACY, NOW = UnitTree.load("vn-2024"), UnitTree.load("vn-2025")
TODAY = date(2025, 3, 1)
# Huyện Na Hang (072, vn-2024): Thị trấn Na Hang (02221) and rural communes
NA_HANG, TOWN, XA_1, XA_2 = "072", "02221", "02227", "02230"


def choose(unit: str, *communes: str) -> ChoosePilotLocalities:
    return ChoosePilotLocalities(unit_code=unit, communes=list(communes))


def test_a_district_picks_one_commune_and_one_town() -> None:
    facts = LocalityFacts(TODAY, LEGACY)
    [ev] = decide_choose_localities(Localities(), choose(NA_HANG, XA_1, TOWN), facts)
    assert isinstance(ev, PilotLocalitiesChosen) and ev.unit_level == "district"
    assert [(c.code, c.kind) for c in ev.localities] == [(XA_1, "Xã"), (TOWN, "Thị trấn")]
    state = evolve_localities(Localities(), ev)
    assert state.communes == (XA_1, TOWN) and state.unit_path == ("08", NA_HANG)
    for wrong in ((XA_1, XA_2), (XA_1, XA_2, TOWN), (TOWN,)):
        with pytest.raises(RuleViolated) as e:
            decide_choose_localities(Localities(), choose(NA_HANG, *wrong), facts)
        assert "01 xã và 01 thị trấn/phường" in e.value.message and e.value.field == "communes"
    with pytest.raises(ValidationFailed):  # the same choice again changes nothing
        decide_choose_localities(state, choose(NA_HANG, XA_1, TOWN), facts)
    assert picking_unit(LEGACY, TOWN) == NA_HANG and picking_unit(NOW, "00691") == "08"


def test_in_the_two_tier_structure_the_province_picks() -> None:
    facts = LocalityFacts(TODAY, NOW)
    with pytest.raises(ValidationFailed) as e:  # no district any more: a province picks, not a commune
        decide_choose_localities(Localities(), choose("00691", "00691"), facts)
    assert e.value.field == "unit_code"
    [ev] = decide_choose_localities(Localities(), choose("08", "00691", "00700", "00706"), facts)
    assert isinstance(ev, PilotLocalitiesChosen) and ev.unit_level == "province"
    with pytest.raises(RuleViolated) as r:
        decide_choose_localities(Localities(), choose("08", "00700", "00706"), facts)
    assert "tỉnh chọn" in r.value.message


def record(i: int, kind: HamletKind = HamletKind.thon, commune: str = "00691") -> HamletRecord:
    return HamletRecord(f"{commune}-thon-{i}", commune, f"Thôn {i}", kind, ("08", commune), "vn-2025")


@pytest.mark.parametrize(("total", "chosen", "ok"), [(9, 5, True), (9, 4, False), (10, 5, True), (1, 1, True)])
def test_half_of_the_list_at_least(total: int, chosen: int, ok: bool) -> None:
    listed = [record(i) for i in range(total)]
    facts = SiteFacts(TODAY, NOW, listed, frozenset({"00691"}))
    cmd = ChoosePilotSites(commune_code="00691", sites=[r.id for r in listed[:chosen]])
    if ok:
        [ev] = decide_choose_sites(Sites(), cmd, facts)
        assert isinstance(ev, PilotSitesChosen) and (len(ev.sites), ev.total) == (chosen, total)
    else:
        with pytest.raises(RuleViolated) as e:
            decide_choose_sites(Sites(), cmd, facts)
        assert e.value.details["minimum"] == (total + 1) // 2 and "50%" in e.value.message
