"""The petitions service's commands through the request edge, on the in-memory event store and an
in-memory copy of the hamlet list (both proven equal to the real ones by their contract tests).
Every refused command is shown to store nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest
from petitions.payloads import COMMUNE, OTHER, PROVINCE, raise_payload
from support import Harness

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import DeadlineKind, registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import NEW_AGGREGATE
from caunoi.shared.hamlets import HamletAdded, HamletKind, HamletRetired, InMemoryHamletDirectory
from caunoi.shared.ids import PETITION_PREFIX, short_reference
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio


def reference(command_id: str, attempt: int = 0) -> str:
    """The reference a raise with ``command_id`` gets (its ``attempt``-th alternative)."""
    return short_reference(PETITION_PREFIX, command_id, attempt)


def hamlet(commune: str, name: str, slug: str) -> HamletAdded:
    return HamletAdded(
        hamlet_id=f"{commune}-{slug}", commune_code=commune, name=name, kind=HamletKind.thon,
        unit_path=[PROVINCE, commune], dataset="vn-2025",
    )  # fmt: skip


class Petitions(Harness[Deps]):
    def __init__(self) -> None:
        store = InMemoryEventStore(STREAM)
        self.hamlets = InMemoryHamletDirectory()
        for ev in (hamlet(COMMUNE, "Thôn Đồng Tâm", "thon-dong-tam"), hamlet(OTHER, "Thôn Nà Lầu", "thon-na-lau")):
            self.hamlets.apply(ev)
        self.hamlets.apply(hamlet(COMMUNE, "Thôn Cũ", "thon-cu"))
        self.hamlets.apply(
            HamletRetired(hamlet_id=f"{COMMUNE}-thon-cu", reason="sáp nhập", retired_on=date(2025, 7, 1))
        )
        units = UnitTree.load("vn-2025")
        deps = Deps(Repository(store, registry, PETITION, units), units, self.hamlets)
        super().__init__("petitions", ENDPOINTS, deps, store)

    async def raise_one(self, **over: Any) -> str:
        return str((await self.ok("raise", raise_payload(**over)))["petition_id"])


@pytest.fixture
def svc() -> Petitions:
    return Petitions()


async def test_raise_stores_one_event_on_the_petitions_subject(svc: Petitions) -> None:
    out = await svc.ok("raise", raise_payload(command_id="c-1"))
    pid = out["petition_id"]
    assert pid == reference("c-1") == "PA-MVVYYHZE" and out["status"] == "received" and not out["replayed"]
    [msg] = await svc.store.load(pid)
    assert msg.subject == f"caunoi.petitions.{pid}.{PROVINCE}.{COMMUNE}"
    env = CloudEvent.from_json_bytes(msg.data)
    assert (env.type, env.unitcode, env.datasetversion, env.causationid) == (
        "vn.caunoi.petitions.PetitionRaised.v3",
        COMMUNE,
        "vn-2025",
        "c-1",
    )
    assert env.data["hamlet_name"] == "Thôn Đồng Tâm" and env.data["unit_path"] == [PROVINCE, COMMUNE]


async def test_full_life_answer_forward_commit_reply(svc: Petitions) -> None:
    spot = await svc.raise_one()
    await svc.ok("answer", {"petition_id": spot, "answer": "Đã giải thích.", "answered_by": "Chủ tịch xã"})
    assert (await svc.ok("reply", {"petition_id": spot, "document_no": "12/UBND", "summary": "x"}))[
        "status"
    ] == "replied"

    fwd = await svc.raise_one(channel="hotline", hamlet_id=None)
    res = await svc.ok("forward", {"petition_id": fwd, "to_unit": PROVINCE, "to_agency": "Sở Xây dựng"})
    assert res["status"] == "forwarded"
    res = await svc.ok("commit", {"petition_id": fwd, "committed_date": "2026-12-15"})
    assert res["status"] == "in_progress"
    res = await svc.ok("reply", {"petition_id": fwd, "document_no": "99/SXD", "summary": "Đã sửa đường."})
    assert res["status"] == "replied"
    # events after the forward say who handles it now; the subject stays the commune's
    msgs = await svc.store.load(fwd)
    assert {m.subject for m in msgs} == {f"caunoi.petitions.{fwd}.{PROVINCE}.{COMMUNE}"}
    assert [CloudEvent.from_json_bytes(m.data).unitcode for m in msgs] == [COMMUNE, PROVINCE, PROVINCE, PROVINCE]


async def test_same_command_id_twice_stores_one_event(svc: Petitions) -> None:
    cid = str(uuid.uuid4())
    first = await svc.ok("raise", raise_payload(command_id=cid))
    again = await svc.ok("raise", raise_payload(command_id=cid))
    assert first["petition_id"] == again["petition_id"] and again["replayed"] is True
    assert [e["id"] for e in first["events"]] == [e["id"] for e in again["events"]]
    # concurrently too
    pid, cid2 = first["petition_id"], str(uuid.uuid4())
    body = {"petition_id": pid, "to_unit": PROVINCE, "command_id": cid2}
    replies = await asyncio.gather(*[svc.call("forward", body) for _ in range(8)])
    assert all(r["ok"] for r in replies), replies
    assert await svc.messages() == 2


async def test_concurrent_conflicting_commands_one_wins(svc: Petitions) -> None:
    pid = await svc.raise_one(channel="letter", hamlet_id=None)
    replies = await asyncio.gather(
        *[svc.call("commit", {"petition_id": pid, "committed_date": f"2026-12-{10 + i:02d}"}) for i in range(12)]
    )
    assert sum(r["ok"] for r in replies) == 1, replies
    # a loser either lost the race to append (conflict) or loaded after the winner (invalid state)
    assert {r["error"]["code"] for r in replies if not r["ok"]} <= {"conflict", "invalid_state"}
    assert await svc.messages() == 2


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"category": "not-a-category"}, "invalid", "category"),
        ({"commune_code": "123"}, "invalid", "commune_code"),
        ({"text": ""}, "invalid", "text"),
        ({"petitioner": {"name": ""}}, "invalid", "petitioner.name"),
        ({"channel": "pigeon"}, "invalid", "channel"),
        ({"unexpected": 1}, "invalid", "unexpected"),
        ({"received_on": "2999-01-01"}, "invalid", "received_on"),
        ({"hamlet_id": None}, "invalid", "hamlet_id"),  # a meeting opinion names the hamlet
        ({"hamlet_id": "Thôn Đồng Tâm"}, "invalid", "hamlet_id"),
        ({"hamlet_id": f"{COMMUNE}-khong-co"}, "unknown_unit", "hamlet_id"),
        ({"hamlet_id": f"{OTHER}-thon-na-lau"}, "unknown_unit", "hamlet_id"),  # another commune's
        ({"hamlet_id": f"{COMMUNE}-thon-cu"}, "unknown_unit", "hamlet_id"),  # retired
        ({"commune_code": "99999"}, "unknown_unit", "commune_code"),
    ],
)
async def test_bad_raise_is_rejected_and_stores_nothing(
    svc: Petitions, payload: dict[str, Any], code: str, field: str
) -> None:
    err = await svc.error("raise", raise_payload(**payload))
    assert (err["code"], err["field"]) == (code, field)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_rejected(svc: Petitions, body: bytes) -> None:
    err = await svc.error("raise", body)
    assert err["code"] == "invalid"


async def test_wrong_state_commands_are_rejected_and_store_nothing(svc: Petitions) -> None:
    hotline = await svc.raise_one(channel="hotline", hamlet_id=None)
    err = await svc.error("answer", {"petition_id": hotline, "answer": "x", "answered_by": "y"})
    assert err["code"] == "invalid_state"
    err = await svc.error("reply", {"petition_id": hotline, "document_no": "1", "summary": "x"})
    assert err["code"] == "invalid_state"
    err = await svc.error("forward", {"petition_id": hotline, "to_unit": OTHER})  # only upwards
    assert (err["code"], err["field"]) == ("invalid", "to_unit")
    await svc.ok("commit", {"petition_id": hotline, "committed_date": "2026-12-01"})
    err = await svc.error("commit", {"petition_id": hotline, "committed_date": "2026-12-20"})
    assert (err["code"], err["field"]) == ("invalid_state", "committed_date")
    err = await svc.error("commit", {"petition_id": await svc.raise_one(), "committed_date": "2026-10-01"})
    assert (err["code"], err["field"]) == ("invalid", "committed_date")
    spot = await svc.raise_one()
    await svc.ok("answer", {"petition_id": spot, "answer": "x", "answered_by": "y"})
    err = await svc.error("answer", {"petition_id": spot, "answer": "x", "answered_by": "y"})
    assert err["code"] == "invalid_state"
    err = await svc.error("forward", {"petition_id": spot, "to_unit": PROVINCE})
    assert err["code"] == "invalid_state"


@pytest.mark.parametrize("name", ["answer", "forward", "commit", "reply"])
async def test_unknown_or_malformed_petition_is_rejected(svc: Petitions, name: str) -> None:
    bodies = {
        "answer": {"answer": "x", "answered_by": "y"},
        "forward": {"to_unit": PROVINCE},
        "commit": {"committed_date": "2026-12-01"},
        "reply": {"document_no": "1", "summary": "x"},
    }
    err = await svc.error(name, {"petition_id": "PA-NQPE0000", **bodies[name]})
    assert (err["code"], err["field"]) == ("not_found", "petition_id")
    err = await svc.error(name, {"petition_id": "bad id!", **bodies[name]})
    assert (err["code"], err["field"]) == ("invalid", "petition_id")


async def test_a_retried_raise_is_replayed_even_if_its_hamlet_was_retired_since(svc: Petitions) -> None:
    """Facts are looked up for the decision, but a retry of an accepted command is answered with
    what it did, not refused by a change made since."""
    svc.hamlets.apply(hamlet(COMMUNE, "Thôn Tạm", "thon-tam"))
    cid = str(uuid.uuid4())
    first = await svc.ok("raise", raise_payload(command_id=cid, hamlet_id=f"{COMMUNE}-thon-tam"))
    svc.hamlets.apply(HamletRetired(hamlet_id=f"{COMMUNE}-thon-tam", reason="thử", retired_on=date(2026, 11, 2)))
    again = await svc.ok("raise", raise_payload(command_id=cid, hamlet_id=f"{COMMUNE}-thon-tam"))
    assert again["replayed"] and again["petition_id"] == first["petition_id"]
    err = await svc.error("raise", raise_payload(hamlet_id=f"{COMMUNE}-thon-tam"))  # a new one is refused
    assert (err["code"], err["field"]) == ("unknown_unit", "hamlet_id")


async def test_a_taken_reference_moves_to_the_next_one_deterministically(svc: Petitions) -> None:
    """Two command ids whose references collide: the second petition gets the alternative, and a
    retry of it finds that same alternative again."""
    cid = str(uuid.uuid4())
    squatter = raise_payload(command_id="someone-else")
    squatter_id = (await svc.ok("raise", squatter))["petition_id"]
    [msg] = await svc.store.load(squatter_id)
    env = CloudEvent.from_json_bytes(msg.data)
    taken = reference(cid)  # place another petition on the reference `cid` derives
    moved = env.model_copy(
        update={"id": str(uuid.uuid4()), "subject": taken, "data": {**env.data, "petition_id": taken}}
    )
    await svc.store.append(svc.store.subject_for(taken, [PROVINCE, COMMUNE]), NEW_AGGREGATE, [moved])

    first = await svc.ok("raise", raise_payload(command_id=cid))
    assert first["petition_id"] == reference(cid, 1)
    again = await svc.ok("raise", raise_payload(command_id=cid))
    assert again["replayed"] and again["petition_id"] == first["petition_id"]


async def test_the_whole_life_through_the_edge(svc: Petitions) -> None:
    """classify -> forward up -> returned -> forward across -> accept -> commit -> reply -> not
    resolved (reopened) -> reply -> satisfied; and withdrawal, merge."""
    pid = await svc.raise_one(channel="letter", hamlet_id=None, kind="complaint", received_on="2026-11-02")
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("classify", {"kind": "complaint", "category": "land"}, "classified"),
        ("forward", {"to_unit": PROVINCE, "to_agency": "Thanh tra tỉnh"}, "forwarded"),
        ("return", {"reason": "thuộc thẩm quyền cấp xã"}, "returned"),
        ("forward", {"to_unit": COMMUNE, "to_agency": "Công an xã"}, "forwarded"),
        ("accept", {"complexity": "complex", "remote_area": True, "accepted_on": "2026-11-03"}, "accepted"),
        ("commit", {"committed_date": "2026-12-20"}, "in_progress"),
        ("reply", {"document_no": "5/UBND", "summary": "Trả lời", "internal_note": "nội bộ"}, "replied"),
        ("verdict", {"verdict": "not_resolved", "comment": "chưa đo lại"}, "reopened"),
        ("reply", {"document_no": "6/UBND", "summary": "Đã đo lại"}, "replied"),
        ("verdict", {"verdict": "satisfied"}, "closed"),
    ]
    for name, body, status in steps:
        assert (await svc.ok(name, {"petition_id": pid, **body}))["status"] == status, name
    loaded = await svc.deps.petitions.load(pid)
    resolve = loaded.state.deadline(DeadlineKind.resolve)
    assert resolve is not None and resolve.limit == 60  # complex, remote area: 60 days
    assert len(loaded.state.forwards) == 2

    out = await svc.raise_one(channel="letter", hamlet_id=None)
    assert (await svc.ok("withdraw", {"petition_id": out, "reason": "đã tự thỏa thuận"}))["status"] == "withdrawn"
    case, member = (
        await svc.raise_one(channel="letter", hamlet_id=None),
        await svc.raise_one(channel="letter", hamlet_id=None),
    )
    assert (await svc.ok("merge", {"petition_id": member, "case_id": case}))["status"] == "merged"


async def test_refused_new_commands_store_nothing(svc: Petitions) -> None:
    pid = await svc.raise_one(channel="letter", hamlet_id=None, kind="denunciation")
    done = await svc.raise_one(channel="letter", hamlet_id=None)
    await svc.ok("withdraw", {"petition_id": done})
    cases: list[tuple[str, dict[str, Any], str, str | None]] = [
        ("classify", {"petition_id": pid, "kind": "petition", "eligible": False}, "invalid", "reason"),
        ("classify", {"petition_id": pid, "kind": "nonsense"}, "invalid", "kind"),
        ("return", {"petition_id": pid, "reason": "x"}, "invalid_state", None),
        ("return", {"petition_id": pid}, "invalid", "reason"),
        ("accept", {"petition_id": pid, "complexity": "extreme"}, "invalid", "complexity"),
        ("accept", {"petition_id": done}, "invalid_state", None),
        ("extend", {"petition_id": pid, "reason": "x"}, "invalid_state", None),
        ("verdict", {"petition_id": pid, "verdict": "satisfied"}, "invalid_state", None),
        ("verdict", {"petition_id": pid, "verdict": "meh"}, "invalid", "verdict"),
        ("withdraw", {"petition_id": done}, "invalid_state", None),
        ("merge", {"petition_id": pid, "case_id": pid}, "invalid", "case_id"),
        ("merge", {"petition_id": pid, "case_id": done}, "invalid_state", "case_id"),
        ("merge", {"petition_id": pid, "case_id": "PA-NQPE0000"}, "not_found", "case_id"),
        ("forward", {"petition_id": pid, "to_unit": COMMUNE}, "invalid", "to_agency"),
        (
            "classify",
            {"petition_id": pid, "kind": "petition", "classified_on": "2999-01-01"},
            "invalid",
            "classified_on",
        ),
    ]
    for name, body, code, field in cases:
        err = await svc.error(name, body)
        assert (err["code"], err.get("field")) == (code, field), (name, err)
    await svc.ok("accept", {"petition_id": pid})
    err = await svc.error("extend", {"petition_id": pid, "reason": "x"})  # normal complexity: none allowed
    assert err["code"] == "invalid_state" and err["details"]["allowed"] == 0


async def test_a_clerk_acts_only_on_what_its_unit_handles(svc: Petitions) -> None:
    from support import credential

    from caunoi.shared.context import Role

    clerk, other = credential(COMMUNE, Role.clerk), credential(OTHER, Role.clerk)
    officer = credential(PROVINCE, Role.officer)
    pid = str((await svc.ok("raise", raise_payload(channel="letter", hamlet_id=None), as_=clerk))["petition_id"])
    assert (await svc.error("accept", {"petition_id": pid}, as_=other))["code"] == "forbidden"
    await svc.ok("forward", {"petition_id": pid, "to_unit": PROVINCE}, as_=clerk)
    # forwarded up: the province handles it; the commune no longer accepts it, but sees it
    assert (await svc.error("accept", {"petition_id": pid}, as_=clerk))["code"] == "forbidden"
    assert (await svc.error("return", {"petition_id": pid, "reason": "x"}, as_=other))["code"] == "forbidden"
    assert (await svc.ok("return", {"petition_id": pid, "reason": "cấp xã"}, as_=officer))["status"] == "returned"
    assert (await svc.ok("accept", {"petition_id": pid}, as_=clerk))["status"] == "accepted"


async def test_an_old_reply_v1_is_still_read(svc: Petitions) -> None:
    """ReplyIssued v1 (before internal notes and cases) in a stored log is upcast to v2."""
    pid = await svc.raise_one()
    await svc.ok("answer", {"petition_id": pid, "answer": "a", "answered_by": "b"})
    loaded = await svc.deps.petitions.load(pid)
    v1 = {"petition_id": pid, "document_no": "1/UB", "issued_on": "2026-11-05", "by_unit": COMMUNE,
          "summary": "Đã trả lời", "recipients": ["petitioner"]}  # fmt: skip
    env = CloudEvent(id=str(uuid.uuid4()), source="/caunoi/petitions", type="vn.caunoi.petitions.ReplyIssued.v1",
                     subject=pid, data=v1, unitcode=COMMUNE)  # fmt: skip
    await svc.store.append(loaded.nats_subject or "", loaded.last_seq, [env])
    again = await svc.deps.petitions.load(pid)
    ev = again.history[-1].event
    assert ev.type_name() == "vn.caunoi.petitions.ReplyIssued.v2" and ev.model_dump()["internal_note"] is None
    assert again.state.status.value == "replied"
