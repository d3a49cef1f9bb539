"""Vietnamese administrative units keyed by official GSO code and dataset version.

Two datasets ship with the ``vietnamadminunits`` package (MIT) and are read from its SQLite file:

* ``vn-2024``: the three-tier structure (63 provinces, 696 districts, 10,035 communes) as it stood
  after the 2023-2025 merger resolutions adopted in 2024, in force until 2025-06-30.
* ``vn-2025``: the two-tier structure in force since 2025-07-01 (34 provinces, 3,321 communes).

The same code may name different units in different datasets (``00004`` is Phường Trúc Bạch in
``vn-2024`` and Phường Ba Đình in ``vn-2025``), so always store the dataset next to a code.
The tree is generic: units carry a level name and a parent code; nothing assumes three levels.
Hamlets (thôn, ấp, tổ dân phố...) have no national code: their id format is in
:mod:`caunoi.shared.ids`, their events in :mod:`caunoi.shared.hamlets`, their rules in the
scheduling service.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from caunoi.shared.errors import NotFound

__all__ = [
    "DATASETS",
    "DATASET_2025",
    "DATASET_LEGACY",
    "LEVEL_COMMUNE",
    "LEVEL_DISTRICT",
    "LEVEL_PROVINCE",
    "DatasetError",
    "Unit",
    "UnitTree",
    "UnknownDataset",
    "UnknownUnit",
    "area_codes",
    "fold",
    "qualified",
    "qualified_path",
    "require_unit",
    "slugify",
]

DATASET_LEGACY = "vn-2024"
"""Three-tier structure (province, district, commune) in force until 2025-06-30."""
DATASET_2025 = "vn-2025"
"""Two-tier structure (province, commune) in force since 2025-07-01."""
DATASETS: tuple[str, ...] = (DATASET_LEGACY, DATASET_2025)

LEVEL_PROVINCE = "province"
LEVEL_DISTRICT = "district"
LEVEL_COMMUNE = "commune"


class UnknownDataset(ValueError):
    """The dataset name is not one of :data:`DATASETS`."""

    def __init__(self, dataset: str) -> None:
        super().__init__(f"unknown dataset {dataset!r}; valid datasets: {', '.join(DATASETS)}")
        self.dataset = dataset


class UnknownUnit(KeyError):
    """No unit has this code in this dataset."""

    def __init__(self, code: str, dataset: str) -> None:
        super().__init__(code)
        self.code = code
        self.dataset = dataset

    def __str__(self) -> str:
        return f"no administrative unit with code {self.code!r} in dataset {self.dataset!r}"


class DatasetError(RuntimeError):
    """The shipped data is missing or inconsistent (duplicate codes, dangling parents...)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One administrative unit of one dataset."""

    code: str
    name: str
    short_name: str
    kind: str
    level: str
    parent_code: str | None
    dataset: str


# --- text helpers -----------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w]+")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


#: every byte outside ASCII (what ``bytes.translate`` deletes to drop non-ASCII characters' UTF-8)
_HIGH_BYTES = bytes(range(0x80, 0x100))
#: ASCII as :func:`fold` maps it: letters lowercased, digits kept, ``_`` to 0x01 (it becomes a
#: space of its own), everything else a space
_FOLD_ASCII = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 1 if c == 95 else 32 for c in range(256)
)


def fold(text: str) -> str:
    """Lowercase, drop Vietnamese diacritics (đ -> d), turn punctuation into single spaces.

    Read models fold every petition's text, so the usual case is done on bytes: Vietnamese text
    decomposed is ASCII and combining marks of U+0300-U+033F (UTF-8 ``CC xx``); anything else takes
    the general path (the same result: tests/kernel/test_units.py compares them)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    raw = decomposed.encode()
    if not decomposed.isascii():
        bare = raw.translate(None, _HIGH_BYTES)
        # every non-ASCII character a mark of U+0300-U+033F: each has a combining class
        if b"\xcd" in raw or len(decomposed) - len(bare) != raw.count(b"\xcc"):
            return _fold_general(decomposed)
        raw = bare
    return b" ".join(raw.translate(_FOLD_ASCII).split()).replace(b"\x01", b" ").strip().decode()


def _fold_general(decomposed: str) -> str:
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", bare.casefold()).replace("_", " ").strip()


def slugify(text: str) -> str:
    """ASCII slug of a Vietnamese name: ``"Thôn Đồng Tâm"`` -> ``"thon-dong-tam"``."""
    return _NON_SLUG.sub("-", fold(text)).strip("-")


# --- the tree -------------------------------------------------------------------------------


