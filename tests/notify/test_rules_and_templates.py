"""The table of what causes which notice to whom, and the templates: every rule names the right
recipients from its event and facts, keeps personal data out of what it records, and renders in
Vietnamese and English; an operator's edited file replaces the shipped one and changes the
version; a broken one is reported, not sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from caunoi.notify import consumed as c
from caunoi.notify.compose import context_for
from caunoi.notify.domain import Notice, Reach
from caunoi.notify.events import NoticeKind, NoticeRecipient, RecipientKind
from caunoi.notify.rules import PERSONAL, RULES, rules_for
from caunoi.notify.templates import TemplateProblem, Templates, vndate
from caunoi.shared.events import ConsumedEvent

PETITION: dict[str, Any] = {
    "petition_id": "PA-7KQ2M9XD", "commune_code": "00691", "unit_path": ["08", "00691"], "dataset": "vn-2025",
    "hamlet_id": "00691-thon-dong-tam", "hamlet_name": "Thôn Đồng Tâm", "handling_unit": "00691", "handed_to": [],
    "received_on": date(2026, 11, 1), "text": "Đường liên thôn xuống cấp", "committed_date": date(2026, 12, 1),
    "latest_due": None, "petitioner_name": "Nguyễn Văn An", "petitioner_phone": "+84912345678",
    "petitioner_email": None, "petitioner_zalo": None, "petitioner_address": "Thôn Đồng Tâm", "erased": False,
    "unit_code": "00691",
}  # fmt: skip
MEETING: dict[str, Any] = {
    "meeting_id": "M-1", "commune_code": "00691", "unit_path": ["08", "00691"], "dataset": "vn-2025",
    "programme": "p2", "plan_unit": "08", "host_id": "00691-thon-dong-tam", "host_name": "Thôn Đồng Tâm",
    "date": date(2026, 12, 20), "start_time": "08:00:00", "venue": "Nhà văn hóa thôn", "unit_code": "00691",
    "handed_to": [],
}  # fmt: skip
REPORT = {
    "unit_code": "00691",
    "unit_path": ["08", "00691"],
    "dataset": "vn-2025",
    "handed_to": [],
    "unit_name": "Phường Hà Giang 2",
    "schedule_title": "Báo cáo tháng",
    "period_label": "tháng 12/2026",
}

HAMLET = NoticeRecipient(kind=RecipientKind.hamlet, id="00691-thon-dong-tam")
PETITIONER = NoticeRecipient(kind=RecipientKind.petitioner, id="PA-7KQ2M9XD")


def unit(code: str) -> NoticeRecipient:
    return NoticeRecipient(kind=RecipientKind.unit, id=code)


SAMPLES: list[tuple[ConsumedEvent, dict[str, Any], NoticeKind, list[NoticeRecipient]]] = [
    (c.ReplyIssued(petition_id="PA-7KQ2M9XD", document_no="12/UBND", issued_on=date(2026, 12, 5), by_unit="00691",
                   summary="Đã sửa xong.", recipients=["petitioner", "hamlet"]),
     PETITION, NoticeKind.written_reply, [PETITIONER, HAMLET]),
    (c.DelayNoticeRequired(petition_id="PA-7KQ2M9XD", committed_date=date(2026, 12, 1), handling_unit="00691",
                           noticed_on=date(2026, 12, 2)),
     PETITION, NoticeKind.delay_notice, [PETITIONER]),
    (c.DeadlineApproaching(petition_id="PA-7KQ2M9XD", deadline="committed", due_on=date(2026, 12, 1),
                           handling_unit="08", days_left=3),
     PETITION, NoticeKind.deadline_approaching, [unit("08")]),
    (c.PetitionOverdue(petition_id="PA-7KQ2M9XD", deadline="committed", due_on=date(2026, 12, 1),
                       handling_unit="00691"),
     PETITION, NoticeKind.petition_overdue, [unit("00691")]),
    (c.MeetingAnnounced(meeting_id="M-1", announced_on=date(2026, 12, 10), broadcast_text="Mời bà con dự họp."),
     MEETING, NoticeKind.meeting_announced, [HAMLET]),
    (c.MeetingMoved(meeting_id="M-1", from_date=date(2026, 12, 20), date=date(2026, 12, 22), venue="Hội trường"),
     MEETING, NoticeKind.meeting_moved, [HAMLET]),
    (c.MeetingPostponed(meeting_id="M-1", from_date=date(2026, 12, 20), date=date(2027, 1, 5), reason="Mưa bão"),
     MEETING, NoticeKind.meeting_moved, [HAMLET]),
    (c.MeetingCancelled(meeting_id="M-1", reason="Trùng lịch", cancelled_on=date(2026, 12, 15)),
     {**MEETING, "host_id": "chi-bo-co-quan"}, NoticeKind.meeting_cancelled, [unit("00691")]),
    (c.MeetingDeadlineMissed(meeting_id="M-1", deadline="opinions", due_on=date(2026, 12, 10),
                             meeting_date=date(2026, 12, 20)),
     MEETING, NoticeKind.opinions_reminder, [unit("00691"), unit("08")]),
    (c.MeetingDeadlineMissed(meeting_id="M-1", deadline="broadcast", due_on=date(2026, 12, 13),
                             meeting_date=date(2026, 12, 20)),
     MEETING, NoticeKind.broadcast_reminder, [unit("00691"), unit("08")]),
    (c.MinutesOverdue(meeting_id="M-1", held_on=date(2026, 12, 20), due_on=date(2026, 12, 27)),
     MEETING, NoticeKind.minutes_reminder, [unit("00691")]),
    (c.ReportDue(report_id="R-1", unit_code="00691", unit_name="Phường Hà Giang 2", unit_path=["08", "00691"],
                 dataset="vn-2025", schedule="monthly", schedule_title="Báo cáo tháng", period="2026-12",
                 period_label="tháng 12/2026", due_at=datetime(2026, 12, 15, 10, tzinfo=UTC)),
     REPORT, NoticeKind.report_due, [unit("00691")]),
    (c.ReportOverdue(report_id="R-1", unit_code="00691", schedule="monthly", period="2026-12",
                     due_at=datetime(2026, 12, 15, 10, tzinfo=UTC)),
     REPORT, NoticeKind.report_overdue, [unit("00691")]),
]  # fmt: skip


def planned(ev: ConsumedEvent, facts: dict[str, Any]) -> list[tuple[NoticeKind, NoticeRecipient, dict[str, Any]]]:
    return [(r.kind, who, r.context_for(ev, facts)) for r in rules_for(type(ev)) for who in r.recipients_for(ev, facts)]


@pytest.mark.parametrize(("ev", "facts", "kind", "recipients"), SAMPLES, ids=[type(s[0]).__name__ for s in SAMPLES])
def test_each_rule_names_its_recipients_and_renders_in_both_languages(
    ev: ConsumedEvent, facts: dict[str, Any], kind: NoticeKind, recipients: list[NoticeRecipient]
) -> None:
    out = planned(ev, facts)
    assert {k for k, _, _ in out} == {kind}
    assert [who for _, who, _ in out] == recipients
    templates = Templates()
    for _, who, context in out:
        assert not PERSONAL & set(context), "personal data in a notice's context"
        assert "Nguyễn Văn An" not in str(context)
        notice = Notice(id="NT-0000000000000000", kind=kind, template=kind.value, recipient=who,
                        unit_code="00691", dataset="vn-2025", context=context)  # fmt: skip
        for lang in ("vi", "en"):
            r = templates.render(kind.value, lang, context_for(notice, Reach("Người nhận"), lang))
            assert r.lang == lang and r.subject and r.short and r.paragraphs
            assert len(r.short) <= 480, r.short
            assert "{{" not in r.body and "None" not in r.body + r.short + r.subject


def test_every_kind_has_a_rule_and_both_templates() -> None:
    assert {r.kind for r in RULES} == set(NoticeKind)
    names = Templates().names()
    assert set(names) == {k.value for k in NoticeKind}
    for name in names:
        for lang in ("vi", "en"):
            assert Templates().source(name, lang)[0] == f"{lang}/{name}.j2"


def test_who_gets_a_written_reply_is_the_reply_s_choice_and_an_erased_petitioner_gets_none() -> None:
    reply = SAMPLES[0][0].model_copy(update={"recipients": ["hamlet"]})
    assert [who for _, who, _ in planned(reply, PETITION)] == [HAMLET]
    assert [who for _, who, _ in planned(SAMPLES[0][0], {**PETITION, "hamlet_id": None})] == [PETITIONER]
    assert [who for _, who, _ in planned(SAMPLES[0][0], {**PETITION, "erased": True})] == [HAMLET]


def test_the_delay_notice_says_the_new_date_of_the_latest_extension() -> None:
    ev = SAMPLES[1][0]
    extended = {**PETITION, "latest_due": date(2026, 12, 20), "latest_reason": "Chờ đo đạc lại"}
    assert planned(ev, extended)[0][2]["new_date"] == "2026-12-20"
    assert planned(ev, {**extended, "latest_due": date(2026, 11, 28)})[0][2]["new_date"] is None  # not later
    assert planned(ev, PETITION)[0][2]["new_date"] is None
    text = Templates().render("delay_notice", "vi", {**planned(ev, extended)[0][2], "unit_name": "Phường Hà Giang 2"})
    assert "01/12/2026" in text.body and "20/12/2026" in text.body and "PA-7KQ2M9XD" in text.subject
    assert "Chờ đo đạc lại" in text.body


def test_an_edited_template_replaces_the_shipped_one_and_changes_the_version(tmp_path: Path) -> None:
    shipped = Templates()
    _, _, version = shipped.source("report_due", "vi")
    (tmp_path / "vi").mkdir()
    (tmp_path / "vi" / "report_due.j2").write_text(
        "{% block subject %}Báo cáo {{ period }}{% endblock %}{% block short %}Hạn {{ due_on | vndate }}"
        "{% endblock %}{% block body %}Nộp báo cáo.{% endblock %}"
    )
    edited = Templates(tmp_path)
    r = edited.render("report_due", "vi", {"period": "tháng 12", "due_on": "2026-12-15"})
    assert (r.subject, r.short, r.body) == ("Báo cáo tháng 12", "Hạn 15/12/2026", "Nộp báo cáo.")
    assert r.version != version
    # a template without a file in the language asked for falls back to Vietnamese
    (tmp_path / "vi" / "custom.j2").write_text("{% block subject %}s{% endblock %}{% block short %}t{% endblock %}"
                                               "{% block body %}b{% endblock %}")  # fmt: skip
    assert edited.render("custom", "en", {}).lang == "vi"
    # a broken file is a problem to fix, not a notice to send
    (tmp_path / "vi" / "report_due.j2").write_text("{% block subject %}{{ nothing_here }}{% endblock %}")
    with pytest.raises(TemplateProblem):
        Templates(tmp_path).render("report_due", "vi", {})
    with pytest.raises(TemplateProblem):
        edited.render("no_such_template", "vi", {})


def test_dates_are_written_as_vietnamese_documents_write_them() -> None:
    assert vndate("2026-12-01") == "01/12/2026" == vndate(date(2026, 12, 1))
    assert vndate(None) == ""
