"""Tests for caunoi.shared.units: both shipped datasets, tree queries, search, slugs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caunoi.cli.demo import DEMO_SIZE, demo_area
from caunoi.shared.ids import is_hamlet_id, parse_hamlet_id
from caunoi.shared.units import (
    DATASET_2025,
    DATASET_LEGACY,
    DATASETS,
    LEVEL_COMMUNE,
    LEVEL_DISTRICT,
    LEVEL_PROVINCE,
    DatasetError,
    Unit,
    UnitTree,
    UnknownDataset,
    UnknownUnit,
    fold,
    slugify,
)


@pytest.fixture(scope="module")
def legacy() -> UnitTree:
    return UnitTree.load(DATASET_LEGACY)


@pytest.fixture(scope="module")
def new() -> UnitTree:
    return UnitTree.load(DATASET_2025)


# --- datasets and counts --------------------------------------------------------------------


def test_dataset_names() -> None:
    assert DATASETS == (DATASET_LEGACY, DATASET_2025)
    assert len(set(DATASETS)) == 2


def test_counts_2025(new: UnitTree) -> None:
    counts = Counter(unit.level for unit in new)
    assert counts == {LEVEL_PROVINCE: 34, LEVEL_COMMUNE: 3321}
    assert len(new) == 34 + 3321
    assert new.levels() == [LEVEL_PROVINCE, LEVEL_COMMUNE]
    assert len(new.children(None)) == 34


def test_counts_legacy(legacy: UnitTree) -> None:
    counts = Counter(unit.level for unit in legacy)
    assert counts == {LEVEL_PROVINCE: 63, LEVEL_DISTRICT: 696, LEVEL_COMMUNE: 10035}
    assert len(legacy) == 63 + 696 + 10035
    assert legacy.levels() == [LEVEL_PROVINCE, LEVEL_DISTRICT, LEVEL_COMMUNE]


@pytest.mark.parametrize("dataset", DATASETS)
def test_structure(dataset: str) -> None:
    tree = UnitTree.load(dataset)
    levels = tree.levels()
    for unit in tree:
        assert unit.dataset == dataset
        depth = len(tree.ancestors(unit.code))
        assert unit.level == levels[depth]
        assert unit.name == f"{unit.kind} {unit.short_name}" or unit.name == unit.short_name
    kinds = {(unit.level, unit.kind) for unit in tree}
    assert (LEVEL_PROVINCE, "Tỉnh") in kinds
    assert (LEVEL_PROVINCE, "Thành phố") in kinds
    # GSO codes of different levels have different lengths, so get(code) is unambiguous
    lengths = {level: {len(u.code) for u in tree if u.level == level} for level in levels}
    assert lengths[LEVEL_PROVINCE] == {2}
    assert lengths[LEVEL_COMMUNE] == {5}
    assert lengths.get(LEVEL_DISTRICT, {3}) == {3}


def test_iteration_is_depth_first(legacy: UnitTree) -> None:
    units = list(legacy)
    assert units[0].code == "01"
    assert units[1].code == "001"
    assert units[2].code == "00001"
    assert len(units) == len({u.code for u in units}) == len(legacy)


def test_load_is_cached() -> None:
    assert UnitTree.load(DATASET_2025) is UnitTree.load(DATASET_2025)
    assert UnitTree.load() is UnitTree.load(DATASET_2025)


def test_a_cold_load_is_light_one_query_per_level_and_then_cached() -> None:
    """In a fresh interpreter: each dataset is read with one SQL query per level of its tree, a
    second load reads nothing, and neither imports vietnamadminunits or its heavy dependencies
    (shapely, geopy, numpy: over half a second to import), only its data file."""
    script = (
        "import json, sqlite3, sys\n"
        "queries = []\n"
        "connect = sqlite3.connect\n"
        "def traced(*a, **k):\n"
        "    conn = connect(*a, **k); conn.set_trace_callback(queries.append); return conn\n"
        "sqlite3.connect = traced\n"
        "from caunoi.shared.units import DATASETS, UnitTree\n"
        "out = {}\n"
        "for d in DATASETS:\n"
        "    queries.clear(); tree = UnitTree.load(d); first = len(queries)\n"
        "    UnitTree.load(d); out[d] = [first, len(queries) - first, len(tree.levels())]\n"
        "heavy = ('vietnamadminunits', 'shapely', 'geopy', 'numpy')\n"
        "out['imported'] = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(json.dumps(out))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    out = json.loads(run.stdout)
    assert out.pop("imported") == []
    assert out == {DATASET_LEGACY: [3, 0, 3], DATASET_2025: [2, 0, 2]}


def test_same_code_means_different_units_per_dataset(legacy: UnitTree, new: UnitTree) -> None:
    assert legacy.get("00004").name == "Phường Trúc Bạch"
    assert new.get("00004").name == "Phường Ba Đình"


# --- Hà Nội in both datasets ------------------------------------------------------------------


def test_legacy_hanoi_commune(legacy: UnitTree) -> None:
    unit = legacy.get("00001")
    assert unit == Unit(
        code="00001",
        name="Phường Phúc Xá",
        short_name="Phúc Xá",
        kind="Phường",
        level=LEVEL_COMMUNE,
        parent_code="001",
        dataset=DATASET_LEGACY,
    )
    assert legacy.path("00001") == ["01", "001", "00001"]
    assert [u.name for u in legacy.ancestors("00001")] == ["Thành phố Hà Nội", "Quận Ba Đình"]
    district = legacy.get("001")
    assert (district.kind, district.short_name, district.level) == ("Quận", "Ba Đình", "district")
    assert legacy.ancestors("01") == []
    assert legacy.path("01") == ["01"]


def test_legacy_children_and_descendants(legacy: UnitTree) -> None:
    ba_dinh = legacy.children("001")
    assert len(ba_dinh) == 13
    assert [u.code for u in ba_dinh] == sorted(u.code for u in ba_dinh)
    assert ba_dinh[0].code == "00001"
    assert legacy.children("00001") == []
    hanoi = legacy.descendants("01")
    assert len([u for u in hanoi if u.level == LEVEL_DISTRICT]) == len(legacy.children("01")) == 30
    assert {u.level for u in hanoi} == {LEVEL_DISTRICT, LEVEL_COMMUNE}
    assert all(legacy.path(u.code)[0] == "01" for u in hanoi)
    assert legacy.descendants("00001") == []


def test_2025_hanoi_commune(new: UnitTree) -> None:
    unit = new.get("00004")
    assert (unit.name, unit.short_name, unit.kind, unit.level) == (
        "Phường Ba Đình",
        "Ba Đình",
        "Phường",
        LEVEL_COMMUNE,
    )
    assert unit.parent_code == "01"
    assert new.path("00004") == ["01", "00004"]
    assert new.ancestors("00004") == [new.get("01")]
    hanoi = new.get("01")
    assert (hanoi.name, hanoi.short_name, hanoi.kind) == ("Thành phố Hà Nội", "Hà Nội", "Thành phố")
    descendants = new.descendants("01")
    assert len(descendants) == 126
    assert descendants == new.children("01")


def test_contains(legacy: UnitTree, new: UnitTree) -> None:
    assert legacy.contains("01", "00001")
    assert legacy.contains("001", "00001")
    assert legacy.contains("00001", "00001")
    assert legacy.contains("01", "001")
    assert not legacy.contains("00001", "01")
    assert not legacy.contains("002", "00001")
    assert not legacy.contains("79", "00001")
    assert new.contains("01", "00004")
    assert not new.contains("79", "00004")
    with pytest.raises(UnknownUnit):
        new.contains("01", "99999")


def test_no_communes_in_some_island_districts(legacy: UnitTree) -> None:
    bach_long_vi = legacy.get("318")
    assert bach_long_vi.name == "Huyện Bạch Long Vĩ"
    assert legacy.children("318") == []


def test_data_fixes(legacy: UnitTree, new: UnitTree) -> None:
    # capitalisation of the type normalised
    assert legacy.get("058").name == "Thành phố Bắc Kạn"
    # "(Huyện)"/"(Thị xã)" disambiguation suffix dropped from short names
    assert sorted(u.short_name for u in legacy.search("ky anh", level=LEVEL_DISTRICT)) == [
        "Kỳ Anh",
        "Kỳ Anh",
    ]
    # a type column contradicting the official name: the name wins
    assert new.get("10543").kind == "Phường"
    assert new.get("31299").kind == "Xã"
    assert new.get("31299").name == "Xã Phong Điền"


# --- errors -------------------------------------------------------------------------------------


def test_unknown_unit(new: UnitTree) -> None:
    with pytest.raises(UnknownUnit) as info:
        new.get("99999")
    assert isinstance(info.value, KeyError)
    assert "99999" in str(info.value) and DATASET_2025 in str(info.value)
    assert info.value.code == "99999"
    assert info.value.dataset == DATASET_2025
    assert new.find("99999") is None
    assert new.find("00004") == new.get("00004")
    assert "00004" in new and "99999" not in new
    for query in (new.children, new.ancestors, new.path, new.descendants):
        with pytest.raises(UnknownUnit):
            query("99999")


def test_district_code_unknown_in_2025(new: UnitTree) -> None:
    with pytest.raises(UnknownUnit):
        new.get("001")


def test_unknown_dataset() -> None:
    with pytest.raises(UnknownDataset) as info:
        UnitTree.load("vn-1975")
    assert isinstance(info.value, ValueError)
    for name in DATASETS:
        assert name in str(info.value)
    with pytest.raises(UnknownDataset):
        demo_area("nope")


# --- search ---------------------------------------------------------------------------------


def test_fold() -> None:
    assert fold("Phường Ba Đình") == "phuong ba dinh"
    assert fold("  ĐẮK   LẮK ") == "dak lak"
    assert fold("Bà Rịa - Vũng Tàu") == "ba ria vung tau"
    assert fold("Thuỷ") == fold("Thủy") == "thuy"
    assert fold("a__b _c-") == "a  b  c"


def reference_fold(text: str) -> str:
    """What fold means, written plainly (fold takes a faster path for Vietnamese text)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", " ", bare.casefold()).replace("_", " ").strip()


