"""The fonts printed documents embed: DejaVu Serif and Sans, TrueType with every Vietnamese letter
and tone mark, from the files matplotlib's wheel ships (``mpl-data/fonts/ttf``). No system font is
used, so a PDF looks the same on every machine that makes it. Only the glyphs used are embedded
(fpdf2 subsets them), so a one-page letter stays small."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Final, Literal

from fpdf import FPDF

Family = Literal["serif", "sans"]

#: fpdf2 style ("", "B", "I", "BI") -> file, per family
FACES: Final[dict[Family, dict[str, str]]] = {
    "serif": {
        "": "DejaVuSerif.ttf",
        "B": "DejaVuSerif-Bold.ttf",
        "I": "DejaVuSerif-Italic.ttf",
        "BI": "DejaVuSerif-BoldItalic.ttf",
    },
    "sans": {
        "": "DejaVuSans.ttf",
        "B": "DejaVuSans-Bold.ttf",
        "I": "DejaVuSans-Oblique.ttf",
        "BI": "DejaVuSans-BoldOblique.ttf",
    },
}
FAMILY_NAMES: Final[dict[Family, str]] = {"serif": "DejaVuSerif", "sans": "DejaVuSans"}


@functools.cache
def font_dir() -> Path:
    """Where matplotlib's wheel keeps its TrueType fonts, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: caunoi-printing needs its fonts")
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    if not (path / FACES["serif"][""]).is_file():
        raise RuntimeError(f"no DejaVu fonts in {path}")
    return path


def register(pdf: FPDF, family: Family) -> str:
    """Add ``family``'s four faces to ``pdf``; return the family name to ``set_font`` with."""
    name = FAMILY_NAMES[family]
    for style, file in FACES[family].items():
        pdf.add_font(name, style, str(font_dir() / file))
    return name
