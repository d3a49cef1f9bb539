"""The demo data set: a real province and a dozen of its communes (from the shipped unit data),
hamlets, programme 1 pilots with their rotation, dialogue meetings in several states (dated from
today, since a meeting is planned for the future and held in the past), cadres following areas,
and petitions in every state of their life, some raised at the demo's meetings.

Every command has a fixed command id, so loading twice stores nothing twice: the second run's
commands come back as replays. A marker file only saves the time of trying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from caunoi.shared.client import Client, Login, RequestFailed
from caunoi.shared.clock import today_vn
from caunoi.shared.settings import Settings
from caunoi.shared.units import (
    DATASET_2025,
    DATASET_LEGACY,
    LEVEL_COMMUNE,
    DatasetError,
    Unit,
    UnitTree,
    UnknownDataset,
)

HAMLETS = [("Thôn Đồng Tâm", "thon"), ("Thôn Tân Lập", "thon"), ("Tổ dân phố 3", "to_dan_pho")]
#: pilot communes also list an agency party cell, where the rotation goes too
PARTY_CELL = ("Chi bộ cơ quan UBND", "party_cell")
URBAN_KINDS = ("Phường", "Thị trấn")

OPINIONS: list[tuple[str, str]] = [
    ("land", "Đề nghị xem xét giải quyết tranh chấp ranh giới đất giữa hai hộ ở cuối thôn."),
    ("planning", "Đề nghị công khai quy hoạch khu dân cư mới để bà con yên tâm sản xuất."),
    ("roads", "Đường liên thôn xuống cấp, mùa mưa lầy lội, đề nghị bê tông hóa."),
    ("drainage", "Mương thoát nước bị bồi lấp, ngập úng khi mưa lớn, đề nghị nạo vét."),
    ("farm_prices", "Giá chè búp tươi giảm mạnh, đề nghị hỗ trợ liên kết tiêu thụ."),
    ("security", "Tình trạng thanh niên tụ tập, đua xe ban đêm, đề nghị tăng cường tuần tra."),
    ("new_rural", "Đề nghị hướng dẫn tiêu chí nhà văn hóa thôn trong xây dựng nông thôn mới."),
    ("social_policy", "Đề nghị rà soát lại danh sách hộ cận nghèo năm nay."),
]

MARKER = "demo-loaded"
DEMO_SIZE = 12
_DEMO_AREAS: dict[str, tuple[str, ...]] = {
    DATASET_2025: ("08",),
    DATASET_LEGACY: ("08", "072"),
}


def demo_area(dataset: str = DATASET_2025) -> tuple[Unit, list[Unit]]:
    """A real province and the first :data:`DEMO_SIZE` communes (by code) of a rural area in it.

    vn-2025: Tỉnh Tuyên Quang (08, which absorbed Hà Giang), from Phường Hà Giang 2 (00691).
    vn-2024: Tỉnh Tuyên Quang (08), the 12 communes of Huyện Na Hang (072).
    """
    if dataset not in _DEMO_AREAS:
        raise UnknownDataset(dataset)
    tree = UnitTree.load(dataset)
    area_path = list(_DEMO_AREAS[dataset])
    area = tree.get(area_path[-1])
    if tree.path(area.code) != area_path:
        raise DatasetError(f"{dataset}: demo area {area_path} is not a path of the tree")
    communes = sorted(
        (unit for unit in tree.descendants(area.code) if unit.level == LEVEL_COMMUNE),
        key=lambda u: (len(u.code), u.code),
    )
    return tree.get(area_path[0]), communes[:DEMO_SIZE]


async def load(nats_url: str, data_dir: Path, login: Login | None, echo: Callable[[str], Any] = print) -> int:
    """Load the demo set; return how many petitions were newly stored. Dates count back from
    today, so what time causes shows: petitions past their deadlines are overdue (the petitions
    service records it when asked to look at once, here, and by itself every half minute)."""
    marker = data_dir / MARKER
    if marker.exists():
        echo("• Demo data already loaded.")
        return 0
    dataset = Settings().units_dataset
    province, communes = demo_area(dataset)
    echo(f"• Loading demo data: {province.name} ({province.code}), {len(communes)} communes …")
    c = await Client.connect(nats_url, login)
    fresh = 0
    base = today_vn() - timedelta(days=45)
    try:
        hamlet_ids: dict[tuple[str, int], str] = {}
        for commune in communes:
            for hi, (hamlet, kind) in enumerate(HAMLETS):
                added = await c.command(
                    "scheduling",
                    "hamlet_add",
                    {
                        "command_id": f"demo-hamlet-{commune.code}-{hi}",
                        "commune_code": commune.code,
                        "name": hamlet,
                        "kind": kind,
                    },
                )
                hamlet_ids[(commune.code, hi)] = added["hamlet_id"]
        pilots = pick_pilots(communes)
        for commune in pilots:
            added = await c.command(
                "scheduling",
                "hamlet_add",
                {"command_id": f"demo-cell-{commune.code}", "commune_code": commune.code,
                 "name": PARTY_CELL[0], "kind": PARTY_CELL[1]},
            )  # fmt: skip
            hamlet_ids[(commune.code, len(HAMLETS))] = added["hamlet_id"]
        await wait_hamlets_seen(c, "scheduling")
        held = await load_meetings(c, province, communes, pilots, hamlet_ids)
        await wait_hamlets_seen(c)
        n = 0
        raised_ids: dict[int, str] = {}
        for ci, commune in enumerate(communes):
            for hi in range(2 + ci % 2):
                category, text = OPINIONS[(ci + hi) % len(OPINIONS)]
                n += 1
                cid = f"demo-raise-{n}"
                raised = await c.command(
                    "petitions",
                    "raise",
                    {
                        "command_id": cid,
                        "channel": "meeting" if hi != 1 else ["hotline", "letter", "reception", "portal"][ci % 4],
                        "kind": "petition" if n % 3 else "feedback",
                        "category": category,
                        "petitioner": {
                            "name": f"Người dân {n}",
                            "phone": f"09{n:08d}",
                            "address": f"{HAMLETS[hi][0]}, {commune.name}",
                            "confidential": n % 7 == 0,
                        },
                        "commune_code": commune.code,
                        "hamlet_id": hamlet_ids[(commune.code, hi)],
                        "text": text,
                        "received_on": (base + timedelta(days=ci)).isoformat(),
                    },
                )
                fresh += 0 if raised["replayed"] else 1
                raised_ids[n] = raised["petition_id"]
                await Life(c, raised["petition_id"], n, province.code, base + timedelta(days=ci), raised_ids).advance()
        n, fresh = await raise_at_meetings(c, held, hamlet_ids, province.code, n, fresh)
        await wait_petitions_projected(c)
        recorded = (await c.admin("petitions", "duties"))["recorded"]
        await wait_petitions_projected(c)
        filed = await load_reports(c, province, communes, pilots)
    finally:
        await c.close()
    marker.write_text("ok\n")
    echo(f"• Demo data: {n} petitions ({fresh} new); {len(recorded)} deadline events recorded; {filed} reports filed.")
    return fresh


async def wait_hamlets_seen(c: Client, service: str = "petitions", timeout: float = 30.0) -> None:
    """Commands check hamlets against their service's copy of the list: wait until it has them all."""
    await _wait_projected(c, service, {"hamlets"}, timeout)


