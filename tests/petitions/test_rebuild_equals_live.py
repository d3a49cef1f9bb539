"""Property: after any sequence of commands, the read model kept batch by batch as events arrive
equals a rebuild from sequence 1 through the same set-based interface, whatever the batch sizes.

Commands run through the request edge on the in-memory store (proven equal to JetStream by its
contract suite); the read models are real PostgreSQL tables filled by the real projection runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import Harness, Loop, Servers

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared.aggregate import Repository
from caunoi.shared.hamlets import HamletAdded, HamletKind, InMemoryHamletDirectory
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import ProjectionRunner
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load("vn-2025")
COMMUNES = ["00691", "00694", "00700"]

# one step of a random session: raise a petition, or act on one raised before (by index)
step = st.one_of(
    st.tuples(st.just("raise"), st.sampled_from(COMMUNES), st.sampled_from(["meeting", "hotline", "reception"])),
    st.tuples(st.just("answer"), st.integers(0, 30)),
    st.tuples(st.just("forward"), st.integers(0, 30)),
    st.tuples(st.just("commit"), st.integers(0, 30), st.integers(0, 60)),
    st.tuples(st.just("reply"), st.integers(0, 30)),
)


def body(action: tuple[Any, ...], ids: list[str]) -> tuple[str, dict[str, Any]] | None:
    if action[0] == "raise":
        _, commune, channel = action
        hamlet = f"{commune}-thon-1" if channel == "meeting" else None
        return "raise", {
            "channel": channel, "category": "roads", "petitioner": {"name": "A"}, "commune_code": commune,
            "hamlet_id": hamlet, "text": "x", "received_on": "2026-11-01",
        }  # fmt: skip
    if not ids:
        return None
    pid = ids[action[1] % len(ids)]
    match action[0]:
        case "answer":
            return "answer", {"petition_id": pid, "answer": "a", "answered_by": "b"}
        case "forward":
            return "forward", {"petition_id": pid, "to_unit": "08"}
        case "commit":
            return "commit", {"petition_id": pid, "committed_date": f"2026-12-{1 + action[2] % 28:02d}"}
        case _:
            return "reply", {"petition_id": pid, "document_no": "1/UB", "summary": "s"}


@pytest.fixture(scope="module")
def db(servers: Servers) -> Iterator[tuple[Loop, Any]]:
    loop = Loop()
    name = f"t_rebuild_{uuid.uuid4().hex[:8]}"
    loop.run(ensure_database(servers.database_url, name))

    async def create() -> Any:  # the pool belongs to the loop it is created in
        return await asyncpg.create_pool(database_url_with(servers.database_url, name), min_size=1, max_size=4)

    pool = loop.run(create())
    yield loop, pool
    loop.run(pool.close())
    loop.close()


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(actions=st.lists(step, min_size=1, max_size=60), live_batch=st.integers(1, 7), cut=st.integers(1, 9))
def test_a_rebuild_equals_the_live_read_model_after_any_commands(
    db: tuple[Loop, Any], actions: list[tuple[Any, ...]], live_batch: int, cut: int
) -> None:
    loop, pool = db
    store = InMemoryEventStore(STREAM)
    hamlets = InMemoryHamletDirectory()
    for commune in COMMUNES:
        hamlets.apply(HamletAdded(hamlet_id=f"{commune}-thon-1", commune_code=commune, name="Thôn 1",
                                  kind=HamletKind.thon, unit_path=["08", commune], dataset="vn-2025"))  # fmt: skip
    petitions = Harness(
        "petitions", ENDPOINTS, Deps(Repository(store, registry, PETITION, UNITS), UNITS, hamlets), store
    )
    schema = f"live_{uuid.uuid4().hex[:8]}"
    projection = PetitionsProjection()
    projection.name = schema
    live = ProjectionRunner(pool, None, store, registry, projection, batch=live_batch)

    # the same read model folding pydantic's events instead of lean ones (caunoi.shared.lean)
    strict = PetitionsProjection()
    strict.name = schema
    strict.lean_events = False
    by_pydantic = ProjectionRunner(pool, None, store, registry, strict)

    async def session() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        await live.setup()
        ids: list[str] = []
        for i, action in enumerate(actions):
            request = body(action, ids)
            if request is None:
                continue
            reply = await petitions.call(*request)
            if reply["ok"] and request[0] == "raise":
                ids.append(reply["result"]["petition_id"])
            if i % cut == 0:
                await live.catch_up()  # the live runner follows as events arrive, batch by batch
        await live.catch_up()
        rebuilt = f"rb_{schema}"
        await live.rebuild_into(rebuilt, batch=10_000)  # everything in one set-based batch
        await by_pydantic.rebuild_into(f"pd_{schema}", batch=10_000)
        return await live.snapshot(), await live.snapshot(rebuilt), await live.snapshot(f"pd_{schema}")

    live_rows, rebuilt_rows, pydantic_rows = loop.run(session())
    assert live_rows == rebuilt_rows
    assert live_rows == pydantic_rows
    assert len(live_rows) == len({r["id"] for r in live_rows})