VIETNAMESE = "ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
TRICKY = "\u0301\u0323\u034f\u0345\u0363\u0370ßﬁΣİ\u00a0٣中Kǅ\u1e9e\t\n_"


@settings(max_examples=3000, deadline=None)
@given(
    st.text(alphabet=st.sampled_from([chr(c) for c in range(128)] + list(VIETNAMESE + TRICKY)), max_size=40)
    | st.text(max_size=40)
)
def test_fold_is_the_reference_fold(text: str) -> None:
    assert fold(text) == reference_fold(text)


def test_search_without_diacritics(new: UnitTree) -> None:
    results = new.search("ba dinh")
    assert new.get("00004") in results
    assert all("ba dinh" in fold(u.name) for u in results)
    upper = new.search("BA ĐÌNH")
    assert upper[0] == new.get("00004") or upper[0].short_name == "Ba Đình"
    assert set(upper) == set(results)


def test_search_with_diacritics_ranks_exact_spelling_first(new: UnitTree) -> None:
    results = new.search("Ba Đình")
    assert {u.short_name for u in results[:2]} == {"Ba Đình"}
    assert "Ba Dinh" in {u.short_name for u in results}  # diacritics are ignored for matching


def test_search_levels(legacy: UnitTree, new: UnitTree) -> None:
    districts = legacy.search("ba dinh", level=LEVEL_DISTRICT)
    assert [u.code for u in districts] == ["001"]
    provinces = new.search("ha noi", level=LEVEL_PROVINCE)
    assert [u.code for u in provinces] == ["01"]
    assert new.search("ho chi minh", level=LEVEL_PROVINCE)[0].code == "79"
    with pytest.raises(ValueError):
        new.search("ba dinh", level=LEVEL_DISTRICT)


