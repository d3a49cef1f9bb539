"""Aggregates in the event store: load one and fold its events into state, record the events a
pure ``decide`` function returned, with optimistic concurrency and idempotent retries.

The domain stays pure: ``evolve(state, event) -> state`` and ``decide(state, command, facts) ->
[events]`` are plain functions in a service's ``domain.py``; this module is where they meet I/O.
A handler reads like this (see services/*/src/caunoi/*/handlers.py)::

    hamlet = await deps.hamlets.get(cmd.hamlet_id, ctx)
    if done := hamlet.done_by(ctx):            # the same command id was carried out before
        return done
    facts = await facts_for(deps, ctx, ...)    # lookups, after the idempotency check
    return await deps.hamlets.save(hamlet, ctx, domain.decide_rename(hamlet.state, cmd, facts))

or, when the facts are known before the load, in one line with :meth:`Repository.execute`.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar, cast

from pydantic import ValidationError, create_model

from caunoi.shared.audit.chain import GENESIS, last_hash, seal
from caunoi.shared.authz import require_reach
from caunoi.shared.context import RequestContext
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.errors import CommandError, Conflict
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import NEW_AGGREGATE, EventStore, Message, WrongExpectedSequence
from caunoi.shared.ids import short_reference
from caunoi.shared.units import UnitTree

S = TypeVar("S")
C = TypeVar("C")
F = TypeVar("F")

EVENT_ID_NAMESPACE = uuid.UUID("5b0c6a39-4d0f-4c1e-9b7e-6c61756e6f69")
#: tries at a free short reference (:meth:`Repository.create_referenced`) before giving up: with
#: 40 bits, a taken one is astronomically rare
MAX_REFERENCE_ATTEMPTS = 4


class RecordedEvent(NamedTuple):
    """An event as read back from the log (a named tuple: made once per event of a rebuild,
    three times cheaper than a frozen dataclass)."""

    seq: int
    nats_subject: str
    envelope: CloudEvent
    event: DomainEvent


def decode_message(registry: EventRegistry, msg: Message) -> RecordedEvent:
    """The event in a stored message: envelope and data validated in one pass when the type is
    its current version (the common case), else the envelope, then the data upcast."""
    model = registry.current(msg.type_name) if msg.type_name else None
    if model is not None:
        try:
            env = typed_envelope(model).model_validate_json(msg.data)
        except ValidationError:
            env = None  # let the general path below say what is wrong
        if env is not None and env.type == msg.type_name:
            return RecordedEvent(msg.seq, msg.subject, env, cast(DomainEvent, env.data))
    env = CloudEvent.from_json_bytes(msg.data)
    return RecordedEvent(msg.seq, msg.subject, env, registry.decode(env.type, env.data))


@functools.cache
def typed_envelope(model: type[DomainEvent]) -> type[CloudEvent]:
    """A CloudEvent whose ``data`` is ``model`` (so ``envelope.data`` is the event itself)."""
    return create_model(f"{model.__name__}Envelope", __base__=CloudEvent, data=(model, ...))


@dataclass(frozen=True)
class Scope:
    """Where an aggregate belongs: the unit it concerns now (the ``unitcode`` extension), the unit
    dataset of that code (``datasetversion``), and the unit path that places a *new* aggregate's
    subject (an existing aggregate keeps its subject for life)."""

    unit_code: str
    dataset: str | None
    unit_path: Sequence[str]
    #: units the aggregate was handed to (a forwarded petition): they and their parents reach it
    handed_to: Sequence[str] = ()


@dataclass(frozen=True)
class AggregateKind(Generic[S]):
    """How to rebuild one kind of aggregate from its events."""

    name: str
    initial: Callable[[], S]
    evolve: Callable[[S, DomainEvent], S]
    #: Where an aggregate in this state belongs (see ``Scope``).
    scope: Callable[[S], Scope]


@dataclass(frozen=True)
class Outcome(Generic[S]):
    aggregate_id: str
    state: S
    events: list[RecordedEvent]
    replayed: bool  # the same command id was carried out before; nothing new was stored


@dataclass(frozen=True)
class Loaded(Generic[S]):
    aggregate_id: str
    state: S
    last_seq: int  # stream sequence of the subject's last message; NEW_AGGREGATE if none
    nats_subject: str | None
    history: list[RecordedEvent]

    @property
    def exists(self) -> bool:
        return self.last_seq != NEW_AGGREGATE

    def done_by(self, ctx: RequestContext) -> Outcome[S] | None:
        """What this request's command id did to the aggregate before, if it was carried out."""
        earlier = [r for r in self.history if r.envelope.causationid == ctx.command_id]
        return Outcome(self.aggregate_id, self.state, earlier, replayed=True) if earlier else None


