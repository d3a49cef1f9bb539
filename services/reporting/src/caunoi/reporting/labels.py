"""What clerks read: Vietnamese labels (and English ones for ``--lang en``) of the figures,
fields, channels, statuses and narrative sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caunoi.reporting.commands import ReportStatus
from caunoi.reporting.domain import recognition
from caunoi.reporting.events import Section
from caunoi.reporting.model_commands import Stage
from caunoi.reporting.model_events import (
    CommendationForm,
    Direction,
    Level,
    ModelField,
    ModelKind,
    MonitoringKind,
    Sustainability,
    Tier,
)

#: figure -> (Vietnamese, English), in the order a report lists them
FIGURES: dict[str, tuple[str, str]] = {
    "meetings_planned": ("Hội nghị theo kế hoạch", "Meetings planned"),
    "meetings_held": ("Hội nghị đã tổ chức", "Meetings held"),
    "meetings_held_p1": ("  trong đó: mô hình «Phát huy tài dân, sức dân»", "  of which programme 1"),
    "meetings_held_p2": ("  trong đó: người đứng đầu đối thoại", "  of which programme 2"),
    "attendees": ("Lượt người tham dự", "Attendees"),
    "units_total": ("Đơn vị phải tổ chức", "Places that should hold meetings"),
    "units_without": ("Đơn vị chưa tổ chức", "Places that held none"),
    "opinions": ("Ý kiến, kiến nghị tiếp nhận", "Opinions raised"),
    "opinions_at_meetings": ("  trong đó: tại hội nghị", "  of which at meetings"),
    "answered_on_spot": ("Giải đáp trực tiếp tại hội nghị", "Answered on the spot"),
    "forwarded": ("Chuyển cấp có thẩm quyền giải quyết", "Forwarded to the competent tier"),
    "resolved": ("Đã giải quyết", "Resolved"),
    "replies_sent": ("Văn bản trả lời đã gửi", "Written replies sent"),
    "delay_notices_sent": ("Thông báo giải quyết chậm", "Delay notices"),
    "outstanding": ("Còn tồn, đang giải quyết (cuối kỳ)", "Outstanding (end of period)"),
    "overdue": ("Quá hạn (cuối kỳ)", "Overdue (end of period)"),
    "on_time": ("Trả lời đúng hạn", "Replies on time"),
    "timed": ("Trả lời có thời hạn", "Replies with a deadline"),
    "on_time_rate": ("Tỷ lệ đúng hạn", "On-time rate"),
    "models_registered": ("Mô hình «Dân vận khéo» đăng ký", '"Dân vận khéo" models registered'),
    "models_evaluated": ("Mô hình đã đánh giá", "Models evaluated"),
    "models_exceeded": ("  trong đó: vượt", "  of which exceeded"),
    "models_met": ("  trong đó: bằng", "  of which met"),
    "models_below": ("  trong đó: kém", "  of which below"),
    "models_recognised_grassroots": ("Mô hình được công nhận cấp cơ sở", "Models recognised: grassroots"),
    "models_recognised_district": ("Mô hình được công nhận cấp huyện", "Models recognised: district"),
    "models_recognised_province": ("Mô hình được công nhận cấp tỉnh", "Models recognised: province"),
    "models_commended": ("Mô hình được biểu dương, khen thưởng", "Models commended"),
}

FIELDS_VI: dict[str, str] = {
    "land": "Đất đai",
    "planning": "Quy hoạch",
    "roads": "Giao thông nông thôn",
    "drainage": "Thủy lợi, thoát nước",
    "farm_prices": "Giá nông sản",
    "security": "An ninh trật tự, tệ nạn xã hội",
    "new_rural": "Xây dựng nông thôn mới",
    "environment": "Môi trường",
    "social_policy": "Chính sách xã hội",
    "administration": "Thủ tục hành chính",
    "other": "Khác",
}

CHANNELS_VI: dict[str, str] = {
    "meeting": "Hội nghị",
    "reception": "Tiếp công dân",
    "hotline": "Đường dây nóng",
    "letter": "Đơn thư",
    "portal": "Cổng thông tin",
    "cadre": "Cán bộ phản ánh",
}

STATUS_VI: dict[ReportStatus, str] = {
    ReportStatus.pending: "Chưa đến hạn",
    ReportStatus.submitted: "Đã nộp",
    ReportStatus.late: "Nộp muộn",
    ReportStatus.missing: "CHƯA NỘP (quá hạn)",
}

STATUS_EN: dict[ReportStatus, str] = {
    ReportStatus.pending: "Not due yet",
    ReportStatus.submitted: "Submitted",
    ReportStatus.late: "Submitted late",
    ReportStatus.missing: "MISSING (overdue)",
}

SECTION_VI: dict[Section, str] = {
    Section.situation: "Tình hình chung",
    Section.assessment: "Nhận xét, đánh giá",
    Section.proposals: "Kiến nghị, đề xuất",
}


SECTION_EN: dict[Section, str] = {
    Section.situation: "General situation",
    Section.assessment: "Assessment",
    Section.proposals: "Proposals",
}
MODEL_FIELD_VI: dict[ModelField, str] = {
    ModelField.economy: "Kinh tế",
    ModelField.culture_society: "Văn hóa – xã hội",
    ModelField.defence_security: "Quốc phòng – an ninh",
    ModelField.political_system: "Xây dựng hệ thống chính trị",
    ModelField.four_no: "Nội dung «4 không»",
}
MODEL_KIND_VI: dict[ModelKind, str] = {ModelKind.collective: "Tập thể", ModelKind.individual: "Cá nhân"}
STAGE_VI: dict[Stage, str] = {
    Stage.idea: "1. Lên ý tưởng, đăng ký",
    Stage.deployment: "2. Triển khai",
    Stage.monitoring: "3. Theo dõi, kiểm tra",
    Stage.evaluation: "4. Đánh giá",
    Stage.recognition: "5. Công nhận",
    Stage.commendation: "6. Khen thưởng, nhân rộng",
}
LEVEL_VI: dict[Level, str] = {Level.exceeded: "Vượt", Level.met: "Bằng", Level.below: "Kém"}
TIER_VI: dict[Tier, str] = {t: f"Cấp {name}" for t, name in recognition.TIER_VI.items()}
MONITORING_VI: dict[MonitoringKind, str] = {
    MonitoringKind.progress_check: "Kiểm tra tiến độ",
    MonitoringKind.activity: "Việc đã làm",
    MonitoringKind.corrective_action: "Khắc phục hạn chế",
    MonitoringKind.commendation: "Động viên, khen thưởng",
}
SUSTAINABILITY_VI: dict[Sustainability, str] = {
    Sustainability.high: "Bền vững cao",
    Sustainability.medium: "Tương đối bền vững",
    Sustainability.low: "Chưa bền vững",
}
DIRECTION_VI: dict[Direction, str] = {Direction.at_least: "≥", Direction.at_most: "≤"}
COMMENDATION_VI: dict[CommendationForm, str] = {
    CommendationForm.praise: "Biểu dương",
    CommendationForm.certificate: "Giấy khen",
    CommendationForm.merit: "Bằng khen",
}

# the models' values in English, beside the tables above (the web pages show one or the other)
MODEL_FIELD_EN: dict[ModelField, str] = {
    ModelField.economy: "Economy",
    ModelField.culture_society: "Culture and society",
    ModelField.defence_security: "Defence and security",
    ModelField.political_system: "Building the political system",
    ModelField.four_no: "The «4 không» pledge",
}
MODEL_KIND_EN: dict[ModelKind, str] = {ModelKind.collective: "Collective", ModelKind.individual: "Individual"}
STAGE_EN: dict[Stage, str] = {
    Stage.idea: "1. Idea, registration",
    Stage.deployment: "2. Deployment",
    Stage.monitoring: "3. Monitoring",
    Stage.evaluation: "4. Evaluation",
    Stage.recognition: "5. Recognition",
    Stage.commendation: "6. Commendation, replication",
}
LEVEL_EN: dict[Level, str] = {Level.exceeded: "Exceeded", Level.met: "Met", Level.below: "Below"}
TIER_EN: dict[Tier, str] = {Tier.grassroots: "Grassroots", Tier.district: "District", Tier.province: "Province"}
MONITORING_EN: dict[MonitoringKind, str] = {
    MonitoringKind.progress_check: "Progress check",
    MonitoringKind.activity: "Work done",
    MonitoringKind.corrective_action: "Corrective action",
    MonitoringKind.commendation: "Encouragement, interim commendation",
}
SUSTAINABILITY_EN: dict[Sustainability, str] = {
    Sustainability.high: "Highly sustainable",
    Sustainability.medium: "Fairly sustainable",
    Sustainability.low: "Not yet sustainable",
}
COMMENDATION_EN: dict[CommendationForm, str] = {
    CommendationForm.praise: "Praise",
    CommendationForm.certificate: "Certificate of merit",
    CommendationForm.merit: "Merit award",
}
#: a model's events as its timeline names them: type name -> (Vietnamese, English)
MODEL_EVENTS: dict[str, tuple[str, str]] = {
    "ModelRegistered": ("Đăng ký mô hình", "Registered"),
    "ModelDeployed": ("Triển khai", "Deployed"),
    "MonitoringRecorded": ("Theo dõi, kiểm tra", "Monitoring entry"),
    "ModelEvaluated": ("Tự đánh giá", "Evaluated"),
    "ResultsReported": ("Báo cáo kết quả (Mẫu 2a)", "Results report (form 2a)"),
    "RecognitionVoted": ("Cấp ủy biểu quyết công nhận", "Committee's vote"),
    "RecognitionNoticed": ("Thông báo công nhận (Mẫu 2b)", "Recognition notice (form 2b)"),
    "ModelCommended": ("Biểu dương, khen thưởng", "Commended"),
    "ReplicationPlanned": ("Kế hoạch nhân rộng", "Replication plan"),
}


def figure_label(key: str, lang: str) -> str:
    vi, en = FIGURES.get(key, (key, key))
    return vi if lang == "vi" else en


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def figure_rows(view: Mapping[str, Any], lang: str = "vi") -> list[dict[str, Any]]:
    """A report's figures in report order as every output shows them (terminal, printout, web):
    the computed value, and beside it the corrected value and its reason where the unit corrected
    it. ``units_without`` counts the places that held none; the on-time rate is a percentage."""
    computed, final = view["compilation"]["totals"], view["final"]
    corrections = view.get("corrections") or {}
    rows = []
    for key in FIGURES:
        if key == "units_without":
            value: Any = len(computed["units_without_meeting"])
            shown: Any = value
        elif key == "on_time_rate":
            value, shown = percent(computed[key]), percent(final[key])
        else:
            value, shown = computed[key], final[key]
        fix = corrections.get(key)
        rows.append({
            "key": key, "label": figure_label(key, lang), "computed": value,
            "corrected": shown if fix else None, "reason": fix["reason"] if fix else None,
        })  # fmt: skip
    return rows
