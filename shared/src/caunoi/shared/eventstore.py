"""The event log, as an interface: one stream per owning service, one subject per aggregate.

Subject scheme: ``caunoi.<service>.<aggregate id>.<unit path...>`` where the unit path is the
administrative ancestry of the unit the aggregate belongs to (province, [district,] commune), so
``caunoi.petitions.*.08.>`` is everything in province 08 and ``caunoi.petitions.<id>.>`` is one
aggregate (see docs/architecture.md).

Two implementations keep one contract (tests/kernel/test_eventstore_contract.py runs the same
tests on both): :class:`caunoi.shared.jetstream.JetStreamEventStore`, the real one, and
:class:`caunoi.shared.memstore.InMemoryEventStore`, for fast handler tests.

The errors here are technical (:class:`WrongExpectedSequence`, :class:`StoreUnavailable`); the
request edge (:mod:`caunoi.shared.endpoints`) turns them into what a clerk reads.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from caunoi.shared.envelope import CONTENT_TYPE, LEGACY_TYPE_HEADER, TYPE_HEADER, CloudEvent
from caunoi.shared.ids import is_aggregate_id

#: The expected last sequence of an aggregate that has no events yet: an append expecting it
#: succeeds only if the aggregate's subject is still empty.
NEW_AGGREGATE: Final = 0
MAX_EVENTS_PER_APPEND: Final = 100


class StoreError(Exception):
    """Something the event store could not do."""


class WrongExpectedSequence(StoreError):
    """The subject's last sequence was not the one expected: another writer appended first."""

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject}: last sequence is not {expected}")
        self.subject = subject
        self.expected = expected


class StoreUnavailable(StoreError):
    """The store did not answer or did not confirm in time; an append may or may not have been
    stored, so retry it with the same event ids."""


def aggregate_token(subject: str, start: int) -> str:
    """The aggregate id in an event's subject (``caunoi.<service>.<aggregate id>.<unit path>``),
    ``start`` being where it begins (just past the stream's prefix and its dot)."""
    end = subject.find(".", start)
    return subject[start:] if end < 0 else subject[start:end]


@dataclass(frozen=True)
class StreamSpec:
    """A service's event stream: its name and subject space."""

    name: str
    service: str
    description: str = ""
    replicas: int = 1

    @property
    def subject_prefix(self) -> str:
        return f"caunoi.{self.service}"

    @property
    def subjects(self) -> list[str]:
        return [f"{self.subject_prefix}.*.>"]

    def subject_for(self, aggregate_id: str, unit_path: Sequence[str]) -> str:
        if not is_aggregate_id(aggregate_id):
            raise ValueError(f"{aggregate_id!r} cannot name an aggregate (one subject token)")
        if not unit_path:
            raise ValueError("an aggregate's subject needs its unit path")
        return ".".join([self.subject_prefix, aggregate_id, *unit_path])

    def aggregate_filter(self, aggregate_id: str) -> str:
        return f"{self.subject_prefix}.{aggregate_id}.>"

    def aggregate_id_of(self, subject: str) -> str:
        """The aggregate whose events ``subject`` (one of this stream's) holds."""
        return aggregate_token(subject, len(self.subject_prefix) + 1)

    def aggregate_filter_of(self, subject: str) -> str:
        """The filter of every subject of the aggregate ``subject`` (one of this stream's) is on."""
        return self.aggregate_filter(self.aggregate_id_of(subject))


class Message(Protocol):
    """A stored message as readers need it: :class:`StoredMessage` (direct gets) or
    :class:`caunoi.shared.streamread.RawMessage` (bulk reads)."""

    @property
    def seq(self) -> int: ...
    @property
    def subject(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def type_name(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as the stream holds it."""

    seq: int
    subject: str
    data: bytes
    headers: dict[str, str]
    time: str  # RFC 3339 with nanoseconds, as JetStream reports it

    @property
    def msg_id(self) -> str | None:
        return self.headers.get("Nats-Msg-Id")

    @property
    def type_name(self) -> str | None:
        """The event type from the headers, if the message carries one."""
        return self.headers.get(TYPE_HEADER) or self.headers.get(LEGACY_TYPE_HEADER)

    @property
    def timestamp(self) -> datetime:
        raw = self.time.rstrip("Z")
        head, _, frac = raw.partition(".")
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")


@dataclass(frozen=True)
class AppendResult:
    seqs: list[int]
    duplicate: bool = False  # True when an earlier try had already stored these events


@dataclass(frozen=True)
class StreamState:
    messages: int
    bytes: int
    last_seq: int
    subjects: int


def message_headers(event: CloudEvent) -> dict[str, str]:
    """The headers every stored event carries."""
    return {"Nats-Msg-Id": event.id, "Content-Type": CONTENT_TYPE, TYPE_HEADER: event.type}


class EventStore(abc.ABC):
    """Appends to and reads from one service's stream."""

    spec: StreamSpec

    @property
    def stream(self) -> str:
        return self.spec.name

    def subject_for(self, aggregate_id: str, unit_path: Sequence[str]) -> str:
        return self.spec.subject_for(aggregate_id, unit_path)

    @abc.abstractmethod
    async def load(self, aggregate_id: str) -> list[StoredMessage]:
        """Every message of one aggregate, in order."""

    @abc.abstractmethod
    async def count(self, aggregate_id: str) -> int:
        """How many messages the aggregate has, on all its subjects, without reading any (the
        stream's subject index knows)."""

    @abc.abstractmethod
    async def read(self, from_seq: int, batch: int = 256, subject: str | None = None) -> list[StoredMessage]:
        """Up to ``batch`` messages from sequence ``from_seq`` on, only those matching the subject
        filter ``subject`` (NATS wildcards) if given."""

    @abc.abstractmethod
    async def append(self, subject: str, expected_last_seq: int, events: Sequence[CloudEvent]) -> AppendResult:
        """Store ``events`` on ``subject``, all or none, if the last sequence of its aggregate (on
        any of the aggregate's subjects, :meth:`StreamSpec.aggregate_filter`) is still
        ``expected_last_seq`` (:data:`NEW_AGGREGATE`: the aggregate has no event yet, under any
        unit path: an id is one aggregate's).

        Safe to retry with the same events: when an earlier try stored them, the result says
        ``duplicate``. Raises :class:`WrongExpectedSequence` when another writer got there first,
        :class:`StoreUnavailable` when the store cannot confirm.
        """

    @abc.abstractmethod
    async def state(self) -> StreamState:
        """Counts of the stream as it is now."""

    async def last_seq(self) -> int:
        return (await self.state()).last_seq


def check_append(events: Sequence[CloudEvent]) -> None:
    if len(events) > MAX_EVENTS_PER_APPEND:
        raise ValueError(f"at most {MAX_EVENTS_PER_APPEND} events per append")
