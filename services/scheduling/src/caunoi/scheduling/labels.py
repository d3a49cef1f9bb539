"""What clerks read: Vietnamese labels (and English ones for ``--lang en``) of the scheduling
service's kinds and states."""

from __future__ import annotations

from caunoi.scheduling.events import AreaKind, AttendeeGroup, MeetingStatus, Programme, TargetGroup
from caunoi.shared.hamlets import HamletKind

KIND_VI: dict[HamletKind, str] = {
    HamletKind.thon: "Thôn",
    HamletKind.ap: "Ấp",
    HamletKind.ban: "Bản",
    HamletKind.buon: "Buôn",
    HamletKind.lang: "Làng",
    HamletKind.to_dan_pho: "Tổ dân phố",
    HamletKind.khu_pho: "Khu phố",
    HamletKind.khom: "Khóm",
    HamletKind.party_cell: "Chi bộ cơ quan",
    HamletKind.other: "Khác",
}

KIND_EN: dict[HamletKind, str] = {
    HamletKind.thon: "village (thôn)",
    HamletKind.ap: "hamlet (ấp)",
    HamletKind.ban: "village (bản)",
    HamletKind.buon: "village (buôn)",
    HamletKind.lang: "village (làng)",
    HamletKind.to_dan_pho: "residential group (tổ dân phố)",
    HamletKind.khu_pho: "quarter (khu phố)",
    HamletKind.khom: "neighbourhood (khóm)",
    HamletKind.party_cell: "agency party cell (chi bộ cơ quan)",
    HamletKind.other: "other",
}

STATUS_VI: dict[MeetingStatus, str] = {
    MeetingStatus.proposed: "Đề xuất",
    MeetingStatus.planned: "Đã lên lịch",
    MeetingStatus.postponed: "Đã hoãn",
    MeetingStatus.announced: "Đã thông báo",
    MeetingStatus.held: "Đã tổ chức",
    MeetingStatus.minutes_closed: "Đã khóa biên bản",
    MeetingStatus.cancelled: "Đã hủy",
}
STATUS_EN: dict[MeetingStatus, str] = {s: s.value.replace("_", " ") for s in MeetingStatus}

PROGRAMME_VI: dict[Programme, str] = {
    Programme.p1: "CT1 luân phiên",
    Programme.p2: "CT2 đối thoại",
}
PROGRAMME_EN: dict[Programme, str] = {Programme.p1: "P1 rotation", Programme.p2: "P2 dialogue"}

TARGET_VI: dict[TargetGroup, str] = {
    TargetGroup.front_and_unions: "Cán bộ, đoàn viên, hội viên MTTQ và các đoàn thể",
    TargetGroup.party_members: "Cán bộ, đảng viên",
    TargetGroup.citizens: "Nhân dân",
}

ATTENDEE_VI: dict[AttendeeGroup, str] = {
    AttendeeGroup.party_committee: "Cấp ủy",
    AttendeeGroup.government: "Chính quyền",
    AttendeeGroup.cadres: "Cán bộ",
    AttendeeGroup.party_members: "Đảng viên",
    AttendeeGroup.civil_servants: "Công chức, viên chức",
    AttendeeGroup.union_members: "Đoàn viên, hội viên",
    AttendeeGroup.citizens: "Nhân dân",
}

AREA_VI: dict[AreaKind, str] = {AreaKind.commune: "Xã", AreaKind.hamlet: "Thôn", AreaKind.citizens: "Người dân"}

SITE_STATE_VI = {"hosted": "Đã tổ chức", "pending": "Đã lên lịch", "remaining": "Chưa đến lượt"}
