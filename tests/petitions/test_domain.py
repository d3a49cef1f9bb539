"""The petition aggregate's pure functions: ``decide_*(state, command, facts)`` and ``evolve``,
with the deadline policy and the working-day calendar they are given."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import reduce
from typing import Any

import pytest

from caunoi.petitions import domain, policy
from caunoi.petitions.commands import (
    AcceptPetition,
    AnswerOnSpot,
    ClassifyPetition,
    ExtendDeadline,
    ForwardPetition,
    GiveVerdict,
    IssueReply,
    MergePetition,
    RaisePetition,
    ReturnPetition,
    SetCommitment,
    WithdrawPetition,
)
from caunoi.petitions.domain import Alert, Facts, Petition
from caunoi.petitions.events import (
    DeadlineKind,
    DelayNoticeRequired,
    PetitionOverdue,
    PetitionRaised,
    ReplyIssued,
    Status,
)
from caunoi.shared.context import Actor, Role
from caunoi.shared.endpoints import Command
from caunoi.shared.errors import CommandError, Forbidden, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletKind, HamletRecord
from caunoi.shared.ids import PETITION_PREFIX, short_reference
from caunoi.shared.sealed import Sealed
from caunoi.shared.units import UnitTree

TODAY = date(2026, 11, 22)
UNITS = UnitTree.load("vn-2025")
LEGACY = UnitTree.load("vn-2024")
REF = "PA-TEST0001"
HAMLET = HamletRecord("00691-thon-1", "00691", "Thôn 1", HamletKind.thon, ("08", "00691"), "vn-2025")
#: what the handler sealed (the domain only carries it)
SEALED = Sealed(key_id=f"petitioner:{REF}", nonce="bm9uY2Vub25jZTE=", ciphertext="c2VhbGVk")
FACTS = Facts(TODAY, UNITS, reference=REF, hamlet=HAMLET, personal=SEALED)
#: one of the domain's ``decide_*`` functions (each takes its own command type)
Decide = Callable[[Petition, Any, Facts], list[DomainEvent]]


def reference(command_id: str, attempt: int = 0) -> str:
    """The reference a raise with ``command_id`` gets (its ``attempt``-th alternative)."""
    return short_reference(PETITION_PREFIX, command_id, attempt)


def raise_cmd(**over: Any) -> RaisePetition:
    body: dict[str, Any] = {
        "channel": "meeting",
        "kind": "petition",
        "category": "land",
        "petitioner": {"name": "A", "phone": "0912345678"},
        "commune_code": "00691",
        "hamlet_id": "00691-thon-1",
        "text": "t",
        "received_on": "2026-11-01",
    }
    return RaisePetition.model_validate({**body, **over})


def fold(*events: DomainEvent, state: Petition | None = None) -> Petition:
    return reduce(domain.evolve, events, state or domain.initial())


def raised(facts: Facts = FACTS, **over: Any) -> Petition:
    return fold(*domain.decide_raise(domain.initial(), raise_cmd(**over), facts))


def then(state: Petition, decide: Any, cmd: Any, facts: Facts = FACTS) -> Petition:
    return fold(*decide(state, cmd, facts), state=state)


def test_reference_is_stable_and_readable() -> None:
    ref = reference("cmd-1")
    assert ref == reference("cmd-1") != reference("cmd-2")
    assert ref != reference("cmd-1", 1)
    assert ref.startswith("PA-") and len(ref) == 11
    assert not set(ref[3:]) & set("ILOU")


def _reference_as_first_stored(command_id: str, attempt: int) -> str:
    """The algorithm petitions used for its references before it took the kernel's
    ``short_reference``, frozen here: stored petitions' ids were derived with it."""
    seed = command_id if attempt == 0 else f"{command_id}#{attempt}"
    n = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:5], "big")
    return "PA-" + "".join("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(n >> (5 * i)) & 31] for i in reversed(range(8)))


def test_references_stay_byte_for_byte_what_stored_petitions_carry() -> None:
    # known references (a stored petition's id is derived from its raise command's id)
    assert reference("cmd-1") == "PA-YGF15H5Y"
    assert reference("cmd-1", 1) == "PA-2MTDJKPR"
    assert reference("0b5c9f1e-8d2a-4c1b-9e7f-3a6d5c4b2a10", 2) == "PA-TM5ED847"
    # many command ids of every shape a client sends: uuid4 strings, the CLI's and the web's
    rng = random.Random(20261129)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5000)]
    ids += [f"cli-{i}" for i in range(2000)] + ["", "Đường liên thôn", "a#1", "x" * 300]
    for cid in ids:
        for attempt in (0, 1, 3):
            assert reference(cid, attempt) == _reference_as_first_stored(cid, attempt), (cid, attempt)


