"""What clerks read: Vietnamese labels (and English ones) of the petitions service's kinds,
fields, channels and events, for the CLI and the web application."""

from __future__ import annotations

from typing import Any

from caunoi.petitions.events import Category, Channel, Complexity, Kind, Verdict

KIND_VI = {
    Kind.feedback: "Phản ánh",
    Kind.petition: "Kiến nghị",
    Kind.proposal: "Đề xuất",
    Kind.complaint: "Khiếu nại lần đầu",
    Kind.complaint_second: "Khiếu nại lần hai",
    Kind.denunciation: "Tố cáo",
}
KIND_EN = {
    Kind.feedback: "feedback",
    Kind.petition: "petition",
    Kind.proposal: "proposal",
    Kind.complaint: "complaint (first)",
    Kind.complaint_second: "complaint (second)",
    Kind.denunciation: "denunciation",
}
#: the fields (lĩnh vực) as the seed reports group them
CATEGORY_VI = {
    Category.land: "Đất đai",
    Category.planning: "Quy hoạch",
    Category.roads: "Giao thông nông thôn",
    Category.drainage: "Thủy lợi, thoát nước",
    Category.farm_prices: "Giá nông sản",
    Category.security: "An ninh trật tự, tệ nạn xã hội",
    Category.new_rural: "Xây dựng nông thôn mới",
    Category.environment: "Môi trường",
    Category.social_policy: "Chính sách xã hội",
    Category.administration: "Thủ tục hành chính",
    Category.other: "Khác",
}
CATEGORY_EN = {
    Category.land: "Land",
    Category.planning: "Planning",
    Category.roads: "Rural roads",
    Category.drainage: "Irrigation and drainage",
    Category.farm_prices: "Farm prices",
    Category.security: "Security and social evils",
    Category.new_rural: "New rural area building",
    Category.environment: "Environment",
    Category.social_policy: "Social policy",
    Category.administration: "Administrative procedures",
    Category.other: "Other",
}
CHANNEL_VI = {
    Channel.meeting: "Hội nghị tiếp xúc, đối thoại",
    Channel.reception: "Tiếp công dân",
    Channel.hotline: "Đường dây nóng",
    Channel.letter: "Đơn thư",
    Channel.portal: "Cổng thông tin",
    Channel.cadre: "Cán bộ phản ánh",
}
CHANNEL_EN = {
    Channel.meeting: "dialogue meeting",
    Channel.reception: "citizen reception",
    Channel.hotline: "hotline",
    Channel.letter: "letter",
    Channel.portal: "portal",
    Channel.cadre: "cadre's report",
}
COMPLEXITY_VI = {
    Complexity.normal: "Thông thường",
    Complexity.complex: "Phức tạp",
    Complexity.especially_complex: "Đặc biệt phức tạp",
}
COMPLEXITY_EN = {c: c.value.replace("_", " ") for c in Complexity}
VERDICT_VI = {Verdict.satisfied: "Hài lòng", Verdict.not_resolved: "Chưa được giải quyết (phản ánh lại)"}
VERDICT_EN = {Verdict.satisfied: "satisfied", Verdict.not_resolved: "not resolved (reopens)"}

#: what each event of a petition's timeline says, in Vietnamese and English
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "PetitionRaised": ("Tiếp nhận", "received"),
    "PetitionClassified": ("Phân loại", "classified"),
    "PetitionAnsweredOnSpot": ("Giải đáp tại hội nghị", "answered on the spot"),
    "PetitionForwarded": ("Chuyển", "forwarded"),
    "PetitionReturned": ("Trả lại đơn vị chuyển", "returned to the sender"),
    "PetitionAccepted": ("Thụ lý", "accepted"),
    "CommitmentSet": ("Cam kết thời hạn", "date committed"),
    "PetitionExtended": ("Gia hạn", "extended"),
    "ReplyIssued": ("Văn bản trả lời", "written reply"),
    "VerdictGiven": ("Ý kiến người nêu", "petitioner's verdict"),
    "PetitionWithdrawn": ("Rút đơn", "withdrawn"),
    "PetitionMerged": ("Gộp vào vụ việc", "merged into a case"),
    "DeadlineApproaching": ("Sắp đến hạn", "deadline approaching"),
    "PetitionOverdue": ("Quá hạn", "overdue"),
    "DelayNoticeRequired": ("Phải thông báo chậm giải quyết", "delay notice required"),
    "PetitionerDataErased": ("Xóa dữ liệu cá nhân người nêu", "petitioner's personal data erased"),
}


def event_name(event_type: str) -> str:
    """``vn.caunoi.petitions.PetitionRaised.v2`` -> ``PetitionRaised``."""
    return event_type.rsplit(".", 2)[-2] if event_type.count(".") >= 2 else event_type


def detail(name: str, d: dict[str, Any]) -> str:
    """What one event of the timeline says, briefly, and the deadline it sets."""
    what = _detail(name, d)
    dl = d.get("deadline")
    if isinstance(dl, dict):
        limit = f" ({dl['limit']} {dl['unit']})" if dl.get("limit") else ""
        what = f"{what}  ⏱ {dl['kind']} {dl['due_on']}{limit}".strip()
    return what


def _detail(name: str, d: dict[str, Any]) -> str:
    match name:
        case "PetitionClassified":
            return f"{d['kind']}, {d['category']}" + ("" if d["eligible"] else f" ✗ {d.get('reason') or ''}")
        case "PetitionForwarded":
            return f"{d['from_unit']} → {d['to_unit']}" + (f" ({d['to_agency']})" if d.get("to_agency") else "")
        case "PetitionReturned":
            return f"{d['from_unit']} → {d['to_unit']}: {d['reason']}"
        case "PetitionAccepted":
            return f"{d['complexity']}" + (", remote" if d.get("remote_area") else "")
        case "CommitmentSet":
            return str(d["committed_date"])
        case "PetitionExtended":
            return f"#{d['number']} {d['previous_due']} → {d['new_due']}: {d['reason']}"
        case "ReplyIssued":
            return f"{d['document_no']} ({d['issued_on']})" + (f", case {d['case_id']}" if d.get("case_id") else "")
        case "VerdictGiven":
            return str(d["verdict"])
        case "PetitionMerged":
            return f"→ {d['case_id']}"
        case "PetitionRaised":
            return str(d["channel"])
        case "DeadlineApproaching" | "PetitionOverdue":
            return f"{d['deadline']} {d['due_on']}"
        case "DelayNoticeRequired":
            return f"committed {d['committed_date']}"
        case "PetitionerDataErased":
            return str(d["reason"])
    return ""
