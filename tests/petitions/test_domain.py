"""The petition aggregate's pure functions: ``decide_*(state, command, facts)`` and ``evolve``."""

from __future__ import annotations

from datetime import date
from functools import reduce
from typing import Any

import pytest

from caunoi.petitions import domain
from caunoi.petitions.commands import AnswerOnSpot, ForwardPetition, IssueReply, RaisePetition, SetCommitment
from caunoi.petitions.domain import Facts
from caunoi.petitions.events import PetitionRaised, Status
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletKind, HamletRecord
from caunoi.shared.units import UnitTree

TODAY = date(2026, 11, 22)
UNITS = UnitTree.load("vn-2025")
LEGACY = UnitTree.load("vn-2024")
REF = "PA-TEST0001"
HAMLET = HamletRecord("00691-thon-1", "00691", "Thôn 1", HamletKind.thon, ("08", "00691"), "vn-2025")
FACTS = Facts(TODAY, UNITS, reference=REF, hamlet=HAMLET)


def raise_cmd(**over: Any) -> RaisePetition:
    body: dict[str, Any] = {
        "channel": "meeting",
        "kind": "petition",
        "category": "land",
        "petitioner": {"name": "A"},
        "commune_code": "00691",
        "hamlet_id": "00691-thon-1",
        "text": "t",
        "received_on": "2026-11-01",
    }
    return RaisePetition.model_validate({**body, **over})


def fold(*events: DomainEvent) -> domain.Petition:
    return reduce(domain.evolve, events, domain.initial())


def raised(**over: Any) -> domain.Petition:
    return fold(*domain.decide_raise(domain.initial(), raise_cmd(**over), FACTS))


def test_reference_is_stable_and_readable() -> None:
    ref = domain.reference_for("cmd-1")
    assert ref == domain.reference_for("cmd-1") != domain.reference_for("cmd-2")
    assert ref != domain.reference_for("cmd-1", 1)
    assert ref.startswith("PA-") and len(ref) == 11
    assert not set(ref[3:]) & set("ILOU")


def test_raise_records_the_unit_path_and_the_hamlet_name() -> None:
    [ev] = domain.decide_raise(domain.initial(), raise_cmd(), FACTS)
    assert isinstance(ev, PetitionRaised)
    assert (ev.petition_id, ev.unit_path, ev.dataset, ev.hamlet_name) == (REF, ["08", "00691"], "vn-2025", "Thôn 1")
    no_date = domain.decide_raise(domain.initial(), raise_cmd(received_on=None), FACTS)[0]
    assert isinstance(no_date, PetitionRaised) and no_date.received_on == TODAY


@pytest.mark.parametrize(
    ("over", "facts", "code", "field"),
    [
        ({"hamlet_id": None}, FACTS, "invalid", "hamlet_id"),  # a meeting opinion names the hamlet
        ({"received_on": "2026-12-01"}, FACTS, "invalid", "received_on"),
        ({"commune_code": "99999"}, FACTS, "unknown_unit", "commune_code"),
        ({}, Facts(TODAY, UNITS, reference=REF), "unknown_unit", "hamlet_id"),  # not in the list
        ({"commune_code": "00694"}, FACTS, "unknown_unit", "hamlet_id"),  # another commune's hamlet
        (
            {},
            Facts(TODAY, UNITS, REF, HamletRecord(**{**HAMLET.__dict__, "retired": True})),
            "unknown_unit",
            "hamlet_id",
        ),
    ],
)
def test_raise_refusals(over: dict[str, Any], facts: Facts, code: str, field: str) -> None:
    with pytest.raises((ValidationFailed, NotFound)) as e:
        domain.decide_raise(domain.initial(), raise_cmd(**over), facts)
    assert (e.value.code, e.value.field) == (code, field)


def test_raise_twice_is_refused() -> None:
    with pytest.raises(InvalidState):
        domain.decide_raise(raised(), raise_cmd(), FACTS)


def test_answer_on_the_spot_only_for_meetings_and_receptions() -> None:
    s = raised()
    [ev] = domain.decide_answer(s, AnswerOnSpot(petition_id=REF, answer="ok", answered_by="chủ tịch"), FACTS)
    assert domain.evolve(s, ev).status is Status.answered
    hotline = raised(channel="hotline", hamlet_id=None)
    with pytest.raises(InvalidState):
        domain.decide_answer(hotline, AnswerOnSpot(petition_id=REF, answer="ok", answered_by="x"), FACTS)
    early = AnswerOnSpot(petition_id=REF, answer="ok", answered_by="x", answered_on=date(2026, 10, 1))
    with pytest.raises(ValidationFailed):
        domain.decide_answer(s, early, FACTS)
    with pytest.raises(NotFound):
        domain.decide_answer(domain.initial(), AnswerOnSpot(petition_id=REF, answer="ok", answered_by="x"), FACTS)


def test_forward_goes_up_the_tiers_only() -> None:
    s = raised()
    [ev] = domain.decide_forward(s, ForwardPetition(petition_id=REF, to_unit="08", to_agency="Sở"), FACTS)
    s2 = domain.evolve(s, ev)
    sc = domain.scope(s2)
    assert (s2.status, sc.unit_code, sc.dataset, list(sc.unit_path)) == (
        Status.forwarded,
        "08",
        "vn-2025",
        ["08", "00691"],
    )
    with pytest.raises(ValidationFailed) as e:
        domain.decide_forward(s, ForwardPetition(petition_id=REF, to_unit="00694"), FACTS)
    assert e.value.details["allowed"] == ["08"]
    with pytest.raises(ValidationFailed):  # the province has nothing above it
        domain.decide_forward(s2, ForwardPetition(petition_id=REF, to_unit="08"), FACTS)


def test_forward_in_the_three_tier_structure_may_skip_the_district() -> None:
    commune = next(u for u in LEGACY.descendants("072") if u.level == "commune")
    facts = Facts(TODAY, LEGACY, reference=REF)
    s = fold(
        *domain.decide_raise(
            domain.initial(), raise_cmd(channel="letter", hamlet_id=None, commune_code=commune.code), facts
        )
    )
    assert [u.code for u in LEGACY.higher_units(commune.code)] == ["072", "08"]
    for to in ("072", "08"):
        [ev] = domain.decide_forward(s, ForwardPetition(petition_id=REF, to_unit=to), facts)
        assert domain.evolve(s, ev).handling_unit == to


def test_commitment_and_reply() -> None:
    s = raised()
    [c] = domain.decide_commit(s, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 1)), FACTS)
    s = domain.evolve(s, c)
    assert s.status is Status.in_progress
    with pytest.raises(InvalidState):
        domain.decide_commit(s, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 9)), FACTS)
    with pytest.raises(ValidationFailed):
        domain.decide_commit(raised(), SetCommitment(petition_id=REF, committed_date=date(2026, 10, 1)), FACTS)
    reply = IssueReply(petition_id=REF, document_no="1/UB", summary="x")
    with pytest.raises(InvalidState):
        domain.decide_reply(raised(), reply, FACTS)
    [r] = domain.decide_reply(s, reply, FACTS)
    s = domain.evolve(s, r)
    assert s.status is Status.replied
    with pytest.raises(InvalidState):
        domain.decide_reply(s, reply, FACTS)