def _code_order(unit: Unit) -> tuple[int, str]:
    return len(unit.code), unit.code


class UnitTree:
    """All units of one dataset, indexed by code. Immutable; get shared copies with :meth:`load`."""

    def __init__(self, dataset: str, units: Iterable[Unit]) -> None:
        """Build and check a tree; raise :class:`DatasetError` on duplicates, cycles or orphans."""
        self.dataset = dataset
        self._units: dict[str, Unit] = {}
        for unit in units:
            if unit.dataset != dataset:
                raise DatasetError(f"unit {unit.code} belongs to {unit.dataset!r}, not {dataset!r}")
            if unit.code in self._units:
                raise DatasetError(f"code {unit.code!r} appears twice in dataset {dataset!r}")
            self._units[unit.code] = unit
        self._children: dict[str | None, list[Unit]] = {None: []}
        for unit in self._units.values():
            if unit.parent_code is not None and unit.parent_code not in self._units:
                raise DatasetError(f"unit {unit.code} has unknown parent {unit.parent_code!r}")
            self._children.setdefault(unit.parent_code, []).append(unit)
        for siblings in self._children.values():
            siblings.sort(key=_code_order)
        self._order = self._walk(None)
        if len(self._order) != len(self._units):
            raise DatasetError(f"dataset {dataset!r} contains a parent cycle")
        self._depth: dict[str, int] = {}
        first_depth: dict[str, int] = {}
        for unit in self._order:  # parents come before their children
            depth = 0 if unit.parent_code is None else self._depth[unit.parent_code] + 1
            self._depth[unit.code] = depth
            first_depth.setdefault(unit.level, depth)
        self._levels = sorted(first_depth, key=first_depth.__getitem__)

    @classmethod
    def load(cls, dataset: str = DATASET_2025) -> UnitTree:
        """The tree of a shipped dataset, read once per process and cached."""
        if dataset not in _SOURCES:
            raise UnknownDataset(dataset)
        with _LOAD_LOCK:
            tree = _TREES.get(dataset)
            if tree is None:
                tree = cls(dataset, _read_units(dataset))
                _TREES[dataset] = tree
        return tree

    def _walk(self, code: str | None) -> list[Unit]:
        out: list[Unit] = []
        stack = list(reversed(self._children.get(code, [])))
        while stack:
            unit = stack.pop()
            out.append(unit)
            stack.extend(reversed(self._children.get(unit.code, [])))
        return out

    def get(self, code: str) -> Unit:
        """The unit with this code; :class:`UnknownUnit` if absent."""
        unit = self._units.get(code)
        if unit is None:
            raise UnknownUnit(code, self.dataset)
        return unit

    def find(self, code: str) -> Unit | None:
        """The unit with this code, or None."""
        return self._units.get(code)

    def children(self, code: str | None) -> list[Unit]:
        """Direct children sorted by code; ``None`` gives the top level (provinces)."""
        if code is not None:
            self.get(code)
        return list(self._children.get(code, []))

    def ancestors(self, code: str) -> list[Unit]:
        """Units above ``code``, top level first, excluding the unit itself."""
        out: list[Unit] = []
        parent = self.get(code).parent_code
        while parent is not None:
            unit = self._units[parent]
            out.append(unit)
            parent = unit.parent_code
        out.reverse()
        return out

    def higher_units(self, code: str) -> list[Unit]:
        """The tiers above ``code`` that a matter it handles can go up to, nearest first
        (district then province in ``vn-2024``; the province in ``vn-2025``). Empty for a code
        not in this dataset."""
        if code not in self._units:
            return []
        return list(reversed(self.ancestors(code)))

    def at_level(self, code: str, level: str) -> Unit | None:
        """``code``'s own unit if it is of ``level``, else the unit above it of that level (a
        commune's district or province); None when there is none (no district in ``vn-2025``)."""
        unit = self.get(code)
        if unit.level == level:
            return unit
        return next((u for u in self.ancestors(code) if u.level == level), None)

    def path(self, code: str) -> list[str]:
        """Codes from the top level down to and including ``code``."""
        return [unit.code for unit in self.ancestors(code)] + [code]

    def descendants(self, code: str) -> list[Unit]:
        """Every unit below ``code`` at any depth, depth-first, siblings by code."""
        self.get(code)
        return self._walk(code)

    def contains(self, ancestor_code: str, code: str) -> bool:
        """True if ``code`` is ``ancestor_code`` or lies below it; UnknownUnit for unknown codes."""
        self.get(ancestor_code)
        return ancestor_code in self.path(code)

    def levels(self) -> list[str]:
        """Level names from the top down, e.g. ``["province", "commune"]``."""
        return list(self._levels)

    @cached_property
    def _search_keys(self) -> list[tuple[Unit, str, str, int]]:
        return [(unit, f" {fold(unit.name)}", fold(unit.short_name), self._depth[unit.code]) for unit in self._order]

    def search(self, text: str, level: str | None = None) -> list[Unit]:
        """Units whose name has ``text`` at a word start, ignoring case and diacritics.

        Ranked: exact name match, then name prefix, then exact diacritics, then level and code.
        """
        if level is not None and level not in self._levels:
            raise ValueError(f"unknown level {level!r}; levels of {self.dataset}: {self._levels}")
        query = fold(text)
        if not query:
            return []
        exact_text = unicodedata.normalize("NFC", " ".join(text.split())).casefold()
        hits: list[tuple[tuple[int, int, int, int, str], Unit]] = []
        word_start = f" {query}"
        for unit, name, short, depth in self._search_keys:
            if level is not None and unit.level != level:
                continue
            if word_start not in name:
                continue
            if query == short or word_start == name:
                rank = 0
            elif short.startswith(query) or name.startswith(word_start):
                rank = 1
            else:
                rank = 2
            accents = 0 if exact_text in unit.name.casefold() else 1
            hits.append(((rank, accents, depth, len(unit.code), unit.code), unit))
        hits.sort(key=lambda hit: hit[0])
        return [unit for _, unit in hits]

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[Unit]:
        """Depth-first, siblings by code: each province followed by everything below it."""
        return iter(self._order)

    def __contains__(self, code: object) -> bool:
        return code in self._units

    def __repr__(self) -> str:
        return f"<UnitTree {self.dataset}: {len(self)} units, levels {self._levels}>"


