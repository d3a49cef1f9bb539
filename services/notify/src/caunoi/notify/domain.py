"""Notices and contacts: pure functions, no I/O.

A **notice** is one message for one recipient because of one event. Its id is a hash of that
event's id and the recipient (:func:`notice_id`), so the same event read twice queues nothing
new. Its life: queued → (attempts that fail, each recorded with when to try again) → sent, or
failed after :attr:`Policy.max_attempts` → queued again if an operator resends it.

A **contact** says how a unit's office or a hamlet is reached; a petitioner's comes from the
petition (the planner's facts), never from a command here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from caunoi.notify.commands import RemoveContact, ResendNotice, SetContact
from caunoi.notify.events import (
    ContactRemoved,
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
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletRecord
from caunoi.shared.ids import NOTICE_PREFIX, REFERENCE_ALPHABET
from caunoi.shared.units import UnitTree, require_unit

#: when a recipient states no preference, in this order; a letter is always the last resort
DEFAULT_ORDER: tuple[DeliveryChannel, ...] = (
    DeliveryChannel.email,
    DeliveryChannel.zalo,
    DeliveryChannel.sms,
    DeliveryChannel.letter,
)


def notice_id(event_id: str, recipient: NoticeRecipient) -> str:
    """``NT-`` and 16 base-32 characters (80 bits) of a hash of the event and the recipient."""
    n = int.from_bytes(hashlib.sha256(f"{event_id}/{recipient.ref}".encode()).digest()[:10], "big")
    return NOTICE_PREFIX + "".join(REFERENCE_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(16)))


class State(StrEnum):
    new = "new"
    queued = "queued"  # waiting for its next attempt
    sent = "sent"
    failed = "failed"  # given up; listed for an operator


@dataclass(frozen=True)
class Notice:
    id: str = ""
    state: State = State.new
    kind: NoticeKind = NoticeKind.written_reply
    template: str = ""
    recipient: NoticeRecipient | None = None
    trigger: Trigger | None = None
    unit_code: str = ""
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    handed_to: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    round: int = 1
    #: attempts made in this round (a resend starts a new round)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    #: channels that refused this notice for good in this round
    refused_by: tuple[DeliveryChannel, ...] = ()
    tried: tuple[DeliveryChannel, ...] = ()
    last_error: str | None = None
    sent_on: DeliveryChannel | None = None

    @property
    def exists(self) -> bool:
        return self.state is not State.new

    @property
    def about(self) -> str:
        return self.trigger.subject if self.trigger else ""


def initial() -> Notice:
    return Notice()


def evolve(n: Notice, ev: DomainEvent) -> Notice:
    match ev:
        case NoticeQueued():
            return Notice(
                id=ev.notice_id,
                state=State.queued,
                kind=ev.kind,
                template=ev.template,
                recipient=ev.recipient,
                trigger=ev.trigger,
                unit_code=ev.unit_code,
                unit_path=tuple(ev.unit_path),
                dataset=ev.dataset,
                handed_to=tuple(ev.handed_to),
                context=ev.context,
            )
        case DeliveryFailed():
            return replace(
                n,
                attempts=ev.attempt,
                next_attempt_at=ev.retry_at,
                refused_by=(*n.refused_by, ev.channel) if ev.permanent else n.refused_by,
                tried=tuple(dict.fromkeys((*n.tried, ev.channel))),
                last_error=ev.error,
            )
        case NoticeSent():
            return replace(
                n, state=State.sent, attempts=ev.attempt, sent_on=ev.channel, next_attempt_at=None, last_error=None
            )
        case NoticeFailed():
            return replace(n, state=State.failed, attempts=ev.attempts, next_attempt_at=None, last_error=ev.last_error)
        case NoticeRequeued():
            return replace(n, state=State.queued, round=ev.round, attempts=0, refused_by=(), next_attempt_at=None)
    return n


def notice_scope(n: Notice) -> Scope:
    return Scope(n.unit_code, n.dataset, n.unit_path, n.handed_to)


NOTICE = AggregateKind[Notice]("notice", initial, evolve, notice_scope)


# --- delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How hard a notice is tried: ``max_attempts`` in a round, pauses doubling from ``backoff``
    seconds up to ``backoff_max``."""

    max_attempts: int = 8
    backoff: float = 30.0
    backoff_max: float = 3600.0

    def pause(self, attempt: int) -> timedelta:
        """The pause after failed attempt number ``attempt`` (1, 2, …)."""
        return timedelta(seconds=min(self.backoff * 2 ** (attempt - 1), self.backoff_max))


