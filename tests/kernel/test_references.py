"""A new aggregate under a short reference derived from the command id
(``Repository.create_referenced``): a retry lands on the same aggregate and stores nothing more, a
reference another command holds is passed over, a command refused now that was done before is
answered with what it did. On the in-memory store (proven equal to JetStream by the contract
suite)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from caunoi.shared.aggregate import MAX_REFERENCE_ATTEMPTS, AggregateExists, AggregateKind, Repository, Scope
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import system_actor
from caunoi.shared.errors import CommandError, Conflict, ValidationFailed
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.ids import short_reference
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio

registry = EventRegistry()


@registry.register
class Opened(DomainEvent):
    NAME = "test.Opened"
    ref: str


@dataclass(frozen=True)
class Folder:
    ref: str = ""


def evolve(s: Folder, e: DomainEvent) -> Folder:
    return Folder(e.ref) if isinstance(e, Opened) else s


FOLDER = AggregateKind[Folder]("folder", Folder, evolve, lambda s: Scope("08", "vn-2025", ["08"]))


def repository() -> Repository[Folder]:
    return Repository(InMemoryEventStore(StreamSpec("FOLDERS", "folders")), registry, FOLDER, UnitTree.load("vn-2025"))


def ctx(command_id: str) -> RequestContext:
    return RequestContext(actor=system_actor("test"), command_id=command_id)


def opened(ref: str) -> list[DomainEvent]:
    return [Opened(ref=ref)]


async def stored(repo: Repository[Folder]) -> int:
    return (await repo.store.state()).messages


async def test_the_reference_comes_from_the_command_id_and_a_retry_stores_nothing() -> None:
    repo = repository()
    first = await repo.create_referenced("HS-", ctx("c-1"), opened)
    assert first.aggregate_id == short_reference("HS-", "c-1") and first.state.ref == first.aggregate_id
    again = await repo.create_referenced("HS-", ctx("c-1"), opened)
    assert again.replayed and again.aggregate_id == first.aggregate_id and await stored(repo) == 1


async def test_a_reference_another_command_holds_is_passed_over() -> None:
    repo = repository()
    taken = short_reference("HS-", "c-2")
    await repo.create(taken, ctx("someone-else"), opened(taken))
    out = await repo.create_referenced("HS-", ctx("c-2"), opened)
    assert out.aggregate_id == short_reference("HS-", "c-2", 1) and not out.replayed

    async def taken_by_decision(ref: str) -> list[DomainEvent]:  # decide finds it taken (and may await)
        if ref == short_reference("HS-", "c-3"):
            raise AggregateExists(ref)
        return opened(ref)

    out = await repo.create_referenced("HS-", ctx("c-3"), taken_by_decision)
    assert out.aggregate_id == short_reference("HS-", "c-3", 1)


async def test_a_reference_held_under_another_unit_path_is_passed_over() -> None:
    """Two communes' aggregates may draw the same reference: the append's check covers the id
    under every unit path, so the second takes the next reference instead of sharing the id."""
    repo = repository()
    commune = AggregateKind[Folder]("folder", Folder, evolve, lambda s: Scope("00691", "vn-2025", ["08", "00691"]))
    elsewhere = Repository(repo.store, registry, commune, UnitTree.load("vn-2025"))
    taken = short_reference("HS-", "c-9")
    await elsewhere.create(taken, ctx("someone-else"), opened(taken))
    out = await repo.create_referenced("HS-", ctx("c-9"), opened)
    assert out.aggregate_id == short_reference("HS-", "c-9", 1) and not out.replayed
    assert [m.subject for m in await repo.store.load(taken)] == [repo.store.subject_for(taken, ["08", "00691"])]


async def test_a_command_refused_now_but_done_before_is_answered_with_what_it_did() -> None:
    repo = repository()
    done = await repo.create_referenced("HS-", ctx("c-4"), opened)

    def refuse(ref: str) -> list[DomainEvent]:
        raise ValidationFailed("không còn hợp lệ", message_en="no longer valid")

    again = await repo.create_referenced("HS-", ctx("c-4"), refuse)
    assert again.replayed and again.aggregate_id == done.aggregate_id
    with pytest.raises(CommandError):  # never done: the refusal stands, nothing stored
        await repo.create_referenced("HS-", ctx("c-5"), refuse)
    assert await stored(repo) == 1


async def test_when_every_alternative_is_taken_the_command_is_refused() -> None:
    repo = repository()
    for attempt in range(MAX_REFERENCE_ATTEMPTS):
        ref = short_reference("HS-", "c-6", attempt)
        await repo.create(ref, replace(ctx("other"), command_id=f"other-{attempt}"), opened(ref))
    with pytest.raises(Conflict):
        await repo.create_referenced("HS-", ctx("c-6"), opened)
    assert await stored(repo) == MAX_REFERENCE_ATTEMPTS
