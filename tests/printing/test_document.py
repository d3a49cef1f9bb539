"""The printable document every caunoi PDF is built from (letters, reports, the models' forms): a
title, styled paragraphs, tables of numbers, images, blocks side by side; text given decomposed
(NFD, as some keyboards and files give Vietnamese) extracts composed; the same content gives the
same bytes."""

from __future__ import annotations

import io
import unicodedata

import pypdf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from caunoi.printing.document import Document


def text_of(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def chart() -> bytes:
    fig = Figure(figsize=(4, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot().bar(["Vượt", "Bằng", "Kém"], [3, 2, 1])
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=60)
    return out.getvalue()


def report() -> bytes:
    doc = Document(title="Báo cáo kết quả", size=11.5, margins_mm=(20, 15, 15))
    doc.columns([[("ĐẢNG ỦY XÃ SƠN VĨ", "B", 11)], [("ĐẢNG CỘNG SẢN VIỆT NAM", "B", 11)]], [85, 90])
    doc.title("BÁO CÁO", "Kết quả xây dựng mô hình “Dân vận khéo”")
    doc.heading("I. KẾT QUẢ", align="L")
    doc.paragraph(unicodedata.normalize("NFD", "Mô hình được Nhân dân đồng tình ủng hộ."), style="I")
    rows: list[list[object]] = [["Hộ tham gia", 120, 150.5, "Vượt"], ["Vụ vi phạm", 5, None, ""]]
    doc.table(["Chỉ tiêu", "Đăng ký", "Kết quả", "Mức"], rows, widths=(70, 35, 35, 35), aligns=["L", "C", "C", "C"])
    doc.image(chart(), width=90, caption="Biểu đồ mức đánh giá")
    return doc.to_bytes()


def test_a_report_keeps_its_text_numbers_and_image_and_composes_decomposed_text() -> None:
    pdf = report()
    text = text_of(pdf)
    for words in ("ĐẢNG ỦY XÃ SƠN VĨ", "BÁO CÁO", "Kết quả xây dựng mô hình “Dân vận khéo”", "I. KẾT QUẢ",
                  "Mô hình được Nhân dân đồng tình ủng hộ.", "Hộ tham gia 120 150.5 Vượt", "Vụ vi phạm 5",
                  "Biểu đồ mức đánh giá"):  # fmt: skip
        assert words in text, words
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert sum(len(p.images) for p in reader.pages) == 1
    assert pdf == report(), "the same document must give the same bytes"