# --- reading the shipped SQLite -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _LevelColumns:
    level: str
    code: str
    name: str
    short: str
    kind: str | None  # None: derive the kind from the name ("Tỉnh Cao Bằng" - "Cao Bằng")


@dataclass(frozen=True, slots=True)
class _Source:
    table: str
    levels: tuple[_LevelColumns, ...]


_PROVINCE_COLUMNS = _LevelColumns(LEVEL_PROVINCE, "provinceCode", "province", "provinceShort", None)
_WARD_COLUMNS = _LevelColumns(LEVEL_COMMUNE, "wardCode", "ward", "wardShort", "wardType")
_SOURCES: dict[str, _Source] = {
    DATASET_LEGACY: _Source(
        "admin_units_legacy",
        (
            _PROVINCE_COLUMNS,
            _LevelColumns(LEVEL_DISTRICT, "districtCode", "district", "districtShort", "districtType"),
            _WARD_COLUMNS,
        ),
    ),
    DATASET_2025: _Source("admin_units", (_PROVINCE_COLUMNS, _WARD_COLUMNS)),
}
_LOAD_LOCK = threading.Lock()
_TREES: dict[str, UnitTree] = {}


def _database_path() -> Path:
    # importlib.resources.files() would import vietnamadminunits (shapely, geopy: ~0.6 s); find_spec
    # locates the package directory without executing it.
    spec = importlib.util.find_spec("vietnamadminunits")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "data" / "dataset.db"
        if path.is_file():
            return path
    raise DatasetError("vietnamadminunits/data/dataset.db not found; pip install vietnamadminunits")


def _clean(value: object) -> str | None:
    text = None if value is None else " ".join(str(value).split())
    return text or None


def _has_prefix(name: str, kind: str) -> bool:
    return name.casefold().startswith(f"{kind.casefold()} ")


def _make_unit(
    dataset: str,
    spec: _LevelColumns,
    row: Sequence[str | None],
    known_kinds: Sequence[str],
    parent: str | None,
) -> Unit:
    code, name, short, kind = row
    if code is None or name is None or short is None:
        raise DatasetError(f"{dataset}: incomplete {spec.level} row {list(row)}")
    if kind is None:
        if not name.endswith(f" {short}"):
            raise DatasetError(f"{dataset}: cannot tell the kind of {name!r}")
        kind = name[: -len(short) - 1]
    elif not _has_prefix(name, kind):
        # A few rows carry a type contradicting their official name ("Phường Việt Hòa" typed
        # "Xã"); the name follows the resolution, so trust the kind it starts with.
        kind = next((k for k in known_kinds if _has_prefix(name, k)), kind)
    if _has_prefix(name, kind):
        name = f"{kind}{name[len(kind) :]}"  # "Thành Phố Bắc Kạn" -> "Thành phố Bắc Kạn"
    short = short.removesuffix(f" ({kind})")  # "Kỳ Anh (Huyện)" -> "Kỳ Anh"
    return Unit(code, name, short, kind, spec.level, parent, dataset)