@dataclass(frozen=True)
class Reach:
    """How a recipient can be reached now (from the contacts kept when the notice is sent)."""

    name: str
    email: str | None = None
    phone: str | None = None
    zalo: str | None = None
    address: str | None = None
    preferred: DeliveryChannel | None = None
    lang: str = "vi"

    def address_for(self, channel: DeliveryChannel) -> str | None:
        """Where ``channel`` sends to; a letter needs no address (it can be handed over)."""
        match channel:
            case DeliveryChannel.email:
                return self.email
            case DeliveryChannel.sms:
                return self.phone
            case DeliveryChannel.zalo:
                return self.zalo
            case DeliveryChannel.letter:
                return self.address or ""


def channels_for(n: Notice, reach: Reach, available: frozenset[DeliveryChannel]) -> list[DeliveryChannel]:
    """The channels to try, best first: the recipient's preferred one, then the others in
    :data:`DEFAULT_ORDER`; only those this installation has, the recipient has an address for, and
    that did not refuse this notice for good in this round."""
    order = [reach.preferred, *DEFAULT_ORDER] if reach.preferred else list(DEFAULT_ORDER)
    return [
        ch
        for ch in dict.fromkeys(order)
        if ch is not None and ch in available and ch not in n.refused_by and reach.address_for(ch) is not None
    ]


@dataclass(frozen=True)
class Delivered:
    channel: DeliveryChannel
    address: str  # masked
    message_id: str
    content_sha256: str
    template_version: str
    lang: str


@dataclass(frozen=True)
class Undelivered:
    channel: DeliveryChannel
    error: str
    #: the channel will never take it (an address refused, a bad request); the next one is tried
    permanent: bool = False


Outcome = Delivered | Undelivered


def decide_outcome(
    n: Notice, outcome: Outcome, now: datetime, policy: Policy, *, possible_duplicate: bool = False, left: int = 1
) -> list[DomainEvent]:
    """What an attempt's outcome records. ``left``: usable channels other than this one."""
    if n.state is not State.queued:
        raise InvalidState(f"thông báo {n.id} không chờ gửi", message_en=f"notice {n.id} is not waiting to be sent")
    attempt = n.attempts + 1
    assert n.recipient is not None
    if isinstance(outcome, Delivered):
        return [
            NoticeSent(
                notice_id=n.id,
                kind=n.kind,
                recipient=n.recipient,
                about=n.about,
                unit_code=n.unit_code,
                channel=outcome.channel,
                address=outcome.address,
                message_id=outcome.message_id,
                template=n.template,
                template_version=outcome.template_version,
                lang=outcome.lang,
                content_sha256=outcome.content_sha256,
                round=n.round,
                attempt=attempt,
                possible_duplicate=possible_duplicate,
            )
        ]
    more = (left > 0) if outcome.permanent else attempt < policy.max_attempts
    retry_at = (now if outcome.permanent else now + policy.pause(attempt)) if more else None
    failed: list[DomainEvent] = [
        DeliveryFailed(
            notice_id=n.id,
            round=n.round,
            attempt=attempt,
            channel=outcome.channel,
            error=outcome.error[:1000],
            permanent=outcome.permanent,
            retry_at=retry_at,
        )
    ]
    if more:
        return failed
    tried = list(dict.fromkeys((*n.tried, outcome.channel)))
    return [*failed, _failed(n, attempt, tried, outcome.error)]


def decide_unreachable(n: Notice, reason: str) -> list[DomainEvent]:
    """No channel can carry it (the recipient is unknown or was erased): failed, for an operator."""
    if n.state is not State.queued:
        return []
    return [_failed(n, n.attempts, list(n.tried), reason)]


def _failed(n: Notice, attempts: int, tried: Sequence[DeliveryChannel], error: str) -> NoticeFailed:
    assert n.recipient is not None
    return NoticeFailed(
        notice_id=n.id,
        kind=n.kind,
        recipient=n.recipient,
        about=n.about,
        unit_code=n.unit_code,
        round=n.round,
        attempts=attempts,
        channels=list(tried),
        last_error=error[:1000],
    )


#: the states a notice may be sent again from (``resend``)
RESENDABLE = frozenset({State.failed})


def available_actions(n: Notice) -> list[str]:
    """The commands this notice's state allows, by request name: what a client offers (``resend``
    a failed notice); :func:`decide_resend` checks the same."""
    return ["resend"] if n.state in RESENDABLE else []


