"""The event store against a real JetStream: concurrency, idempotency, all-or-none batches."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from support import Servers

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.errors import Conflict
from caunoi.shared.eventstore import EventStore, StreamSpec, provision_stream
from caunoi.shared.jsapi import api

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def store(servers: Servers) -> AsyncIterator[EventStore]:
    nc: NATS = await nats.connect(servers.nats_url)
    name = f"T{uuid.uuid4().hex[:8].upper()}"
    spec = StreamSpec(name=name, service=name.lower())
    await provision_stream(nc, spec)
    try:
        yield EventStore(nc, spec)
    finally:
        await nc.close()


def ev(n: int = 0, eid: str | None = None) -> CloudEvent:
    return CloudEvent(id=eid or str(uuid.uuid4()), source="/test", type="t.Test.v1", subject="a", data={"n": n})


async def count(store: EventStore) -> int:
    return int((await store.info())["state"]["messages"])


async def test_stream_has_the_fixed_config(store: EventStore) -> None:
    cfg = (await store.info())["config"]
    assert cfg["storage"] == "file" and cfg["discard"] == "new"
    assert cfg["deny_delete"] and cfg["deny_purge"] and cfg["allow_atomic"] and cfg["allow_direct"]
    assert cfg["max_age"] == 0 and cfg["max_bytes"] == -1 and cfg["max_msgs"] == -1
    assert cfg["duplicate_window"] >= 120 * 10**9
    # provisioning again changes nothing and does not fail
    await provision_stream(store.nc, store.spec)
    with pytest.raises(Exception, match="purge"):
        await api(store.nc, f"$JS.API.STREAM.PURGE.{store.stream}", {})


async def test_concurrent_appends_with_the_same_expectation_one_wins(store: EventStore) -> None:
    subject = store.subject_for("agg1", ["08", "00691"])
    first = await store.append(subject, 0, [ev()])
    results = await asyncio.gather(
        *[store.append(subject, first.seqs[-1], [ev(i)]) for i in range(20)], return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    assert await count(store) == 2


async def test_new_aggregate_expects_zero(store: EventStore) -> None:
    subject = store.subject_for("agg2", ["08", "00691"])
    await store.append(subject, 0, [ev()])
    with pytest.raises(Conflict):
        await store.append(subject, 0, [ev()])


async def test_several_events_are_stored_all_or_none(store: EventStore) -> None:
    subject = store.subject_for("agg3", ["08", "00691"])
    res = await store.append(subject, 0, [ev(1), ev(2), ev(3)])
    assert res.seqs == list(range(res.seqs[0], res.seqs[0] + 3))
    before = await count(store)
    with pytest.raises(Conflict):
        await store.append(subject, 0, [ev(4), ev(5), ev(6)])  # stale expectation: none stored
    assert await count(store) == before
    loaded = await store.load("agg3")
    assert [m.seq for m in loaded] == res.seqs


async def test_a_retry_of_a_stored_append_is_not_stored_twice(store: EventStore) -> None:
    """What a retry after a timeout looks like: the same event ids with the same expectation."""
    for events in ([ev()], [ev(1), ev(2)]):
        subject = store.subject_for(f"agg-{uuid.uuid4().hex[:6]}", ["08", "00691"])
        first = await store.append(subject, 0, events)
        before = await count(store)
        again = await store.append(subject, 0, events)
        assert again.duplicate and again.seqs == first.seqs
        assert await count(store) == before


async def test_load_reads_one_aggregate_in_order_across_pages(store: EventStore) -> None:
    subject = store.subject_for("big", ["08", "00691"])
    last = 0
    for i in range(300):
        last = (await store.append(subject, last, [ev(i)])).seqs[-1]
    msgs = await store.load("big")
    assert len(msgs) == 300
    assert [m.seq for m in msgs] == sorted(m.seq for m in msgs)
    assert await store.load("missing") == []
