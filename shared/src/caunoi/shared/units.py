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
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
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
    "fold",
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


def fold(text: str) -> str:
    """Lowercase, drop Vietnamese diacritics (đ -> d), turn punctuation into single spaces."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
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
