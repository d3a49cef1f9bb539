"""Reactions: a projection whose effect is new aggregates in the service's own stream (a "policy":
when *this* happens elsewhere, start *that* here). The notify service queues a notice for each
reply issued in the petitions service this way.

A :class:`Reactor` is a :class:`~caunoi.shared.projection.Projection`, so it follows a stream
(its own service's or, read only, another's) through the kernel's projection runner, a batch at a
time, in order, in the transaction that moves its checkpoint. For each event it

1. ``remember`` s what later reactions need to know (its own fact tables, in that transaction), then
2. ``react`` s: returns the aggregates to create because of the event (:class:`Reaction`), which
   are created through the service's :class:`~caunoi.shared.aggregate.Repository` before the
   transaction commits.

**Exactly once** without a lock or an outbox: the command id of every creation is the triggering
event's id (so ``causationid`` names the event that caused it) and the aggregate id is a
deterministic function of that event (e.g. the event id and a recipient), so applying the same
event again -- a crash before the checkpoint committed, a redelivery, a rebuild that replays the
whole stream -- creates nothing new: ``Repository.create`` answers a repeat with what the first
try stored, and JetStream drops a retried publish by its ``Nats-Msg-Id``. If an append fails, the
batch fails, its fact changes roll back with it, and the runner retries it (and parks it after its
attempts, halting there: nothing after it is skipped).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from caunoi.shared.aggregate import AggregateKind, Repository
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import system_actor
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.projection import Conn
from caunoi.shared.recorded import RecordedEvent

if TYPE_CHECKING:
    from caunoi.shared.service import Resources

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Reaction:
    """An aggregate to create, and its first events. ``aggregate_id`` must be a deterministic
    function of the triggering event, and distinct for each reaction to one event."""

    aggregate_id: str
    events: Sequence[DomainEvent]


class Reactor(abc.ABC):
    """A projection that creates aggregates of ``kind`` in its service's own stream."""

    #: the projection's name, which is also its schema
    name: str

    def __init__(self, name: str, kind: AggregateKind[Any], registry: EventRegistry, concurrency: int = 16) -> None:
        self.name = name
        self.kind = kind
        #: the service's own registry (of the events it creates)
        self.registry = registry
        self.concurrency = concurrency
        self._repository: Repository[Any] | None = None
        self.created = 0

    def bind(self, resources: Resources) -> None:
        """Connect to the service's own stream (the service calls this once it is started)."""
        self._repository = Repository(resources.store, self.registry, self.kind, resources.units)

    @property
    def repository(self) -> Repository[Any]:
        if self._repository is None:
            raise RuntimeError(f"reactor {self.name} is not bound to its service's stream")
        return self._repository

    # -- what a service writes ------------------------------------------------------------------

    @abc.abstractmethod
    async def setup(self, conn: Conn, schema: str) -> None:
        """Create the fact tables in ``schema`` (idempotent)."""

    async def remember(self, conn: Conn, schema: str, rec: RecordedEvent) -> None:  # noqa: B027 - optional hook
        """Keep what later reactions need (the default: nothing)."""

    @abc.abstractmethod
    async def react(self, conn: Conn, schema: str, rec: RecordedEvent) -> Sequence[Reaction]:
        """The aggregates ``rec`` causes, from the event and the facts remembered before it."""

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        """The fact tables, to compare a rebuild with the live copy (the default: none)."""
        return []

    # -- the projection ----------------------------------------------------------------------------

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        pending: list[tuple[RecordedEvent, Reaction]] = []
        for rec in events:
            await self.remember(conn, schema, rec)
            pending.extend((rec, r) for r in await self.react(conn, schema, rec))
        if not pending:
            return
        slots = asyncio.Semaphore(self.concurrency)

        async def create(rec: RecordedEvent, reaction: Reaction) -> bool:
            async with slots:
                out = await self.repository.create(reaction.aggregate_id, self.context_for(rec), reaction.events)
                return not out.replayed

        created = await asyncio.gather(*(create(rec, r) for rec, r in pending))
        self.created += sum(created)

    def context_for(self, rec: RecordedEvent) -> RequestContext:
        """Who records a reaction (the service itself), the command id (the triggering event's
        id) and the correlation id it carries on (the trigger's)."""
        env = rec.envelope
        return RequestContext(
            actor=system_actor(self.repository.store.spec.service),
            command_id=env.id,
            correlation_id=env.correlationid or env.id,
            received_at=datetime.now(UTC),
        )
