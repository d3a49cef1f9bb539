"""The demo data set: a real province and a dozen of its communes (from the shipped unit data),
hamlets, and petitions in several states.

Every command has a fixed command id, so loading twice stores nothing twice: the second run's
commands come back as replays. A marker file only saves the time of trying.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from caunoi.shared.client import Client, Login
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
    """Load the demo set; return how many petitions were newly stored."""
    marker = data_dir / MARKER
    if marker.exists():
        echo("• Demo data already loaded.")
        return 0
    dataset = Settings().units_dataset
    province, communes = demo_area(dataset)
    echo(f"• Loading demo data: {province.name} ({province.code}), {len(communes)} communes …")
    c = await Client.connect(nats_url, login)
    fresh = 0
    base = date(2026, 10, 5)
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
        await wait_hamlets_seen(c)
        n = 0
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
                        "petitioner": {"name": f"Người dân {n}", "confidential": n % 7 == 0},
                        "commune_code": commune.code,
                        "hamlet_id": hamlet_ids[(commune.code, hi)],
                        "text": text,
                        "received_on": (base + timedelta(days=ci)).isoformat(),
                    },
                )
                fresh += 0 if raised["replayed"] else 1
                await _advance(c, raised["petition_id"], n, province.code, base + timedelta(days=ci))
    finally:
        await c.close()
    marker.write_text("ok\n")
    echo(f"• Demo data: {n} petitions ({fresh} new).")
    return fresh


async def wait_hamlets_seen(c: Client, timeout: float = 30.0) -> None:
    """Petitions checks hamlets against its own copy of the list: wait until it has them all."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await c.admin("petitions", "status")
        copy = [p for p in status["projections"] if p["name"] == "hamlets"]
        if copy and copy[0]["lag"] == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("the petitions service did not catch up with the hamlet list")
        await asyncio.sleep(0.05)


async def _advance(c: Client, pid: str, n: int, province: str, received: date) -> None:
    """Move petition number ``n`` along its life so the demo shows every state."""
    stage = n % 5
    meta: dict[str, Any] = {}
    if stage == 0:
        return  # stays received
    if stage == 1:
        try:
            await c.command(
                "petitions",
                "answer",
                {
                    **meta,
                    "command_id": f"demo-answer-{n}",
                    "petition_id": pid,
                    "answer": "Đã giải thích chính sách tại hội nghị.",
                    "answered_by": "Chủ tịch UBND xã",
                    "answered_on": received.isoformat(),
                },
            )
        except Exception:  # noqa: BLE001 - not answerable on the spot (e.g. came by hotline): forward instead
            stage = 2
        else:
            return
    if stage in (2, 3, 4):
        await c.command(
            "petitions",
            "forward",
            {
                **meta,
                "command_id": f"demo-forward-{n}",
                "petition_id": pid,
                "to_unit": province,
                "to_agency": "Sở Nông nghiệp và Môi trường",
                "forwarded_on": received.isoformat(),
            },
        )
    if stage in (3, 4):
        await c.command(
            "petitions",
            "commit",
            {
                **meta,
                "command_id": f"demo-commit-{n}",
                "petition_id": pid,
                "committed_date": (received + timedelta(days=30)).isoformat(),
            },
        )
    if stage == 4:
        await c.command(
            "petitions",
            "reply",
            {
                **meta,
                "command_id": f"demo-reply-{n}",
                "petition_id": pid,
                "document_no": f"{n}/UBND-VP",
                "issued_on": (received + timedelta(days=20)).isoformat(),
                "summary": "Trả lời bằng văn bản cho người dân và thôn.",
            },
        )