def test_raise_records_the_unit_path_the_hamlet_and_the_handling_deadline() -> None:
    [ev] = domain.decide_raise(domain.initial(), raise_cmd(), FACTS)
    assert isinstance(ev, PetitionRaised) and ev.deadline is not None
    assert (ev.petition_id, ev.unit_path, ev.dataset, ev.hamlet_name) == (REF, ["08", "00691"], "vn-2025", "Thôn 1")
    d = ev.deadline
    # 10 working days from Sunday 2026-11-01: 2..6, 9..13 November
    assert (d.kind, d.due_on, d.unit, d.limit, d.start_event) == (
        "handle",
        date(2026, 11, 13),
        "working",
        10,
        "received",
    )
    assert d.policy_version == policy.default_policy().version and d.warn_on == date(2026, 11, 10)
    no_date = domain.decide_raise(domain.initial(), raise_cmd(received_on=None), FACTS)[0]
    assert isinstance(no_date, PetitionRaised) and no_date.received_on == TODAY


@pytest.mark.parametrize(
    ("over", "facts", "code", "field"),
    [
        ({"hamlet_id": None}, FACTS, "invalid", "hamlet_id"),  # a meeting opinion names the hamlet
        ({"received_on": "2026-12-01"}, FACTS, "invalid", "received_on"),
        ({"commune_code": "99999"}, FACTS, "unknown_unit", "commune_code"),
        ({}, Facts(TODAY, UNITS, reference=REF, personal=SEALED), "unknown_unit", "hamlet_id"),  # not in the list
        ({"commune_code": "00694"}, FACTS, "unknown_unit", "hamlet_id"),  # another commune's hamlet
        ({}, replace(FACTS, hamlet=replace(HAMLET, retired=True)), "unknown_unit", "hamlet_id"),
    ],
)
def test_raise_refusals(over: dict[str, Any], facts: Facts, code: str, field: str) -> None:
    with pytest.raises((ValidationFailed, NotFound)) as e:
        domain.decide_raise(domain.initial(), raise_cmd(**over), facts)
    assert (e.value.code, e.value.field) == (code, field)


def test_raise_twice_is_refused() -> None:
    with pytest.raises(InvalidState):
        domain.decide_raise(raised(), raise_cmd(), FACTS)


# --- deadline arithmetic (Must show) -------------------------------------------------------------