def _read_units(dataset: str) -> list[Unit]:
    source = _SOURCES[dataset]
    units: dict[str, Unit] = {}
    uri = f"{_database_path().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        parent_column: str | None = None
        for spec in source.levels:
            columns = ", ".join(
                f'"{column}"' if column else "NULL"
                for column in (spec.code, spec.name, spec.short, spec.kind, parent_column)
            )
            # Rows without a code at this level are skipped: e.g. island districts without
            # communes (Huyện Bạch Long Vĩ in vn-2024).
            sql = f'SELECT DISTINCT {columns} FROM "{source.table}" WHERE "{spec.code}" IS NOT NULL'
            rows = [[_clean(value) for value in row] for row in conn.execute(sql)]
            known_kinds = sorted({kind for *_, kind, _ in rows if kind}, key=len, reverse=True)
            for *cells, parent in rows:
                unit = _make_unit(dataset, spec, cells, known_kinds, parent)
                known = units.setdefault(unit.code, unit)
                if known != unit:
                    raise DatasetError(f"{dataset}: code {unit.code} names both {known} and {unit}")
            parent_column = spec.code
    return list(units.values())


# --- what a request may name --------------------------------------------------------------------

_LEVEL_VI = {LEVEL_PROVINCE: "tỉnh, thành phố", LEVEL_DISTRICT: "quận, huyện", LEVEL_COMMUNE: "xã, phường"}


def require_unit(tree: UnitTree, code: str, *, field: str, level: str | None = None) -> Unit:
    """The unit ``code`` of ``tree`` (at ``level``, if given); a ``NotFound`` with code
    ``unknown_unit`` naming ``field`` if the dataset has none."""
    unit = tree.find(code)
    if unit is None or (level is not None and unit.level != level):
        what_vi = _LEVEL_VI.get(level or "", "đơn vị")
        what_en = level or "unit"
        raise NotFound(
            f"Không có {what_vi} mã {code} trong danh mục {tree.dataset}",
            code="unknown_unit",
            message_en=f"no {what_en} with code {code} in dataset {tree.dataset}",
            field=field,
        )
    return unit


# --- succession: which 2025 units took over the legacy ones -----------------------------------


@dataclass(frozen=True, slots=True)
class Predecessor:
    """A legacy unit a 2025 unit succeeded: ``whole`` when all of it went to that one unit, not
    when it was divided among several."""

    code: str
    whole: bool


class Succession:
    """The 2025 reorganisation as data: for each 2025 commune, the legacy (``vn-2024``) communes
    it was formed from (an island special zone: the legacy island district), and for each 2025
    province the legacy provinces; read from the conversion
    table the ``vietnamadminunits`` wheel ships (``data/converter_2025.json``, keyed by unit
    names), resolved to official codes through the same wheel's SQLite file. History recorded
    under a legacy unit stays findable from its successors."""

    def __init__(self, predecessors: dict[str, list[Predecessor]]) -> None:
        self._pred = {code: list(p) for code, p in predecessors.items()}
        succ: dict[str, list[str]] = {}
        for new, olds in self._pred.items():
            for old in olds:
                succ.setdefault(old.code, []).append(new)
        self._succ = {old: sorted(set(new), key=lambda c: (len(c), c)) for old, new in succ.items()}

    @classmethod
    def load(cls) -> Succession:
        """The shipped succession, read once per process and cached."""
        global _SUCCESSION
        with _LOAD_LOCK:
            if _SUCCESSION is None:
                _SUCCESSION = cls(_read_succession())
            return _SUCCESSION

    def predecessors(self, code: str) -> list[Predecessor]:
        """The legacy units a 2025 commune or province was formed from (empty if unknown)."""
        return list(self._pred.get(code, ()))

    def successors(self, legacy_code: str) -> list[str]:
        """The 2025 units that took over a legacy commune or province (several if it was divided).
        A legacy district's are its communes' successors."""
        if legacy_code in self._succ:
            return list(self._succ[legacy_code])
        legacy = UnitTree.load(DATASET_LEGACY)
        unit = legacy.find(legacy_code)
        if unit is None or unit.level != LEVEL_DISTRICT:
            return []
        found = {s for child in legacy.children(legacy_code) for s in self._succ.get(child.code, ())}
        return sorted(found, key=lambda c: (len(c), c))

    def legacy_area(self, code: str) -> list[str]:
        """Legacy codes whose records a 2025 unit finds as its own: its predecessors, whole or
        in part (a divided commune's records are found by each of its successors)."""
        return [p.code for p in self.predecessors(code)]


