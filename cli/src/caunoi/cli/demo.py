"""The demo data set: a real province and a dozen of its communes (from the shipped unit data),
hamlets, programme 1 pilots with their rotation, dialogue meetings in several states (dated from
today, since a meeting is planned for the future and held in the past), cadres following areas,
petitions in every state of their life, some raised at the demo's meetings, reports, and
"Dân vận khéo" models at each step, one recognised up to the province and commended.

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
        models = await load_models(c, province, communes)
    finally:
        await c.close()
    marker.write_text("ok\n")
    echo(f"• Demo data: {n} petitions ({fresh} new); {len(recorded)} deadline events recorded; {filed} reports filed; "
         f"{models} \"Dân vận khéo\" models.")  # fmt: skip
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


def _ago(days: int) -> str:
    return (today_vn() - timedelta(days=days)).isoformat()


def _target(text: str, value: float, unit: str, at_most: bool = False) -> dict[str, Any]:
    return {"text": text, "value": value, "unit": unit, "direction": "at_most" if at_most else "at_least"}


class Model:
    """One demo model's steps, each with a fixed command id, dated ``days`` before today."""

    def __init__(self, c: Client, key: str) -> None:
        self.c, self.key, self.id = c, key, ""
        self.result: dict[str, Any] = {}

    async def do(self, name: str, days: int, dated: str | None, **body: Any) -> None:
        if dated:
            body[dated] = _ago(days)
        cid = f"demo-model-{self.key}-{name}-{body.get('tier', '')}-{days}"
        self.result = await self.c.command("reporting", name, {"command_id": cid, "model_id": self.id, **body})

    async def register(self, unit: Unit, days: int, name: str, field: str, holder: str, problem: str,
                       targets: list[dict[str, Any]]) -> None:  # fmt: skip
        body = {
            "command_id": f"demo-model-{self.key}-register", "unit_code": unit.code, "name": name, "field": field,
            "holder": holder, "problem": problem, "expected_results": "; ".join(t["text"] for t in targets),
            "targets": targets, "resources": {"participants": 80, "budget_vnd": 30_000_000},
            "criteria": ["Gắn với sự lãnh đạo của cấp ủy", "Được Nhân dân đồng tình ủng hộ"],
            "registered_on": _ago(days),
        }  # fmt: skip
        self.result = await self.c.command("reporting", "model_register", body)
        self.id = self.result["model_id"]

    async def deploy(self, days: int) -> None:
        await self.do(
            "model_deploy", days, "deployed_on", steering_board=["Bí thư Đảng ủy (trưởng ban)", "Chủ tịch UBND"],
            survey_team=["Công chức địa chính"], publicity_team=["Chi hội Phụ nữ", "Chi đoàn Thanh niên"],
            survey_report="Khảo sát các hộ, nắm tâm tư, nguyện vọng của Nhân dân", pledge=True,
            assignments=[{"who": "Chủ tịch Ủy ban MTTQ", "task": "Vận động Nhân dân ký cam kết"}],
            plan={"form": "Họp dân, loa truyền thanh, vận động từng hộ", "start": _ago(days), "place": "Các thôn",
                  "budget_vnd": 30_000_000},
        )  # fmt: skip

    async def evaluate(self, days: int, results: list[float], replicable_at: str) -> None:
        outcomes = [{"target_id": f"t{i}", "result": r} for i, r in enumerate(results, start=1)]
        await self.do("model_evaluate", days, "evaluated_on", results=outcomes, sustainability="high",
                      replicable_at=replicable_at, findings="Cấp ủy vào cuộc; Nhân dân đồng thuận cao")  # fmt: skip

    async def recognise_up(self, days: int, top: str) -> None:
        """Up the ladder (as the service gives it for the unit dataset) to ``top``, rung by rung: the
        results report, the vote, the notice. Loading again replays each with what it stored."""
        ladder = (await self.c.query("reporting", "model", {"model_id": self.id}))["ladder"]
        for tier in ladder[: ladder.index(top) + 1]:
            await self.do("model_report", days, "reported_on", proposed_tier=tier,
                          achievements="Đạt và vượt các chỉ tiêu đăng ký; Nhân dân đồng tình hưởng ứng")  # fmt: skip
            await self.do("model_vote", days - 2, "voted_on", tier=tier, members=15, present=14, in_favour=13)
            await self.do("model_notice", days - 3, "issued_on", tier=tier, number=f"{days:02d}-TB",
                          signer_name="Nguyễn Văn Thành", signer_title="Phó Bí thư Thường trực")  # fmt: skip
            days -= 6


