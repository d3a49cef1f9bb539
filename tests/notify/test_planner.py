"""The planner (notify's reaction to the petitions stream) run by the kernel's projection runner on
a real PostgreSQL: each triggering event queues one notice per recipient, a replay or a rebuild
queues nothing new and rebuilds the same facts, old events cause nothing, and an erased
petitioner's contact is gone. The streams are in memory (proven equal to JetStream)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from support import Servers

from caunoi.notify import consumed
from caunoi.notify.bootstrap import STREAM as NOTIFY
from caunoi.notify.compose import reach_of
from caunoi.notify.events import NoticeQueued, NoticeRecipient, RecipientKind, registry
from caunoi.notify.planner import PetitionFacts, Planner
from caunoi.petitions.events import CommitmentSet, PetitionRaised, ReplyIssued
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.eventstore import NEW_AGGREGATE
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import ProjectionRunner
from caunoi.shared.recorded import decode_message
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio
PATH = ["08", "00691"]


@pytest_asyncio.fixture
async def pool(servers: Servers) -> AsyncIterator[Any]:
    name = f"t_planner_{uuid.uuid4().hex[:8]}"
    await ensure_database(servers.database_url, name)
    p = await asyncpg.create_pool(database_url_with(servers.database_url, name), min_size=1, max_size=4)
    yield p
    await p.close()


@dataclass
class Resources:
    store: Any
    units: UnitTree


class Petitions:
    def __init__(self) -> None:
        self.store = InMemoryEventStore(consumed.PETITIONS_STREAM)
        self.last: dict[str, int] = {}

    async def add(self, pid: str, type_name: str, data: dict[str, Any], at: datetime | None = None) -> None:
        env = CloudEvent(id=str(uuid.uuid4()), source="/caunoi/petitions", type=type_name, subject=pid, data=data,
                         time=at or datetime.now(UTC), unitcode="00691", correlationid=f"c-{pid}")  # fmt: skip
        res = await self.store.append(self.store.subject_for(pid, PATH), self.last.get(pid, NEW_AGGREGATE), [env])
        self.last[pid] = res.seqs[-1]

    async def raised(self, pid: str, at: datetime | None = None, **petitioner: Any) -> None:
        ev = PetitionRaised(
            petition_id=pid, channel="meeting", kind="feedback", category="roads",
            petitioner={"name": "Nguyễn Văn An", **petitioner}, commune_code="00691",
            hamlet_id="00691-thon-dong-tam", hamlet_name="Thôn Đồng Tâm", text="Đường hỏng",
            received_on=date(2026, 11, 1), unit_path=PATH, dataset="vn-2025",
        )  # fmt: skip
        await self.add(pid, ev.type_name(), ev.model_dump(mode="json"), at)

    async def replied(self, pid: str, at: datetime | None = None) -> None:
        ev = ReplyIssued(petition_id=pid, document_no="1/UB", issued_on=date(2026, 12, 1), by_unit="00691",
                         summary="Đã sửa", recipients=["petitioner", "hamlet"])  # fmt: skip
        await self.add(pid, ev.type_name(), ev.model_dump(mode="json"), at)


async def queued(notify: InMemoryEventStore) -> list[NoticeQueued]:
    out = []
    for m in await notify.read(1, 10_000):
        ev = decode_message(registry, m).event
        assert isinstance(ev, NoticeQueued)
        out.append(ev)
    return out


async def test_each_trigger_queues_one_notice_per_recipient_once(pool: Any) -> None:
    petitions, notify = Petitions(), InMemoryEventStore(NOTIFY)
    planner = Planner("from_petitions", consumed.PETITIONS_STREAM, PetitionFacts(), timedelta(days=30))
    planner.bind(Resources(notify, UnitTree.load("vn-2025")))  # type: ignore[arg-type]
    runner = ProjectionRunner(pool, None, petitions.store, consumed.petitions, planner, batch=3)
    await runner.setup()

    await petitions.raised("PA-AAAAAAAA", phone="0912 345 678")
    await petitions.replied("PA-AAAAAAAA")
    await petitions.raised("PA-BBBBBBBB", address="Số 1")
    commit = CommitmentSet(petition_id="PA-BBBBBBBB", committed_date=date(2026, 12, 1), by_unit="00691")
    await petitions.add("PA-BBBBBBBB", commit.type_name(), commit.model_dump(mode="json"))
    # issue 8's delay notice, as notify reads it (provisional), and an extension before it
    await petitions.add("PA-BBBBBBBB", "vn.caunoi.petitions.PetitionExtended.v1",
                        {"petition_id": "PA-BBBBBBBB", "new_due": "2026-12-20", "deadline": "committed"})  # fmt: skip
    await petitions.add("PA-BBBBBBBB", "vn.caunoi.petitions.DelayNoticeRequired.v1",
                        {"petition_id": "PA-BBBBBBBB", "committed_date": "2026-12-01", "handling_unit": "00691",
                         "noticed_on": "2026-12-02", "petitioner": {"name": "x"}, "commune_code": "00691"})  # fmt: skip
    # an old reply (notify installed later) causes nothing
    old = datetime.now(UTC) - timedelta(days=90)
    await petitions.raised("PA-CCCCCCCC", at=old)
    await petitions.replied("PA-CCCCCCCC", at=old)
    await runner.catch_up()

    notices = await queued(notify)
    got = sorted((n.kind.value, n.recipient.ref) for n in notices)
    assert got == [
        ("delay_notice", "petitioner:PA-BBBBBBBB"),
        ("written_reply", "hamlet:00691-thon-dong-tam"),
        ("written_reply", "petitioner:PA-AAAAAAAA"),
    ]
    delay = next(n for n in notices if n.kind.value == "delay_notice")
    assert (delay.context["committed_date"], delay.context["new_date"]) == ("2026-12-01", "2026-12-20")
    assert delay.trigger.stream == "PETITIONS" and delay.unit_path == PATH
    assert "Nguyễn Văn An" not in str([n.model_dump() for n in notices])  # no personal data in events
    assert planner.stale == 1

    # replayed from sequence 1 (a rebuild): the same facts, nothing new queued
    before = (await notify.state()).messages
    assert await runner.rebuild_into("from_petitions_check", batch=2) == await petitions.store.last_seq()
    assert (await notify.state()).messages == before
    assert await runner.snapshot() == await runner.snapshot("from_petitions_check")

    # the petitioner's contact is kept (number as the gateway takes it) and erased when told
    async with pool.acquire() as conn:
        who = NoticeRecipient(kind=RecipientKind.petitioner, id="PA-AAAAAAAA")
        reach = await reach_of(conn, who, "vn-2025", facts_schema="from_petitions")
        assert reach is not None and reach.phone == "+84912345678" and reach.name == "Nguyễn Văn An"
    await petitions.add("PA-AAAAAAAA", "vn.caunoi.petitions.PetitionerDataErased.v1", {"petition_id": "PA-AAAAAAAA"})
    await runner.catch_up()
    async with pool.acquire() as conn:
        assert await reach_of(conn, who, "vn-2025", facts_schema="from_petitions") is None
        row = await conn.fetchrow("SELECT * FROM from_petitions.petitions WHERE petition_id = 'PA-AAAAAAAA'")
    assert row["erased"] and not any(row[k] for k in row.keys() if k.startswith("petitioner_"))
