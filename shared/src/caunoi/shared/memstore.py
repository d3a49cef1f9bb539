"""An event store in memory, for fast handler tests. The contract suite
(tests/kernel/test_eventstore_contract.py) runs the same tests on it and on JetStream, so it is
known to behave the same: optimistic concurrency per subject, retries recognised by event id,
all-or-none batches, NATS subject filters."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import (
    AppendResult,
    EventStore,
    StoredMessage,
    StreamSpec,
    StreamState,
    WrongExpectedSequence,
    check_append,
    message_headers,
)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more tokens."""
    want = pattern.split(".")
    have = subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


class InMemoryEventStore(EventStore):
    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self._messages: list[StoredMessage] = []
        self._last_on_subject: dict[str, int] = {}
        self._last_of_aggregate: dict[str, int] = {}  # by aggregate filter
        self._seq_of_id: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def load(self, aggregate_id: str) -> list[StoredMessage]:
        await asyncio.sleep(0)  # a real store answers later: let concurrent callers interleave
        prefix = self.spec.aggregate_filter(aggregate_id)
        return [m for m in self._messages if subject_matches(prefix, m.subject)]

    async def count(self, aggregate_id: str) -> int:
        return len(await self.load(aggregate_id))

    async def read(self, from_seq: int, batch: int = 256, subject: str | None = None) -> list[StoredMessage]:
        await asyncio.sleep(0)
        out: list[StoredMessage] = []
        for m in self._messages[max(from_seq, 1) - 1 :]:
            if subject is None or subject_matches(subject, m.subject):
                out.append(m)
                if len(out) == batch:
                    break
        return out

    async def append(self, subject: str, expected_last_seq: int, events: Sequence[CloudEvent]) -> AppendResult:
        if not events:
            return AppendResult([])
        check_append(events)
        if not any(subject_matches(p, subject) for p in self.spec.subjects):
            raise ValueError(f"{subject} is not a subject of stream {self.stream}")
        await asyncio.sleep(0)
        async with self._lock:
            last = self._last_on_subject.get(subject, 0)
            if last and self._messages[last - 1].msg_id == events[-1].id:
                return AppendResult(list(range(last - len(events) + 1, last + 1)), duplicate=True)
            if len(events) == 1 and events[0].id in self._seq_of_id:
                return AppendResult([self._seq_of_id[events[0].id]], duplicate=True)
            aggregate = self.spec.aggregate_filter_of(subject)  # (its subjects under every unit path)
            if self._last_of_aggregate.get(aggregate, 0) != expected_last_seq or any(
                e.id in self._seq_of_id for e in events
            ):
                raise WrongExpectedSequence(subject, expected_last_seq)
            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            for ev in events:
                seq = len(self._messages) + 1
                self._messages.append(StoredMessage(seq, subject, ev.to_json_bytes(), message_headers(ev), now))
                self._seq_of_id[ev.id] = seq
                self._last_on_subject[subject] = seq
                self._last_of_aggregate[aggregate] = seq
            first = len(self._messages) - len(events) + 1
            return AppendResult(list(range(first, len(self._messages) + 1)))

    async def state(self) -> StreamState:
        size = sum(len(m.data) for m in self._messages)
        return StreamState(len(self._messages), size, len(self._messages), len(self._last_on_subject))