_SUCCESSION: Succession | None = None


def qualified(dataset: str, code: str) -> str:
    """A unit's code with its dataset (``vn-2025:08``): what a read model keeps to find records by
    unit (a row's ``reach``), since a code alone may name different units in different datasets."""
    return f"{dataset}:{code}"


def qualified_path(dataset: str, path: Iterable[str]) -> list[str]:
    """Each unit of a unit path qualified (:func:`qualified`): whom a record reaches."""
    return [qualified(dataset, c) for c in path]


def area_codes(tree: UnitTree, code: str, legacy_area: Callable[[str], Iterable[str]] | None = None) -> list[str]:
    """The qualified codes whose records are unit ``code``'s own: its own and, in the 2025 tree,
    those of the legacy units it was formed from (``legacy_area``; default the shipped
    :meth:`Succession.legacy_area`)."""
    own = [qualified(tree.dataset, code)]
    if tree.dataset == DATASET_LEGACY:
        return own
    legacy = (legacy_area or Succession.load().legacy_area)(code)
    return own + [qualified(DATASET_LEGACY, c) for c in legacy]


def _key(text: str) -> str:
    """A name key folded (no accents, no spaces): the conversion table mostly uses such keys, but
    keeps accents where two names would fold alike, so exact keys are tried first."""
    return fold(text).replace(" ", "")


class _Keys:
    """Codes by name key: the exact key, else the folded one when that is unambiguous."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.exact: dict[str, str] = {}
        folded: dict[str, set[str]] = {}
        for key, code in pairs:
            self.exact.setdefault(key, code)
            folded.setdefault(_key(key), set()).add(code)
        self.folded = {k: next(iter(v)) for k, v in folded.items() if len(v) == 1}

    def get(self, key: str) -> str | None:
        return self.exact.get(key) or self.folded.get(_key(key))


def _read_succession() -> dict[str, list[Predecessor]]:
    path = _database_path().with_name("converter_2025.json")
    if not path.is_file():
        raise DatasetError(f"{path} not found; pip install vietnamadminunits")
    data = json.loads(path.read_text(encoding="utf-8"))
    uri = f"{_database_path().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        new_provinces = _Keys(conn.execute('SELECT DISTINCT "provinceKey", "provinceCode" FROM admin_units'))
        new_wards = _Keys(
            (f"{p}_{w}", c) for p, w, c in conn.execute('SELECT "provinceKey", "wardKey", "wardCode" FROM admin_units')
        )
        old_provinces = _Keys(conn.execute('SELECT DISTINCT "provinceKey", "provinceCode" FROM admin_units_legacy'))
        old_units = _Keys(
            (f"{p}_{d}_{w or ''}", c or dc)
            for p, d, w, c, dc in conn.execute(
                'SELECT "provinceKey", "districtKey", "wardKey", "wardCode", "districtCode" FROM admin_units_legacy'
                ' WHERE "districtCode" IS NOT NULL'
            )
        )

    def new_ward(province: str, ward: str) -> str | None:
        return new_wards.get(f"{province}_{ward}")

    def old_ward(full_key: str) -> str | None:
        """A legacy commune's code; an island district without communes: the district's."""
        return old_units.get(full_key)

    out: dict[str, dict[str, bool]] = {}
    for new_p, olds in data["DICT_PROVINCE"].items():
        code = new_provinces.get(new_p)
        if code is None:
            raise DatasetError(f"succession: unknown 2025 province {new_p!r}")
        out.setdefault(code, {}).update({c: True for o in olds if (c := old_provinces.get(o)) is not None})
    for new_p, wards in data["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_w, olds in wards.items():
            new_code = new_ward(new_p, new_w)
            if new_code is None:
                continue  # a special zone without a commune code
            for old in olds:
                if (old_code := old_ward(old)) is not None:
                    out.setdefault(new_code, {})[old_code] = True
    for new_p, divided in data["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, news in divided.items():
            old_code = old_ward(old)
            if old_code is None:
                continue
            for new in news:
                new_code = new_ward(new_p, new["newWardKey"])
                if new_code is not None:
                    out.setdefault(new_code, {}).setdefault(old_code, False)
    return {
        new: [Predecessor(c, whole) for c, whole in sorted(olds.items(), key=lambda kv: (len(kv[0]), kv[0]))]
        for new, olds in out.items()
    }
