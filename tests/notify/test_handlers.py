"""notify's commands through the request edge, on the in-memory event store and an in-memory copy
of the hamlet list: contacts set and removed, idempotent by command id; every refused command
(bad input, unknown place, outside the unit's reach, wrong state) stores nothing."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support import Harness, credential

from caunoi.notify.bootstrap import STREAM
from caunoi.notify.compose import Recipients
from caunoi.notify.domain import CONTACT, NOTICE
from caunoi.notify.events import registry
from caunoi.notify.handlers import ENDPOINTS, Deps
from caunoi.notify.templates import Templates
from caunoi.shared.aggregate import Repository
from caunoi.shared.context import Role
from caunoi.shared.hamlets import HamletAdded, HamletKind, HamletRetired, InMemoryHamletDirectory
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio
COMMUNE, OTHER, PROVINCE = "00691", "00694", "08"
HAMLET = f"{COMMUNE}-thon-dong-tam"


class Notify(Harness[Deps]):
    def __init__(self) -> None:
        store = InMemoryEventStore(STREAM)
        units = UnitTree.load("vn-2025")
        hamlets = InMemoryHamletDirectory()
        for hid, name in ((HAMLET, "Thôn Đồng Tâm"), (f"{COMMUNE}-thon-cu", "Thôn Cũ")):
            hamlets.apply(HamletAdded(hamlet_id=hid, commune_code=COMMUNE, name=name, kind=HamletKind.thon,
                                      unit_path=[PROVINCE, COMMUNE], dataset="vn-2025"))  # fmt: skip
        hamlets.apply(HamletRetired(hamlet_id=f"{COMMUNE}-thon-cu", reason="sáp nhập", retired_on=date(2025, 7, 1)))
        deps = Deps(
            notices=Repository(store, registry, NOTICE, units),
            contacts=Repository(store, registry, CONTACT, units),
            units=units,
            hamlets=hamlets,
            templates=Templates(),
            recipients=Recipients(NO_DATABASE),
            followed={},
            letters=Path("/nonexistent"),
        )
        super().__init__("notify", ENDPOINTS, deps, store)


@pytest.fixture
def svc() -> Notify:
    return Notify()


async def test_a_contact_is_set_once_per_command_and_removed(svc: Notify) -> None:
    cid = str(uuid.uuid4())
    body = {"hamlet_id": HAMLET, "email": "truong.thon@example.vn", "phone": "0912 345 678", "command_id": cid}
    first = await svc.ok("contact_set", body)
    assert (first["contact_id"], first["recipient"], first["replayed"]) == (
        f"hamlet-{HAMLET}", f"hamlet:{HAMLET}", False,
    )  # fmt: skip
    [msg] = await svc.store.load(f"hamlet-{HAMLET}")
    assert msg.subject == f"caunoi.notify.hamlet-{HAMLET}.{PROVINCE}.{COMMUNE}"
    again = await svc.ok("contact_set", body)
    assert again["replayed"] and await svc.messages() == 1
    # the same contact again under a new command id changes nothing
    assert (await svc.ok("contact_set", {**body, "command_id": None}))["events"] == []
    await svc.ok("contact_remove", {"hamlet_id": HAMLET, "reason": "đổi trưởng thôn"})
    assert await svc.messages() == 2


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"unit": COMMUNE, "hamlet_id": HAMLET, "email": "a@example.vn"}, "invalid", "unit"),
        ({"email": "a@example.vn"}, "invalid", "unit"),
        ({"unit": COMMUNE, "email": "not an address"}, "invalid", "email"),
        ({"unit": COMMUNE, "phone": "12"}, "invalid", "phone"),
        ({"unit": COMMUNE, "preferred": "fax", "address": "x"}, "invalid", "preferred"),
        ({"unit": COMMUNE}, "invalid", "email"),
        ({"unit": COMMUNE, "phone": "0912345678", "preferred": "email"}, "invalid", "preferred"),
        ({"unit": "99999", "address": "x"}, "unknown_unit", "unit"),
        ({"hamlet_id": f"{COMMUNE}-khong-co", "address": "x"}, "unknown_unit", "hamlet_id"),
        ({"hamlet_id": f"{COMMUNE}-thon-cu", "address": "x"}, "unknown_unit", "hamlet_id"),
        ({"unit": COMMUNE, "address": "x", "surprise": 1}, "invalid", "surprise"),
    ],
)
async def test_a_bad_contact_is_refused_and_stores_nothing(
    svc: Notify, body: dict[str, Any], code: str, field: str | None
) -> None:
    err = await svc.error("contact_set", body)
    assert err["code"] == code and err.get("field") == field, err


async def test_outside_its_reach_a_unit_changes_nothing(svc: Notify) -> None:
    other = credential(OTHER, Role.clerk)
    for body in ({"hamlet_id": HAMLET, "email": "a@example.vn"}, {"unit": COMMUNE, "email": "a@example.vn"},
                 {"unit": PROVINCE, "email": "a@example.vn"}):  # fmt: skip
        assert (await svc.error("contact_set", body, as_=other))["code"] == "forbidden"
    await svc.ok("contact_set", {"unit": COMMUNE, "email": "ubnd@example.vn"})
    err = await svc.error("contact_remove", {"unit": COMMUNE, "reason": "x"}, as_=other)
    assert err["code"] == "forbidden"
    auditor = credential("", Role.auditor)
    assert (await svc.error("contact_set", {"unit": COMMUNE, "email": "a@example.vn"}, as_=auditor))["code"] == (
        "forbidden"
    )
    # its own commune's contacts, and a province officer's, are fine
    await svc.ok("contact_set", {"hamlet_id": HAMLET, "zalo": "0912345678"}, as_=credential(COMMUNE, Role.clerk))
    await svc.ok("contact_set", {"unit": COMMUNE, "phone": "0912345678"}, as_=credential(PROVINCE, Role.officer))


async def test_removing_or_resending_what_is_not_there_is_refused(svc: Notify) -> None:
    err = await svc.error("contact_remove", {"unit": COMMUNE, "reason": "x"})
    assert (err["code"], err["field"]) == ("not_found", "unit")
    err = await svc.error("resend", {"notice_id": "NT-0000000000000000", "reason": "x"})
    assert err["code"] == "not_found"
    err = await svc.error("resend", {"notice_id": "NT-bad", "reason": "x"})
    assert (err["code"], err["field"]) == ("invalid", "notice_id")