def decide_resend(n: Notice, cmd: ResendNotice, facts: object = None) -> list[DomainEvent]:
    if not n.exists:
        raise NotFound(f"Không tìm thấy thông báo {cmd.notice_id}", message_en=f"no notice {cmd.notice_id}")
    if n.state not in RESENDABLE:
        raise InvalidState(
            f"Chỉ gửi lại được thông báo đã thất bại; thông báo {n.id} đang «{n.state.value}»",
            message_en=f"only a failed notice can be sent again; {n.id} is {n.state.value}",
            field="notice_id",
            details={"state": n.state.value},
        )
    return [NoticeRequeued(notice_id=n.id, round=n.round + 1, reason=cmd.reason)]


# --- contacts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    id: str = ""
    recipient: NoticeRecipient | None = None
    unit_path: tuple[str, ...] = ()
    dataset: str | None = None
    exists: bool = False
    current: ContactSet | None = None


def contact_id(recipient: NoticeRecipient) -> str:
    """``unit-00691``, ``hamlet-00691-thon-dong-tam``: one NATS subject token."""
    return f"{recipient.kind.value}-{recipient.id}"


def recipient_of(cmd: SetContact | RemoveContact) -> NoticeRecipient:
    if cmd.hamlet_id:
        return NoticeRecipient(kind=RecipientKind.hamlet, id=cmd.hamlet_id)
    assert cmd.unit is not None
    return NoticeRecipient(kind=RecipientKind.unit, id=cmd.unit)


def evolve_contact(c: Contact, ev: DomainEvent) -> Contact:
    match ev:
        case ContactSet():
            return Contact(ev.contact_id, ev.recipient, tuple(ev.unit_path), ev.dataset, True, ev)
        case ContactRemoved():
            return replace(c, exists=False, current=None)
    return c


def contact_scope(c: Contact) -> Scope:
    unit = c.unit_path[-1] if c.unit_path else ""
    return Scope(unit, c.dataset, c.unit_path)


CONTACT = AggregateKind[Contact]("contact", Contact, evolve_contact, contact_scope)


@dataclass(frozen=True)
class ContactFacts:
    units: UnitTree
    #: the hamlet the command names, as notify's copy of the list has it
    hamlet: HamletRecord | None = None


def decide_set_contact(c: Contact, cmd: SetContact, facts: ContactFacts) -> list[DomainEvent]:
    recipient = recipient_of(cmd)
    if cmd.hamlet_id:
        h = facts.hamlet
        if h is None or not h.active:
            raise NotFound(
                f"Không có thôn, tổ dân phố {cmd.hamlet_id} (đang hoạt động)",
                code="unknown_unit",
                message_en=f"no active hamlet {cmd.hamlet_id}",
                field="hamlet_id",
            )
        path, dataset = list(h.unit_path), h.dataset
        name = cmd.name or h.name
    else:
        assert cmd.unit is not None
        unit = require_unit(facts.units, cmd.unit, field="unit")
        path, dataset = facts.units.path(unit.code), facts.units.dataset
        name = cmd.name or unit.name
    if not (cmd.email or cmd.phone or cmd.zalo or cmd.address):
        raise ValidationFailed(
            "Cần ít nhất một cách liên lạc: email, điện thoại, Zalo hoặc địa chỉ",
            message_en="give at least one of email, phone, zalo, address",
            field="email",
        )
    if cmd.preferred is not None and cmd.preferred is not DeliveryChannel.letter:
        has = {DeliveryChannel.email: cmd.email, DeliveryChannel.sms: cmd.phone, DeliveryChannel.zalo: cmd.zalo}
        if not has[cmd.preferred]:
            raise ValidationFailed(
                f"Kênh ưu tiên {cmd.preferred.value} chưa có địa chỉ",
                message_en=f"the preferred channel {cmd.preferred.value} has no address",
                field="preferred",
            )
    event = ContactSet(
        contact_id=contact_id(recipient),
        recipient=recipient,
        name=name,
        unit_path=path,
        dataset=dataset,
        email=cmd.email,
        phone=cmd.phone,
        zalo=cmd.zalo,
        address=cmd.address,
        preferred=cmd.preferred,
        lang=cmd.lang,
    )
    return [] if c.current == event else [event]


def decide_remove_contact(c: Contact, cmd: RemoveContact, facts: object = None) -> list[DomainEvent]:
    if not c.exists:
        raise NotFound(
            f"Chưa có cách liên lạc của {recipient_of(cmd).ref}",
            message_en=f"no contact for {recipient_of(cmd).ref}",
            field="hamlet_id" if cmd.hamlet_id else "unit",
        )
    return [ContactRemoved(contact_id=c.id, reason=cmd.reason)]
