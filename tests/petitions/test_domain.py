"""The petition aggregate's pure functions."""

from __future__ import annotations

from datetime import date
from functools import reduce

import pytest

from caunoi.petitions import domain
from caunoi.petitions.domain import Status
from caunoi.petitions.events import PetitionRaised
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed

TODAY = date(2026, 11, 22)


def raised(
    channel: str = "meeting", hamlet: str | None = "00691-thon-1", on: date = date(2026, 11, 1)
) -> PetitionRaised:
    return PetitionRaised(
        petition_id="PA-TEST0001",
        channel=channel,
        kind="petition",
        category="land",
        petitioner={"name": "A"},
        commune_code="00691",
        hamlet_id=hamlet,
        text="t",
        received_on=on,
        unit_path=["08", "00691"],
        dataset="vn-2025",
    )


def fold(*events: object) -> domain.Petition:
    return reduce(domain.evolve, events, domain.initial())  # type: ignore[arg-type]


def test_reference_is_stable_and_readable() -> None:
    ref = domain.reference_for("cmd-1")
    assert ref == domain.reference_for("cmd-1") != domain.reference_for("cmd-2")
    assert ref.startswith("PA-") and len(ref) == 11
    assert not set(ref[3:]) & set("ILOU")


def test_raise_rules() -> None:
    assert domain.decide_raise(domain.initial(), raised(), TODAY) == [raised()]
    with pytest.raises(ValidationFailed) as e:
        domain.decide_raise(domain.initial(), raised(hamlet=None), TODAY)
    assert e.value.field == "hamlet_id"
    with pytest.raises(ValidationFailed):
        domain.decide_raise(domain.initial(), raised(on=date(2026, 12, 1)), TODAY)
    with pytest.raises(InvalidState):
        domain.decide_raise(fold(raised()), raised(), TODAY)


def test_answer_on_the_spot_only_for_meetings_and_receptions() -> None:
    s = fold(raised())
    [ev] = domain.decide_answer(s, "PA-TEST0001", "ok", "chủ tịch", date(2026, 11, 1))
    assert domain.evolve(s, ev).status is Status.answered
    with pytest.raises(InvalidState):
        domain.decide_answer(fold(raised("hotline", None)), "PA-TEST0001", "ok", "x", date(2026, 11, 1))
    with pytest.raises(ValidationFailed):
        domain.decide_answer(s, "PA-TEST0001", "ok", "x", date(2026, 10, 1))
    with pytest.raises(NotFound):
        domain.decide_answer(domain.initial(), "PA-X", "ok", "x", TODAY)


def test_forward_goes_up_and_can_go_up_again() -> None:
    s = fold(raised())
    [ev] = domain.decide_forward(s, "PA-TEST0001", "08", ["08"], "Sở", None, TODAY)
    s2 = domain.evolve(s, ev)
    sc = domain.scope(s2)
    assert (s2.status, sc.unit_code, sc.dataset, list(sc.unit_path)) == (
        Status.forwarded,
        "08",
        "vn-2025",
        ["08", "00691"],
    )
    with pytest.raises(ValidationFailed) as e:
        domain.decide_forward(s, "PA-TEST0001", "00694", ["08"], None, None, TODAY)
    assert e.value.details["allowed"] == ["08"]


def test_commitment_and_reply() -> None:
    s = fold(raised())
    [c] = domain.decide_commit(s, "PA-TEST0001", date(2026, 12, 1), None)
    s = domain.evolve(s, c)
    assert s.status is Status.in_progress
    with pytest.raises(InvalidState):
        domain.decide_commit(s, "PA-TEST0001", date(2026, 12, 9), None)
    with pytest.raises(ValidationFailed):
        domain.decide_commit(fold(raised()), "PA-TEST0001", date(2026, 10, 1), None)
    with pytest.raises(InvalidState):
        domain.decide_reply(fold(raised()), "PA-TEST0001", "1/UB", TODAY, "x", ["petitioner"])
    [r] = domain.decide_reply(s, "PA-TEST0001", "1/UB", TODAY, "x", ["petitioner"])
    s = domain.evolve(s, r)
    assert s.status is Status.replied
    with pytest.raises(InvalidState):
        domain.decide_reply(s, "PA-TEST0001", "2/UB", TODAY, "x", ["petitioner"])
