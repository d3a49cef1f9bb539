"""Running a command against one aggregate: load its events, fold them into state, let the pure
``decide`` function return new events, append them with optimistic concurrency.

The domain stays pure: ``evolve(state, event) -> state`` and ``decide(state) -> [events]`` are
plain functions; this module is the only place they meet I/O.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import EventStore
from caunoi.shared.jsapi import StoredMessage

S = TypeVar("S")

EVENT_ID_NAMESPACE = uuid.UUID("5b0c6a39-4d0f-4c1e-9b7e-6c61756e6f69")


@dataclass(frozen=True)
class RecordedEvent:
    """An event as read back from the log."""

    seq: int
    nats_subject: str
    envelope: CloudEvent
    event: DomainEvent


def decode_message(registry: EventRegistry, msg: StoredMessage) -> RecordedEvent:
    env = CloudEvent.from_json_bytes(msg.data)
    return RecordedEvent(msg.seq, msg.subject, env, registry.decode(env.type, env.data))


@dataclass(frozen=True)
class CommandMeta:
    """Who asked for what, carried from the command into every event it causes."""

    command_id: str
    correlation_id: str
    actor: str | None = None
    now: datetime | None = None

    @staticmethod
    def new(command_id: str | None = None, correlation_id: str | None = None, actor: str | None = None) -> CommandMeta:
        cid = command_id or str(uuid.uuid4())
        return CommandMeta(cid, correlation_id or cid, actor, datetime.now(UTC))


@dataclass(frozen=True)
class Scope:
    """Where an aggregate belongs: the unit it concerns now (the ``unitcode`` extension), the unit
    dataset of that code (``datasetversion``), and the unit path that places a *new* aggregate's
    subject (an existing aggregate keeps its subject for life)."""

    unit_code: str
    dataset: str | None
    unit_path: Sequence[str]


Decision = Sequence[DomainEvent] | Awaitable[Sequence[DomainEvent]]


@dataclass(frozen=True)
class AggregateKind(Generic[S]):
    """How to rebuild one kind of aggregate from its events."""

    name: str
    initial: Callable[[], S]
    evolve: Callable[[S, DomainEvent], S]
    #: Where an aggregate in this state belongs (see ``Scope``).
    scope: Callable[[S], Scope]


@dataclass(frozen=True)
class Loaded(Generic[S]):
    aggregate_id: str
    state: S
    last_seq: int  # stream sequence of the subject's last message; 0 if none
    nats_subject: str | None
    history: list[RecordedEvent]

    @property
    def exists(self) -> bool:
        return self.last_seq > 0


@dataclass(frozen=True)
class Outcome(Generic[S]):
    aggregate_id: str
    state: S
    events: list[RecordedEvent]
    replayed: bool  # the same command id was already applied; nothing new was stored


def event_id(command_id: str, index: int) -> str:
    """Deterministic, so a retried command produces the same Nats-Msg-Id."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{command_id}/{index}"))


class Repository(Generic[S]):
    """Loads and changes aggregates of one kind in one event store."""

    def __init__(self, store: EventStore, registry: EventRegistry, kind: AggregateKind[S], source: str) -> None:
        self.store = store
        self.registry = registry
        self.kind = kind
        self.source = source

    async def load(self, aggregate_id: str) -> Loaded[S]:
        msgs = await self.store.load(aggregate_id)
        history = [decode_message(self.registry, m) for m in msgs]
        state = self.kind.initial()
        for rec in history:
            state = self.kind.evolve(state, rec.event)
        last = history[-1] if history else None
        return Loaded(
            aggregate_id,
            state,
            last.seq if last else 0,
            last.nats_subject if last else None,
            history,
        )

    async def execute(
        self,
        aggregate_id: str,
        meta: CommandMeta,
        decide: Callable[[Loaded[S]], Decision],
    ) -> Outcome[S]:
        """Load, decide, append. A command id seen before returns what it did then, before
        ``decide`` runs: so checks that need I/O (a read-model lookup) belong inside ``decide``,
        which may be a coroutine, or a retried command could be refused by them."""
        loaded = await self.load(aggregate_id)
        earlier = [r for r in loaded.history if r.envelope.causationid == meta.command_id]
        if earlier:
            return Outcome(aggregate_id, loaded.state, earlier, replayed=True)
        decision = decide(loaded)
        new_events = list(await decision if inspect.isawaitable(decision) else decision)
        if not new_events:
            return Outcome(aggregate_id, loaded.state, [], replayed=False)
        after = loaded.state
        for ev in new_events:
            after = self.kind.evolve(after, ev)
        scope = self.kind.scope(after)
        unit_code, dataset = scope.unit_code, scope.dataset
        subject = loaded.nats_subject or self.store.subject_for(aggregate_id, scope.unit_path)
        now = meta.now or datetime.now(UTC)
        envelopes = [
            CloudEvent(
                id=event_id(meta.command_id, i),
                source=self.source,
                type=ev.type_name(),
                subject=aggregate_id,
                time=now,
                data=ev.model_dump(mode="json"),
                unitcode=unit_code,
                datasetversion=dataset,
                correlationid=meta.correlation_id,
                causationid=meta.command_id,
            )
            for i, ev in enumerate(new_events)
        ]
        result = await self.store.append(subject, loaded.last_seq, envelopes)
        recorded = [
            RecordedEvent(seq, subject, env, ev)
            for seq, env, ev in zip(result.seqs, envelopes, new_events, strict=True)
        ]
        return Outcome(aggregate_id, after, recorded, replayed=result.duplicate)
