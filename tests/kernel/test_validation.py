"""A body its model refuses, through the request edge (``dispatch``) of the real services'
endpoints: every ``invalid`` reply names the field, says what is wrong in Vietnamese
(``message``) and in English (``message_en``), and stores nothing. Both sources: pydantic's own
checks, and the request models' own validators (``caunoi.shared.validation.invalid``)."""

from __future__ import annotations

from typing import Any

import pytest
from support import Harness

from caunoi.notify.bootstrap import STREAM as NOTIFY
from caunoi.notify.handlers import ENDPOINTS as NOTIFY_ENDPOINTS
from caunoi.petitions.bootstrap import STREAM as PETITIONS
from caunoi.petitions.handlers import ENDPOINTS as PETITION_ENDPOINTS
from caunoi.reporting.bootstrap import STREAM as REPORTING
from caunoi.reporting.handlers import ENDPOINTS as REPORTING_ENDPOINTS
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.validation import VI

#: validation comes before the handler: these harnesses have no dependencies to reach
HARNESSES: dict[str, Harness[Any]] = {
    "petitions": Harness("petitions", PETITION_ENDPOINTS, None, InMemoryEventStore(PETITIONS)),
    "reporting": Harness("reporting", REPORTING_ENDPOINTS, None, InMemoryEventStore(REPORTING)),
    "notify": Harness("notify", NOTIFY_ENDPOINTS, None, InMemoryEventStore(NOTIFY)),
}
RAISE = {"channel": "reception", "category": "roads", "petitioner": {"name": "Lò Văn Dũng"},
         "commune_code": "00691", "text": "Đường hỏng"}  # fmt: skip
PLAN = {"form": "Hội nghị", "start": "2026-05-10", "place": "Nhà văn hóa"}
DEPLOY = {"model_id": "MH-0000000A", "steering_board": ["An"], "survey_report": "Khảo sát", "plan": PLAN}
ADHOC = {"unit_code": "00691", "title": "Sạt lở", "from_date": "2026-05-10", "to_date": "2026-05-12"}


def vietnamese(text: str) -> bool:
    """Written for a clerk: Vietnamese letters, not pydantic's English."""
    return any(c in text for c in "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


async def refused(service: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    err: dict[str, Any] = await HARNESSES[service].error(name, body)  # stores nothing, message and message_en set
    assert err["code"] == "invalid", err
    assert vietnamese(err["message"]) and not vietnamese(err["message_en"]), err
    for item in err["details"]["errors"]:
        assert vietnamese(item["message"]) and item["message_en"], item
    return err


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("service", "name", "body", "field", "vi"),
    [
        # the request models' own validators
        ("reporting", "open", {**ADHOC, "to_date": "2026-05-01"}, "to_date", "trước ngày bắt đầu 10/05/2026"),
        ("reporting", "open", {**ADHOC, "schedule": "monthly"}, "schedule", "không theo chế độ"),
        ("reporting", "open", {"unit_code": "00691", "title": "Sạt lở"}, "from_date", "báo cáo đột xuất"),
        ("reporting", "open", {"unit_code": "00691"}, "schedule", "Chọn chế độ báo cáo"),
        ("reporting", "compile", {"from_date": "2026-05-10", "to_date": "2026-05-01"}, "to_date", "trước ngày bắt đầu"),
        ("reporting", "compile", {"from_date": "2026-05-10"}, "to_date", "Cần cả từ ngày và đến ngày"),
        ("reporting", "compile", {"schedule": "monthly", "to_date": "2026-05-01"}, "schedule", "không cả hai"),
        ("reporting", "compile", {}, "schedule", "Chọn chế độ báo cáo"),
        # a nested model's validator: its field under the parent's
        ("reporting", "model_deploy", {**DEPLOY, "plan": {**PLAN, "end": "2026-05-01"}}, "plan.end", "trước ngày"),
        (
            "notify",
            "contact_set",
            {"unit": "00691", "hamlet_id": "00691-thon-1", "address": "x"},
            "unit",
            "Chọn đúng một",
        ),
        ("notify", "contact_set", {"unit": "00691", "phone": "12"}, "phone", "Không phải số điện thoại"),
        ("notify", "contact_set", {"unit": "00691", "email": "not an address"}, "email", "thư điện tử"),
        ("petitions", "raise", {**RAISE, "text": "Nhà [[ông A"}, "text", "[["),
        # pydantic's own checks, in Vietnamese
        ("petitions", "raise", {k: v for k, v in RAISE.items() if k != "text"}, "text", "Thiếu trường bắt buộc"),
        ("petitions", "raise", {**RAISE, "petitioner": {"name": ""}}, "petitioner.name", "Không được để trống"),
        ("petitions", "raise", {**RAISE, "text": "x" * 10_001}, "text", "Tối đa 10000 ký tự"),
        ("petitions", "raise", {**RAISE, "channel": "pigeon"}, "channel", "Phải là một trong các giá trị"),
        ("petitions", "raise", {**RAISE, "commune_code": "123"}, "commune_code", "Không đúng định dạng"),
        ("petitions", "raise", {**RAISE, "received_on": "hôm qua"}, "received_on", "YYYY-MM-DD"),
        ("petitions", "raise", {**RAISE, "surprise": 1}, "surprise", "không có trong lệnh"),
        ("petitions", "list", {"limit": "many"}, "limit", "số nguyên"),
    ],
)
async def test_an_invalid_body_is_refused_at_its_field_in_both_languages(
    service: str, name: str, body: dict[str, Any], field: str, vi: str
) -> None:
    err = await refused(service, name, body)
    assert err["field"] == field and vi in err["message"], err
    assert err["details"]["errors"][0]["field"] == field


@pytest.mark.asyncio
async def test_every_failing_field_is_listed() -> None:
    body = {**RAISE, "channel": "pigeon", "petitioner": {"name": ""}, "surprise": 1}
    err = await refused("petitions", "raise", body)
    listed = {e["field"]: e for e in err["details"]["errors"]}
    assert set(listed) == {"channel", "petitioner.name", "surprise"}
    assert listed["petitioner.name"]["message_en"] == "String should have at least 1 character"


def test_every_vietnamese_sentence_is_vietnamese() -> None:
    assert all(vietnamese(text) for text in VI.values())
