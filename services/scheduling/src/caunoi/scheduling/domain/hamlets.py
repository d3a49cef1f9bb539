"""The hamlet aggregate (the commune's editable list of hamlets and agency party cells): pure
functions, no I/O.

``evolve(state, event) -> state`` rebuilds a hamlet from its events; each ``decide_*(state,
command, facts) -> events`` returns the new events or raises a ``CommandError`` saying why not.
``facts`` are what the handler looked up for the decision (the unit tree, the names the commune's
other hamlets use now, today's date), so every rule sits here with its inputs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from caunoi.scheduling.commands import HAMLET_NAME_MAX, AddHamlet, RenameHamlet, RetireHamlet
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import Conflict, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletAdded, HamletKind, HamletRecord, HamletRenamed, HamletRetired
from caunoi.shared.ids import HAMLET_ID_MAX, is_commune_code
from caunoi.shared.units import LEVEL_COMMUNE, UnitTree, require_unit, slugify


def normalize_hamlet_name(name: str) -> str:
    """Validate a hamlet name and return it NFC-normalized with single spaces; ValueError if bad."""
    clean = " ".join(unicodedata.normalize("NFC", name).split())
    if not clean:
        raise ValueError("hamlet name is empty")
    if len(clean) > HAMLET_NAME_MAX:
        raise ValueError(f"hamlet name is longer than {HAMLET_NAME_MAX} characters")
    if not slugify(clean):
        raise ValueError(f"hamlet name {name!r} has no letters or digits")
    return clean


def hamlet_id(commune_code: str, name: str) -> str:
    """Local hamlet id ``<commune code>-<slug>``: ``("00097", "Thôn 1")`` -> ``"00097-thon-1"``
    (the format is :data:`caunoi.shared.ids.HAMLET_ID_PATTERN`)."""
    if not is_commune_code(commune_code):
        raise ValueError(f"commune code {commune_code!r} must be 5 digits")
    hid = f"{commune_code}-{slugify(normalize_hamlet_name(name))}"
    if len(hid) > HAMLET_ID_MAX:
        hid = hid[:HAMLET_ID_MAX].rstrip("-")
    return hid


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


HAMLET = AggregateKind[Hamlet]("hamlet", initial, evolve, scope)


@dataclass(frozen=True)
class Facts:
    """What a hamlet command's handler looked up."""

    today: date
    units: UnitTree
    #: :func:`name_key` of the current name of each of the commune's active hamlets -> its id
    #: (from the read model), so a name freed or taken by a rename counts
    taken: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def names_of(hamlets: list[HamletRecord]) -> dict[str, str]:
        return {name_key(h.name): h.id for h in hamlets}


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


def new_hamlet_id(cmd: AddHamlet) -> str:
    """The id the hamlet ``cmd`` adds gets (:func:`hamlet_id`)."""
    return hamlet_id(cmd.commune_code, clean_name(cmd.name))


def _must_exist(state: Hamlet, hid: str) -> None:
    if not state.exists:
        raise NotFound(f"Không tìm thấy thôn, tổ dân phố {hid}", message_en=f"no hamlet {hid}", field="hamlet_id")


def _not_retired(state: Hamlet, action_vi: str, action_en: str) -> None:
    if state.retired:
        raise InvalidState(
            f"Không thể {action_vi}: «{state.name}» đã thôi sử dụng từ ngày {state.retired_on}",
            message_en=f"cannot {action_en} hamlet {state.hamlet_id}: retired on {state.retired_on}",
            field="hamlet_id",
            details={"retired_on": str(state.retired_on)},
        )


def _name_free(taken: Mapping[str, str], name: str) -> None:
    holder = taken.get(name_key(name))
    if holder is not None:
        raise Conflict(
            f"Xã đã có thôn, tổ dân phố tên «{name}» ({holder})",
            code="duplicate",
            message_en=f"the commune already has a hamlet named {name!r} ({holder})",
            field="name",
            details={"hamlet_id": holder},
        )


def decide_add(state: Hamlet, cmd: AddHamlet, facts: Facts) -> list[DomainEvent]:
    """Add a hamlet under a commune of the unit tree. ``state`` is the aggregate
    :func:`new_hamlet_id`; it must not exist, and no other active hamlet may use the name."""
    commune = require_unit(facts.units, cmd.commune_code, field="commune_code", level=LEVEL_COMMUNE)
    clean = clean_name(cmd.name)
    hid = new_hamlet_id(cmd)
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
    _name_free({k: v for k, v in facts.taken.items() if v != hid}, clean)
    return [
        HamletAdded(
            hamlet_id=hid,
            commune_code=commune.code,
            name=clean,
            kind=cmd.kind,
            unit_path=facts.units.path(commune.code),
            dataset=facts.units.dataset,
        )
    ]


def decide_rename(state: Hamlet, cmd: RenameHamlet, facts: Facts) -> list[DomainEvent]:
    """Rename; the id stays. Correcting diacritics or case of the hamlet's own name is allowed."""
    _must_exist(state, cmd.hamlet_id)
    _not_retired(state, "đổi tên", "rename")
    clean = clean_name(cmd.name)
    if clean == state.name:
        raise ValidationFailed(
            f"Tên mới trùng tên hiện tại «{state.name}»",
            message_en=f"the new name is the current name {state.name!r}",
            field="name",
        )
    _name_free({k: v for k, v in facts.taken.items() if v != state.hamlet_id}, clean)
    return [HamletRenamed(hamlet_id=state.hamlet_id, old_name=state.name, new_name=clean)]


def decide_retire(state: Hamlet, cmd: RetireHamlet, facts: Facts) -> list[DomainEvent]:
    """Stop using a hamlet (merged, dissolved, entered by mistake). Its history stays."""
    _must_exist(state, cmd.hamlet_id)
    _not_retired(state, "thôi sử dụng", "retire")
    why = " ".join(cmd.reason.split())
    if not why:
        raise ValidationFailed("Phải ghi lý do", message_en="a reason is required", field="reason")
    retired_on = cmd.retired_on or facts.today
    if retired_on > facts.today:
        raise ValidationFailed(
            "Ngày thôi sử dụng không được sau ngày hôm nay",
            message_en="retired_on is in the future",
            field="retired_on",
        )
    return [HamletRetired(hamlet_id=state.hamlet_id, reason=why, retired_on=retired_on)]
