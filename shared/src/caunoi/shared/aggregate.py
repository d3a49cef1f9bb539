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

import asyncio
import functools
import hashlib
import inspect
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from pydantic import TypeAdapter, ValidationError

from caunoi.shared.audit.chain import last_hash, seal
from caunoi.shared.authz import require_reach
from caunoi.shared.context import RequestContext
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.errors import CommandError, Conflict
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import NEW_AGGREGATE, EventStore, Message, WrongExpectedSequence
from caunoi.shared.ids import short_reference
from caunoi.shared.recorded import RecordedEvent, decode_message
from caunoi.shared.snapshots import Snapshot, SnapshotStore, SnapshotWriter
from caunoi.shared.units import UnitTree

log = structlog.get_logger(__name__)

S = TypeVar("S")
C = TypeVar("C")
F = TypeVar("F")

EVENT_ID_NAMESPACE = uuid.UUID("5b0c6a39-4d0f-4c1e-9b7e-6c61756e6f69")
#: tries at a free short reference (:meth:`Repository.create_referenced`) before giving up: with
#: 40 bits, a taken one is astronomically rare
MAX_REFERENCE_ATTEMPTS = 4


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
    #: Snapshots of this kind are kept (:mod:`caunoi.shared.snapshots`) under this version; 0:
    #: never. Raise it when ``evolve`` or the state's type changes what the same events make:
    #: snapshots of another version are not used. The state must read back from its JSON as it
    #: was (a dataclass or pydantic model of plain fields).
    snapshot_version: int = 0

    @functools.cached_property
    def state_json(self) -> TypeAdapter[S]:
        """The state's JSON form, for its snapshots."""
        return TypeAdapter(type(self.initial()))


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
    #: its events; empty when it was loaded from ``snapshot``
    history: list[RecordedEvent]
    #: the snapshot it was loaded from (:meth:`Repository.latest`); None: from its events
    snapshot: Snapshot | None = None

    @property
    def exists(self) -> bool:
        return self.last_seq != NEW_AGGREGATE

    @property
    def count(self) -> int:
        """How many events made it."""
        return self.snapshot.count if self.snapshot else len(self.history)

    @property
    def chained_to(self) -> str:
        """What its next event chains to."""
        return self.snapshot.chain if self.snapshot else last_hash([r.envelope for r in self.history[-1:]])

    @property
    def commands(self) -> list[str]:
        """The ids of the commands whose events made it, in order (once per event)."""
        if self.snapshot:
            return list(self.snapshot.commands)
        return [r.envelope.causationid for r in self.history if r.envelope.causationid]

    def done_by(self, ctx: RequestContext) -> Outcome[S] | None:
        """What this request's command id did to the aggregate before, if it was carried out."""
        if self.snapshot is not None:
            if ctx.command_id in self.snapshot.commands:  # Repository.latest loads those from the stream
                raise RuntimeError(f"{self.aggregate_id} was loaded from its snapshot for another command")
            return None
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

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        kind: AggregateKind[S],
        units: UnitTree,
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.kind = kind
        self.units = units
        self.source = f"/caunoi/{store.spec.service}"
        #: where this kind's snapshots are kept (None: the kind keeps none, or no store was given)
        self.snapshots = snapshots if kind.snapshot_version else None
        self._writer = SnapshotWriter(self.snapshots) if self.snapshots else None

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

    async def current(self, aggregate_id: str, ctx: RequestContext) -> Loaded[S]:
        """The aggregate as a command needs it (:meth:`latest`: from its snapshot when that holds
        all its events); ``Forbidden`` if it exists and ``ctx``'s actor does not reach it."""
        loaded = await self.latest(aggregate_id, ctx.command_id)
        if loaded.exists:
            self.authorize(ctx, aggregate_id, loaded.state)
        return loaded

    async def latest(self, aggregate_id: str, command_id: str) -> Loaded[S]:
        """The aggregate as its events make it, for whoever asks (no authorization), without its
        history when it can: from its snapshot if that folded as many events as the stream holds
        for it and ``command_id`` made none of them (a repeated command is answered from the
        stream, :meth:`Loaded.done_by`). Else from the stream, and its snapshot written again.
        (:mod:`caunoi.shared.snapshots` says why a snapshot never decides a command wrongly.)"""
        if self.snapshots is None:
            return await self.load(aggregate_id)
        snapshot, count = await asyncio.gather(self._snapshot(aggregate_id), self.store.count(aggregate_id))
        if count == 0:
            return Loaded(aggregate_id, self.kind.initial(), NEW_AGGREGATE, None, [])
        if snapshot is not None and snapshot.count == count and command_id not in snapshot.commands:
            state = self._state_of(snapshot)
            if state is not None:
                return Loaded(aggregate_id, state, snapshot.last_seq, snapshot.subject, [], snapshot)
        loaded = await self.load(aggregate_id)
        if loaded.exists:
            self._keep(functools.partial(self._snapshot_of_loaded, loaded))
        return loaded

    async def snapshot_now(self, aggregate_id: str) -> None:
        """Write the aggregate's snapshot from its events in the stream and wait for it (a
        failure is raised), for a command that must leave no older snapshot behind: an erasure.
        A snapshot written before it holds what it erased; one still on its way from another
        process cannot replace this one (an older snapshot never replaces a newer)."""
        if self.snapshots is None:
            return
        await self.written()  # (this process's own, kept before)
        loaded = await self.load(aggregate_id)
        if loaded.exists:
            await self.snapshots.put_many([self._snapshot_of_loaded(loaded)])

    async def _snapshot(self, aggregate_id: str) -> Snapshot | None:
        assert self.snapshots is not None
        try:
            return await self.snapshots.get(self.kind.name, aggregate_id)
        except Exception as e:  # noqa: BLE001 - a cache: without it the stream answers
            log.warning("snapshot.read_failed", kind=self.kind.name, aggregate=aggregate_id, error=repr(e))
            return None

    def _state_of(self, snapshot: Snapshot) -> S | None:
        if snapshot.version != self.kind.snapshot_version:
            return None
        try:
            return self.kind.state_json.validate_json(snapshot.state)
        except ValidationError:
            log.warning("snapshot.unreadable", kind=self.kind.name, aggregate=snapshot.aggregate_id)
            return None

    def _snapshot_of(
        self, aggregate_id: str, state: S, count: int, last_seq: int, subject: str, chain: str, commands: Iterable[str]
    ) -> Snapshot:
        return Snapshot(
            self.kind.name,
            aggregate_id,
            self.kind.snapshot_version,
            count,
            last_seq,
            subject,
            chain,
            list(dict.fromkeys(commands)),
            self.kind.state_json.dump_json(state),
        )

    def _snapshot_of_loaded(self, loaded: Loaded[S]) -> Snapshot:
        assert loaded.nats_subject is not None
        return self._snapshot_of(
            loaded.aggregate_id,
            loaded.state,
            loaded.count,
            loaded.last_seq,
            loaded.nats_subject,
            loaded.chained_to,
            loaded.commands,
        )

    def _keep(self, snapshot: Callable[[], Snapshot]) -> None:
        """Write the snapshot ``snapshot()`` makes in the background (its JSON made then, not now)."""
        if self._writer is not None:
            self._writer.keep(snapshot)

    async def snapshot_stored(self, messages: Sequence[Message], ids: Callable[[str], bool]) -> int:
        """Fold messages the stream holds, in its order, into the snapshots of their aggregates
        (those whose id ``ids`` accepts: the kinds of a stream are told apart by their ids), for
        events stored without this repository: an installation that kept no snapshots before, a
        bulk import (the bench's fill). Each aggregate goes on from its snapshot; a message it
        already folded is passed over. How many messages were folded."""
        if self.snapshots is None:
            return 0
        mine: dict[str, list[Message]] = {}
        for m in messages:
            aggregate_id = self.store.spec.aggregate_id_of(m.subject)
            if ids(aggregate_id):
                mine.setdefault(aggregate_id, []).append(m)
        kept = await self.snapshots.get_many(self.kind.name, list(mine))
        out: list[Snapshot] = []
        folded = 0
        for aggregate_id, msgs in mine.items():
            snap = kept.get(aggregate_id)
            state = self._state_of(snap) if snap is not None else self.kind.initial()
            if state is None:
                continue  # of another version: written again when it is next loaded
            count, last_seq, chain = (snap.count, snap.last_seq, snap.chain) if snap else (0, NEW_AGGREGATE, "")
            commands = list(snap.commands) if snap else []
            for m in msgs:
                if m.seq <= last_seq:
                    continue
                rec = decode_message(self.registry, m)
                state = self.kind.evolve(state, rec.event)
                count, last_seq, chain = count + 1, m.seq, last_hash([rec.envelope])
                if rec.envelope.causationid:
                    commands.append(rec.envelope.causationid)
                folded += 1
            if last_seq != NEW_AGGREGATE:
                out.append(self._snapshot_of(aggregate_id, state, count, last_seq, msgs[-1].subject, chain, commands))
        await self.snapshots.put_many(out)
        return folded

    async def written(self) -> None:
        """Until the snapshots being written are (tests, a clean stop)."""
        if self._writer is not None:
            await self._writer.written()

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
        loaded = await self.current(aggregate_id, ctx)
        if done := loaded.done_by(ctx):
            return done
        return await self.save(loaded, ctx, decide(loaded.state, command, facts))

    async def save(self, loaded: Loaded[S], ctx: RequestContext, events: Sequence[DomainEvent]) -> Outcome[S]:
        """Append ``events`` to a loaded aggregate, if nobody appended since it was loaded
        (``WrongExpectedSequence`` otherwise)."""
        return await self._append(loaded, ctx, events)

    async def create(self, aggregate_id: str, ctx: RequestContext, events: Sequence[DomainEvent]) -> Outcome[S]:
        """Start a new aggregate with ``events`` without loading it first: the append expects
        :data:`NEW_AGGREGATE`. A retry of the same command is answered with what it did; an id
        taken by another command raises :class:`AggregateExists`."""
        try:
            new = Loaded(aggregate_id, self.kind.initial(), NEW_AGGREGATE, None, [])
            return await self._append(new, ctx, events)
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

    async def _append(self, before: Loaded[S], ctx: RequestContext, events: Sequence[DomainEvent]) -> Outcome[S]:
        aggregate_id = before.aggregate_id
        after = before.state
        for ev in events:
            after = self.kind.evolve(after, ev)
        if not events:
            return Outcome(aggregate_id, after, [], replayed=False)
        if not before.exists:  # a new aggregate: the actor must reach it as it will be
            self.authorize(ctx, aggregate_id, after)
        scope = self.kind.scope(after)
        subject = before.nats_subject or self.store.subject_for(aggregate_id, scope.unit_path)
        envelopes = seal(
            [self._envelope(aggregate_id, i, ev, scope, ctx) for i, ev in enumerate(events)], before.chained_to
        )
        result = await self.store.append(subject, before.last_seq, envelopes)
        recorded = [
            RecordedEvent(seq, subject, env, ev) for seq, env, ev in zip(result.seqs, envelopes, events, strict=True)
        ]
        if self._writer is not None:  # (the commands so far are only worked out for a snapshot)
            count, commands = before.count + len(events), [*before.commands, ctx.command_id]
            self._keep(
                functools.partial(
                    self._snapshot_of,
                    aggregate_id,
                    after,
                    count,
                    result.seqs[-1],
                    subject,
                    last_hash(envelopes),
                    commands,
                )
            )
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
