"""Personal data on an immutable log: a petition's events never carry its petitioner's name,
phone or address in clear (nor what the clerk marked in its text), only a box sealed under the
petitioner's own key; erasing the petitioner (operators only, with a reason) records it and
destroys the key. Petitions raised before stay readable (v1, v2 upcast), in clear, as the log
holds them. Through the request edge, on the in-memory event store and key store."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest
from petitions.payloads import COMMUNE, PROVINCE, raise_payload
from support import Harness, credential

from caunoi.petitions import domain
from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION, Alert, Facts
from caunoi.petitions.events import (
    MASK,
    CommitmentSet,
    DeadlineKind,
    DelayNoticeRequired,
    PersonalData,
    PetitionerDataErased,
    PetitionRaised,
    registry,
)
from caunoi.petitions.handlers import ENDPOINTS, Deps, redact
from caunoi.shared.aggregate import Repository
from caunoi.shared.context import Role
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.hamlets import HamletAdded, HamletKind, InMemoryHamletDirectory
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.recorded import decode_message
from caunoi.shared.units import UnitTree
from caunoi.shared.vault import InMemoryVault

pytestmark = pytest.mark.asyncio
UNITS = UnitTree.load("vn-2025")
NAME, PHONE, ADDRESS = "Lê Thị Bí Mật", "0987654321", "Số 9 ngõ Kín"
CLERK = credential(COMMUNE, Role.clerk)


class Petitions(Harness[Deps]):
    def __init__(self) -> None:
        store = InMemoryEventStore(STREAM)
        hamlets = InMemoryHamletDirectory()
        hamlets.apply(HamletAdded(hamlet_id=f"{COMMUNE}-thon-dong-tam", commune_code=COMMUNE, name="Thôn Đồng Tâm",
                                  kind=HamletKind.thon, unit_path=[PROVINCE, COMMUNE], dataset="vn-2025"))  # fmt: skip
        self.vault = InMemoryVault()
        deps = Deps(Repository(store, registry, PETITION, UNITS), UNITS, hamlets, vault=self.vault)
        super().__init__("petitions", ENDPOINTS, deps, store)

    async def raise_personal(self, **over: Any) -> str:
        body = raise_payload(petitioner={"name": NAME, "phone": PHONE, "address": ADDRESS}, **over)
        return str((await self.ok("raise", body, CLERK))["petition_id"])

    async def stored(self) -> bytes:
        return b"\n".join(m.data for m in await self.store.read(1, 10_000))

    async def raised(self, pid: str) -> PetitionRaised:
        [msg, *_] = await self.store.load(pid)
        ev = decode_message(registry, msg).event
        assert isinstance(ev, PetitionRaised)
        return ev


@pytest.fixture
def svc() -> Petitions:
    return Petitions()


async def test_the_log_never_holds_the_petitioners_data_in_clear(svc: Petitions) -> None:
    pid = await svc.raise_personal(text="Đường hỏng trước nhà [[bà Lê Thị Bí Mật, số 9]] từ tháng trước")
    stored = await svc.stored()
    for secret in (NAME, PHONE, ADDRESS, "số 9"):
        assert secret.encode() not in stored, secret
    ev = await svc.raised(pid)
    assert ev.petitioner is None and ev.personal is not None and ev.personal.key_id.startswith("key:")
    assert ev.text == f"Đường hỏng trước nhà {MASK} từ tháng trước"
    opened = PersonalData.model_validate(await svc.vault.open(ev.personal, pid))
    assert (opened.name, opened.phone, opened.address) == (NAME, PHONE, ADDRESS)
    assert opened.text == "Đường hỏng trước nhà [[bà Lê Thị Bí Mật, số 9]] từ tháng trước"
    # a box belongs to its petition: another petition's reference does not open it
    assert await svc.vault.open(ev.personal, "PA-00000000") is None


async def test_a_text_without_marks_is_not_sealed_and_unclosed_marks_are_refused(svc: Petitions) -> None:
    pid = await svc.raise_personal()
    ev = await svc.raised(pid)
    assert ev.text == raise_payload()["text"]
    assert ev.personal is not None and (await svc.vault.open(ev.personal, pid) or {})["text"] is None
    err = await svc.error("raise", raise_payload(text="trước nhà [[ông B"), CLERK)
    assert (err["code"], err["field"]) == ("invalid", "text")


async def test_only_an_operator_erases_with_a_reason_and_the_key_is_destroyed(svc: Petitions) -> None:
    pid = await svc.raise_personal()
    ev = await svc.raised(pid)
    assert ev.personal is not None
    body = {"petition_id": pid, "reason": "Yêu cầu xóa của chủ thể dữ liệu, đơn số 1/2026"}
    for who in (CLERK, credential(PROVINCE, Role.officer), credential("", Role.auditor)):
        assert (await svc.error("erase", body, who))["code"] == "forbidden"
    assert (await svc.error("erase", {"petition_id": pid, "reason": ""}))["field"] == "reason"
    assert (await svc.error("erase", {**body, "petition_id": "PA-00000000"}))["code"] == "not_found"
    assert await svc.vault.open(ev.personal, pid) is not None  # the refusals destroyed nothing

    out = await svc.ok("erase", {**body, "command_id": "erase-1"})
    assert (
        out["key_destroyed"] and out["in_clear"] == 0 and out["events"][0]["type"].endswith("PetitionerDataErased.v1")
    )
    assert await svc.vault.open(ev.personal, pid) is None
    erasure = await svc.vault.erasure(ev.personal.key_id)
    assert erasure is not None and erasure.reason == body["reason"]
    # the same command again: answered with what it did (and the key stays destroyed)
    again = await svc.ok("erase", {**body, "command_id": "erase-1"})
    assert again["replayed"] and again["key_destroyed"]
    assert (await svc.error("erase", body))["code"] == "invalid_state"  # erased once
    # its life goes on without the data: it is still handled
    await svc.ok("classify", {"petition_id": pid, "kind": "petition", "category": "roads"}, CLERK)


async def test_what_an_erased_petition_shows_and_owes(svc: Petitions) -> None:
    pid = await svc.raise_personal()
    ev = await svc.raised(pid)
    opened = await svc.vault.open(ev.personal, pid) if ev.personal else None
    data = ev.model_dump(mode="json")
    assert redact(data, True, opened)["petitioner"]["name"] == NAME  # an official, while the key lives
    assert "petitioner" not in redact(data, False, opened) and "personal" not in redact(data, False, opened)
    await svc.ok("erase", {"petition_id": pid, "reason": "yêu cầu"})
    assert redact(data, True, None)["petitioner"] is None
    # a delay notice owed after the erasure carries nothing of the petitioner
    loaded = await svc.deps.petitions.load(pid)
    state = domain.evolve(loaded.state, CommitmentSet(petition_id=pid, committed_date=date(2026, 11, 5),
                                                       by_unit=COMMUNE))  # fmt: skip
    facts = Facts(date(2026, 11, 20), UNITS)
    events = domain.decide_overdue(state, Alert(DeadlineKind.committed, date(2026, 11, 5)), facts)
    notice = next(e for e in events if isinstance(e, DelayNoticeRequired))
    assert notice.personal is None and notice.petitioner is None


async def test_petitions_raised_before_stay_readable_and_are_counted_in_clear(svc: Petitions) -> None:
    """A v2 event (as the log holds it) upcast to v3: the petitioner in clear, nothing sealed. Its
    erasure says how many events keep the data in clear, and destroys no key (there is none)."""
    pid = "PA-7KQ2M9XD"
    v2 = {
        "petition_id": pid, "channel": "hotline", "kind": "feedback", "category": "roads",
        "petitioner": {"name": NAME, "phone": PHONE, "confidential": True}, "commune_code": COMMUNE,
        "text": "Đường hỏng", "received_on": "2026-10-01", "unit_path": [PROVINCE, COMMUNE], "dataset": "vn-2025",
        "deadline": None,
    }  # fmt: skip
    env = CloudEvent(
        id="legacy-1", source="/caunoi/petitions", type="vn.caunoi.petitions.PetitionRaised.v2", subject=pid, data=v2,
        unitcode=COMMUNE, datasetversion="vn-2025", causationid="legacy",
    )  # fmt: skip
    await svc.store.append(f"caunoi.petitions.{pid}.{PROVINCE}.{COMMUNE}", 0, [env])
    ev = await svc.raised(pid)
    assert ev.petitioner is not None and ev.petitioner.name == NAME and ev.personal is None and ev.confidential
    out = await svc.ok("erase", {"petition_id": pid, "reason": "yêu cầu"})
    assert (out["key_destroyed"], out["in_clear"]) == (False, 1)
    [_, erased_msg] = await svc.store.load(pid)
    erased = decode_message(registry, erased_msg).event
    assert isinstance(erased, PetitionerDataErased) and erased.key_id is None and erased.in_clear == 1
    assert orjson.loads(erased_msg.data)["chainprev"] == "0" * 64  # chained from GENESIS after a legacy event
