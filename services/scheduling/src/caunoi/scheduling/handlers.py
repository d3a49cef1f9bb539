"""The scheduling service's handlers: load, look up the facts, decide (domain.py), record.

Each is a top-level function ``(request, ctx, deps)``; ``bootstrap.py`` builds ``deps`` and routes
the NATS subjects to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caunoi.scheduling import domain
from caunoi.scheduling.commands import AddHamlet, ListHamlets, RenameHamlet, RetireHamlet, ShowHamlet
from caunoi.scheduling.domain import Facts, Hamlet
from caunoi.shared.aggregate import Outcome, Repository, reply
from caunoi.shared.authz import query_area, require_reach
from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Endpoint, command, query
from caunoi.shared.errors import NotFound
from caunoi.shared.hamlets import HamletDirectory, get_hamlet, list_hamlets
from caunoi.shared.ids import commune_of
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.units import UnitTree, require_unit

#: the schema of this service's hamlet read model
HAMLETS = "hamlets"


@dataclass(frozen=True)
class Deps:
    hamlets: Repository[Hamlet]
    units: UnitTree
    #: the hamlet list as this service's read model has it
    directory: HamletDirectory
    #: the read model's database, for queries
    pool: Pool = NO_DATABASE


def result(out: Outcome[Hamlet]) -> dict[str, Any]:
    s = out.state
    return reply(
        out,
        hamlet_id=out.aggregate_id,
        commune_code=s.commune_code,
        name=s.name,
        kind=s.kind.value,
        retired=s.retired,
        retired_on=s.retired_on,
    )


async def facts_for(deps: Deps, ctx: RequestContext, commune_code: str) -> Facts:
    return Facts(ctx.today, deps.units, Facts.names_of(await deps.directory.in_commune(commune_code)))


async def add_hamlet(cmd: AddHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    hamlet = await deps.hamlets.get(domain.new_hamlet_id(cmd), ctx)
    if done := hamlet.done_by(ctx):
        return result(done)
    facts = await facts_for(deps, ctx, cmd.commune_code)
    return result(await deps.hamlets.save(hamlet, ctx, domain.decide_add(hamlet.state, cmd, facts)))


async def rename_hamlet(cmd: RenameHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    hamlet = await deps.hamlets.get(cmd.hamlet_id, ctx)
    if done := hamlet.done_by(ctx):
        return result(done)
    facts = await facts_for(deps, ctx, commune_of(cmd.hamlet_id))
    return result(await deps.hamlets.save(hamlet, ctx, domain.decide_rename(hamlet.state, cmd, facts)))


async def retire_hamlet(cmd: RetireHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = Facts(ctx.today, deps.units)
    return result(await deps.hamlets.execute(cmd.hamlet_id, ctx, domain.decide_retire, cmd, facts))


async def list_hamlets_query(q: ListHamlets, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        rows = await list_hamlets(conn, HAMLETS, unit, q.include_retired)
    return {"total": len(rows), "items": rows}


async def show_hamlet(q: ShowHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    async with deps.pool.acquire() as conn:
        row = await get_hamlet(conn, HAMLETS, q.hamlet_id)
    if row is not None:
        require_reach(ctx.actor, deps.units, row["dataset"], row["unit_path"], what=f"hamlet {q.hamlet_id}")
    if row is None:
        raise NotFound(
            f"Không tìm thấy thôn, tổ dân phố {q.hamlet_id}", message_en=f"no hamlet {q.hamlet_id}", field="hamlet_id"
        )
    return row


#: what each request subject runs (``caunoi.cmd|q.<service>.<name>``)
ENDPOINTS: list[Endpoint[Deps]] = [
    command("hamlet_add", AddHamlet, add_hamlet, "Add a hamlet to a commune's list (thêm thôn, tổ dân phố)"),
    command(
        "hamlet_rename",
        RenameHamlet,
        rename_hamlet,
        "Rename a hamlet; its id stays (đổi tên thôn, tổ dân phố)",
    ),
    command("hamlet_retire", RetireHamlet, retire_hamlet, "Stop using a hamlet; its history stays (thôi sử dụng)"),
    query("hamlets", ListHamlets, list_hamlets_query, "Hamlets under a unit (province, district or commune)"),
    query("hamlet", ShowHamlet, show_hamlet, "One hamlet from the read model"),
]
