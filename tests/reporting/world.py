"""A generated year of events, made by the real services' own handlers: the scheduling and
petitions services on in-memory stores (proven equal to JetStream by the contract suite) with a
clock moved day by day; the petitions service's deadline watcher on its real read model
(PostgreSQL), so time records overdue petitions and delay notices as it does in production.

The first half of 2025 is recorded under the legacy (vn-2024) units, as installations did before
the reform of 1 July 2025; the second half under the 2025 units that succeeded them. Four
communes of Tuyên Quang (2025), each with hamlets, a monthly meeting (programme 2 dialogues, and
programme 1's rotation in a pilot commune), and opinions raised at meetings and elsewhere, each
taken along a random life (answered on the spot, forwarded, accepted, committed, replied on time
or late, withdrawn, left to become overdue)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from support import Harness

from caunoi.petitions.bootstrap import STREAM as PETITIONS
from caunoi.petitions.domain import PETITION
from caunoi.petitions.duties import DUTIES as PETITION_DUTIES
from caunoi.petitions.events import registry as petition_events
from caunoi.petitions.handlers import ENDPOINTS as PETITION_ENDPOINTS
from caunoi.petitions.handlers import Deps as PetitionDeps
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.scheduling.bootstrap import wire as scheduling_wire
from caunoi.scheduling.handlers import ENDPOINTS as SCHEDULING_ENDPOINTS
from caunoi.scheduling.handlers import Deps as SchedulingDeps
from caunoi.shared.aggregate import Repository
from caunoi.shared.clock import VN
from caunoi.shared.duties import DutyRunner
from caunoi.shared.hamlets import SCHEDULING_STREAM, InMemoryHamletDirectory
from caunoi.shared.hamlets import registry as hamlet_events
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Pool, ProjectionRunner
from caunoi.shared.recorded import decode_message
from caunoi.shared.units import UnitTree

LEGACY, NEW = UnitTree.load("vn-2024"), UnitTree.load("vn-2025")
PROVINCE = "08"
#: 2025 commune -> the legacy commune recorded under before July 2025 (its whole predecessor)
COMMUNES = {"00691": "00691", "00694": "00694", "00700": "00700", "00706": "00703"}
REFORM = date(2025, 7, 1)
CATEGORIES = ["land", "planning", "roads", "drainage", "farm_prices", "security", "new_rural", "social_policy"]


def noon(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=VN).astimezone(UTC)


Action = Callable[[], Awaitable[None]]


@dataclass
class World:
    petitions_pool: Pool
    seed: int = 2025
    petitions_store: InMemoryEventStore = field(default_factory=lambda: InMemoryEventStore(PETITIONS))
    scheduling_store: InMemoryEventStore = field(default_factory=lambda: InMemoryEventStore(SCHEDULING_STREAM))
    hamlets: InMemoryHamletDirectory = field(default_factory=InMemoryHamletDirectory)
    now: datetime = field(default_factory=lambda: noon(date(2025, 1, 1)))
    agenda: dict[date, list[Action]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.hamlet_seen = 0
        self.p_runner = ProjectionRunner(
            self.petitions_pool, None, self.petitions_store, petition_events, PetitionsProjection(), batch=500
        )
        self.use(LEGACY)

    # -- the services, on one dataset or the other ---------------------------------------------------

    def use(self, units: UnitTree) -> None:
        self.units = units
        deps = PetitionDeps(Repository(self.petitions_store, petition_events, PETITION, units), units, self.hamlets,
                            pool=self.petitions_pool)  # fmt: skip
        self.petitions = Harness("petitions", PETITION_ENDPOINTS, deps, self.petitions_store)
        sdeps: SchedulingDeps = scheduling_wire(self.scheduling_store, units, directory=self.hamlets)
        self.scheduling = Harness("scheduling", SCHEDULING_ENDPOINTS, sdeps, self.scheduling_store)
        for h in (self.petitions, self.scheduling):
            h.edge = replace(h.edge, clock=lambda: self.now)
        self.watcher = DutyRunner("petitions", PETITION_DUTIES, deps, clock=lambda: self.now)

    @property
    def today(self) -> date:
        return self.now.astimezone(VN).date()

    def commune(self, new_code: str) -> str:
        return new_code if self.units is NEW else COMMUNES[new_code]

    async def sync_hamlets(self) -> None:
        msgs = await self.scheduling_store.read(self.hamlet_seen + 1, 10_000)
        for m in msgs:
            if hamlet_events.knows(m.type_name or ""):
                self.hamlets.apply(decode_message(hamlet_events, m).event)
            self.hamlet_seen = m.seq

    async def sched(self, name: str, body: dict[str, Any]) -> Any:
        out = await self.scheduling.ok(name, body)
        await self.sync_hamlets()
        return out

    async def pet(self, name: str, body: dict[str, Any]) -> Any:
        return await self.petitions.ok(name, body)

    def later(self, days: int, action: Action) -> None:
        self.agenda[self.today + timedelta(days=days)].append(action)

    # -- the year -----------------------------------------------------------------------------------

    async def run(
        self, until: date = date(2025, 12, 31), each_week: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        day = self.today
        while day <= until:
            if day == REFORM:
                self.use(NEW)
            self.now = noon(day)
            if day.day == 1 or day == REFORM:
                await self.month_starts(day)
            for action in self.agenda.pop(day, []):
                await action()
            if day.isoweekday() == 7:  # the watcher records what time caused, once a week here
                await self.p_runner.catch_up()
                await self.watcher.tick()
                if each_week is not None:
                    await each_week()
            day += timedelta(days=1)
        await self.p_runner.catch_up()

    async def month_starts(self, day: date) -> None:
        if day == date(2025, 1, 1) or day == REFORM:
            await self.add_hamlets()
        if day == REFORM:
            await self.sched("pilot_localities", {"unit_code": PROVINCE, "communes": ["00691", "00700"]})
            sites = [h.id for h in await self.hamlets.in_commune("00691")]
            await self.sched("pilot_sites", {"commune_code": "00691", "sites": sites})
        for i, new_code in enumerate(COMMUNES):
            meeting_day = day.replace(day=8 + 3 * i)
            self.agenda[meeting_day].append(self._meeting(new_code, meeting_day))
            for k in range(self.rng.randint(3, 6)):
                when = day.replace(day=self.rng.randint(1, 27))
                self.agenda[when].append(self._opinion(new_code, k))

    async def add_hamlets(self) -> None:
        """Each commune's hamlets; at the reform the legacy lists are retired and new ones added."""
        for new_code in COMMUNES:
            commune = self.commune(new_code)
            if self.units is NEW:
                olds = {h.id: h for c in {commune, COMMUNES[new_code]} for h in await self.hamlets.in_commune(c)}
                for old in olds.values():
                    if old.dataset != NEW.dataset:
                        await self.sched("hamlet_retire", {"hamlet_id": old.id, "reason": "Sắp xếp đơn vị hành chính"})
            name = "Tổ" if self.units is LEGACY else "Thôn"
            for n in range(1, 4):
                await self.sched("hamlet_add", {"commune_code": commune, "name": f"{name} {n}", "kind": "thon"})

    def _meeting(self, new_code: str, day: date) -> Action:
        async def hold() -> None:
            commune = self.commune(new_code)
            hamlets = await self.hamlets.in_commune(commune)
            host = hamlets[day.month % len(hamlets)].id
            pilot = self.units is NEW and new_code == "00691"
            if pilot:
                out = await self.sched("rotation_propose", {"commune_code": commune, "month": f"{day:%Y-%m}",
                                                            "date": day.isoformat()})  # fmt: skip
                mid = out["meeting_id"]
                await self.sched("meeting_accept", {"meeting_id": mid, "chair": "Bí thư Đảng ủy"})
            else:
                out = await self.sched("dialogue_plan", {
                    "plan_unit": commune, "commune_code": commune, "target_group": "citizens",
                    "date": day.isoformat(), "venue": "Nhà văn hóa", "chair": "Bí thư Đảng ủy", "host_id": host,
                })  # fmt: skip
                mid = out["meeting_id"]
            fate = self.rng.random()
            if fate < 0.12:
                await self.sched("meeting_cancel", {"meeting_id": mid, "reason": "Mưa bão"})
                return
            if fate < 0.2:
                return  # planned, never held
            attendees = {"party_members": self.rng.randint(5, 15), "citizens": self.rng.randint(10, 40)}
            agenda = None if pilot else {"opening": "Khai mạc", "method": "Chủ trì nêu phương pháp",
                                         "conclusion": "Kết luận"}  # fmt: skip
            await self.sched("meeting_hold", {"meeting_id": mid, "chair": "Bí thư Đảng ủy", "attendees": attendees,
                                              "minutes_ref": f"BB-{mid}", "order_of_business": agenda})  # fmt: skip
            for k in range(self.rng.randint(1, 4)):
                await self._raise(new_code, k, meeting_id=mid, host=out.get("host_id") or host)

        return hold

    def _opinion(self, new_code: str, k: int) -> Action:
        async def raise_one() -> None:
            await self._raise(new_code, k)

        return raise_one

    async def _raise(self, new_code: str, k: int, meeting_id: str | None = None, host: str | None = None) -> None:
        commune = self.commune(new_code)
        hamlets = await self.hamlets.in_commune(commune)
        channel = "meeting" if meeting_id else self.rng.choice(["hotline", "letter", "reception", "portal"])
        out = await self.pet("raise", {
            "channel": channel, "kind": self.rng.choice(["petition", "feedback", "proposal"]),
            "category": self.rng.choice(CATEGORIES), "petitioner": {"name": f"Người dân {k}"},
            "commune_code": commune, "hamlet_id": host or self.rng.choice(hamlets).id,
            "text": "Ý kiến của người dân", "meeting_id": meeting_id,
        })  # fmt: skip
        await self.life(out["petition_id"], channel, commune)

    async def life(self, pid: str, channel: str, commune: str) -> None:
        """Schedule what becomes of a petition: its steps on later days (while its dataset lasts)."""
        rng, legacy = self.rng, self.units is LEGACY
        fate = rng.random()
        province = "02" if legacy else PROVINCE
        deadline_day = REFORM - timedelta(days=1) if legacy else date(2025, 12, 31)

        def at(days: int, action: Action) -> None:
            if self.today + timedelta(days=days) <= deadline_day:
                self.later(days, action)

        def step(name: str, **body: Any) -> Action:
            async def go() -> None:
                await self.pet(name, {"petition_id": pid, **body})

            return go

        if channel in ("meeting", "reception") and fate < 0.3:
            await step("answer", answer="Đã giải thích tại hội nghị", answered_by="Chủ tịch UBND")()
            if rng.random() < 0.5:
                at(3, step("reply", document_no=f"{pid}/UBND", summary="Trả lời bằng văn bản"))
            return
        if fate < 0.36:
            at(2, step("withdraw", reason="Đã tự thỏa thuận"))
            return
        if fate < 0.42:
            at(3, step("classify", kind="petition", eligible=False, reason="Trùng nội dung"))
            return
        if fate < 0.5:
            return  # nobody handles it: overdue for handling
        if rng.random() < 0.5:
            at(2, step("forward", to_unit=province, to_agency=rng.choice(["Sở Xây dựng", "Sở Nông nghiệp"])))
        else:
            at(2, step("classify", kind="petition", category=rng.choice(CATEGORIES)))
        at(4, step("accept"))
        committed = rng.randint(10, 40)
        at(5, step("commit", committed_date=(self.today + timedelta(days=5 + committed)).isoformat()))
        if rng.random() < 0.15:
            return  # the committed date passes unresolved: overdue, and a delay notice
        reply_after = 5 + committed + rng.choice([-5, -2, 0, 3, 9])
        at(max(6, reply_after), step("reply", document_no=f"{pid}/VB", summary="Đã giải quyết"))
        verdict = rng.random()
        if verdict < 0.5:
            at(max(6, reply_after) + 3, step("verdict", verdict="satisfied"))
        elif verdict < 0.6:
            at(max(6, reply_after) + 3, step("verdict", verdict="not_resolved", comment="Chưa xong"))