async def wait_petitions_projected(c: Client, timeout: float = 30.0) -> None:
    """The deadline watcher looks in the read model: wait until it has every event."""
    await _wait_projected(c, "petitions", {"petitions"}, timeout)


async def _wait_projected(c: Client, service: str, names: set[str], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await c.admin(service, "status")
        followed = [p for p in status["projections"] if p["name"] in names]
        if len(followed) == len(names) and all(p["lag"] == 0 for p in followed):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"the {service} service did not catch up ({', '.join(sorted(names))})")
        await asyncio.sleep(0.05)


async def raise_at_meetings(
    c: Client, held: dict[str, str], hamlet_ids: dict[tuple[str, int], str], province: str, n: int, fresh: int
) -> tuple[int, int]:
    """Two opinions raised at each pilot commune's meeting held today: one answered on the spot,
    one forwarded to the province (the meeting's record counts them)."""
    for code, meeting_id in held.items():
        for k, (category, text) in enumerate(OPINIONS[:2]):
            n += 1
            raised = await c.command("petitions", "raise", {
                "command_id": f"demo-raise-{n}", "channel": "meeting", "kind": "petition", "category": category,
                "petitioner": {"name": f"Người dân {n}", "phone": f"09{n:08d}"}, "commune_code": code,
                "hamlet_id": hamlet_ids[(code, 0)], "text": text, "meeting_id": meeting_id,
            })  # fmt: skip
            fresh += 0 if raised["replayed"] else 1
            pid = raised["petition_id"]
            if k == 0:
                await c.command("petitions", "answer", {
                    "command_id": f"demo-answer-{n}", "petition_id": pid,
                    "answer": "Đã giải thích chính sách tại hội nghị.", "answered_by": "Chủ tịch UBND xã",
                })  # fmt: skip
            else:
                await c.command("petitions", "forward", {
                    "command_id": f"demo-forward-{n}", "petition_id": pid, "to_unit": province,
                    "to_agency": "Sở Xây dựng",
                })  # fmt: skip
    return n, fresh


