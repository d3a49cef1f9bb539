"""Property, against the running services (real nats-server with JetStream, real PostgreSQL, the
service as its processes): random sequences of commands by random actors of several units.

- Every accepted command moves its petition along the life the issue describes (the table below,
  written from the issue, not from the code), and only an actor whose unit may act does it.
- Every refused command stores nothing (the stream's message count does not move) and says why
  in a structured error; never an internal error.
- The read model, kept live by the service, equals a rebuild from sequence 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import Loop, Servers, stream_messages, wait_projected

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.events import registry
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.clock import today_vn
from caunoi.shared.context import Role
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.projection import ProjectionRunner
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load("vn-2025")
PROVINCE, A, B = "08", "00691", "00694"
#: actor name -> (unit, role); "far" is a commune of another province; "op" a national operator
ACTORS: dict[str, tuple[str, Role]] = {
    "clerk_a": (A, Role.clerk),
    "clerk_b": (B, Role.clerk),
    "officer": (PROVINCE, Role.officer),
    "far": ("00004", Role.clerk),
    "op": ("", Role.operator),
}

OPEN = {"received", "classified", "forwarded", "returned", "accepted", "in_progress", "reopened"}
#: command -> (statuses it may start from, statuses it may lead to); "same": the status it had
LIFE: dict[str, tuple[set[str], set[str]]] = {
    "classify": ({"received", "classified", "forwarded", "returned"}, {"classified", "ineligible"}),
    "answer": ({"received", "classified"}, {"answered"}),
    "forward": ({"received", "classified", "forwarded", "returned", "accepted", "reopened"}, {"forwarded"}),
    "return": ({"forwarded"}, {"returned"}),
    "accept": ({"received", "classified", "forwarded", "returned"}, {"accepted"}),
    "commit": ({"received", "classified", "forwarded", "returned", "accepted", "reopened"}, {"in_progress"}),
    "extend": ({"accepted", "in_progress", "reopened"}, {"same"}),
    "reply": (OPEN - {"received"} | {"answered"}, {"replied"}),
    "verdict": ({"replied"}, {"closed", "reopened"}),
    "withdraw": (OPEN | {"merged"}, {"withdrawn"}),
    "merge": (OPEN, {"merged"}),
}
#: what only the unit handling a petition (or one above it) may do; the rest any unit reaching it
HANDLING = {"classify", "answer", "forward", "return", "accept", "commit", "extend", "reply", "merge"}


@dataclass
class Known:
    """What the test knows of a petition from the replies it got."""

    commune: str
    status: str = "received"
    handling: str = ""
    handed: set[str] = field(default_factory=set)
    forwards: list[str] = field(default_factory=list)

    def reaches(self, unit: str) -> bool:
        return not unit or any(unit in UNITS.path(u) for u in {self.commune, *self.handed})

    def handles(self, unit: str) -> bool:
        return not unit or unit in UNITS.path(self.handling)


actor = st.sampled_from(sorted(ACTORS))
index = st.integers(0, 4)
raise_step = st.tuples(
    st.just("raise"),
    actor,
    st.sampled_from([A, B]),
    st.sampled_from(["feedback", "complaint", "denunciation"]),
    st.sampled_from(["letter", "reception"]),
)
step = st.one_of(
    raise_step,
    st.tuples(st.just("classify"), actor, index, st.booleans()),
    st.tuples(st.just("answer"), actor, index),
    st.tuples(st.just("forward"), actor, index, st.booleans()),
    st.tuples(st.just("return"), actor, index),
    st.tuples(st.just("accept"), actor, index, st.sampled_from(["normal", "complex", "especially_complex"])),
    st.tuples(st.just("commit"), actor, index, st.integers(0, 40)),
    st.tuples(st.just("extend"), actor, index, st.integers(0, 60)),
    st.tuples(st.just("reply"), actor, index),
    st.tuples(st.just("verdict"), actor, index, st.booleans()),
    st.tuples(st.just("withdraw"), actor, index),
    st.tuples(st.just("merge"), actor, index, index),
)


def body(action: tuple[Any, ...], ids: list[str], known: dict[str, Known]) -> tuple[str, dict[str, Any]] | None:
    today = today_vn()
    if action[0] == "raise":
        _, _, commune, kind, channel = action
        return "raise", {
            "channel": channel, "kind": kind, "category": "land", "petitioner": {"name": "Lò Thị Hoa"},
            "commune_code": commune, "text": "Tranh chấp đất đai",
            "received_on": (today - timedelta(days=5)).isoformat(),
        }  # fmt: skip
    if not ids:
        return None
    pid = ids[action[2] % len(ids)]
    k = known[pid]
    match action[0]:
        case "classify":
            eligible = action[3]
            return "classify", {"petition_id": pid, "kind": "petition", "eligible": eligible,
                                "reason": None if eligible else "đơn nặc danh"}  # fmt: skip
        case "answer":
            return "answer", {"petition_id": pid, "answer": "Đã giải thích", "answered_by": "Chủ tịch"}
        case "forward":
            up = action[3]
            to = PROVINCE if up else k.handling
            return "forward", {"petition_id": pid, "to_unit": to, "to_agency": f"Cơ quan {len(k.forwards)}"}
        case "return":
            return "return", {"petition_id": pid, "reason": "không thuộc thẩm quyền"}
        case "accept":
            return "accept", {"petition_id": pid, "complexity": action[3]}
        case "commit":
            return "commit", {"petition_id": pid, "committed_date": (today + timedelta(days=action[3])).isoformat()}
        case "extend":
            until = (today + timedelta(days=action[3])).isoformat()
            return "extend", {"petition_id": pid, "reason": "cần thêm thời gian", "until": until}
        case "reply":
            return "reply", {"petition_id": pid, "document_no": "1/UBND", "summary": "Trả lời", "internal_note": "x"}
        case "verdict":
            return "verdict", {"petition_id": pid, "verdict": "satisfied" if action[3] else "not_resolved"}
        case "withdraw":
            return "withdraw", {"petition_id": pid}
        case _:
            return "merge", {"petition_id": pid, "case_id": ids[action[3] % len(ids)]}


@dataclass
class World:
    loop: Loop
    clients: dict[str, Client]
    operator: Client
    pool: Any


@pytest.fixture(scope="module")
def world(servers: Servers, services: Any) -> Iterator[World]:
    loop = Loop()

    async def connect() -> World:
        clients = {
            name: await Client.connect(servers.nats_url, servers.login(unit, role))
            for name, (unit, role) in ACTORS.items()
            if role is not Role.operator
        }
        operator = await servers.client()
        clients["op"] = operator
        pool = await asyncpg.create_pool(
            database_url_with(servers.database_url, "caunoi_petitions"), min_size=1, max_size=2
        )
        return World(loop, clients, operator, pool)

    w: World = loop.run(connect())
    yield w

    async def close() -> None:
        await w.pool.close()
        for c in w.clients.values():
            await c.close()

    loop.run(close())
    loop.close()


async def session(w: World, actions: list[tuple[Any, ...]]) -> tuple[int, int]:
    ids: list[str] = []
    known: dict[str, Known] = {}
    accepted = refused = 0
    for action in actions:
        request = body(action, ids, known)
        if request is None:
            continue
        name, payload = request
        who = action[1]
        unit = ACTORS[who][0]
        pid = payload.get("petition_id")
        before_count = await stream_messages(w.operator, "PETITIONS")
        try:
            out = await w.clients[who].command("petitions", name, payload)
        except RequestFailed as e:
            refused += 1
            assert e.code in {"invalid", "invalid_state", "forbidden", "not_found"}, e.error
            assert e.error["message"] and e.error["message_en"]
            assert await stream_messages(w.operator, "PETITIONS") == before_count, f"refused {name} stored: {e.error}"
            if pid and not known[pid].reaches(unit):
                assert e.code == "forbidden", (name, who, e.error)
            continue
        accepted += 1
        assert await stream_messages(w.operator, "PETITIONS") > before_count or out["replayed"]
        if name == "raise":
            assert unit in ("", PROVINCE, payload["commune_code"]), f"{who} raised in {payload['commune_code']}"
            ids.append(out["petition_id"])
            known[out["petition_id"]] = Known(payload["commune_code"], out["status"], payload["commune_code"])
            assert out["status"] == "received"
            continue
        assert pid is not None  # every command but a raise names its petition
        k = known[pid]
        starts, ends = LIFE[name]
        assert k.status in starts, f"{name} accepted from {k.status}"
        assert out["status"] in ends or ("same" in ends and out["status"] == k.status), (name, k.status, out)
        assert k.handles(unit) if name in HANDLING else k.reaches(unit), f"{who} did {name} on {k}"
        if name == "merge":
            case = known[payload["case_id"]]
            assert case.status in OPEN and payload["case_id"] != pid and case.handles(unit)
        k.status = out["status"]
        if name == "forward":
            k.forwards.append(k.handling)
            k.handling = payload["to_unit"]
            k.handed.add(payload["to_unit"])
        elif name == "return":
            k.handling = k.forwards.pop()
    # the service agrees with what the replies said
    for pid, k in known.items():
        shown = await w.operator.query("petitions", "show", {"petition_id": pid})
        assert shown["status"] == k.status
    return accepted, refused


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(raises=st.lists(raise_step, min_size=2, max_size=5), actions=st.lists(step, min_size=20, max_size=50))
def test_random_commands_by_random_actors_keep_the_life_legal_store_nothing_when_refused_and_rebuild_equal(
    world: World, raises: list[tuple[Any, ...]], actions: list[tuple[Any, ...]]
) -> None:
    world.loop.run(session(world, [*raises, *actions]))

    async def compare() -> None:
        await wait_projected(world.operator, "petitions")
        store = JetStreamEventStore(world.operator.nc, STREAM)
        runner = ProjectionRunner(world.pool, world.operator.nc, store, registry, PetitionsProjection())
        verify = f"verify_{uuid.uuid4().hex[:8]}"
        try:
            await runner.rebuild_into(verify)
            assert await runner.snapshot("petitions") == await runner.snapshot(verify)
        finally:
            async with world.pool.acquire() as conn:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{verify}" CASCADE')

    world.loop.run(compare())
