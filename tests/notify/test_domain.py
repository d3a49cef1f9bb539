"""notify's pure rules: notice ids, which channel is tried, what each attempt's outcome records
(retries with backoff, the next channel after a refusal, failed after the allowed attempts), a
resend, and contacts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from caunoi.notify import domain
from caunoi.notify.addresses import mask_email, mask_phone, normalize_email, normalize_phone
from caunoi.notify.commands import RemoveContact, ResendNotice, SetContact
from caunoi.notify.domain import Delivered, Notice, Policy, Reach, State, Undelivered
from caunoi.notify.events import (
    ContactSet,
    DeliveryChannel,
    DeliveryFailed,
    NoticeFailed,
    NoticeKind,
    NoticeQueued,
    NoticeRecipient,
    NoticeRequeued,
    NoticeSent,
    RecipientKind,
    Trigger,
)
from caunoi.shared.errors import CommandError
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletKind, HamletRecord
from caunoi.shared.ids import NOTICE_ID_PATTERN
from caunoi.shared.units import UnitTree

NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)
UNITS = UnitTree.load("vn-2025")
PETITIONER = NoticeRecipient(kind=RecipientKind.petitioner, id="PA-7KQ2M9XD")
HAMLET = NoticeRecipient(kind=RecipientKind.hamlet, id="00691-thon-dong-tam")
ALL = frozenset(DeliveryChannel)


def queued(recipient: NoticeRecipient = PETITIONER) -> Notice:
    nid = domain.notice_id("ev-1", recipient)
    trigger = Trigger(stream="PETITIONS", seq=7, event_id="ev-1", type="vn.caunoi.petitions.ReplyIssued.v1",
                      subject="PA-7KQ2M9XD")  # fmt: skip
    ev = NoticeQueued(notice_id=nid, kind=NoticeKind.written_reply, template="written_reply", recipient=recipient,
                      trigger=trigger, unit_code="00691", unit_path=["08", "00691"], dataset="vn-2025",
                      context={"petition_id": "PA-7KQ2M9XD"})  # fmt: skip
    return domain.evolve(domain.initial(), ev)


def fold(n: Notice, events: list[DomainEvent]) -> Notice:
    for ev in events:
        n = domain.evolve(n, ev)
    return n


def test_a_notice_id_is_the_event_and_the_recipient() -> None:
    a = domain.notice_id("ev-1", PETITIONER)
    assert re.fullmatch(NOTICE_ID_PATTERN, a)
    assert a == domain.notice_id("ev-1", PETITIONER)
    assert len({a, domain.notice_id("ev-1", HAMLET), domain.notice_id("ev-2", PETITIONER)}) == 3


@pytest.mark.parametrize(
    ("reach", "available", "expected"),
    [
        (Reach("A", phone="+84912345678", address="x"), ALL, [DeliveryChannel.sms, DeliveryChannel.letter]),
        (
            Reach("A", email="a@b.vn", phone="+84912345678"),
            ALL,
            [DeliveryChannel.email, DeliveryChannel.sms, DeliveryChannel.letter],
        ),
        (
            Reach("A", email="a@b.vn", phone="+849", preferred=DeliveryChannel.sms),
            ALL,
            [DeliveryChannel.sms, DeliveryChannel.email, DeliveryChannel.letter],
        ),
        (
            Reach("A", zalo="+84912345678", phone="+84912345678"),
            ALL,
            [DeliveryChannel.zalo, DeliveryChannel.sms, DeliveryChannel.letter],
        ),
        (Reach("A", email="a@b.vn"), frozenset({DeliveryChannel.letter}), [DeliveryChannel.letter]),
        (Reach("A"), ALL, [DeliveryChannel.letter]),  # neither phone nor email: a letter, handed over
    ],
)
def test_channels_the_preferred_first_then_the_others_a_letter_last(
    reach: Reach, available: frozenset[DeliveryChannel], expected: list[DeliveryChannel]
) -> None:
    assert domain.channels_for(queued(), reach, available) == expected


def test_failed_attempts_are_retried_with_doubling_pauses_then_the_notice_fails() -> None:
    policy = Policy(max_attempts=4, backoff=10, backoff_max=25)
    n = queued()
    pauses = []
    for attempt in range(1, 4):
        events = domain.decide_outcome(n, Undelivered(DeliveryChannel.sms, "HTTP 503"), NOW, policy)
        [failed] = events
        assert isinstance(failed, DeliveryFailed) and failed.attempt == attempt and not failed.permanent
        assert failed.retry_at is not None
        pauses.append(failed.retry_at - NOW)
        n = fold(n, events)
        assert n.state is State.queued and n.next_attempt_at == failed.retry_at
    assert pauses == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=25)]
    last = domain.decide_outcome(n, Undelivered(DeliveryChannel.sms, "HTTP 503"), NOW, policy)
    assert [type(e) for e in last] == [DeliveryFailed, NoticeFailed]
    assert last[0].retry_at is None  # type: ignore[attr-defined]
    n = fold(n, last)
    assert n.state is State.failed and n.attempts == 4 and n.last_error == "HTTP 503"
    assert last[1].channels == [DeliveryChannel.sms] and last[1].about == "PA-7KQ2M9XD"  # type: ignore[attr-defined]


def test_a_refusal_for_good_moves_on_to_the_next_channel_at_once() -> None:
    n = queued()
    reach = Reach("A", email="a@b.vn", phone="+84912345678")
    events = domain.decide_outcome(n, Undelivered(DeliveryChannel.email, "550", permanent=True), NOW, Policy(), left=2)
    n = fold(n, events)
    assert n.state is State.queued and n.next_attempt_at == NOW and n.refused_by == (DeliveryChannel.email,)
    assert domain.channels_for(n, reach, ALL) == [DeliveryChannel.sms, DeliveryChannel.letter]
    # with no channel left, a refusal fails it
    events = domain.decide_outcome(n, Undelivered(DeliveryChannel.sms, "400", permanent=True), NOW, Policy(), left=0)
    assert isinstance(events[-1], NoticeFailed)


def test_delivered_records_what_was_sent_and_ends_it() -> None:
    n = queued()
    out = Delivered(DeliveryChannel.email, "a***@b.vn", "<x@y>", "ab" * 32, "0123456789ab", "vi")
    [sent] = domain.decide_outcome(n, out, NOW, Policy(), possible_duplicate=True)
    assert isinstance(sent, NoticeSent)
    assert (sent.attempt, sent.round, sent.possible_duplicate, sent.kind, sent.recipient) == (
        1, 1, True, NoticeKind.written_reply, PETITIONER,
    )  # fmt: skip
    n = fold(n, [sent])
    assert n.state is State.sent
    with pytest.raises(CommandError):
        domain.decide_outcome(n, out, NOW, Policy())


def test_only_a_failed_notice_is_resent_in_a_new_round() -> None:
    n = queued()
    cmd = ResendNotice(notice_id=n.id, reason="x")
    with pytest.raises(CommandError) as info:
        domain.decide_resend(n, cmd)
    assert info.value.code == "invalid_state"
    with pytest.raises(CommandError) as info:
        domain.decide_resend(domain.initial(), cmd)
    assert info.value.code == "not_found"
    n = fold(n, domain.decide_outcome(n, Undelivered(DeliveryChannel.sms, "x", permanent=True), NOW, Policy(), left=0))
    assert n.state is State.failed and domain.available_actions(n) == ["resend"]
    [again] = domain.decide_resend(n, cmd)
    assert isinstance(again, NoticeRequeued) and again.round == 2
    n = fold(n, [again])
    assert (n.state, n.round, n.attempts, n.refused_by) == (State.queued, 2, 0, ())
    # what a client offers is what the decision accepts
    assert domain.available_actions(n) == domain.available_actions(queued()) == []


def test_a_recipient_nobody_can_reach_fails_the_notice() -> None:
    [failed] = domain.decide_unreachable(queued(), "erased")
    assert isinstance(failed, NoticeFailed) and failed.last_error == "erased"


def test_addresses() -> None:
    assert normalize_phone("0912 345 678") == "+84912345678" == normalize_phone("+84 912.345.678")
    assert normalize_phone("84912345678") == "+84912345678"
    with pytest.raises(ValueError):
        normalize_phone("12")
    assert normalize_email("An.Nguyen@Example.VN") == "An.Nguyen@example.vn"
    with pytest.raises(ValueError):
        normalize_email("not an address")
    assert mask_email("nguyen@example.vn") == "n***@example.vn"
    assert mask_phone("+84912345678") == "+84•••••5678"


def hamlet_record(retired: bool = False) -> HamletRecord:
    return HamletRecord("00691-thon-dong-tam", "00691", "Thôn Đồng Tâm", HamletKind.thon, ("08", "00691"), "vn-2025",
                        retired=retired)  # fmt: skip


def test_a_contact_names_its_place_and_a_repeat_changes_nothing() -> None:
    facts = domain.ContactFacts(UNITS, hamlet_record())
    cmd = SetContact(hamlet_id="00691-thon-dong-tam", email="a@example.vn", preferred="email")
    [ev] = domain.decide_set_contact(domain.Contact(), cmd, facts)
    assert isinstance(ev, ContactSet)
    assert (ev.contact_id, ev.name, ev.unit_path, ev.recipient) == (
        "hamlet-00691-thon-dong-tam", "Thôn Đồng Tâm", ["08", "00691"], HAMLET,
    )  # fmt: skip
    state = domain.evolve_contact(domain.Contact(), ev)
    assert domain.decide_set_contact(state, cmd, facts) == []
    unit = SetContact(unit="00691", phone="0912345678")
    [ev] = domain.decide_set_contact(domain.Contact(), unit, domain.ContactFacts(UNITS))
    assert ev.unit_path == ["08", "00691"] and ev.phone == "+84912345678"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "hamlet", "code", "field"),
    [
        ({"hamlet_id": "00691-thon-dong-tam", "address": "x"}, None, "unknown_unit", "hamlet_id"),
        ({"hamlet_id": "00691-thon-dong-tam", "address": "x"}, hamlet_record(True), "unknown_unit", "hamlet_id"),
        ({"unit": "99999", "address": "x"}, None, "unknown_unit", "unit"),
        ({"unit": "00691"}, None, "invalid", "email"),
        ({"unit": "00691", "phone": "0912345678", "preferred": "email"}, None, "invalid", "preferred"),
        ({"unit": "00691", "phone": "0912345678", "preferred": "zalo"}, None, "invalid", "preferred"),
    ],
)
def test_contacts_refused(body: dict[str, str], hamlet: HamletRecord | None, code: str, field: str) -> None:
    with pytest.raises(CommandError) as info:
        domain.decide_set_contact(domain.Contact(), SetContact.model_validate(body), domain.ContactFacts(UNITS, hamlet))
    assert (info.value.code, info.value.field) == (code, field)


def test_removing_a_contact_that_is_not_there_is_refused() -> None:
    with pytest.raises(CommandError) as info:
        domain.decide_remove_contact(domain.Contact(), RemoveContact(unit="00691", reason="x"))
    assert info.value.code == "not_found"
