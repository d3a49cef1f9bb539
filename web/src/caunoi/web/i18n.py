"""Vietnamese first, English available: every text a page shows is written as a pair,
``_("Hộp thư ý kiến", "Petitions inbox")``, as the CLI prints both; the language is the ``lang``
cookie (``/lang/en``), Vietnamese by default."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.requests import Request

from caunoi.shared.labels import label

LANGS: Final = ("vi", "en")
COOKIE: Final = "lang"


def lang_of(request: Request) -> str:
    lang = request.cookies.get(COOKIE, "vi")
    return lang if lang in LANGS else "vi"


def chooser(lang: str) -> Callable[[str, str], str]:
    def _(vi: str, en: str) -> str:
        return vi if lang == "vi" else en

    return _


def labeller(lang: str) -> Callable[[Any, Mapping[Any, str], Mapping[Any, str]], str]:
    """``label(value, VI, EN)``: a service's label table in the page's language."""

    def labelled(value: Any, vi: Mapping[Any, str], en: Mapping[Any, str]) -> str:
        return label(value, vi, en, lang)

    return labelled


def message(error: Mapping[str, Any], lang: str) -> str:
    """A service's structured error in the page's language."""
    if lang == "en":
        return str(error.get("message_en") or error.get("message") or error.get("code", "error"))
    return str(error.get("message") or error.get("code", "lỗi"))
