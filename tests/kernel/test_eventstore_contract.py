"""One contract, two event stores: every test here runs on JetStream (real nats-server) and on the
in-memory store that handler tests use, so the in-memory one is known to behave the same."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import NEW_AGGREGATE, EventStore, StreamSpec, WrongExpectedSequence
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.memstore import InMemoryEventStore, subject_matches

pytestmark = pytest.mark.asyncio

PATH = ["08", "00691"]


@pytest_asyncio.fixture(params=["jetstream", "memory"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[EventStore]:
    name = f"T{uuid.uuid4().hex[:8].upper()}"
    spec = StreamSpec(name=name, service=name.lower())
    if request.param == "memory":
        yield InMemoryEventStore(spec)
        return
    servers = request.getfixturevalue("servers")
    nc = await servers.connect()
    await provision_stream(nc, spec)
    try:
        yield JetStreamEventStore(nc, spec)
    finally:
        await nc.close()


def ev(n: int = 0, eid: str | None = None) -> CloudEvent:
    return CloudEvent(id=eid or str(uuid.uuid4()), source="/test", type="t.Test.v1", subject="a", data={"n": n})


async def count(store: EventStore) -> int:
    return (await store.state()).messages


async def test_concurrent_appends_with_the_same_expectation_one_wins(store: EventStore) -> None:
    subject = store.subject_for("agg1", PATH)
    first = await store.append(subject, NEW_AGGREGATE, [ev()])
    results = await asyncio.gather(
        *[store.append(subject, first.seqs[-1], [ev(i)]) for i in range(20)], return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) == 1
    assert all(isinstance(r, WrongExpectedSequence) for r in results if isinstance(r, BaseException))
    assert await count(store) == 2


async def test_a_new_aggregate_must_be_new(store: EventStore) -> None:
    subject = store.subject_for("agg2", PATH)
    await store.append(subject, NEW_AGGREGATE, [ev()])
    with pytest.raises(WrongExpectedSequence) as info:
        await store.append(subject, NEW_AGGREGATE, [ev()])
    assert info.value.subject == subject and info.value.expected == NEW_AGGREGATE
    assert await count(store) == 1


async def test_an_id_is_one_aggregate_under_every_unit_path(store: EventStore) -> None:
    """The expectation is on the aggregate, not on its one subject: an id new under one unit path
    but taken under another (two communes' petitions drawing the same reference) is refused, and
    an append to the aggregate checks its last event whatever subject it is on."""
    here, there = store.subject_for("agg-up", PATH), store.subject_for("agg-up", ["08", "00700"])
    first = await store.append(here, NEW_AGGREGATE, [ev()])
    with pytest.raises(WrongExpectedSequence) as info:
        await store.append(there, NEW_AGGREGATE, [ev()])
    assert info.value.subject == there
    with pytest.raises(WrongExpectedSequence):
        await store.append(there, NEW_AGGREGATE, [ev(1), ev(2)])  # (an atomic batch too)
    assert [m.subject for m in await store.load("agg-up")] == [here]
    other = await store.append(store.subject_for("agg-up2", ["08", "00700"]), NEW_AGGREGATE, [ev()])
    assert other.seqs[0] > first.seqs[0]  # (a different id there is new)
    second = await store.append(here, first.seqs[-1], [ev()])  # the aggregate's last, not the stream's
    assert second.seqs[0] > other.seqs[0]


async def test_a_stale_expectation_is_refused(store: EventStore) -> None:
    subject = store.subject_for("agg-stale", PATH)
    a = await store.append(subject, NEW_AGGREGATE, [ev()])
    b = await store.append(subject, a.seqs[-1], [ev()])
    with pytest.raises(WrongExpectedSequence):
        await store.append(subject, a.seqs[-1], [ev()])
    assert (await store.load("agg-stale"))[-1].seq == b.seqs[-1]


async def test_several_events_are_stored_all_or_none(store: EventStore) -> None:
    subject = store.subject_for("agg3", PATH)
    res = await store.append(subject, NEW_AGGREGATE, [ev(1), ev(2), ev(3)])
    assert res.seqs == list(range(res.seqs[0], res.seqs[0] + 3)) and not res.duplicate
    before = await count(store)
    with pytest.raises(WrongExpectedSequence):
        await store.append(subject, NEW_AGGREGATE, [ev(4), ev(5), ev(6)])  # stale: none stored
    assert await count(store) == before
    assert [m.seq for m in await store.load("agg3")] == res.seqs


async def test_a_retry_of_a_stored_append_is_not_stored_twice(store: EventStore) -> None:
    """What a retry after a timeout looks like: the same event ids with the same expectation."""
    for events in ([ev()], [ev(1), ev(2)]):
        subject = store.subject_for(f"agg-{uuid.uuid4().hex[:6]}", PATH)
        first = await store.append(subject, NEW_AGGREGATE, events)
        before = await count(store)
        again = await store.append(subject, NEW_AGGREGATE, events)
        assert again.duplicate and again.seqs == first.seqs
        assert await count(store) == before


async def test_stored_messages_carry_the_event_and_its_headers(store: EventStore) -> None:
    subject = store.subject_for("agg-h", PATH)
    e = ev(7)
    [seq] = (await store.append(subject, NEW_AGGREGATE, [e])).seqs
    [msg] = await store.load("agg-h")
    assert (msg.seq, msg.subject, msg.msg_id, msg.type_name) == (seq, subject, e.id, "t.Test.v1")
    assert CloudEvent.from_json_bytes(msg.data) == e
    assert msg.headers["Content-Type"] == "application/cloudevents+json"
    assert not any(k.lower().startswith("ce-") for k in msg.headers)  # structured mode only
    assert msg.timestamp.year >= 2025


async def test_load_reads_one_aggregate_in_order_across_pages(store: EventStore) -> None:
    subject = store.subject_for("big", PATH)
    other = store.subject_for("bigger", PATH)  # a prefix of nothing: "big" must not match "bigger"
    last, last_other = NEW_AGGREGATE, NEW_AGGREGATE
    for i in range(300):
        last = (await store.append(subject, last, [ev(i)])).seqs[-1]
        if i % 50 == 0:
            last_other = (await store.append(other, last_other, [ev(i)])).seqs[-1]
    msgs = await store.load("big")
    assert len(msgs) == 300 and [m.seq for m in msgs] == sorted(m.seq for m in msgs)
    assert {m.subject for m in msgs} == {subject}
    assert await store.load("missing") == []
    assert (await store.count("big"), await store.count("bigger"), await store.count("missing")) == (300, 6, 0)


async def test_read_from_a_sequence_with_and_without_a_subject_filter(store: EventStore) -> None:
    seqs = []
    for i, path in enumerate([["08", "00691"], ["08", "00694"], ["01", "00004"], ["08", "00691"]]):
        seqs += (await store.append(store.subject_for(f"r{i}", path), NEW_AGGREGATE, [ev(i)])).seqs
    prefix = store.spec.subject_prefix
    assert [m.seq for m in await store.read(seqs[0], 10)] == seqs
    assert [m.seq for m in await store.read(seqs[1], 2)] == seqs[1:3]
    assert [m.seq for m in await store.read(seqs[0], 10, f"{prefix}.*.08.>")] == [seqs[0], seqs[1], seqs[3]]
    assert [m.seq for m in await store.read(seqs[0], 10, f"{prefix}.*.*.00691")] == [seqs[0], seqs[3]]
    assert await store.read(seqs[-1] + 1, 10) == []
    assert (await store.state()).last_seq == seqs[-1]


async def test_subject_matching_follows_nats() -> None:
    assert subject_matches("a.*.c", "a.b.c") and not subject_matches("a.*.c", "a.b.c.d")
    assert subject_matches("a.>", "a.b.c") and not subject_matches("a.>", "a")
    assert subject_matches("a.b", "a.b") and not subject_matches("a.b", "a.bb")
