"""Printable Vietnamese documents (PDF) with a small surface: a document with a title, headings,
paragraphs, tables and images, written with fpdf2 in an embedded TrueType font that covers
Vietnamese (DejaVu Serif, shipped in matplotlib's wheel: no system font is used).

Kept apart from what a report says (:mod:`caunoi.reporting.printout`), so it can move to a shared
printing package unchanged.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos

FAMILY = "DejaVuSerif"
_STYLES = {
    "": "DejaVuSerif.ttf",
    "B": "DejaVuSerif-Bold.ttf",
    "I": "DejaVuSerif-Italic.ttf",
    "BI": "DejaVuSerif-BoldItalic.ttf",
}


def font_dir() -> Path:
    """matplotlib's own fonts (mpl-data/fonts/ttf): the DejaVu family, which covers Vietnamese."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def text(value: object) -> str:
    """Text as the PDF gets it: composed (NFC), so each Vietnamese letter is one glyph."""
    return unicodedata.normalize("NFC", "" if value is None else str(value))


class Document:
    """An A4 portrait document. Build it in order, then :meth:`render`."""

    def __init__(self, title: str, *, author: str = "caunoi", size: float = 11.5) -> None:
        self.size = size
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(20, 15, 15)
        pdf.set_auto_page_break(auto=True, margin=15)
        for style, name in _STYLES.items():
            pdf.add_font(FAMILY, style, str(font_dir() / name))
        pdf.set_title(text(title))
        pdf.set_author(text(author))
        pdf.set_creator("caunoi")
        pdf.add_page()
        pdf.set_font(FAMILY, "", size)
        self.pdf = pdf

    @property
    def width(self) -> float:
        """The width between the margins (mm)."""
        return float(self.pdf.epw)

    def masthead(self, left: Sequence[str], right: Sequence[str], dated: str) -> None:
        """The two-column head of an official document: the issuing body on the left, the
        national motto on the right, the place and date below it (italic)."""
        pdf, half = self.pdf, self.width / 2
        top = pdf.get_y()
        for i, line in enumerate(left):
            pdf.set_font(FAMILY, "B" if i else "", self.size - 0.5)
            pdf.cell(half, 5.5, text(line), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        bottom = pdf.get_y()
        pdf.set_y(top)
        for i, line in enumerate(right):
            pdf.set_x(pdf.l_margin + half)
            pdf.set_font(FAMILY, "B", self.size - (0.5 if i == 0 else 0))
            pdf.cell(half, 5.5, text(line), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_x(pdf.l_margin + half)
        pdf.set_font(FAMILY, "I", self.size - 0.5)
        pdf.cell(half, 7, text(dated), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(bottom, pdf.get_y()) + 4)
        pdf.set_font(FAMILY, "", self.size)

    def title(self, main: str, *subtitles: str) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, "B", self.size + 3)
        pdf.cell(0, 8, text(main), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "B", self.size)
        for s in subtitles:
            pdf.multi_cell(0, 6, text(s), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
        pdf.set_font(FAMILY, "", self.size)

    def heading(self, value: str, level: int = 1) -> None:
        pdf = self.pdf
        pdf.ln(2)
        pdf.set_font(FAMILY, "B", self.size + (1 if level == 1 else 0))
        pdf.multi_cell(0, 6.5, text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", self.size)

    def paragraph(self, value: str, *, italic: bool = False, bold: bool = False, indent: bool = True) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, ("B" if bold else "") + ("I" if italic else ""), self.size)
        body = ("     " if indent else "") + text(value)
        pdf.multi_cell(0, 6, body, align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", self.size)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float] | None = None,
        *,
        size: float | None = None,
    ) -> None:
        """A bordered table; the first column left-aligned, the others centred."""
        pdf = self.pdf
        pdf.set_font(FAMILY, "", size or self.size - 1.5)
        col_widths = tuple(widths) if widths else None
        align = ("LEFT", *("CENTER" for _ in headers[1:]))
        with pdf.table(col_widths=col_widths, text_align=align, line_height=5, padding=1) as t:
            head = t.row()
            for h in headers:
                head.cell(text(h))
            for r in rows:
                line = t.row()
                for v in r:
                    line.cell(text(v))
        pdf.ln(2)
        pdf.set_font(FAMILY, "", self.size)

    def image(self, png: bytes, *, width: float | None = None, caption: str | None = None) -> None:
        pdf = self.pdf
        w = width or self.width
        pdf.image(io.BytesIO(png), x=pdf.l_margin + (self.width - w) / 2, w=w)
        if caption:
            pdf.set_font(FAMILY, "I", self.size - 1.5)
            pdf.cell(0, 5, text(caption), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(FAMILY, "", self.size)
        pdf.ln(2)

    def columns(self, left: Sequence[str], right: Sequence[str]) -> None:
        """Two blocks side by side (the recipients on the left, the signature on the right)."""
        pdf, half = self.pdf, self.width / 2
        pdf.ln(4)
        top = pdf.get_y()
        for i, line in enumerate(left):
            pdf.set_font(FAMILY, "BI" if i == 0 else "", self.size - (0 if i == 0 else 1.5))
            pdf.cell(half, 5, text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        bottom = pdf.get_y()
        pdf.set_y(top)
        for i, line in enumerate(right):
            pdf.set_x(pdf.l_margin + half)
            pdf.set_font(FAMILY, "B" if i == 0 else "I", self.size)
            pdf.cell(half, 5.5, text(line), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(bottom, pdf.get_y()))
        pdf.set_font(FAMILY, "", self.size)

    def render(self) -> bytes:
        return bytes(self.pdf.output())
