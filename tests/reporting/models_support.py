"""What the "Dân vận khéo" model tests share: a reporting service on a unit dataset, and the bodies of
a model's steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reporting.harness import Reporting

from caunoi.petitions.bootstrap import STREAM as PETITIONS
from caunoi.reporting.domain.periods import TZ
from caunoi.reporting.settings import ReportingSettings
from caunoi.shared.hamlets import SCHEDULING_STREAM
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.projection import Pool
from caunoi.shared.units import UnitTree

Body = dict[str, Any]


def at(y: int, m: int, d: int, hh: int = 12) -> datetime:
    return datetime(y, m, d, hh, tzinfo=TZ).astimezone(UTC)


async def reporting(pool: Pool, now: datetime, dataset: str = "vn-2025", **settings: Any) -> Reporting:
    return await Reporting(
        pool, InMemoryEventStore(PETITIONS), InMemoryEventStore(SCHEDULING_STREAM), now,
        units=UnitTree.load(dataset), settings=ReportingSettings(**settings),
    ).setup()  # fmt: skip


def registration(unit: str, **extra: Any) -> dict[str, Any]:
    return {
        "unit_code": unit, "agency": "Hội Liên hiệp Phụ nữ", "name": "Dân vận khéo trong hiến đất làm đường",
        "kind": "collective", "holder": "Chi hội Phụ nữ thôn Đồng Tâm", "field": "economy",
        "problem": "Đường liên thôn hẹp, xuống cấp; nhiều hộ chưa đồng thuận hiến đất",
        "resources": {"participants": 120, "core_team": ["Nguyễn Thị Hoa", "Trần Văn Nam"], "budget_vnd": 50_000_000,
                      "budget_source": "Nhân dân đóng góp, ngân sách xã"},
        "criteria": ["Gắn với sự lãnh đạo của cấp ủy", "Được Nhân dân đồng tình ủng hộ", "Kết hợp hài hòa 3 lợi ích"],
        "expected_results": "Mở rộng 3 km đường liên thôn, 100% hộ ký cam kết",
        "targets": [
            {"text": "Hộ hiến đất", "value": 40, "unit": "hộ"},
            {"text": "Đường được mở rộng", "value": 3, "unit": "km"},
            {"text": "Vụ khiếu kiện về đất", "value": 2, "unit": "vụ", "direction": "at_most"},
        ],
        **extra,
    }  # fmt: skip


def deployment(model_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "model_id": model_id, "steering_board": ["Bí thư Đảng ủy (trưởng ban)", "Chủ tịch UBND", "Chủ tịch MTTQ"],
        "survey_team": ["Cán bộ địa chính"], "publicity_team": ["Chi hội trưởng phụ nữ"],
        "survey_report": "62 hộ dọc tuyến; 40 hộ cần hiến đất", "pledge": True,
        "assignments": [{"who": "Chủ tịch MTTQ", "task": "Vận động các hộ ký cam kết"}],
        "plan": {"form": "Họp dân, vận động từng hộ", "start": "2025-10-01", "end": "2026-03-31",
                 "place": "Thôn Đồng Tâm", "budget_vnd": 50_000_000},
        **extra,
    }  # fmt: skip


def evaluation(model_id: str, results: Sequence[float] = (55, 3.2, 0), **extra: Any) -> dict[str, Any]:
    return {
        "model_id": model_id, "results": [{"target_id": f"t{i}", "result": r} for i, r in enumerate(results, 1)],
        "sustainability": "high", "replicable_at": "province",
        "findings": "Nhân dân tích cực; chính quyền phối hợp chặt chẽ; không phát sinh kinh phí",
        **extra,
    }  # fmt: skip


def vote(model_id: str, tier: str, members: int = 15, present: int = 13, in_favour: int = 12, **x: Any) -> Body:
    return {"model_id": model_id, "tier": tier, "members": members, "present": present, "in_favour": in_favour,
            "against": 1, "abstaining": 0, **x}  # fmt: skip


def notice(model_id: str, tier: str, number: str, **extra: Any) -> dict[str, Any]:
    return {"model_id": model_id, "tier": tier, "number": number, "signer_name": "Nguyễn Văn Bình",
            "signer_title": "Phó Bí thư Thường trực", **extra}  # fmt: skip