def test_working_days_skip_tet_and_the_2_september_holidays() -> None:
    """Deadlines counted in working days across Tết 2026 (16-20 February) and National Day 2026
    (31 August substitute day off, 1-2 September), with a policy that counts a complaint's
    resolution in working days; the petition records the policy version it was judged by."""
    text = policy.shipped_text().replace('version = "vn-default-2026.1"', 'version = "test-working-1"')
    old = 'resolve = { limit = 30, complex = 45, remote = 45, remote_complex = 60, unit = "calendar", '
    new = 'resolve = { limit = 5, complex = 8, remote = 45, remote_complex = 60, unit = "working", '
    assert old in text
    text = text.replace(old, new, 1)
    working = policy.parse(text, "test")
    tet = Facts(date(2026, 2, 13), UNITS, reference=REF, policy=working, personal=SEALED)
    # received on Friday 13 February 2026, the last working day before Tết
    s = raised(tet, kind="complaint", channel="letter", hamlet_id=None, received_on="2026-02-13")
    handle = s.deadline(DeadlineKind.handle)
    assert handle is not None  # complaints: 10 calendar days by default
    assert (handle.due_on, handle.unit) == (date(2026, 2, 23), "calendar")
    feedback = raised(tet, kind="feedback", channel="letter", hamlet_id=None, received_on="2026-02-13")
    fh = feedback.deadline(DeadlineKind.handle)
    # 10 working days: Tết (16-20) and the weekends skipped, 23 February to 6 March
    assert fh is not None and fh.due_on == date(2026, 3, 6) and fh.policy_version == "test-working-1"

    # accepted on Thursday 27 August 2026: 5 working days skip 29-30 (weekend), 31 August
    # (substitute day off), 1-2 September (National Day): 28, 3, 4, 7, 8
    sept = replace(tet, today=date(2026, 8, 27))
    s = then(s, domain.decide_accept, AcceptPetition(petition_id=REF, accepted_on=date(2026, 8, 27)), sept)
    resolve = s.deadline(DeadlineKind.resolve)
    assert resolve is not None
    assert (resolve.due_on, resolve.limit, resolve.unit, resolve.counted_from, resolve.policy_version) == (
        date(2026, 9, 8),
        5,
        "working",
        date(2026, 8, 27),
        "test-working-1",
    )
    assert resolve.warn_on == date(2026, 9, 3)  # 3 working days before
    # a complex matter: 8 working days, to Friday 11 September
    complex_ = then(
        raised(tet, kind="complaint", channel="letter", hamlet_id=None, received_on="2026-02-13"),
        domain.decide_accept,
        AcceptPetition(petition_id=REF, accepted_on=date(2026, 8, 27), complexity="complex"),
        sept,
    )
    assert complex_.deadline(DeadlineKind.resolve).due_on == date(2026, 9, 11)  # type: ignore[union-attr]


def test_a_denunciation_is_extended_at_most_twice() -> None:
    """Law on Denunciations 2018, art. 30: 30 days from acceptance; complex: one 30-day
    extension; especially complex: two."""
    facts = replace(FACTS, today=date(2026, 5, 1))
    s = raised(facts, kind="denunciation", channel="letter", hamlet_id=None, received_on="2026-03-01")
    s = then(s, domain.decide_accept, AcceptPetition(petition_id=REF, accepted_on=date(2026, 3, 2)), facts)
    assert s.deadline(DeadlineKind.resolve).due_on == date(2026, 4, 1)  # type: ignore[union-attr]
    extend = ExtendDeadline(petition_id=REF, reason="cần xác minh thêm")
    with pytest.raises(InvalidState) as e:  # a matter of normal complexity gets none
        domain.decide_extend(s, extend, facts)
    assert e.value.details == {"allowed": 0, "used": 0, "complexity": "normal"}
    with pytest.raises(ValidationFailed) as v:  # the law gives the days: no date of one's own
        domain.decide_extend(s, extend.model_copy(update={"until": date(2026, 6, 1), "complexity": "complex"}), facts)
    assert v.value.field == "until"
    s = then(s, domain.decide_extend, extend.model_copy(update={"complexity": "complex"}), facts)
    assert (s.extensions, s.deadline(DeadlineKind.resolve).due_on) == (1, date(2026, 5, 1))  # type: ignore[union-attr]
    with pytest.raises(InvalidState):  # complex: one only
        domain.decide_extend(s, extend, facts)
    events = domain.decide_extend(s, extend.model_copy(update={"complexity": "especially_complex"}), facts)
    s = fold(*events, state=s)
    assert (s.extensions, s.deadline(DeadlineKind.resolve).due_on) == (2, date(2026, 5, 31))  # type: ignore[union-attr]
    assert events[0].model_dump()["number"] == 2 and events[0].model_dump()["previous_due"] == date(2026, 5, 1)
    with pytest.raises(InvalidState) as e:  # never a third
        domain.decide_extend(s, extend, facts)
    assert e.value.details["allowed"] == 2 and e.value.details["used"] == 2
    with pytest.raises(ValidationFailed):  # complexity never goes down
        domain.decide_extend(s, extend.model_copy(update={"complexity": "complex"}), facts)


