"""JSON in PostgreSQL ``jsonb`` columns as asyncpg takes and gives them (text): a read model's
rows written with :func:`dumps` / :func:`encoded`, read back with :func:`loads` / :func:`decoded`."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

import orjson


class Fields(Protocol):
    """A row as asyncpg gives it (``Record``) or as a dict."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


def dumps(value: Any) -> str:
    """JSON text for a ``jsonb`` column."""
    return orjson.dumps(value).decode()


def loads(value: Any) -> Any:
    """A ``jsonb`` column's value: its text parsed (NULL stays None; a value already parsed is kept)."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def encoded(row: Mapping[str, Any], columns: Collection[str]) -> dict[str, Any]:
    """``row`` with its ``jsonb`` ``columns`` as JSON text."""
    return {k: dumps(v) if k in columns else v for k, v in row.items()}


def decoded(row: Fields, columns: Collection[str]) -> dict[str, Any]:
    """``row`` (a record, or a dict) with its ``jsonb`` ``columns`` parsed."""
    return {k: loads(v) if k in columns else v for k, v in row.items()}
