"""Hamlets (thôn, ấp, bản, buôn, làng, tổ dân phố, khu phố, khóm): the editable list of places
under each commune, where the commune's dialogue meetings rotate.

Hamlets have no national code (see :mod:`caunoi.shared.units`). The **scheduling** service owns
their events (it alone appends them, on :data:`SCHEDULING_STREAM`); any other service keeps its own
copy of the list by running :class:`HamletsProjection` on that stream in its own database. The
kernel holds only what both sides need: the events (a public contract), the pure aggregate
(``initial`` / ``evolve`` / ``scope`` and the ``decide_*`` functions), the read-model projection
and its queries. No I/O in the aggregate.

A hamlet's id is ``<commune code>-<slug of the name it was added with>`` (:func:`hamlet_id`) and
never changes: a rename keeps the id, so events and read models that refer to it stay valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from caunoi.shared.aggregate import AggregateKind, RecordedEvent, Scope
from caunoi.shared.errors import Conflict, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.projection import Conn
from caunoi.shared.units import LEVEL_COMMUNE, Unit, UnitTree, hamlet_id, normalize_hamlet_name, slugify

__all__ = [
    "HAMLET_AGGREGATE",
    "HAMLET_EVENTS",
    "KIND_EN",
    "KIND_VI",
    "NS",
    "SCHEDULING_STREAM",
    "Hamlet",
    "HamletAdded",
    "HamletKind",
    "HamletRenamed",
    "HamletRetired",
    "HamletsProjection",
    "clean_name",
    "decide_add",
    "decide_rename",
    "decide_retire",
    "evolve",
    "get_hamlet",
    "initial",
    "list_hamlets",
    "name_key",
    "new_hamlet_id",
    "register_into",
    "registry",
    "require_commune",
    "scope",
]

#: The owner's stream. Readers in other services follow it with
#: ``rt.add_projection(HamletsProjection(...), stream=SCHEDULING_STREAM)`` without importing the
#: scheduling package.
SCHEDULING_STREAM = StreamSpec(
    name="SCHEDULING",
    service="scheduling",
    description="caunoi scheduling: hamlets and dialogue meetings (events, CloudEvents 1.0 JSON)",
)

registry = EventRegistry()
NS = "vn.caunoi.units"


class HamletKind(StrEnum):
    """What the place is called locally; the name differs by region, the role is the same."""

    thon = "thon"  # thôn (northern and central rural)
    ap = "ap"  # ấp (southern rural)
    ban = "ban"  # bản (northern mountains)
    buon = "buon"  # buôn (Central Highlands)
    lang = "lang"  # làng
    to_dan_pho = "to_dan_pho"  # tổ dân phố (urban)
    khu_pho = "khu_pho"  # khu phố (urban)
    khom = "khom"  # khóm (southern urban)
    other = "other"  # khác


KIND_VI: dict[HamletKind, str] = {
    HamletKind.thon: "Thôn",
    HamletKind.ap: "Ấp",
    HamletKind.ban: "Bản",
    HamletKind.buon: "Buôn",
    HamletKind.lang: "Làng",
    HamletKind.to_dan_pho: "Tổ dân phố",
    HamletKind.khu_pho: "Khu phố",
    HamletKind.khom: "Khóm",
    HamletKind.other: "Khác",
}

KIND_EN: dict[HamletKind, str] = {
    HamletKind.thon: "village (thôn)",
    HamletKind.ap: "hamlet (ấp)",
    HamletKind.ban: "village (bản)",
    HamletKind.buon: "village (buôn)",
    HamletKind.lang: "village (làng)",
    HamletKind.to_dan_pho: "residential group (tổ dân phố)",
    HamletKind.khu_pho: "quarter (khu phố)",
    HamletKind.khom: "neighbourhood (khóm)",
    HamletKind.other: "other",
}


# --- events (public contract) -----------------------------------------------------------------


@registry.register
class HamletAdded(DomainEvent):
    NAME = f"{NS}.HamletAdded"
    hamlet_id: str
    commune_code: str
    name: str
    kind: HamletKind
    #: codes from the province down to the commune, in ``dataset``
    unit_path: list[str]
    dataset: str


@registry.register
class HamletRenamed(DomainEvent):
    NAME = f"{NS}.HamletRenamed"
    hamlet_id: str
    old_name: str
    new_name: str


@registry.register
class HamletRetired(DomainEvent):
    NAME = f"{NS}.HamletRetired"
    hamlet_id: str
    reason: str
    retired_on: date


HAMLET_EVENTS: tuple[type[DomainEvent], ...] = (HamletAdded, HamletRenamed, HamletRetired)


def register_into(target: EventRegistry) -> EventRegistry:
    """Add the hamlet events (and their upcasters) to another service's registry, so that a
    runtime whose registry is its own can still decode the hamlet events it projects."""
    for model in HAMLET_EVENTS:
        target.register(model)
    for key, fn in registry.upcasters.items():
        target.upcasters.setdefault(key, fn)
    return target


# --- the aggregate (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Hamlet:
    hamlet_id: str = ""
    commune_code: str = ""
    name: str = ""
    kind: HamletKind = HamletKind.other
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    retired: bool = False
    retired_on: date | None = None
    retire_reason: str | None = None

    @property
    def exists(self) -> bool:
        return bool(self.hamlet_id)


def initial() -> Hamlet:
    return Hamlet()


def evolve(state: Hamlet, event: DomainEvent) -> Hamlet:
    match event:
        case HamletAdded():
            return Hamlet(
                hamlet_id=event.hamlet_id,
                commune_code=event.commune_code,
                name=event.name,
                kind=event.kind,
                unit_path=tuple(event.unit_path),
                dataset=event.dataset,
            )
        case HamletRenamed():
            return replace(state, name=event.new_name)
        case HamletRetired():
            return replace(state, retired=True, retired_on=event.retired_on, retire_reason=event.reason)
    return state


def scope(state: Hamlet) -> Scope:
    """Hamlet events are scoped to their commune (``unitcode``), its dataset and its unit path."""
    return Scope(state.commune_code, state.dataset, state.unit_path)


HAMLET_AGGREGATE = AggregateKind[Hamlet]("hamlet", initial, evolve, scope)


def clean_name(name: str) -> str:
    """The NFC, single-spaced name; ``ValidationFailed`` (field ``name``) if it is not usable."""
    try:
        return normalize_hamlet_name(name)
    except ValueError as e:
        raise ValidationFailed(
            "Tên thôn, tổ dân phố không hợp lệ (trống, quá dài hoặc không có chữ, số)",
            message_en=f"invalid hamlet name: {e}",
            field="name",
        ) from e


def name_key(name: str) -> str:
    """What two names must differ in to be told apart (the slug the id is made of):
    ``"Thôn Đồng Tâm"`` and ``"thon dong  tam"`` are the same name."""
    return slugify(clean_name(name))


def new_hamlet_id(commune_code: str, name: str) -> str:
    """:func:`caunoi.shared.units.hamlet_id` with structured errors."""
    if not (commune_code.isascii() and commune_code.isdigit()):
        raise ValidationFailed(
            f"Mã xã, phường {commune_code!r} phải là chữ số",
            message_en=f"commune code {commune_code!r} must be digits",
            field="commune_code",
        )
    return hamlet_id(commune_code, clean_name(name))


def require_commune(tree: UnitTree, code: str) -> Unit:
    """The commune with ``code`` in ``tree``; ``NotFound`` (code ``unknown_unit``, field
    ``commune_code``) if there is none, or the code names a province or district."""
    unit = tree.find(code)
    if unit is None or unit.level != LEVEL_COMMUNE:
        raise NotFound(
            f"Không có xã, phường mã {code} trong danh mục {tree.dataset}",
            code="unknown_unit",
            message_en=f"no commune with code {code} in dataset {tree.dataset}",
            field="commune_code",
        )
    return unit


def _must_exist(state: Hamlet, hid: str) -> None:
    if not state.exists:
        raise NotFound(
            f"Không tìm thấy thôn, tổ dân phố {hid}",
            message_en=f"no hamlet {hid}",
            field="hamlet_id",
        )


def _not_retired(state: Hamlet, action_vi: str, action_en: str) -> None:
    if state.retired:
        raise InvalidState(
            f"Không thể {action_vi}: «{state.name}» đã thôi sử dụng từ ngày {state.retired_on}",
            message_en=f"cannot {action_en} hamlet {state.hamlet_id}: retired on {state.retired_on}",
            field="hamlet_id",
            details={"retired_on": str(state.retired_on)},
        )


def _name_free(taken: Mapping[str, str], key: str, name: str, field: str) -> None:
    holder = taken.get(key)
    if holder is not None:
        raise Conflict(
            f"Xã đã có thôn, tổ dân phố tên «{name}» ({holder})",
            code="duplicate",
            message_en=f"the commune already has a hamlet named {name!r} ({holder})",
            field=field,
            details={"hamlet_id": holder},
        )


def decide_add(
    state: Hamlet,
    *,
    commune_code: str,
    name: str,
    kind: HamletKind,
    unit_path: Sequence[str],
    dataset: str,
    taken: Mapping[str, str] | None = None,
) -> list[DomainEvent]:
    """Add a hamlet under a commune (already checked against the unit tree: ``unit_path`` is its
    path there). ``state`` is the aggregate ``new_hamlet_id(commune_code, name)``; it must not
    exist. ``taken`` maps :func:`name_key` of the *current* names of the commune's other active
    hamlets to their ids (from the read model), so a name freed or taken by a rename counts."""
    clean = clean_name(name)
    hid = new_hamlet_id(commune_code, clean)
    if state.exists:
        retired_vi = " (đã thôi sử dụng)" if state.retired else ""
        if slugify(state.name) == slugify(clean):
            vi = f"Xã đã có thôn, tổ dân phố «{state.name}», mã {state.hamlet_id}{retired_vi}"
        else:  # the id was made from a name the hamlet had before a rename
            vi = f"Tên «{clean}» đã dùng cho thôn, tổ dân phố mã {state.hamlet_id} (nay là «{state.name}»){retired_vi}"
        raise Conflict(
            vi,
            code="duplicate",
            message_en=f"the commune already has hamlet {state.hamlet_id} (now {state.name!r})"
            + (", retired" if state.retired else ""),
            field="name",
            details={"hamlet_id": state.hamlet_id, "name": state.name, "retired": state.retired},
        )
    _name_free(taken or {}, slugify(clean), clean, "name")
    if not unit_path or unit_path[-1] != commune_code:
        raise ValueError(f"unit_path {list(unit_path)} does not end at commune {commune_code}")
    return [
        HamletAdded(
            hamlet_id=hid,
            commune_code=commune_code,
            name=clean,
            kind=kind,
            unit_path=list(unit_path),
            dataset=dataset,
        )
    ]


def decide_rename(state: Hamlet, hid: str, new_name: str, taken: Mapping[str, str] | None = None) -> list[DomainEvent]:
    """Rename; the id stays. ``taken`` as in :func:`decide_add` (this hamlet's own entry is
    ignored, so correcting diacritics or case is allowed)."""
    _must_exist(state, hid)
    _not_retired(state, "đổi tên", "rename")
    clean = clean_name(new_name)
    if clean == state.name:
        raise ValidationFailed(
            f"Tên mới trùng tên hiện tại «{state.name}»",
            message_en=f"the new name is the current name {state.name!r}",
            field="name",
        )
    others = {k: v for k, v in (taken or {}).items() if v != state.hamlet_id}
    _name_free(others, slugify(clean), clean, "name")
    return [HamletRenamed(hamlet_id=state.hamlet_id, old_name=state.name, new_name=clean)]


def decide_retire(state: Hamlet, hid: str, reason: str, retired_on: date, today: date) -> list[DomainEvent]:
    """Stop using a hamlet (merged, dissolved, entered by mistake). Its history stays."""
    _must_exist(state, hid)
    _not_retired(state, "thôi sử dụng", "retire")
    why = " ".join(reason.split())
    if not why:
        raise ValidationFailed("Phải ghi lý do", message_en="a reason is required", field="reason")
    if retired_on > today:
        raise ValidationFailed(
            "Ngày thôi sử dụng không được sau ngày hôm nay",
            message_en="retired_on is in the future",
            field="retired_on",
        )
    return [HamletRetired(hamlet_id=state.hamlet_id, reason=why, retired_on=retired_on)]


# --- the read model ---------------------------------------------------------------------------

DDL = """
CREATE TABLE IF NOT EXISTS "{s}".hamlets (
    id           text PRIMARY KEY,
    commune_code text NOT NULL,
    name         text NOT NULL,
    kind         text NOT NULL,
    unit_path    text[] NOT NULL,
    dataset      text NOT NULL,
    retired      boolean NOT NULL DEFAULT false,
    retired_on   date,
    last_seq     bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS hamlets_unit_path ON "{s}".hamlets USING gin (unit_path);
"""

COLUMNS = "id, commune_code, name, kind, unit_path, dataset, retired, retired_on, last_seq"


class HamletsProjection:
    """The hamlet list as a table ``"<schema>".hamlets``. ``name`` is the projection's name and its
    live schema; a reader service picks one that does not clash with its own read models."""

    def __init__(self, name: str = "hamlets") -> None:
        self.name = name

    async def setup(self, conn: Conn, schema: str) -> None:
        await conn.execute(DDL.format(s=schema))

    async def apply(self, conn: Conn, schema: str, rec: RecordedEvent) -> None:
        ev = rec.event
        t = f'"{schema}".hamlets'
        match ev:
            case HamletAdded():
                await conn.execute(
                    f"INSERT INTO {t} (id, commune_code, name, kind, unit_path, dataset, retired, last_seq)"
                    " VALUES ($1, $2, $3, $4, $5, $6, false, $7)",
                    ev.hamlet_id,
                    ev.commune_code,
                    ev.name,
                    ev.kind.value,
                    ev.unit_path,
                    ev.dataset,
                    rec.seq,
                )
            case HamletRenamed():
                await self._update(conn, t, ev.hamlet_id, rec.seq, "name = $3", ev.new_name)
            case HamletRetired():
                await self._update(conn, t, ev.hamlet_id, rec.seq, "retired = true, retired_on = $3", ev.retired_on)

    @staticmethod
    async def _update(conn: Conn, table: str, hid: str, seq: int, sets: str, *args: Any) -> None:
        res = await conn.execute(f"UPDATE {table} SET {sets}, last_seq = $2 WHERE id = $1", hid, seq, *args)
        if res != "UPDATE 1":
            raise LookupError(f"hamlet {hid} is not in the read model (event seq {seq})")

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        rows = await conn.fetch(f'SELECT {COLUMNS} FROM "{schema}".hamlets ORDER BY id')
        return [dict(r) for r in rows]


async def list_hamlets(
    conn: Conn, schema: str, unit: str | None = None, include_retired: bool = False
) -> list[dict[str, Any]]:
    """Hamlets under ``unit`` (a code at any level of their unit path: province, district or
    commune; ``None``: all), active ones only unless ``include_retired``; by commune, then name."""
    rows = await conn.fetch(
        f'SELECT {COLUMNS} FROM "{schema}".hamlets'
        " WHERE ($1::text IS NULL OR unit_path @> ARRAY[$1::text]) AND ($2 OR NOT retired)"
        " ORDER BY commune_code, name, id",
        unit,
        include_retired,
    )
    return [dict(r) for r in rows]


async def get_hamlet(conn: Conn, schema: str, hamlet_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f'SELECT {COLUMNS} FROM "{schema}".hamlets WHERE id = $1', hamlet_id)
    return dict(row) if row else None