def test_remote_areas_and_complex_complaints_get_the_longer_limits() -> None:
    for kind, complexity, remote, days in (
        ("complaint", "normal", False, 30),
        ("complaint", "complex", False, 45),
        ("complaint", "normal", True, 45),
        ("complaint", "complex", True, 60),
        ("complaint_second", "normal", False, 45),
        ("complaint_second", "complex", True, 70),
    ):
        s = raised(kind=kind, channel="letter", hamlet_id=None)
        cmd = AcceptPetition(petition_id=REF, accepted_on=date(2026, 11, 2), complexity=complexity, remote_area=remote)
        d = then(s, domain.decide_accept, cmd).deadline(DeadlineKind.resolve)
        assert d is not None and (d.limit, (d.due_on - date(2026, 11, 2)).days) == (days, days), (kind, complexity)


# --- the life of a petition ----------------------------------------------------------------------


def test_classification_eligible_or_not_with_the_reason() -> None:
    s = raised(channel="letter", hamlet_id=None)
    with pytest.raises(ValidationFailed) as e:
        domain.decide_classify(s, ClassifyPetition(petition_id=REF, kind="complaint", eligible=False), FACTS)
    assert e.value.field == "reason"
    out = then(s, domain.decide_classify, ClassifyPetition(petition_id=REF, kind="complaint", category="planning"))
    assert (out.status, out.kind, out.category) == (Status.classified, "complaint", "planning")
    no = ClassifyPetition(petition_id=REF, kind="petition", eligible=False, reason="đơn nặc danh")
    out = then(s, domain.decide_classify, no)
    assert out.status is Status.ineligible
    refused: tuple[tuple[Decide, Command], ...] = (
        (domain.decide_accept, AcceptPetition(petition_id=REF)),
        (domain.decide_forward, ForwardPetition(petition_id=REF, to_unit="08")),
        (domain.decide_withdraw, WithdrawPetition(petition_id=REF)),
    )
    for decide, cmd in refused:
        with pytest.raises(InvalidState):
            decide(out, cmd, FACTS)


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


def test_forward_up_or_across_keeps_the_history_and_a_refusal_goes_back_to_the_sender() -> None:
    s = raised()
    s = then(s, domain.decide_forward, ForwardPetition(petition_id=REF, to_unit="00691", to_agency="Công an xã"))
    assert (s.status, s.handling_unit, s.handling_agency) == (Status.forwarded, "00691", "Công an xã")
    with pytest.raises(ValidationFailed) as e:  # across needs another agency
        domain.decide_forward(s, ForwardPetition(petition_id=REF, to_unit="00691", to_agency="Công an xã"), FACTS)
    assert e.value.field == "to_agency"
    up = ForwardPetition(petition_id=REF, to_unit="08", to_agency="Sở Xây dựng", forwarded_on=date(2026, 11, 20))
    events = domain.decide_forward(s, up, FACTS)
    s = fold(*events, state=s)
    sc = domain.scope(s)
    assert (s.status, sc.unit_code, list(sc.unit_path), list(sc.handed_to)) == (
        Status.forwarded,
        "08",
        ["08", "00691"],
        ["00691", "08"],
    )
    # the province's handling deadline counts from the day it received it
    assert events[0].model_dump()["deadline"]["counted_from"] == date(2026, 11, 20)
    with pytest.raises(ValidationFailed) as e:
        domain.decide_forward(s, ForwardPetition(petition_id=REF, to_unit="00694"), FACTS)
    assert e.value.details["allowed"] == ["08"]  # the province has nothing above it
    back = then(s, domain.decide_return, ReturnPetition(petition_id=REF, reason="không thuộc thẩm quyền"))
    assert (back.status, back.handling_unit, back.handling_agency) == (Status.returned, "00691", "Công an xã")
    assert len(back.forwards) == 2  # the whole history is kept
    with pytest.raises(InvalidState):  # only what was forwarded can be returned
        domain.decide_return(back, ReturnPetition(petition_id=REF, reason="x"), FACTS)


def test_forward_in_the_three_tier_structure_may_skip_the_district() -> None:
    commune = next(u for u in LEGACY.descendants("072") if u.level == "commune")
    facts = Facts(TODAY, LEGACY, reference=REF, personal=SEALED)
    s = raised(facts, channel="letter", hamlet_id=None, commune_code=commune.code)
    assert [u.code for u in LEGACY.higher_units(commune.code)] == ["072", "08"]
    for to in ("072", "08"):
        assert then(s, domain.decide_forward, ForwardPetition(petition_id=REF, to_unit=to), facts).handling_unit == to


