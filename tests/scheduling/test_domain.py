"""The hamlet aggregate as pure functions: no servers, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import reduce

import pytest

from caunoi.scheduling.commands import AddHamlet, RenameHamlet, RetireHamlet
from caunoi.scheduling.domain.hamlets import (
    HAMLET,
    Facts,
    Hamlet,
    decide_add,
    decide_rename,
    decide_retire,
    evolve,
    hamlet_id,
    initial,
    name_key,
    new_hamlet_id,
    normalize_hamlet_name,
    scope,
)
from caunoi.scheduling.events import registry
from caunoi.scheduling.labels import KIND_EN, KIND_VI
from caunoi.shared.errors import CommandError, Conflict, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletAdded, HamletKind, HamletRenamed, HamletRetired
from caunoi.shared.ids import is_hamlet_id
from caunoi.shared.units import UnitTree

COMMUNE = "00691"
PATH = ["08", COMMUNE]
TODAY = date(2025, 9, 1)
UNITS = UnitTree.load("vn-2025")
FACTS = Facts(TODAY, UNITS)


def fold(events: list[DomainEvent], state: Hamlet | None = None) -> Hamlet:
    return reduce(evolve, events, state or initial())


def add(name: str = "Thôn Đồng Tâm", kind: HamletKind = HamletKind.thon, commune: str = COMMUNE) -> AddHamlet:
    return AddHamlet(commune_code=commune, name=name, kind=kind)


def rename(hid: str, name: str) -> RenameHamlet:
    return RenameHamlet(hamlet_id=hid, name=name)


def retire(hid: str, reason: str = "sáp nhập", on: date | None = TODAY) -> RetireHamlet:
    return RetireHamlet(hamlet_id=hid, reason=reason, retired_on=on)


def added(name: str = "Thôn Đồng Tâm", kind: HamletKind = HamletKind.thon) -> Hamlet:
    return fold(decide_add(initial(), add(name, kind), FACTS))


def test_add_on_a_new_aggregate() -> None:
    [ev] = decide_add(initial(), add("  Thôn   Đồng Tâm "), FACTS)
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
    assert HAMLET.scope is scope and HAMLET.initial() == Hamlet()


def test_add_an_existing_hamlet_is_a_duplicate() -> None:
    with pytest.raises(Conflict) as e:
        decide_add(added(), add("thon dong tam", HamletKind.ap), FACTS)
    assert (e.value.code, e.value.field) == ("duplicate", "name")
    assert e.value.details["hamlet_id"] == "00691-thon-dong-tam"
    assert e.value.message and e.value.message_en != e.value.message


def test_add_a_retired_hamlet_again_is_a_duplicate() -> None:
    state = fold(decide_retire(added(), retire("00691-thon-dong-tam"), FACTS), added())
    with pytest.raises(Conflict) as e:
        decide_add(state, add(), FACTS)
    assert e.value.code == "duplicate" and e.value.details["retired"] is True


def test_add_a_name_another_hamlet_now_has_is_a_duplicate() -> None:
    facts = Facts(TODAY, UNITS, {name_key("Thôn Tây"): "00691-thon-dong"})
    with pytest.raises(Conflict) as e:
        decide_add(initial(), add("THÔN TÂY"), facts)
    assert (e.value.code, e.value.field, e.value.details["hamlet_id"]) == ("duplicate", "name", "00691-thon-dong")


@pytest.mark.parametrize("name", ["!!!", "?-?"])
def test_add_with_a_bad_name_is_invalid(name: str) -> None:
    with pytest.raises(ValidationFailed) as e:
        decide_add(initial(), add(name), FACTS)
    assert (e.value.code, e.value.field) == ("invalid", "name")


@pytest.mark.parametrize("code", ["99999", "00000"])
def test_add_under_an_unknown_commune_is_refused(code: str) -> None:
    with pytest.raises(NotFound) as e:
        decide_add(initial(), add(commune=code), FACTS)
    assert (e.value.code, e.value.field) == ("unknown_unit", "commune_code")


def test_new_hamlet_id() -> None:
    assert new_hamlet_id(add("Tổ dân phố số 7")) == "00691-to-dan-pho-so-7"
    with pytest.raises(ValidationFailed) as e:
        new_hamlet_id(add("?"))
    assert e.value.field == "name"


def test_rename_keeps_the_id() -> None:
    state = added()
    [ev] = decide_rename(state, rename(state.hamlet_id, " Thôn  Hòa Bình "), FACTS)
    assert ev == HamletRenamed(hamlet_id="00691-thon-dong-tam", old_name="Thôn Đồng Tâm", new_name="Thôn Hòa Bình")
    after = evolve(state, ev)
    assert after.hamlet_id == state.hamlet_id and after.name == "Thôn Hòa Bình"
    # Back to the old name is fine too: the id was never the name.
    [back] = decide_rename(after, rename(after.hamlet_id, "Thôn Đồng Tâm"), FACTS)
    assert evolve(after, back) == state


def test_rename_may_fix_diacritics_of_its_own_name() -> None:
    state = added("Thon Dong Tam")
    facts = Facts(TODAY, UNITS, {name_key("Thon Dong Tam"): state.hamlet_id})
    [ev] = decide_rename(state, rename(state.hamlet_id, "Thôn Đồng Tâm"), facts)
    assert isinstance(ev, HamletRenamed) and ev.new_name == "Thôn Đồng Tâm"


def test_rename_rejections() -> None:
    with pytest.raises(NotFound) as nf:
        decide_rename(initial(), rename("00691-khong-co", "Thôn A"), FACTS)
    assert (nf.value.code, nf.value.field) == ("not_found", "hamlet_id")
    state = added()
    with pytest.raises(ValidationFailed) as same:
        decide_rename(state, rename(state.hamlet_id, "Thôn  Đồng Tâm"), FACTS)
    assert same.value.field == "name"
    with pytest.raises(Conflict) as dup:
        decide_rename(state, rename(state.hamlet_id, "Thôn Tây"), Facts(TODAY, UNITS, {"thon-tay": "00691-thon-tay"}))
    assert dup.value.code == "duplicate"
    retired = fold(decide_retire(state, retire(state.hamlet_id, "giải thể"), FACTS), state)
    with pytest.raises(InvalidState) as e:
        decide_rename(retired, rename(retired.hamlet_id, "Thôn Mới"), FACTS)
    assert (e.value.code, e.value.field) == ("invalid_state", "hamlet_id")


def test_retire() -> None:
    state = added()
    [ev] = decide_retire(state, retire(state.hamlet_id, "  Sáp nhập   vào thôn Tân Lập ", date(2025, 7, 1)), FACTS)
    assert ev == HamletRetired(
        hamlet_id=state.hamlet_id, reason="Sáp nhập vào thôn Tân Lập", retired_on=date(2025, 7, 1)
    )
    after = evolve(state, ev)
    assert after.retired and after.retired_on == date(2025, 7, 1) and after.name == state.name
    with pytest.raises(InvalidState):
        decide_retire(after, retire(after.hamlet_id, "again"), FACTS)
    [today] = decide_retire(state, retire(state.hamlet_id, on=None), FACTS)
    assert isinstance(today, HamletRetired) and today.retired_on == TODAY


def test_retire_rejections() -> None:
    with pytest.raises(NotFound):
        decide_retire(initial(), retire("00691-x", "r"), FACTS)
    state = added()
    with pytest.raises(ValidationFailed) as e:
        blank = RetireHamlet.model_construct(hamlet_id=state.hamlet_id, reason="   ", retired_on=TODAY)
        decide_retire(state, blank, FACTS)  # the rule holds even for a command built without validation
    assert e.value.field == "reason"
    with pytest.raises(ValidationFailed) as e:
        decide_retire(state, retire(state.hamlet_id, "r", date(2025, 9, 2)), FACTS)
    assert e.value.field == "retired_on"


def test_every_rejection_is_a_structured_error() -> None:
    state = added()
    attempts: list[Callable[[], list[DomainEvent]]] = [
        lambda: decide_rename(state, rename(state.hamlet_id, state.name), FACTS),
        lambda: decide_retire(initial(), retire("00691-x", "r"), FACTS),
        lambda: decide_add(state, add(state.name), FACTS),
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
    assert {"HamletAdded", "HamletRenamed", "HamletRetired"} <= {m.NAME.rsplit(".", 1)[-1] for m in registry}


def test_kind_labels_cover_every_kind() -> None:
    assert set(KIND_VI) == set(HamletKind) == set(KIND_EN)
    assert KIND_VI[HamletKind.to_dan_pho] == "Tổ dân phố"


def test_hamlet_id() -> None:
    assert hamlet_id("00097", "Thôn Đồng Tâm") == "00097-thon-dong-tam"
    assert hamlet_id("00097", "Thôn 1") == "00097-thon-1"
    assert hamlet_id("00004", "  Tổ dân phố số 5 ") == "00004-to-dan-pho-so-5"
    assert hamlet_id("31299", "Ấp Nhơn Lộc 2") == "31299-ap-nhon-loc-2"
    assert hamlet_id("00700", "Bản Pả Vi (Hạ)") == "00700-ban-pa-vi-ha"
    assert is_hamlet_id(hamlet_id("00097", "Thôn Đồng Tâm"))


@pytest.mark.parametrize(
    ("code", "name"),
    [("", "Thôn 1"), ("0x97", "Thôn 1"), ("00097", ""), ("00097", "  "), ("00097", "!!!")],
)
def test_hamlet_id_rejects(code: str, name: str) -> None:
    with pytest.raises(ValueError):
        hamlet_id(code, name)


def test_hamlet_name() -> None:
    assert normalize_hamlet_name("  Thôn   Đồng  Tâm ") == "Thôn Đồng Tâm"
    with pytest.raises(ValueError):
        normalize_hamlet_name("x" * 101)
