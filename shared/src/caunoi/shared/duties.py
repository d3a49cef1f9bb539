"""Events that time, not a person, causes: a deadline passed, a report fell due, minutes were not
closed. A service declares them as :class:`Duty` objects; a :class:`DutyRunner` looks for what
fell due and has the service record it, exactly once per aggregate and due item.

Exactly once without a lock or a leader, whatever runs how often and wherever:

- each due item has a **deterministic command id** (``<duty>:<aggregate id>:<key>``, the key
  naming the deadline, e.g. ``committed:2026-12-01``), so the repository's idempotency check
  (``Loaded.done_by``) answers a repeat, after a restart or on a second runner, with what the
  first one stored, and ``Nats-Msg-Id`` de-duplicates a retried publish;
- the append expects the aggregate's last sequence, so two runners racing on one aggregate
  cannot both store: the loser gets ``WrongExpectedSequence``, reloads, and finds the winner's
  event by its command id.

A duty finds its due items in its service's read model (``due``) and acts through the same
repository a handler uses (``act``); the event is recorded with the system actor
``system:<service>`` and the runner's clock as its time. A service that was down when something
fell due catches up on its next tick. The clock is a plain function, so tests move time::

    runner = DutyRunner("petitions", duties, deps, clock=lambda: moment)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import structlog

from caunoi.shared.aggregate import Outcome
from caunoi.shared.aio import wait_at_most
from caunoi.shared.context import Actor, RequestContext
from caunoi.shared.errors import CommandError
from caunoi.shared.eventstore import StoreError, WrongExpectedSequence

log = structlog.get_logger(__name__)

D = TypeVar("D")
D_contra = TypeVar("D_contra", contravariant=True)

Clock = Callable[[], datetime]
#: what a runner schedules by when a service is not told otherwise
SYSTEM_ROLE = "system"


def system_clock() -> datetime:
    return datetime.now(UTC)


def system_actor(service: str) -> Actor:
    """Who records what time caused: the service itself. It has no unit (it reaches every
    aggregate of its service) and a role no credential can carry (``system`` is not a
    :class:`~caunoi.shared.context.Role`), so it never passes the request edge."""
    return Actor(id=f"system:{service}", name=f"caunoi {service}", roles=frozenset({SYSTEM_ROLE}))


@dataclass(frozen=True)
class Due:
    """One thing that fell due: on which aggregate, which deadline (``key``, stable for that
    deadline), and whatever the duty's ``act`` needs to know."""

    aggregate_id: str
    key: str
    data: Mapping[str, Any] = field(default_factory=dict)


class Duty(Protocol[D_contra]):
    """Something a service records when time says so."""

    #: part of every command id it makes: changing it makes every due item new again
    name: str

    async def due(self, deps: D_contra, now: datetime) -> Sequence[Due]:
        """What fell due by ``now`` and is not recorded yet (usually a read-model query)."""
        ...

    async def act(self, deps: D_contra, due: Due, ctx: RequestContext) -> bool:
        """Record ``due`` through the service's repository with ``ctx`` (its command id is
        deterministic); True if an event was stored now, False if it was already recorded or is
        no longer needed (the decision returned no event)."""
        ...


def command_id(duty: str, due: Due) -> str:
    return f"{duty}:{due.aggregate_id}:{due.key}"


def stored_now(out: Outcome[Any]) -> bool:
    """What ``act`` returns for a repository outcome: whether this call stored an event."""
    return bool(out.events) and not out.replayed


@dataclass
class DutyStats:
    ticks: int = 0
    recorded: int = 0
    last_tick: datetime | None = None
    last_error: str | None = None


class DutyRunner(Generic[D]):
    """Runs a service's duties now (:meth:`tick`) or every ``every`` seconds (:meth:`run`)."""

    def __init__(
        self,
        service: str,
        duties: Sequence[Duty[D]],
        deps: D,
        *,
        clock: Clock = system_clock,
        every: float = 30.0,
        attempts: int = 3,
    ) -> None:
        self.service = service
        self.duties = list(duties)
        self.deps = deps
        self.clock = clock
        self.every = every
        self.attempts = attempts
        self.actor = system_actor(service)
        self.stats = DutyStats()
        self._stopping = asyncio.Event()

    async def tick(self) -> list[dict[str, Any]]:
        """Record everything due now; what was recorded, one entry per stored item."""
        now = self.clock()
        done: list[dict[str, Any]] = []
        for duty in self.duties:
            for due in await duty.due(self.deps, now):
                if await self._record(duty, due, now):
                    done.append({"duty": duty.name, "aggregate_id": due.aggregate_id, "key": due.key})
        self.stats.ticks += 1
        self.stats.recorded += len(done)
        self.stats.last_tick = now
        return done

    async def _record(self, duty: Duty[D], due: Due, now: datetime) -> bool:
        ctx = RequestContext(actor=self.actor, command_id=command_id(duty.name, due), received_at=now)
        for _ in range(self.attempts):
            try:
                stored = await duty.act(self.deps, due, ctx)
            except WrongExpectedSequence:
                continue  # someone appended meanwhile (another runner, a clerk): load again and decide again
            except CommandError as e:
                # the aggregate moved on (resolved, withdrawn): nothing is due any more
                log.info("duty.not_applicable", duty=duty.name, aggregate=due.aggregate_id, key=due.key, code=e.code)
                return False
            if stored:
                log.info("duty.recorded", duty=duty.name, aggregate=due.aggregate_id, key=due.key)
            return stored
        log.warning("duty.contended", duty=duty.name, aggregate=due.aggregate_id, key=due.key)
        return False

    async def run(self) -> None:
        """Tick every ``every`` seconds until :meth:`stop`; a failing tick is logged and retried
        on the next one (a due item is never lost: it stays due until it is recorded)."""
        while not self._stopping.is_set():
            try:
                await self.tick()
                self.stats.last_error = None
            except (StoreError, OSError, CommandError) as e:
                self.stats.last_error = str(e)
                log.warning("duty.tick_failed", error=str(e))
            except Exception as e:  # a bug in one duty must not stop the next tick
                self.stats.last_error = repr(e)
                log.exception("duty.tick_failed")
            await wait_at_most(self._stopping, self.every)

    def stop(self) -> None:
        self._stopping.set()