def test_only_the_handling_unit_or_a_unit_above_acts_on_it() -> None:
    clerk = Actor("clerk", unit="00691", dataset="vn-2025", roles=frozenset({Role.clerk}))
    officer = Actor("officer", unit="08", dataset="vn-2025", roles=frozenset({Role.officer}))
    s = then(raised(), domain.decide_forward, ForwardPetition(petition_id=REF, to_unit="08"))
    commit = SetCommitment(petition_id=REF, committed_date=date(2026, 12, 1))
    with pytest.raises(Forbidden):
        domain.decide_commit(s, commit, replace(FACTS, actor=clerk))
    assert then(s, domain.decide_commit, commit, replace(FACTS, actor=officer)).status is Status.in_progress
    # but the commune still records that its petitioner withdrew
    assert then(s, domain.decide_withdraw, WithdrawPetition(petition_id=REF), replace(FACTS, actor=clerk)).status is (
        Status.withdrawn
    )


def test_commitment_extension_reply_verdict_and_reopening() -> None:
    s = raised()
    s = then(s, domain.decide_commit, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 1)))
    assert s.status is Status.in_progress and s.deadline(DeadlineKind.committed).due_on == date(2026, 12, 1)  # type: ignore[union-attr]
    with pytest.raises(InvalidState):
        domain.decide_commit(s, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 9)), FACTS)
    with pytest.raises(ValidationFailed):
        domain.decide_commit(raised(), SetCommitment(petition_id=REF, committed_date=date(2026, 10, 1)), FACTS)
    with pytest.raises(ValidationFailed) as e:  # a committed date moves to a date given
        domain.decide_extend(s, ExtendDeadline(petition_id=REF, reason="chờ kinh phí"), FACTS)
    assert e.value.field == "until"
    s = then(s, domain.decide_extend, ExtendDeadline(petition_id=REF, reason="chờ kinh phí", until=date(2026, 12, 20)))
    assert (s.committed_date, s.extensions) == (date(2026, 12, 20), 1)
    reply = IssueReply(petition_id=REF, document_no="1/UB", summary="x", internal_note="chỉ nội bộ")
    with pytest.raises(InvalidState):
        domain.decide_reply(raised(), reply, FACTS)
    [r] = domain.decide_reply(s, reply, FACTS)
    assert isinstance(r, ReplyIssued) and r.internal_note == "chỉ nội bộ" and r.summary == "x"
    s = domain.evolve(s, r)
    assert s.status is Status.replied
    with pytest.raises(InvalidState):
        domain.decide_reply(s, reply, FACTS)
    with pytest.raises(InvalidState):  # resolved: too late to withdraw
        domain.decide_withdraw(s, WithdrawPetition(petition_id=REF), FACTS)
    satisfied = then(s, domain.decide_verdict, GiveVerdict(petition_id=REF, verdict="satisfied"))
    assert satisfied.status is Status.closed
    again = then(s, domain.decide_verdict, GiveVerdict(petition_id=REF, verdict="not_resolved", comment="vẫn hỏng"))
    assert (again.status, again.committed_date, again.deadline(DeadlineKind.committed)) == (Status.reopened, None, None)
    # reopened: a new committed date, and it can be resolved again
    again = then(again, domain.decide_commit, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 30)))
    assert then(again, domain.decide_reply, reply).status is Status.replied


def test_a_committed_date_within_the_statutory_limit() -> None:
    s = then(raised(kind="complaint", channel="letter", hamlet_id=None), domain.decide_accept, AcceptPetition(
        petition_id=REF, accepted_on=date(2026, 11, 2)
    ))  # fmt: skip
    with pytest.raises(ValidationFailed) as e:
        domain.decide_commit(s, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 31)), FACTS)
    assert e.value.details == {"statutory_due": "2026-12-02"}
    assert then(s, domain.decide_commit, SetCommitment(petition_id=REF, committed_date=date(2026, 12, 1))).status is (
        Status.in_progress
    )


