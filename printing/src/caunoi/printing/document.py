"""A printable A4 document in an embedded Unicode font: a title, headings, paragraphs, blocks side
by side, tables and images (charts). What caunoi prints (letters to citizens, reports, the forms of
the "Dân vận khéo" models) is built from these.

Text is composed (Unicode NFC) before it is laid out, so each Vietnamese letter is one glyph and
extracts as one character, whatever form the caller's text was in. The output is reproducible: the
same content gives the same bytes (the creation date is the one given, not the clock), so a
document can be recognised by its hash.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from caunoi.printing.fonts import Family, register

Align = Literal["L", "C", "R", "J"]
#: the earliest date fpdf2 accepts; used when no creation date is given, for reproducible output
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TABLE_ALIGN = {"L": "LEFT", "C": "CENTER", "R": "RIGHT", "J": "JUSTIFY"}


def nfc(value: object) -> str:
    """Text as the PDF gets it: composed (NFC), so each Vietnamese letter is one glyph; None is empty."""
    return unicodedata.normalize("NFC", "" if value is None else str(value))


class Document:
    """One A4 document. ``size`` is the body text's size in points."""

    def __init__(
        self,
        *,
        title: str,
        author: str = "caunoi",
        family: Family = "serif",
        size: float = 13,
        created: datetime | None = None,
        margins_mm: tuple[float, float, float] = (30, 20, 15),
    ) -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        left, top, right = margins_mm
        pdf.set_margins(left, top, right)
        pdf.set_auto_page_break(auto=True, margin=20)
        self.font = register(pdf, family)
        pdf.set_title(nfc(title))
        pdf.set_author(nfc(author))
        pdf.set_creator("caunoi")
        pdf.set_lang("vi")
        pdf.set_creation_date(created or EPOCH)
        pdf.add_page()
        pdf.set_font(self.font, size=size)
        self.pdf = pdf
        self.size = size

    @property
    def width(self) -> float:
        """The width between the margins (mm)."""
        return float(self.pdf.epw)

    def _line_height(self, size: float) -> float:
        return size * 0.3528 * 1.45  # points to mm, with leading

    def text(
        self,
        text: str,
        *,
        align: Align = "L",
        style: str = "",
        size: float | None = None,
        width: float = 0,
        indent: float = 0,
    ) -> None:
        """A block of text, wrapped to ``width`` (0: up to the right margin), starting at the left
        margin plus ``indent`` (mm)."""
        size = size or self.size
        self.pdf.set_font(self.font, style=style, size=size)
        self.pdf.set_x(self.pdf.l_margin + indent)
        self.pdf.multi_cell(
            width or self.width - indent,
            self._line_height(size),
            nfc(text),
            align=align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def title(self, main: str, *subtitles: str) -> None:
        """A document's title, centred in bold and larger, with subtitles (what it is about) below."""
        self.text(main, align="C", style="B", size=self.size + 2)
        for line in subtitles:
            self.text(line, align="C", style="B")
        self.space(3)

    def heading(self, text: str, *, size: float | None = None, align: Align = "C") -> None:
        self.space(1)
        self.text(text, align=align, style="B", size=size or self.size + 1)

    def paragraph(self, text: str, *, first_line_indent: bool = True, align: Align = "J", style: str = "") -> None:
        """Body text; paragraphs of official documents start indented. ``style``: "B", "I", "BI"."""
        self.text(("      " if first_line_indent else "") + text, align=align, style=style)
        self.space(1.5)

    def space(self, mm: float) -> None:
        self.pdf.ln(mm)

    def columns(
        self,
        blocks: Sequence[Sequence[tuple[str, str, float]]],
        widths: Sequence[float],
        aligns: Sequence[Align] = (),
    ) -> None:
        """Blocks side by side, each a list of (text, style, size) lines, aligned in its column
        (centred unless ``aligns`` says otherwise); the cursor ends below the tallest."""
        top = self.pdf.get_y()
        bottom = top
        x = self.pdf.l_margin
        aligns = list(aligns) or ["C"] * len(blocks)
        for lines, width, align in zip(blocks, widths, aligns, strict=True):
            self.pdf.set_xy(x, top)
            for text, style, size in lines:
                self.pdf.set_font(self.font, style=style, size=size)
                self.pdf.set_x(x)
                self.pdf.multi_cell(
                    width, self._line_height(size), nfc(text), align=align, new_x=XPos.LEFT, new_y=YPos.NEXT
                )
            bottom = max(bottom, self.pdf.get_y())
            x += width
        self.pdf.set_xy(self.pdf.l_margin, bottom)
        self.pdf.set_font(self.font, size=self.size)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float] | None = None,
        *,
        size: float | None = None,
        aligns: Sequence[Align] | None = None,
    ) -> None:
        """A ruled table with a bold header row (repeated on each page). Cells may be numbers (shown
        as text, None as empty); ``aligns`` per column (default left); ``size`` of its text."""
        self.pdf.set_font(self.font, size=size or self.size - 2)
        align = tuple(_TABLE_ALIGN[a] for a in aligns) if aligns else "LEFT"
        with self.pdf.table(
            col_widths=tuple(widths) if widths else None, first_row_as_headings=True, text_align=align,
            line_height=self._line_height(size or self.size - 2), padding=1,
        ) as t:  # fmt: skip
            head = t.row()
            for title in header:
                head.cell(nfc(title))
            for values in rows:
                row = t.row()
                for value in values:
                    row.cell(nfc(value))
        self.space(2)
        self.pdf.set_font(self.font, size=self.size)

    def image(self, png: bytes, *, width: float | None = None, caption: str | None = None) -> None:
        """A picture (a chart) centred between the margins, ``width`` mm wide (default: all of it),
        with an italic caption below."""
        w = min(width or self.width, self.width)
        self.pdf.image(io.BytesIO(png), x=self.pdf.l_margin + (self.width - w) / 2, w=w)
        if caption:
            self.text(caption, align="C", style="I", size=self.size - 1.5)
        self.space(2)

    def to_bytes(self) -> bytes:
        return bytes(self.pdf.output())
