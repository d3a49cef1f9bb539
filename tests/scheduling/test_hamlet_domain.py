"""The hamlet aggregate as pure functions: no servers, no I/O."""

from __future__ import annotations

from datetime import date
from functools import reduce

import pytest

from caunoi.shared.errors import CommandError, Conflict, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.hamlets import (
    HAMLET_AGGREGATE,
    KIND_EN,
    KIND_VI,
    Hamlet,
    HamletAdded,
    HamletKind,
    HamletRenamed,
    HamletRetired,
    decide_add,
    decide_rename,
    decide_retire,
    evolve,
    initial,
    name_key,
    new_hamlet_id,
    register_into,
    registry,
    require_commune,
    scope,
)
from caunoi.shared.units import UnitTree

COMMUNE = "00691"
PATH = ["08", COMMUNE]
TODAY = date(2025, 9, 1)


def fold(events: list[DomainEvent], state: Hamlet | None = None) -> Hamlet:
    return reduce(evolve, events, state or initial())


def added(name: str = "Thôn Đồng Tâm", kind: HamletKind = HamletKind.thon) -> Hamlet:
    return fold(decide_add(initial(), commune_code=COMMUNE, name=name, kind=kind, unit_path=PATH, dataset="vn-2025"))


def test_add_on_a_new_aggregate() -> None:
    [ev] = decide_add(
        initial(),
        commune_code=COMMUNE,
        name="  Thôn   Đồng Tâm ",
        kind=HamletKind.thon,
        unit_path=PATH,
        dataset="vn-2025",
    )
    assert ev == HamletAdded(
        hamlet_id="00691-thon-dong-tam",
        commune_code=COMMUNE,
        name="Thôn Đồng Tâm",
        kind=HamletKind.thon,
        unit_path=PATH,
        dataset="vn-2025",
    )
    state = evolve(initial(), ev)
    assert state.exists and state.hamlet_id == "00691-thon-dong-tam" and not state.retired
    assert state.unit_path == ("08", COMMUNE)
    assert (scope(state).unit_code, scope(state).dataset) == (COMMUNE, "vn-2025")
    assert HAMLET_AGGREGATE.scope is scope and HAMLET_AGGREGATE.initial() == Hamlet()


def test_add_an_existing_hamlet_is_a_duplicate() -> None:
    state = added()
    with pytest.raises(Conflict) as e:
        decide_add(
            state, commune_code=COMMUNE, name="thon dong tam", kind=HamletKind.ap, unit_path=PATH, dataset="vn-2025"
        )
    assert (e.value.code, e.value.field) == ("duplicate", "name")
    assert e.value.details["hamlet_id"] == "00691-thon-dong-tam"
    assert e.value.message and e.value.message_en != e.value.message


def test_add_a_retired_hamlet_again_is_a_duplicate() -> None:
    state = fold(decide_retire(added(), "00691-thon-dong-tam", "sáp nhập", TODAY, TODAY), added())
    with pytest.raises(Conflict) as e:
        decide_add(
            state, commune_code=COMMUNE, name="Thôn Đồng Tâm", kind=HamletKind.thon, unit_path=PATH, dataset="vn-2025"
        )
    assert e.value.code == "duplicate" and e.value.details["retired"] is True


def test_add_a_name_another_hamlet_now_has_is_a_duplicate() -> None:
    taken = {name_key("Thôn Tây"): "00691-thon-dong"}
    with pytest.raises(Conflict) as e:
        decide_add(
            initial(),
            commune_code=COMMUNE,
            name="THÔN TÂY",
            kind=HamletKind.thon,
            unit_path=PATH,
            dataset="vn-2025",
            taken=taken,
        )
    assert (e.value.code, e.value.field, e.value.details["hamlet_id"]) == ("duplicate", "name", "00691-thon-dong")


