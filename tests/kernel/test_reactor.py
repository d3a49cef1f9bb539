"""A reactor (a projection that creates aggregates because of events) creates each exactly once:
the same events applied again (a crash before the checkpoint, a rebuild), or by two reactors at
once, store nothing new; and what it creates names the event that caused it. On the in-memory
store, proven equal to JetStream by the contract suite on what this relies on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pytest

from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Conn
from caunoi.shared.reactor import Reaction, Reactor
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

registry = EventRegistry()


@registry.register
class Ordered(DomainEvent):
    NAME = "test.Ordered"
    item: str


@registry.register
class Shipped(DomainEvent):
    NAME = "test.Shipped"
    order: str


@dataclass(frozen=True)
class Shipment:
    order: str = ""


SHIPMENT = AggregateKind[Shipment](
    "shipment", Shipment, lambda s, e: Shipment(e.order) if isinstance(e, Shipped) else s,
    lambda s: Scope("08", "vn-2025", ["08"]),
)  # fmt: skip


class ShipEachOrder(Reactor):
    async def setup(self, conn: Conn, schema: str) -> None:
        return None

    async def react(self, conn: Conn, schema: str, rec: RecordedEvent) -> Sequence[Reaction]:
        if not isinstance(rec.event, Ordered):
            return []
        return [Reaction(f"S-{rec.envelope.subject}", [Shipped(order=rec.envelope.subject)])]


@dataclass
class Resources:
    store: Any
    units: UnitTree


def ordered(i: int) -> RecordedEvent:
    env = CloudEvent(id=f"ev-{i}", source="/caunoi/shop", type=Ordered.type_name(), subject=f"O{i}",
                     data={"item": "x"}, correlationid=f"corr-{i}")  # fmt: skip
    return RecordedEvent(i, f"caunoi.shop.O{i}.08", env, Ordered(item="x"))


#: no database: this reactor keeps no facts, so ``apply`` never uses its connection
NO_CONN = cast(Conn, None)


def reactor(store: InMemoryEventStore) -> ShipEachOrder:
    r = ShipEachOrder("shipping", SHIPMENT, registry)
    r.bind(Resources(store, UnitTree.load("vn-2025")))  # type: ignore[arg-type]
    return r


async def test_each_event_creates_its_aggregate_once_whatever_is_replayed() -> None:
    store = InMemoryEventStore(StreamSpec("SHIPPING", "shipping"))
    events = [ordered(i) for i in range(1, 21)]
    first = reactor(store)
    await first.apply(NO_CONN, "shipping", events)
    assert first.created == 20 and (await store.state()).messages == 20
    # applied again (a crash before the checkpoint committed; a rebuild), and by two at once
    again, other = reactor(store), reactor(store)
    await asyncio.gather(again.apply(NO_CONN, "shipping", events), other.apply(NO_CONN, "shipping", events[5:]))
    assert again.created == other.created == 0 and (await store.state()).messages == 20
    # what was created names its cause and carries the correlation on, recorded by the service
    loaded = await first.repository.load("S-O7")
    [rec] = loaded.history
    assert (rec.envelope.causationid, rec.envelope.correlationid, rec.envelope.actor) == (
        "ev-7", "corr-7", "system:shipping",
    )  # fmt: skip
