"""What time causes is recorded exactly once: per aggregate and deadline, across restarts (a new
runner), with two runners ticking at once, and not at all once the aggregate moved on. On the
in-memory store, which the contract suite proves equal to JetStream on the properties this relies
on (optimistic concurrency, retries recognised by event id)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio

from caunoi.shared.aggregate import AggregateKind, Repository, Scope
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import Due, DutyRunner, stored_now, system_actor
from caunoi.shared.errors import InvalidState
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

registry = EventRegistry()


@registry.register
class Lent(DomainEvent):
    NAME = "test.Lent"
    due_on: date


@registry.register
class Returned(DomainEvent):
    NAME = "test.Returned"


@registry.register
class WentOverdue(DomainEvent):
    NAME = "test.WentOverdue"
    due_on: date


@dataclass(frozen=True)
class Loan:
    due_on: date | None = None
    returned: bool = False
    overdue_for: tuple[date, ...] = ()


def evolve(s: Loan, e: DomainEvent) -> Loan:
    match e:
        case Lent():
            return Loan(due_on=e.due_on)
        case Returned():
            return replace(s, returned=True)
        case WentOverdue():
            return replace(s, overdue_for=(*s.overdue_for, e.due_on))
    return s


def decide_overdue(s: Loan, due: Due, today: date) -> list[DomainEvent]:
    if s.returned:
        raise InvalidState("đã trả", message_en="returned")
    assert s.due_on is not None and s.due_on < today
    return [] if s.due_on in s.overdue_for else [WentOverdue(due_on=s.due_on)]


LOAN = AggregateKind[Loan]("loan", Loan, evolve, lambda s: Scope("08", "vn-2025", ["08"]))


@dataclass
class Deps:
    loans: Repository[Loan]


class Overdue:
    """Due: every loan whose date passed, as a read model would list it (here: the log itself,
    read naively, so the runner's own exactly-once is what is tested, not the query's)."""

    name = "overdue"

    async def due(self, deps: Deps, now: datetime) -> Sequence[Due]:
        out = []
        for aid in ("L1", "L2", "L3"):
            loaded = await deps.loans.load(aid)
            s = loaded.state
            if loaded.exists and s.due_on and s.due_on < now.date() and not s.returned:
                out.append(Due(aid, f"due:{s.due_on}"))
        return out

    async def act(self, deps: Deps, due: Due, ctx: RequestContext) -> bool:
        return stored_now(await deps.loans.execute(due.aggregate_id, ctx, decide_overdue, due, ctx.today))


@pytest_asyncio.fixture
async def deps() -> Deps:
    store = InMemoryEventStore(StreamSpec("LOANS", "loans"))
    repo = Repository(store, registry, LOAN, UnitTree.load("vn-2025"))
    clerk = RequestContext(actor=system_actor("test"))
    for aid, d in (("L1", date(2026, 12, 1)), ("L2", date(2026, 12, 5)), ("L3", date(2026, 12, 1))):
        await repo.create(aid, replace(clerk, command_id=f"lend-{aid}"), [Lent(due_on=d)])
    return Deps(repo)


def at(day: int) -> datetime:
    return datetime(2026, 12, day, 3, tzinfo=UTC)


async def overdue_events(deps: Deps) -> list[tuple[str, str | None]]:
    msgs = await deps.loans.store.read(1, 1000)
    return [(m.subject, m.type_name) for m in msgs if m.type_name == WentOverdue.type_name()]


async def test_each_deadline_is_recorded_once_across_restarts_and_runners(deps: Deps) -> None:
    now = at(3)
    a = DutyRunner("loans", [Overdue()], deps, clock=lambda: now)
    b = DutyRunner("loans", [Overdue()], deps, clock=lambda: now)
    first, second = await asyncio.gather(a.tick(), b.tick())
    assert sorted(d["aggregate_id"] for d in [*first, *second]) == ["L1", "L3"]
    assert len(await overdue_events(deps)) == 2
    # a restarted runner (a new one), later the same day and the day after: nothing new
    assert await DutyRunner("loans", [Overdue()], deps, clock=lambda: now + timedelta(hours=5)).tick() == []
    assert await DutyRunner("loans", [Overdue()], deps, clock=lambda: at(4)).tick() == []
    # L2 falls due later
    assert [d["aggregate_id"] for d in await a.tick()] == [] and len(await overdue_events(deps)) == 2
    later = DutyRunner("loans", [Overdue()], deps, clock=lambda: at(6))
    assert [d["aggregate_id"] for d in await later.tick()] == ["L2"]
    stored = await deps.loans.store.read(1, 1000)
    overdue = [m for m in stored if m.type_name == WentOverdue.type_name()]
    assert len(overdue) == 3
    # recorded by the service itself, at the runner's time
    rec = (await deps.loans.load("L2")).history[-1]
    assert rec.envelope.actor == "system:loans" and rec.envelope.time == at(6)


async def test_an_aggregate_that_moved_on_gets_nothing(deps: Deps) -> None:
    ctx = RequestContext(actor=system_actor("test"), command_id="return-L1")
    loaded = await deps.loans.load("L1")
    await deps.loans.save(loaded, ctx, [Returned()])
    assert [d["aggregate_id"] for d in await DutyRunner("loans", [Overdue()], deps, clock=lambda: at(3)).tick()] == [
        "L3"
    ]


async def test_many_runners_racing_store_one_event_per_deadline(deps: Deps) -> None:
    runners = [DutyRunner("loans", [Overdue()], deps, clock=lambda: at(9)) for _ in range(6)]
    results = await asyncio.gather(*(r.tick() for r in runners))
    assert sum(len(r) for r in results) == 3
    assert len(await overdue_events(deps)) == 3