def test_merged_petitions_get_the_case_reply() -> None:
    case = raised()
    member = replace(raised(), id="PA-TEST0002")
    with pytest.raises(NotFound):
        domain.decide_merge(member, MergePetition(petition_id="PA-TEST0002", case_id=REF), FACTS)
    with pytest.raises(ValidationFailed):
        domain.decide_merge(case, MergePetition(petition_id=REF, case_id=REF), replace(FACTS, case=case))
    merge = MergePetition(petition_id="PA-TEST0002", case_id=REF)
    member = then(member, domain.decide_merge, merge, replace(FACTS, case=case))
    assert (member.status, member.case_id) == (Status.merged, REF)
    assert domain.decide_case_reply(member, case, FACTS) == []  # the case is not answered yet
    case = then(case, domain.decide_accept, AcceptPetition(petition_id=REF))
    case = then(case, domain.decide_reply, IssueReply(petition_id=REF, document_no="7/UB", summary="Đã xử lý"))
    [r] = domain.decide_case_reply(member, case, FACTS)
    assert isinstance(r, ReplyIssued) and (r.document_no, r.case_id, r.recipients) == ("7/UB", REF, ["petitioner"])
    assert domain.decide_case_reply(domain.evolve(member, r), case, FACTS) == []
    with pytest.raises(InvalidState):  # nothing merges into an answered case
        domain.decide_merge(
            replace(raised(), id="PA-TEST0003"),
            MergePetition(petition_id="PA-TEST0003", case_id=REF),
            replace(FACTS, case=case),
        )


# --- what time causes ----------------------------------------------------------------------------


def test_a_passed_committed_date_is_overdue_once_and_requires_a_delay_notice() -> None:
    s = then(raised(), domain.decide_commit, SetCommitment(petition_id=REF, committed_date=date(2026, 11, 20)))
    alert = Alert(DeadlineKind.committed, date(2026, 11, 20))
    assert domain.decide_overdue(s, alert, replace(FACTS, today=date(2026, 11, 20))) == []  # the last day is fine
    after = replace(FACTS, today=date(2026, 11, 21))
    overdue, notice = domain.decide_overdue(s, alert, after)
    assert isinstance(overdue, PetitionOverdue) and isinstance(notice, DelayNoticeRequired)
    # the notice carries the petitioner's contact as the petition sealed it, never in clear
    assert (notice.committed_date, notice.personal, notice.petitioner, notice.hamlet_name) == (
        date(2026, 11, 20),
        SEALED,
        None,
        "Thôn 1",
    )
    s = fold(overdue, notice, state=s)
    assert domain.decide_overdue(s, alert, after) == []  # once
    # the handling deadline was met by committing: only the committed date is watched
    assert domain.alerts_due(s, date(2026, 12, 31)) == []
    moved = then(s, domain.decide_extend, ExtendDeadline(petition_id=REF, reason="x", until=date(2026, 12, 5)), after)
    assert domain.decide_overdue(moved, alert, after) == []  # the old date is no longer watched
    assert domain.alerts_due(moved, date(2026, 12, 2)) == [
        ("approaching", Alert(DeadlineKind.committed, date(2026, 12, 5)))
    ]
    assert domain.alerts_due(moved, date(2026, 12, 6)) == [
        ("overdue", Alert(DeadlineKind.committed, date(2026, 12, 5)))
    ]


def test_approaching_once_inside_the_window_and_nothing_once_resolved() -> None:
    s = raised(channel="letter", hamlet_id=None)  # handle due 2026-11-13, warned from 2026-11-10
    alert = Alert(DeadlineKind.handle, date(2026, 11, 13))
    assert domain.decide_approaching(s, alert, replace(FACTS, today=date(2026, 11, 9))) == []
    [ev] = domain.decide_approaching(s, alert, replace(FACTS, today=date(2026, 11, 11)))
    assert ev.model_dump()["days_left"] == 2
    assert domain.decide_approaching(domain.evolve(s, ev), alert, replace(FACTS, today=date(2026, 11, 12))) == []
    handled = then(s, domain.decide_classify, ClassifyPetition(petition_id=REF, kind="petition"))
    assert domain.decide_overdue(handled, alert, FACTS) == []


