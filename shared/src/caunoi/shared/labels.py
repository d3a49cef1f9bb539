"""What clerks read of a service's values, in their language. Each service keeps its tables in its
own ``labels.py`` (Vietnamese, and English where a value's own name does not read well);
:func:`label` looks a value up the same way for the CLI, the web pages and the printouts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def label(value: Any, vi: Mapping[Any, str], en: Mapping[Any, str] | None, lang: str) -> str:
    """``value``'s label in ``lang`` (a ``StrEnum`` key matches its string value): from ``vi``, or
    in English from ``en``, else the value itself (underscores read as spaces); "" for none."""
    if value is None or value == "":
        return ""
    if lang == "vi":
        return vi.get(value, str(value))
    if en is not None and value in en:
        return en[value]
    return str(value).replace("_", " ")
