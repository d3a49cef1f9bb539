"""An official letter (văn bản hành chính) as Vietnamese offices lay it out (Decree 30/2020/NĐ-CP,
simplified): the issuing unit and the document number on the left, the national motto and the
place and date on the right, the subject line (trích yếu), "Kính gửi" and the recipient, the body,
then "Nơi nhận" and the signature block."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Final

from caunoi.printing.clock import VN

MOTTO_VI: Final = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
MOTTO_EN: Final = ("SOCIALIST REPUBLIC OF VIETNAM", "Independence - Freedom - Happiness")


def date_line(place: str, on: date, lang: str = "vi") -> str:
    """``"Hòa Bình, ngày 05 tháng 12 năm 2026"`` (``lang="en"``: ``"Hòa Bình, 5 December 2026"``)."""
    if lang == "en":
        return f"{place}, {on.day} {on.strftime('%B')} {on.year}"
    return f"{place}, ngày {on.day:02d} tháng {on.month:02d} năm {on.year}"


@dataclass(frozen=True)
class Letter:
    #: the issuing unit, e.g. "ỦY BAN NHÂN DÂN XÃ HÒA BÌNH", and the unit above it, if shown
    issuer: str
    place: str
    on: date
    #: trích yếu: what the letter is about
    subject: str
    #: "Kính gửi: ..." lines (the recipient, and its address)
    recipient: Sequence[str]
    body: Sequence[str]
    issuer_parent: str | None = None
    #: "Số: 12/UBND-VP"
    number: str | None = None
    signer_title: Sequence[str] = ()
    signer_name: str | None = None
    copies_to: Sequence[str] = field(default_factory=tuple)
    #: a small line at the foot (e.g. the notice id, to find the record)
    footer: str | None = None
    lang: str = "vi"


def render_letter(letter: Letter) -> bytes:
    """The letter as a one- or two-page A4 PDF; the same letter gives the same bytes."""
    vi = letter.lang != "en"
    created = datetime.combine(letter.on, time(8), tzinfo=VN)
    # the PDF writer (fpdf2, Pillow, fonts: some 30 MB) is loaded by the first letter, not by every
    # process that only composes letters (notify's planner and endpoints)
    from caunoi.printing.document import Document

    doc = Document(title=letter.subject, created=created, margins_mm=(25, 20, 15))
    left = [(line, "", 11.0) for line in ([letter.issuer_parent] if letter.issuer_parent else [])]
    left.append((letter.issuer, "B", 11.0))
    if letter.number:
        left.append(((f"Số: {letter.number}" if vi else f"No. {letter.number}"), "", 11.0))
    left.append(((f"V/v {letter.subject}" if vi else f"Re: {letter.subject}"), "", 10.0))
    motto = MOTTO_VI if vi else MOTTO_EN
    right = [(motto[0], "B", 10.0), (motto[1], "B", 11.5), (date_line(letter.place, letter.on, letter.lang), "I", 11.5)]
    third = doc.width * 0.40
    doc.columns([left, right], [third, doc.width - third])
    doc.space(8)
    label = "Kính gửi:" if vi else "To:"
    for i, line in enumerate(letter.recipient):
        doc.text(f"{label} {line}" if i == 0 else line, align="L", indent=25 if i else 15, style="B" if i == 0 else "")
    doc.space(5)
    for paragraph in letter.body:
        doc.paragraph(paragraph)
    doc.space(6)
    half = doc.width / 2
    received = [("Nơi nhận:" if vi else "Copies to:", "BI", 11.0), *((f"- {c}", "", 10.0) for c in letter.copies_to)]
    sign = [(t, "B", 12.0) for t in letter.signer_title]
    sign += [("", "", 12.0)] * 3
    if letter.signer_name:
        sign.append((letter.signer_name, "B", 12.0))
    doc.columns([received, sign], [half, half], ["L", "C"])
    if letter.footer:
        doc.space(8)
        doc.text(letter.footer, size=8, style="I", align="L")
    return doc.to_bytes()
