"""What a client offers on a petition (``available_actions``, in the ``show`` reply) is exactly
what the decisions accept: for petitions in every status and actors of several units, an offered
command with valid input is never refused for the petition's state or the actor's unit, and one
not offered always is."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from petitions.test_domain import FACTS, REF, fold, raised, then

from caunoi.petitions import domain
from caunoi.petitions.commands import (
    AcceptPetition,
    AnswerOnSpot,
    ClassifyPetition,
    ExtendDeadline,
    ForwardPetition,
    GiveVerdict,
    IssueReply,
    MergePetition,
    ReturnPetition,
    SetCommitment,
    WithdrawPetition,
)
from caunoi.petitions.domain import Facts, Petition
from caunoi.shared.context import Actor, Role
from caunoi.shared.errors import CommandError, Forbidden, InvalidState

CLERK = Actor("lan.00691", unit="00691", dataset="vn-2025", roles=frozenset({Role.clerk}))
OFFICER = Actor("binh.08", unit="08", dataset="vn-2025", roles=frozenset({Role.officer}))
STRANGER = Actor("pa.00694", unit="00694", dataset="vn-2025", roles=frozenset({Role.clerk}))
CASE = raised(replace(FACTS, reference="PA-CASE0001"))


def lives() -> dict[str, Petition]:
    """A petition in each status, as the decisions put it there."""
    pid = {"petition_id": REF}
    received = raised()
    classified = then(received, domain.decide_classify, ClassifyPetition(**pid, kind="petition"))
    accepted = then(classified, domain.decide_accept, AcceptPetition(**pid))
    committed = then(accepted, domain.decide_commit, SetCommitment(**pid, committed_date=FACTS.today))
    replied = then(committed, domain.decide_reply, IssueReply(**pid, document_no="1", summary="s"))
    forwarded = then(received, domain.decide_forward, ForwardPetition(**pid, to_unit="08", to_agency="Sở"))
    return {
        "received": received,
        "received by hotline": raised(channel="hotline", hamlet_id=None),
        "classified": classified,
        "ineligible": then(
            received, domain.decide_classify, ClassifyPetition(**pid, kind="petition", eligible=False, reason="r")
        ),
        "answered": then(received, domain.decide_answer, AnswerOnSpot(**pid, answer="a", answered_by="b")),
        "forwarded": forwarded,
        "returned": then(forwarded, domain.decide_return, ReturnPetition(**pid, reason="r")),
        "accepted": accepted,
        "in progress": committed,
        "replied": replied,
        "closed": then(replied, domain.decide_verdict, GiveVerdict(**pid, verdict="satisfied")),
        "reopened": then(replied, domain.decide_verdict, GiveVerdict(**pid, verdict="not_resolved")),
        "withdrawn": then(received, domain.decide_withdraw, WithdrawPetition(**pid)),
        "merged": fold(
            *domain.decide_merge(received, MergePetition(**pid, case_id=CASE.id), replace(FACTS, case=CASE)),
            state=received,
        ),
        "a complaint accepted": then(raised(kind="complaint"), domain.decide_accept, AcceptPetition(**pid)),
    }


def attempt(name: str, state: Petition, facts: Facts) -> Any:
    """The decision for a valid command ``name`` on ``state``."""
    pid = {"petition_id": state.id}
    after = (state.received_on or facts.today) + timedelta(days=1)
    match name:
        case "classify":
            return domain.decide_classify(state, ClassifyPetition(**pid, kind="petition"), facts)
        case "answer":
            return domain.decide_answer(state, AnswerOnSpot(**pid, answer="a", answered_by="b"), facts)
        case "forward":
            to = domain.forward_targets(state, facts)[0]
            return domain.decide_forward(state, ForwardPetition(**pid, to_unit=to, to_agency="Cơ quan khác"), facts)
        case "return":
            return domain.decide_return(state, ReturnPetition(**pid, reason="r"), facts)
        case "accept":
            return domain.decide_accept(state, AcceptPetition(**pid), facts)
        case "commit":
            return domain.decide_commit(state, SetCommitment(**pid, committed_date=after), facts)
        case "extend":
            which, current = domain.deadline_to_extend(state)
            by_days = current is not None and which.value == "resolve"
            until = None if by_days else (current.due_on + timedelta(days=5) if current else after)
            complexity = "especially_complex"
            return domain.decide_extend(
                state, ExtendDeadline(**pid, reason="r", until=until, complexity=complexity), facts
            )
        case "reply":
            return domain.decide_reply(state, IssueReply(**pid, document_no="1", summary="s"), facts)
        case "verdict":
            return domain.decide_verdict(state, GiveVerdict(**pid, verdict="satisfied"), facts)
        case "withdraw":
            return domain.decide_withdraw(state, WithdrawPetition(**pid), facts)
        case "merge":
            return domain.decide_merge(state, MergePetition(**pid, case_id=CASE.id), replace(facts, case=CASE))
    raise AssertionError(name)


@pytest.mark.parametrize("actor", [CLERK, OFFICER, STRANGER], ids=lambda a: a.unit)
@pytest.mark.parametrize("life", list(lives()))
def test_offered_actions_are_exactly_those_the_decisions_accept(life: str, actor: Actor) -> None:
    state = lives()[life]
    facts = replace(FACTS, actor=actor)
    offered = domain.available_actions(state, facts)
    assert set(offered) <= set(domain.ACTS)
    for name in domain.ACTS:
        try:
            attempt(name, state, facts)
            refused: CommandError | None = None
        except (InvalidState, Forbidden) as e:
            refused = e
        except CommandError:  # refused for its input only
            refused = None
        assert (name in offered) == (refused is None), (life, actor.unit, name, refused and refused.message_en)


def test_what_the_commune_and_the_province_may_do_with_a_forwarded_petition() -> None:
    forwarded = lives()["forwarded"]
    assert domain.available_actions(forwarded, replace(FACTS, actor=CLERK)) == ["withdraw"]
    province = domain.available_actions(forwarded, replace(FACTS, actor=OFFICER))
    assert {"return", "accept", "commit", "reply", "forward"} <= set(province)
    assert domain.forward_targets(forwarded, FACTS) == ["08"]  # the top: only across, to another agency
    assert domain.forward_targets(lives()["received"], FACTS) == ["08", "00691"]
    assert "extend" not in domain.available_actions(lives()["a complaint accepted"], replace(FACTS, actor=CLERK))