def test_search_matches_word_starts_only(new: UnitTree) -> None:
    assert new.search("") == []
    assert new.search("  ") == []
    assert all(" an" in f" {fold(u.name)}" for u in new.search("an"))
    assert new.search("thanh pho ha noi") == [new.get("01")]


# --- demo area ------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", DATASETS)
def test_demo_area(dataset: str) -> None:
    tree = UnitTree.load(dataset)
    province, communes = demo_area(dataset)
    assert province.level == LEVEL_PROVINCE
    assert province.short_name == "Tuyên Quang"
    assert len(communes) == DEMO_SIZE == 12
    assert len({u.code for u in communes}) == 12
    assert [u.code for u in communes] == sorted(u.code for u in communes)
    for commune in communes:
        assert commune.level == LEVEL_COMMUNE
        assert tree.contains(province.code, commune.code)
    assert demo_area(dataset) == (province, communes)


def test_demo_area_legacy_is_one_district() -> None:
    _, communes = demo_area(DATASET_LEGACY)
    assert {u.parent_code for u in communes} == {"072"}
    assert UnitTree.load(DATASET_LEGACY).get("072").name == "Huyện Na Hang"


# --- the tree is generic --------------------------------------------------------------------


def _u(code: str, level: str, parent: str | None, dataset: str = "test") -> Unit:
    return Unit(code, f"X {code}", code, "X", level, parent, dataset)


def test_generic_four_level_tree() -> None:
    tree = UnitTree(
        "test",
        [
            _u("1", "region", None),
            _u("11", "province", "1"),
            _u("111", "district", "11"),
            _u("1111", "commune", "111"),
            _u("1112", "commune", "111"),
            _u("2", "region", None),
        ],
    )
    assert tree.levels() == ["region", "province", "district", "commune"]
    assert tree.path("1112") == ["1", "11", "111", "1112"]
    assert [u.code for u in tree.descendants("1")] == ["11", "111", "1111", "1112"]
    assert [u.code for u in tree.children(None)] == ["1", "2"]
    assert tree.contains("1", "1111") and not tree.contains("2", "1111")