def test_every_refusal_is_a_command_error() -> None:
    """Commands on a petition that does not exist are refused with not_found, never a crash."""
    empty = domain.initial()
    refused: tuple[tuple[Decide, Command], ...] = (
        (domain.decide_classify, ClassifyPetition(petition_id=REF, kind="petition")),
        (domain.decide_forward, ForwardPetition(petition_id=REF, to_unit="08")),
        (domain.decide_return, ReturnPetition(petition_id=REF, reason="x")),
        (domain.decide_accept, AcceptPetition(petition_id=REF)),
        (domain.decide_commit, SetCommitment(petition_id=REF, committed_date=TODAY)),
        (domain.decide_extend, ExtendDeadline(petition_id=REF, reason="x")),
        (domain.decide_reply, IssueReply(petition_id=REF, document_no="1", summary="x")),
        (domain.decide_verdict, GiveVerdict(petition_id=REF, verdict="satisfied")),
        (domain.decide_withdraw, WithdrawPetition(petition_id=REF)),
        (domain.decide_merge, MergePetition(petition_id=REF, case_id="PA-TEST0002")),
    )
    for decide, cmd in refused:
        with pytest.raises(CommandError) as e:
            decide(empty, cmd, FACTS)
        assert e.value.code == "not_found", decide


def test_a_petition_reads_back_from_its_snapshot_as_it_was() -> None:
    """What :mod:`caunoi.shared.snapshots` keeps of a petition (its JSON form) makes the same state:
    every kind of field a petition's life fills (forwards, deadlines, alerts, the reply, the case,
    sealed and clear personal data)."""
    states = [domain.initial(), raised()]
    s = then(raised(), domain.decide_forward, ForwardPetition(petition_id=REF, to_unit="08", to_agency="Sở Xây dựng"))
    states += [s, then(s, domain.decide_return, ReturnPetition(petition_id=REF, reason="không thuộc thẩm quyền"))]
    s = then(raised(), domain.decide_commit, SetCommitment(petition_id=REF, committed_date=date(2026, 11, 20)))
    after = replace(FACTS, today=date(2026, 11, 21))
    s = fold(*domain.decide_overdue(s, Alert(DeadlineKind.committed, date(2026, 11, 20)), after), state=s)
    s = then(s, domain.decide_extend, ExtendDeadline(petition_id=REF, reason="x", until=date(2026, 12, 5)), after)
    s = then(s, domain.decide_reply, IssueReply(petition_id=REF, document_no="1/UB", summary="Đã xử lý"))
    states += [s, then(s, domain.decide_verdict, GiveVerdict(petition_id=REF, verdict="not_resolved", comment="c"))]
    case = then(raised(), domain.decide_accept, AcceptPetition(petition_id=REF))
    merge = MergePetition(petition_id="PA-TEST0002", case_id=REF)
    states.append(then(replace(raised(), id="PA-TEST0002"), domain.decide_merge, merge, replace(FACTS, case=case)))
    states.append(replace(raised(), personal=None, petitioner=raise_cmd().petitioner, in_clear=1, erased=True))
    assert len({s.status for s in states}) >= 6 and any(s.alerts for s in states)
    codec = domain.PETITION.state_json
    for state in states:
        assert codec.validate_json(codec.dump_json(state)) == state


#: the shape of the petition's state (a digest of its JSON schema) under each ``snapshot_version``
SNAPSHOT_SHAPES = {1: "f9621f661b32dc21"}


def test_the_snapshot_version_is_raised_when_the_state_changes_shape() -> None:
    """A snapshot written before a change of the state's fields would read back wrong or not at
    all: raising ``PETITION.snapshot_version`` makes loads pass the old ones over. (A change of
    what ``evolve`` makes of the same events needs the same; no test can see that one.)"""
    schema = json.dumps(domain.PETITION.state_json.json_schema(), sort_keys=True)
    shape = hashlib.sha256(schema.encode()).hexdigest()[:16]
    assert SNAPSHOT_SHAPES.get(domain.PETITION.snapshot_version) == shape, (
        f"the petition's state has a new shape ({shape}): raise PETITION.snapshot_version in"
        " domain.py and add it to SNAPSHOT_SHAPES"
    )
