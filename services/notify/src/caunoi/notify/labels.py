"""What clerks read: Vietnamese (and English) labels of notify's values, shared by the CLI
(``caunoi notify``) and the web application."""

from __future__ import annotations

from caunoi.notify.events import DeliveryChannel, NoticeKind, RecipientKind

STATE_VI = {"queued": "Chờ gửi", "sent": "Đã gửi", "failed": "Thất bại"}
STATE_EN = {"queued": "Waiting", "sent": "Sent", "failed": "Failed"}
KIND_VI = {
    NoticeKind.written_reply: "Văn bản trả lời",
    NoticeKind.delay_notice: "Thông báo chậm giải quyết",
    NoticeKind.meeting_announced: "Thông báo hội nghị",
    NoticeKind.meeting_moved: "Đổi lịch hội nghị",
    NoticeKind.meeting_cancelled: "Hủy hội nghị",
    NoticeKind.opinions_reminder: "Nhắc tổng hợp ý kiến",
    NoticeKind.broadcast_reminder: "Nhắc thông báo truyền thanh",
    NoticeKind.minutes_reminder: "Nhắc hoàn thành biên bản",
    NoticeKind.deadline_approaching: "Sắp đến hạn",
    NoticeKind.petition_overdue: "Quá hạn giải quyết",
    NoticeKind.report_due: "Đến hạn báo cáo",
    NoticeKind.report_overdue: "Quá hạn báo cáo",
}
KIND_EN = {k: k.value.replace("_", " ").capitalize() for k in NoticeKind}
CHANNEL_VI = {
    DeliveryChannel.email: "Thư điện tử",
    DeliveryChannel.sms: "Tin nhắn SMS",
    DeliveryChannel.zalo: "Zalo",
    DeliveryChannel.letter: "Thư in gửi bưu điện",
}
CHANNEL_EN = {DeliveryChannel.email: "E-mail", DeliveryChannel.sms: "SMS", DeliveryChannel.zalo: "Zalo",
              DeliveryChannel.letter: "Printed letter"}  # fmt: skip
RECIPIENT_VI = {RecipientKind.petitioner: "Người nêu ý kiến", RecipientKind.hamlet: "Thôn, tổ dân phố",
                RecipientKind.unit: "Văn phòng đơn vị"}  # fmt: skip
RECIPIENT_EN = {RecipientKind.petitioner: "Petitioner", RecipientKind.hamlet: "Hamlet",
                RecipientKind.unit: "Unit office"}  # fmt: skip
#: a notice's events, as its history shows them
EVENT_LABELS = {
    "NoticeQueued": ("Chờ gửi", "Queued"),
    "DeliveryFailed": ("Gửi không thành công", "Delivery failed"),
    "NoticeSent": ("Đã gửi", "Sent"),
    "NoticeFailed": ("Thất bại (ngừng thử)", "Failed (gave up)"),
    "NoticeRequeued": ("Gửi lại", "Sent again"),
}