@pytest.mark.parametrize("name", ["", "   ", "!!!", "x" * 101])
def test_add_with_a_bad_name_is_invalid(name: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        decide_add(initial(), commune_code=COMMUNE, name=name, kind=HamletKind.thon, unit_path=PATH, dataset="vn-2025")
    assert (e.value.code, e.value.field) == ("invalid", "name")


def test_new_hamlet_id() -> None:
    assert new_hamlet_id(COMMUNE, "Tổ dân phố số 7") == "00691-to-dan-pho-so-7"
    with pytest.raises(ValidationFailed) as e:
        new_hamlet_id("0069a", "Thôn 1")
    assert e.value.field == "commune_code"
    with pytest.raises(ValidationFailed) as e:
        new_hamlet_id(COMMUNE, "?")
    assert e.value.field == "name"


def test_rename_keeps_the_id() -> None:
    state = added()
    [ev] = decide_rename(state, state.hamlet_id, " Thôn  Hòa Bình ")
    assert ev == HamletRenamed(hamlet_id="00691-thon-dong-tam", old_name="Thôn Đồng Tâm", new_name="Thôn Hòa Bình")
    after = evolve(state, ev)
    assert after.hamlet_id == state.hamlet_id and after.name == "Thôn Hòa Bình"
    # Back to the old name is fine too: the id was never the name.
    [back] = decide_rename(after, after.hamlet_id, "Thôn Đồng Tâm")
    assert evolve(after, back) == state


def test_rename_may_fix_diacritics_of_its_own_name() -> None:
    state = added("Thon Dong Tam")
    taken = {name_key("Thon Dong Tam"): state.hamlet_id}
    [ev] = decide_rename(state, state.hamlet_id, "Thôn Đồng Tâm", taken)
    assert isinstance(ev, HamletRenamed) and ev.new_name == "Thôn Đồng Tâm"


def test_rename_rejections() -> None:
    with pytest.raises(NotFound) as nf:
        decide_rename(initial(), "00691-khong-co", "Thôn A")
    assert (nf.value.code, nf.value.field) == ("not_found", "hamlet_id")
    state = added()
    with pytest.raises(ValidationFailed) as same:
        decide_rename(state, state.hamlet_id, "Thôn  Đồng Tâm")
    assert same.value.field == "name"
    with pytest.raises(Conflict) as dup:
        decide_rename(state, state.hamlet_id, "Thôn Tây", {name_key("Thôn Tây"): "00691-thon-tay"})
    assert dup.value.code == "duplicate"
    retired = fold(decide_retire(state, state.hamlet_id, "giải thể", TODAY, TODAY), state)
    with pytest.raises(InvalidState) as e:
        decide_rename(retired, retired.hamlet_id, "Thôn Mới")
    assert (e.value.code, e.value.field) == ("invalid_state", "hamlet_id")


def test_retire() -> None:
    state = added()
    [ev] = decide_retire(state, state.hamlet_id, "  Sáp nhập   vào thôn Tân Lập ", date(2025, 7, 1), TODAY)
    assert ev == HamletRetired(
        hamlet_id=state.hamlet_id, reason="Sáp nhập vào thôn Tân Lập", retired_on=date(2025, 7, 1)
    )
    after = evolve(state, ev)
    assert after.retired and after.retired_on == date(2025, 7, 1) and after.name == state.name
    with pytest.raises(InvalidState):
        decide_retire(after, after.hamlet_id, "again", TODAY, TODAY)


def test_retire_rejections() -> None:
    with pytest.raises(NotFound):
        decide_retire(initial(), "00691-x", "r", TODAY, TODAY)
    state = added()
    with pytest.raises(ValidationFailed) as e:
        decide_retire(state, state.hamlet_id, "   ", TODAY, TODAY)
    assert e.value.field == "reason"
    with pytest.raises(ValidationFailed) as e:
        decide_retire(state, state.hamlet_id, "r", date(2025, 9, 2), TODAY)
    assert e.value.field == "retired_on"


def test_every_rejection_is_a_structured_error() -> None:
    state = added()
    attempts = [
        lambda: decide_rename(state, state.hamlet_id, state.name),
        lambda: decide_retire(initial(), "00691-x", "r", TODAY, TODAY),
        lambda: decide_add(
            state, commune_code=COMMUNE, name=state.name, kind=HamletKind.thon, unit_path=PATH, dataset="vn-2025"
        ),
    ]
    for attempt in attempts:
        with pytest.raises(CommandError) as e:
            attempt()
        d = e.value.to_dict()
        assert {"code", "message", "message_en", "field"} <= d.keys()


def test_evolve_ignores_other_events_and_is_pure() -> None:
    state = added()

    class Other(DomainEvent):
        NAME = "vn.caunoi.test.Other"

    assert evolve(state, Other()) is state
    fold([HamletRenamed(hamlet_id=state.hamlet_id, old_name=state.name, new_name="Thôn X")], state)
    assert state.name == "Thôn Đồng Tâm"  # frozen: the old state is unchanged


def test_events_round_trip_through_the_registry() -> None:
    ev = HamletRetired(hamlet_id="00691-thon-1", reason="r", retired_on=date(2025, 7, 1))
    data = ev.model_dump(mode="json")
    assert data["retired_on"] == "2025-07-01"
    assert registry.decode(ev.type_name(), data) == ev
    assert HamletAdded.type_name() == "vn.caunoi.units.HamletAdded.v1"
    assert [m.NAME.rsplit(".", 1)[-1] for m in registry] == ["HamletAdded", "HamletRenamed", "HamletRetired"]
    other = register_into(EventRegistry())
    assert other.decode(ev.type_name(), data) == ev


def test_kind_labels_cover_every_kind() -> None:
    assert set(KIND_VI) == set(HamletKind) == set(KIND_EN)
    assert KIND_VI[HamletKind.to_dan_pho] == "Tổ dân phố"


def test_require_commune() -> None:
    tree = UnitTree.load("vn-2025")
    assert require_commune(tree, COMMUNE).name == "Phường Hà Giang 2"
    for code in ("99999", "08"):
        with pytest.raises(NotFound) as e:
            require_commune(tree, code)
        assert (e.value.code, e.value.field) == ("unknown_unit", "commune_code")
