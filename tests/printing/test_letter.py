"""Printed documents: a delay notice as an official letter (PDF) whose text extracts with every
Vietnamese diacritic intact, with the petition's reference, the committed date and the new date;
the same letter gives the same bytes; the font is embedded (no system font is used)."""

from __future__ import annotations

import io
from datetime import date
from typing import cast

import pypdf
from pypdf.generic import DictionaryObject

from caunoi.notify.compose import context_for, letter_for
from caunoi.notify.domain import Notice, Reach
from caunoi.notify.events import NoticeKind, NoticeRecipient, RecipientKind
from caunoi.notify.templates import Templates
from caunoi.printing.document import Document
from caunoi.printing.letter import render_letter

CONTEXT = {
    "petition_id": "PA-7KQ2M9XD", "received_on": "2026-11-01", "committed_date": "2026-12-01",
    "new_date": "2026-12-20", "text": "Đường liên thôn Đồng Tâm xuống cấp, ổ gà nhiều", "reason": None,
    "hamlet_name": "Thôn Đồng Tâm",
}  # fmt: skip


def delay_letter(lang: str = "vi") -> bytes:
    n = Notice(id="NT-ABCDEFGHJKMNPQRS", kind=NoticeKind.delay_notice, template="delay_notice",
               recipient=NoticeRecipient(kind=RecipientKind.petitioner, id="PA-7KQ2M9XD"), unit_code="00691",
               dataset="vn-2025", context=CONTEXT)  # fmt: skip
    reach = Reach("Nguyễn Thị Hường", address="Số 12, tổ 3, phường Hà Giang 2")
    rendered = Templates().render("delay_notice", lang, context_for(n, reach, lang))
    return render_letter(letter_for(n, reach, rendered, date(2026, 12, 2)))


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_delay_notice_letter_has_the_reference_and_both_dates_in_extractable_vietnamese() -> None:
    pdf = delay_letter()
    text = text_of(pdf)
    assert "PA-7KQ2M9XD" in text
    assert "Thời hạn cam kết giải quyết là ngày 01/12/2026" in text
    assert "Ngày dự kiến giải quyết xong mới là ngày 20/12/2026" in text
    for words in ("Kính gửi: Ông/bà Nguyễn Thị Hường", "Đường liên thôn Đồng Tâm xuống cấp, ổ gà nhiều",
                  "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                  "ỦY BAN NHÂN DÂN PHƯỜNG HÀ GIANG 2", "ngày 02 tháng 12 năm 2026"):  # fmt: skip
        assert words in text, words
    fonts = {str(f["/BaseFont"]) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages
             for f in cast(DictionaryObject, cast(DictionaryObject, p["/Resources"])["/Font"]).values()}  # fmt: skip
    assert fonts and all("DejaVuSerif" in f for f in fonts), fonts
    assert pdf == delay_letter(), "the same letter must give the same bytes"
    english = text_of(delay_letter("en"))
    assert "The new expected date is 20/12/2026" in english and "SOCIALIST REPUBLIC OF VIETNAM" in english


def test_a_document_with_a_table_keeps_its_text() -> None:
    doc = Document(title="Báo cáo", family="sans")
    doc.heading("BÁO CÁO KẾT QUẢ TIẾP XÚC, ĐỐI THOẠI")
    doc.table(["Đơn vị", "Số hội nghị", "Ý kiến"], [["Xã Hòa Bình", "3", "17"], ["Phường Hà Giang 2", "2", "9"]])
    text = text_of(doc.to_bytes())
    assert "BÁO CÁO KẾT QUẢ TIẾP XÚC, ĐỐI THOẠI" in text and "Phường Hà Giang 2" in text and "Số hội nghị" in text
