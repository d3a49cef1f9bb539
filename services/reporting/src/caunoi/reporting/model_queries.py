"""Reads of the models read model (:mod:`caunoi.reporting.model_readmodel`): a unit's sub-tree
(``unit_path @> ARRAY[unit]``) filtered by field, stage, level, tier and last update; the facts a
report's area counts (``reach && <the area's codes>``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from caunoi.reporting.domain.figures import ModelLife
from caunoi.reporting.model_readmodel import JSON, MODELS
from caunoi.shared.jsonb import decoded
from caunoi.shared.projection import Conn

T = f'"{MODELS}".models'
COLUMNS = (
    "id, name, kind, holder, field, unit_code, unit_name, unit_level, unit_path, dataset, agency, registered_on,"
    " stage, level, evaluated_on, replicable_at, tier, recognised_on, targets, evaluations, notices, commendations,"
    " last_step_on, events, updated_at"
)


def _row(r: Any) -> dict[str, Any]:
    return decoded(r, JSON)


async def models_under(
    conn: Conn,
    unit: str | None,
    *,
    field: str | None = None,
    stage: str | None = None,
    level: str | None = None,
    tier: str | None = None,
    updated_before: date | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Models under ``unit`` (everything: None), newest first; ``updated_before``: those whose latest
    step is older (not updated since)."""
    where: list[str] = []
    args: list[object] = []
    filters = (("unit_path @> ARRAY[${}::text]", unit), ("field = ${}", field), ("stage = ${}", stage),
               ("level = ${}", level), ("tier = ${}", tier), ("last_step_on < ${}", updated_before))  # fmt: skip
    for cond, value in filters:
        if value is not None:
            args.append(value)
            where.append(cond.format(len(args)))
    args.append(limit)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM {T}{cond} ORDER BY registered_on DESC, id LIMIT ${len(args)}", *args
    )
    return [_row(r) for r in rows]


async def model_facts(conn: Conn, codes: list[str], last: date) -> list[ModelLife]:
    """The models of an area registered by ``last``, with their dated steps."""
    rows = await conn.fetch(
        f"SELECT id, dataset, unit_code, registered_on, evaluations, notices, commendations FROM {T}"
        " WHERE reach && $1::text[] AND registered_on <= $2 ORDER BY id",
        codes,
        last,
    )
    out = []
    for r in map(_row, rows):
        out.append(ModelLife(
            id=r["id"], dataset=r["dataset"], unit_code=r["unit_code"], registered_on=r["registered_on"],
            evaluations=tuple((date.fromisoformat(e["on"]), e["level"]) for e in r["evaluations"]),
            notices=tuple((date.fromisoformat(n["on"]), n["tier"]) for n in r["notices"]),
            commendations=tuple(date.fromisoformat(c["on"]) for c in r["commendations"]),
        ))  # fmt: skip
    return out