class Life:
    """Moves petition number ``n`` along its life so the demo shows every state: received (and
    overdue for handling), answered, forwarded, returned, classified ineligible, accepted with a
    committed date (some extended, some past: overdue, with a delay notice), replied, closed,
    reopened, withdrawn, merged."""

    def __init__(self, c: Client, pid: str, n: int, province: str, received: date, ids: dict[int, str]) -> None:
        self.c, self.pid, self.n, self.province, self.received, self.ids = c, pid, n, province, received, ids

    async def do(self, name: str, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.c.command(
            "petitions", name, {"command_id": f"demo-{name}-{self.n}", "petition_id": self.pid, **body}
        )
        return result

    def day(self, after: int) -> str:
        return min(self.received + timedelta(days=after), today_vn()).isoformat()

    async def forward(self) -> None:
        await self.do(
            "forward", to_unit=self.province, to_agency="Sở Nông nghiệp và Môi trường", forwarded_on=self.day(2)
        )

    async def advance(self) -> None:
        stage = self.n % 10
        if stage == 0:
            if self.n % 20 == 10:
                await self.do("withdraw", reason="Người dân đã tự thỏa thuận", withdrawn_on=self.day(5))
            return  # or stays received: past its handling deadline, overdue
        if stage == 1:
            try:
                await self.do("answer", answer="Đã giải thích chính sách tại hội nghị.",
                              answered_by="Chủ tịch UBND xã", answered_on=self.day(0))  # fmt: skip
                return
            except RequestFailed:  # not answerable on the spot (came by hotline): forward instead
                stage = 2
        if stage == 5:
            await self.do("classify", kind="petition", eligible=False, reason="Trùng nội dung đã giải quyết",
                          classified_on=self.day(1))  # fmt: skip
            return
        if stage == 8 and self.n % 20 == 18:
            await self.do("classify", kind="petition", category="planning", classified_on=self.day(1))
            return
        await self.forward()
        if stage == 2:
            if self.n % 20 == 12 and self.n - 6 in self.ids:
                # about the same matter as an earlier one: merged into its case, answered with it
                await self.do("merge", case_id=self.ids[self.n - 6], merged_on=self.day(3))
            return
        if stage == 7:
            await self.do("return", reason="Thuộc thẩm quyền cấp xã", returned_on=self.day(4))
            return
        await self.do("accept", accepted_on=self.day(3))
        if stage == 6:  # committed to a date still ahead, then extended
            await self.do("commit", committed_date=(today_vn() + timedelta(days=2 + self.n % 4)).isoformat())
            if self.n % 20 == 16:
                await self.do(
                    "extend", reason="Chờ bố trí kinh phí", until=(today_vn() + timedelta(days=20)).isoformat()
                )
            return
        # a date promised and passed: overdue, and the petitioner must be told of the delay
        await self.do("commit", committed_date=self.day(20))
        if stage == 3:
            return
        await self.do("reply", document_no=f"{self.n}/UBND-VP", issued_on=self.day(25),
                      summary="Trả lời bằng văn bản cho người dân và thôn.",
                      internal_note="Đã họp liên ngành; kinh phí từ nguồn nông thôn mới.")  # fmt: skip
        if stage == 8:
            await self.do("verdict", verdict="satisfied")
        elif stage == 9:
            await self.do("verdict", verdict="not_resolved", comment="Mương vẫn chưa được nạo vét.")


async def load_reports(c: Client, province: Unit, communes: list[Unit], pilots: list[Unit]) -> int:
    """Reporting: the province owes monthly reports, its demo communes weekly and monthly ones,
    since 45 days ago, so several have fallen due (``ReportDue``) and passed their deadline
    (``ReportOverdue``). Half of the communes filed their last weekly report (late, after its
    deadline), one with a narrative and a corrected figure; a pilot commune filed an ad-hoc
    report. The rest are missing: what the province sees with ``caunoi reporting list``."""
    since = (today_vn() - timedelta(days=45)).isoformat()
    await c.command("reporting", "enrol", {"command_id": f"demo-enrol-{province.code}", "unit_code": province.code,
                                           "schedules": ["monthly"], "since": since})  # fmt: skip
    for u in communes:
        await c.command("reporting", "enrol", {"command_id": f"demo-enrol-{u.code}", "unit_code": u.code,
                                               "schedules": ["weekly", "monthly"], "since": since})  # fmt: skip
    names = {"reporting", "enrolments", "petition_facts", "meeting_facts"}
    for _ in range(2):  # what fell due, then what passed its deadline
        await _wait_projected(c, "reporting", names, 30)
        await c.admin("reporting", "duties")
    await _wait_projected(c, "reporting", names, 30)
    board = await c.query("reporting", "reports", {"unit": province.code, "schedule": "weekly"})
    latest: dict[str, str] = {}
    for r in board["items"]:  # newest first
        latest.setdefault(r["unit_code"], r["id"])
    filed = 0
    for i, u in enumerate(communes[: len(communes) // 2]):
        rid = latest.get(u.code)
        if rid is None:
            continue
        if i == 0:
            await c.command("reporting", "narrative", {
                "command_id": f"demo-narrative-{rid}", "report_id": rid, "section": "assessment",
                "text": "Tình hình Nhân dân ổn định; các ý kiến tập trung vào giao thông nông thôn và đất đai.",
            })  # fmt: skip
            await c.command("reporting", "correct", {
                "command_id": f"demo-correct-{rid}", "report_id": rid, "figure": "attendees", "value": 42,
                "reason": "Bổ sung đại biểu dự hội nghị tại chi bộ cơ quan (biên bản số 2)",
            })  # fmt: skip
        await c.command("reporting", "submit", {"command_id": f"demo-submit-{rid}", "report_id": rid})
        filed += 1
    pilot = pilots[0].code
    adhoc = await c.command("reporting", "open", {
        "command_id": f"demo-adhoc-{pilot}", "unit_code": pilot, "title": "Báo cáo đột xuất tình hình mưa lũ",
        "from_date": (today_vn() - timedelta(days=7)).isoformat(), "to_date": today_vn().isoformat(),
    })  # fmt: skip
    await c.command(
        "reporting", "submit", {"command_id": f"demo-adhoc-submit-{pilot}", "report_id": adhoc["report_id"]}
    )
    return filed + 1


def pick_pilots(communes: list[Unit]) -> list[Unit]:
    """Programme 1's pilots among the demo communes: one rural commune and one town or ward."""
    urban = [u for u in communes if u.kind in URBAN_KINDS]
    rural = [u for u in communes if u.kind not in URBAN_KINDS]
    return (urban[:1] + rural[:1]) if urban and rural else communes[:2]


async def _meeting(c: Client, cid: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A scheduling command of the demo; a proposal the service made by itself first (its
    rotation duty) is taken as the demo's."""
    try:
        out: dict[str, Any] = await c.command("scheduling", name, {"command_id": cid, **body})
    except RequestFailed as e:
        if e.code != "duplicate" or "meeting_id" not in e.error.get("details", {}):
            raise
        return {"meeting_id": e.error["details"]["meeting_id"]}
    return out


async def load_meetings(
    c: Client, province: Unit, communes: list[Unit], pilots: list[Unit], hamlet_ids: dict[tuple[str, int], str]
) -> dict[str, str]:
    """Pilots, their rotation, dialogues in every state, cadres; the meeting held today in each
    pilot commune (for the petitions raised there)."""
    today = today_vn()
    this_month = f"{today:%Y-%m}"
    nxt = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    tree = UnitTree.load(Settings().units_dataset)
    picker = tree.get(pilots[0].code).parent_code or province.code
    await c.command(
        "scheduling",
        "pilot_localities",
        {"command_id": f"demo-pilots-{picker}", "unit_code": picker, "communes": [u.code for u in pilots]},
    )
    chair = "Bí thư Đảng ủy"
    held: dict[str, str] = {}
    for pi, commune in enumerate(pilots):
        code = commune.code
        sites = [hamlet_ids[(code, i)] for i in ((0, 1, 3) if pi == 0 else (0, 2))]
        await c.command(
            "scheduling", "pilot_sites", {"command_id": f"demo-sites-{code}", "commune_code": code, "sites": sites}
        )
        now = await _meeting(c, f"demo-propose-{code}-0", "rotation_propose",
                             {"commune_code": code, "month": this_month, "date": today.isoformat()})  # fmt: skip
        mid = now["meeting_id"]
        held[code] = mid
        await _meeting(c, f"demo-accept-{code}-0", "meeting_accept", {"meeting_id": mid, "chair": chair})
        if pi == 0:
            text = f"Hội nghị đối thoại tại {commune.name}, 8 giờ hôm nay"
            await _meeting(
                c, f"demo-announce-{code}-0", "meeting_announce", {"meeting_id": mid, "broadcast_text": text}
            )
        await _meeting(c, f"demo-hold-{code}-0", "meeting_hold", {
            "meeting_id": mid, "chair": chair, "minutes_ref": f"{pi + 1}/BB-{code}",
            "attendees": {"party_committee": 3, "government": 4, "party_members": 9, "union_members": 8,
                          "citizens": 16},
            "representatives": [{"unit_code": picker, "name": "Đồng chí Trưởng Ban Dân vận", "office": "Ban Dân vận"}],
        })  # fmt: skip
        if pi == 0:
            await _meeting(c, f"demo-close-{code}-0", "meeting_close", {"meeting_id": mid, "summary": "Đã hoàn thành"})
        later = await _meeting(c, f"demo-propose-{code}-1", "rotation_propose",
                               {"commune_code": code, "month": f"{nxt:%Y-%m}"})  # fmt: skip
        if pi == 0:
            await _meeting(c, f"demo-accept-{code}-1", "meeting_accept", {"meeting_id": later["meeting_id"]})
            await _meeting(c, f"demo-postpone-{code}-1", "meeting_postpone", {
                "meeting_id": later["meeting_id"], "to_date": nxt.replace(day=25).isoformat(),
                "reason": "Trùng lịch tiếp xúc cử tri",
            })  # fmt: skip
    # programme 2: the province head's dialogues (one whose deadlines already passed, one planned, one cancelled)
    others = [u for u in communes if u not in pilots]
    for i, (days, target) in enumerate(((5, "party_members"), (30, "front_and_unions"), (45, "citizens"))):
        out = await _meeting(c, f"demo-dialogue-{i}", "dialogue_plan", {
            "plan_unit": province.code, "commune_code": others[i].code, "target_group": target,
            "date": (today + timedelta(days=days)).isoformat(), "start_time": "08:00",
            "venue": f"Hội trường {others[i].name}", "chair": "Bí thư Tỉnh ủy",
        })  # fmt: skip
        if i == 1:
            body = {"meeting_id": out["meeting_id"], "count": 12, "compiled_by": "Ban Dân vận Tỉnh ủy"}
            await _meeting(c, "demo-compile-1", "meeting_compile", body)
        if i == 2:
            await _meeting(c, "demo-cancel-2", "meeting_cancel",
                           {"meeting_id": out["meeting_id"], "reason": "Lãnh đạo tỉnh đi công tác"})  # fmt: skip
    # programme 3: a province cadre follows a commune, a commune cadre the members of a village
    await c.command("scheduling", "cadre_assign", {
        "command_id": "demo-cadre-0", "cadre": "Nguyễn Văn An", "cadre_unit": province.code, "area_kind": "commune",
        "area_id": others[0].code,
    })  # fmt: skip
    await c.command("scheduling", "cadre_assign", {
        "command_id": "demo-cadre-1", "cadre": "Lò Thị Mai", "cadre_unit": pilots[0].code, "area_kind": "citizens",
        "area_id": hamlet_ids[(pilots[0].code, 0)], "description": "Hội viên Hội Nông dân",
    })  # fmt: skip
    return held