@pytest.mark.parametrize(
    "units",
    [
        [_u("1", "a", None), _u("1", "b", None)],  # duplicate code
        [_u("1", "a", "9")],  # unknown parent
        [_u("1", "a", "2"), _u("2", "a", "1")],  # cycle
        [_u("1", "a", None, dataset="other")],  # wrong dataset
    ],
)
def test_generic_tree_rejects_bad_data(units: list[Unit]) -> None:
    with pytest.raises(DatasetError):
        UnitTree("test", units)


def test_slugify_and_the_hamlet_id_format() -> None:
    assert slugify("Ương Ườn Ở Ơi") == "uong-uon-o-oi"
    assert parse_hamlet_id("00097-thon-dong-tam") == ("00097", "thon-dong-tam")
    for bad in ("00097", "00097-", "00097-Thon", "00097--a", "x-thon", "00097-thôn", "00097-a-"):
        assert not is_hamlet_id(bad)
        with pytest.raises(ValueError):
            parse_hamlet_id(bad)


# --- succession: 2025 units and the legacy ones they were formed from ---------------------------


def test_a_2025_commune_knows_the_legacy_communes_it_succeeded(legacy: UnitTree, new: UnitTree) -> None:
    from caunoi.shared.units import Predecessor, Succession

    s = Succession.load()
    assert new.get("00691").name == "Phường Hà Giang 2"
    preds = s.predecessors("00691")
    assert Predecessor("00692", whole=True) in preds  # Phường Ngọc Hà (vn-2024) went whole into it
    assert legacy.get("00692").name == "Phường Ngọc Hà"
    assert all(legacy.get(p.code).level == LEVEL_COMMUNE for p in preds)
    assert "00691" in s.successors("00692")
    # a divided legacy commune has several successors, each of which finds its records
    divided = [p.code for p in preds if not p.whole]
    assert divided and all(len(s.successors(c)) > 1 and "00691" in s.successors(c) for c in divided)
    # provinces: Tuyên Quang (08) was formed from Hà Giang (02) and Tuyên Quang (08)
    assert sorted(p.code for p in s.predecessors("08")) == ["02", "08"]
    assert s.successors("02") == ["08"]
    # a legacy district: its communes' successors; unknown codes: nothing
    assert "00691" not in s.successors("072") and set(s.successors("024")) >= {"00691"}
    assert s.successors("99999") == [] and s.predecessors("99999") == []
    assert s.legacy_area("00691") == [p.code for p in preds]


def test_every_unit_is_covered_by_the_succession(legacy: UnitTree, new: UnitTree) -> None:
    from caunoi.shared.units import Predecessor, Succession

    s = Succession.load()
    communes = [u for u in new if u.level == LEVEL_COMMUNE]
    assert [u.code for u in communes if not s.predecessors(u.code)] == []
    assert all(p.code in legacy for u in communes for p in s.predecessors(u.code))
    olds = [u for u in legacy if u.level == LEVEL_COMMUNE]
    assert [u.code for u in olds if not s.successors(u.code)] == []
    assert all(c in new for u in olds for c in s.successors(u.code))
    # names that fold alike are told apart by their accents: Xã Văn Lang is not Xã Văn Lăng
    assert new.get("02143").name == "Xã Văn Lang" and "02143" in [p.code for p in s.predecessors("02143")]
    # an island special zone succeeded a legacy island district without communes
    assert s.predecessors("11948") == [Predecessor("318", whole=True)] and legacy.get("318").level == LEVEL_DISTRICT
    provinces = [u for u in new if u.level == LEVEL_PROVINCE]
    assert sorted(p.code for u in provinces for p in s.predecessors(u.code)) == sorted(
        u.code for u in legacy if u.level == LEVEL_PROVINCE
    )


def test_a_units_area_is_its_own_code_and_in_2025_the_legacy_units_it_succeeded(
    legacy: UnitTree, new: UnitTree
) -> None:
    from caunoi.shared.units import Succession, area_codes, qualified, qualified_path

    assert qualified("vn-2025", "08") == "vn-2025:08"
    assert qualified_path("vn-2024", ["02", "024", "00691"]) == ["vn-2024:02", "vn-2024:024", "vn-2024:00691"]
    preds = Succession.load().legacy_area("00691")
    assert area_codes(new, "00691") == ["vn-2025:00691", *(f"vn-2024:{c}" for c in preds)]
    assert area_codes(new, "00691", lambda code: ["00001"]) == ["vn-2025:00691", "vn-2024:00001"]
    assert area_codes(legacy, "00692") == ["vn-2024:00692"]  # a legacy unit succeeded nothing