def reply(out: Outcome[Any], **fields: Any) -> dict[str, Any]:
    """A command's reply: what the handler says of the aggregate (``fields``), the events stored
    (id, type, stream sequence), the NATS subject its events are on (to follow it) and whether
    the command was a repeat."""
    events = [{"id": r.envelope.id, "type": r.envelope.type, "seq": r.seq} for r in out.events]
    subject = out.events[-1].nats_subject if out.events else None
    return {**fields, "subject": subject, "events": events, "replayed": out.replayed}


class AggregateExists(Exception):
    """``create`` found the id already taken by another command's aggregate."""

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(f"aggregate {aggregate_id} already exists")
        self.aggregate_id = aggregate_id


def event_id(command_id: str, aggregate_id: str, index: int) -> str:
    """Deterministic, so a retried command produces the same Nats-Msg-Id; the aggregate is part of
    it, so a command that tries a second id (a taken reference) is never mistaken by JetStream's
    de-duplication for its own first try. (``uuid.uuid5``, computed without its object overhead.)"""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{command_id}/{aggregate_id}/{index}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes


class Repository(Generic[S]):
    """Aggregates of one kind in one event store. It lets an actor reach only the aggregates its
    unit reaches (:mod:`caunoi.shared.authz`): a loaded one as it is, a new one as it would be."""

    def __init__(self, store: EventStore, registry: EventRegistry, kind: AggregateKind[S], units: UnitTree) -> None:
        self.store = store
        self.registry = registry
        self.kind = kind
        self.units = units
        self.source = f"/caunoi/{store.spec.service}"

    def authorize(self, ctx: RequestContext, aggregate_id: str, state: S) -> None:
        scope = self.kind.scope(state)
        what = f"{self.kind.name} {aggregate_id}"
        require_reach(ctx.actor, self.units, scope.dataset, scope.unit_path, scope.handed_to, what=what)

    async def get(self, aggregate_id: str, ctx: RequestContext) -> Loaded[S]:
        """The aggregate as its events make it; ``Forbidden`` if it exists and ``ctx``'s actor
        does not reach it."""
        loaded = await self.load(aggregate_id)
        if loaded.exists:
            self.authorize(ctx, aggregate_id, loaded.state)
        return loaded

    async def load(self, aggregate_id: str) -> Loaded[S]:
        """The aggregate as its events make it, for whoever asks (no authorization)."""
        history = [decode_message(self.registry, m) for m in await self.store.load(aggregate_id)]
        state = self.kind.initial()
        for rec in history:
            state = self.kind.evolve(state, rec.event)
        last = history[-1] if history else None
        return Loaded(
            aggregate_id,
            state,
            last.seq if last else NEW_AGGREGATE,
            last.nats_subject if last else None,
            history,
        )

    async def execute(
        self,
        aggregate_id: str,
        ctx: RequestContext,
        decide: Callable[[S, C, F], Sequence[DomainEvent]],
        command: C,
        facts: F,
    ) -> Outcome[S]:
        """Load, answer a repeated command id with what it did, decide, save: the whole handler
        when the facts were known before the load."""
        loaded = await self.get(aggregate_id, ctx)
        if done := loaded.done_by(ctx):
            return done
        return await self.save(loaded, ctx, decide(loaded.state, command, facts))

    async def save(self, loaded: Loaded[S], ctx: RequestContext, events: Sequence[DomainEvent]) -> Outcome[S]:
        """Append ``events`` to a loaded aggregate, if nobody appended since it was loaded
        (``WrongExpectedSequence`` otherwise)."""
        chained_to = last_hash([r.envelope for r in loaded.history[-1:]])
        return await self._append(
            loaded.aggregate_id, loaded.state, loaded.last_seq, loaded.nats_subject, ctx, events, chained_to
        )

    async def create(self, aggregate_id: str, ctx: RequestContext, events: Sequence[DomainEvent]) -> Outcome[S]:
        """Start a new aggregate with ``events`` without loading it first: the append expects
        :data:`NEW_AGGREGATE`. A retry of the same command is answered with what it did; an id
        taken by another command raises :class:`AggregateExists`."""
        try:
            return await self._append(aggregate_id, self.kind.initial(), NEW_AGGREGATE, None, ctx, events, GENESIS)
        except WrongExpectedSequence:
            if (done := await self.replay_of(aggregate_id, ctx)) is not None:
                return done
            raise AggregateExists(aggregate_id) from None

    async def create_referenced(
        self,
        prefix: str,
        ctx: RequestContext,
        decide: Callable[[str], Sequence[DomainEvent] | Awaitable[Sequence[DomainEvent]]],
    ) -> Outcome[S]:
        """Start a new aggregate under a short reference people quote (``PA-7KQ2M9XD``), derived
        from the command id (:func:`caunoi.shared.ids.short_reference`), so a retry lands on the
        same aggregate and is answered with what it did (without a load first: :meth:`create`).
        ``decide(reference)`` returns (or awaits) the new aggregate's events; it may raise
        ``AggregateExists`` when it finds the reference taken. A reference another command's
        aggregate holds is passed over for the next alternative; a command refused now that was
        carried out before is answered with what it did."""
        for attempt in range(MAX_REFERENCE_ATTEMPTS):
            reference = short_reference(prefix, ctx.command_id, attempt)
            try:
                decided = decide(reference)
                events = await decided if inspect.isawaitable(decided) else decided
            except (CommandError, AggregateExists) as e:
                if (done := await self.replay_of(reference, ctx)) is not None:
                    return done
                if isinstance(e, AggregateExists):
                    continue
                raise
            try:
                return await self.create(reference, ctx, events)
            except AggregateExists:
                continue  # another command's aggregate has this reference: take the next one
        raise Conflict(
            f"Không cấp được mã mới ({prefix}…); hãy gửi lại lệnh",
            message_en=f"could not allot a new {prefix} reference; send the command again",
        )

    async def replay_of(self, aggregate_id: str, ctx: RequestContext) -> Outcome[S] | None:
        """What ``ctx``'s command id did to the aggregate, if it was carried out before."""
        loaded = await self.load(aggregate_id)
        done = loaded.done_by(ctx)
        if done is not None:
            self.authorize(ctx, aggregate_id, loaded.state)
        return done

    async def _append(
        self,
        aggregate_id: str,
        before: S,
        expected: int,
        subject: str | None,
        ctx: RequestContext,
        events: Sequence[DomainEvent],
        chained_to: str,
    ) -> Outcome[S]:
        after = before
        for ev in events:
            after = self.kind.evolve(after, ev)
        if not events:
            return Outcome(aggregate_id, after, [], replayed=False)
        if expected == NEW_AGGREGATE:  # a new aggregate: the actor must reach it as it will be
            self.authorize(ctx, aggregate_id, after)
        scope = self.kind.scope(after)
        subject = subject or self.store.subject_for(aggregate_id, scope.unit_path)
        envelopes = seal([self._envelope(aggregate_id, i, ev, scope, ctx) for i, ev in enumerate(events)], chained_to)
        result = await self.store.append(subject, expected, envelopes)
        recorded = [
            RecordedEvent(seq, subject, env, ev) for seq, env, ev in zip(result.seqs, envelopes, events, strict=True)
        ]
        return Outcome(aggregate_id, after, recorded, replayed=result.duplicate)

    def _envelope(
        self, aggregate_id: str, index: int, ev: DomainEvent, scope: Scope, ctx: RequestContext
    ) -> CloudEvent:
        # every field is built here from checked values: no validation needed
        return CloudEvent.model_construct(
            id=event_id(ctx.command_id, aggregate_id, index),
            source=self.source,
            type=ev.type_name(),
            subject=aggregate_id,
            time=ctx.received_at,
            data=ev.model_dump(mode="json"),
            unitcode=scope.unit_code,
            datasetversion=scope.dataset,
            correlationid=ctx.correlation_id,
            causationid=ctx.command_id,
            actor=ctx.actor.id,
            actorunit=ctx.actor.unit or None,
        )