async def load_models(c: Client, province: Unit, communes: list[Unit]) -> int:
    """The "Dân vận khéo" models: one recognised up to the province (through the district in the legacy
    structure), commended this year, with a replication plan; one recognised at the grassroots, the
    year's candidate for commendation; one evaluated below; one being monitored and one only
    registered, neither updated for months (``caunoi reporting models list --stale``)."""
    road = Model(c, "road")
    await road.register(communes[0], 300, "Dân vận khéo trong vận động Nhân dân hiến đất làm đường", "economy",
                        "Ban Công tác Mặt trận thôn Đồng Tâm", "Đường liên thôn hẹp; nhiều hộ chưa đồng thuận hiến đất",
                        [_target("Hộ hiến đất", 40, "hộ"), _target("Đường được mở rộng", 3, "km"),
                         _target("Khiếu kiện về đất", 2, "vụ", at_most=True)])  # fmt: skip
    await road.deploy(290)
    await road.do("model_monitor", 200, "on", kind="progress_check", text="Đã vận động 30/40 hộ ký cam kết")
    await road.do("model_monitor", 120, "on", kind="commendation", text="Biểu dương 5 hộ hiến đất tiêu biểu")
    await road.evaluate(70, [52, 3.4, 0], "province")
    await road.recognise_up(60, "province")
    reason = "Mô hình tiêu biểu trong phong trào «Dân vận khéo»"
    year = (today_vn() - timedelta(days=10)).year
    await road.do("model_commend", 10, "on", year=year, form="merit", by_unit=province.code, reason=reason)
    await road.do("model_replicate", 0, None, scope="province", by_unit=province.code, from_date=_ago(0),
                  units=[u.code for u in communes[1:4]], plan="Nhân rộng ra các xã trong tỉnh")  # fmt: skip

    village = Model(c, "village")
    await village.register(communes[4], 200, "Dân vận khéo trong xây dựng thôn nông thôn mới kiểu mẫu",
                           "culture_society", "Chi bộ thôn Tân Lập", "Cảnh quan, môi trường thôn chưa đạt chuẩn",
                           [_target("Hộ đạt gia đình văn hóa", 90, "%"),
                            _target("Tuyến đường hoa", 2, "tuyến")])  # fmt: skip
    await village.deploy(190)
    await village.evaluate(40, [92, 2], "grassroots")
    await village.recognise_up(35, "grassroots")

    crops = Model(c, "crops")
    await crops.register(communes[5], 220, "Dân vận khéo trong chuyển đổi cơ cấu cây trồng", "economy",
                         "Hội Nông dân xã", "Đất lúa một vụ kém hiệu quả",
                         [_target("Diện tích chuyển đổi", 20, "ha")])  # fmt: skip
    await crops.deploy(210)
    await crops.evaluate(20, [12], "grassroots")

    plastic = Model(c, "plastic")
    await plastic.register(communes[6], 160, "Khu dân cư «4 không» – nói không với rác thải nhựa", "four_no",
                           "Chi đoàn Thanh niên thôn", "Rác thải nhựa xả bừa bãi",
                           [_target("Điểm rác tự phát", 0, "điểm", at_most=True)])  # fmt: skip
    await plastic.deploy(150)
    await plastic.do("model_monitor", 110, "on", kind="progress_check", text="Còn 2 điểm rác ở cuối thôn")

    patrol = Model(c, "patrol")
    await patrol.register(communes[7], 240, "Tổ tự quản an ninh trật tự khu dân cư", "defence_security",
                          "Ban Công tác Mặt trận khu dân cư", "Trộm cắp vặt, thanh niên tụ tập ban đêm",
                          [_target("Vụ việc an ninh trật tự", 4, "vụ", at_most=True)])  # fmt: skip
    return 5


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
