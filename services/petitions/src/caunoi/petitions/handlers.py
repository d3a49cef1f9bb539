"""The petitions service's handlers: load, look up the facts, decide (domain.py), record.

Each is a top-level function ``(request, ctx, deps)``; ``bootstrap.py`` builds ``deps`` and routes
the NATS subjects to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caunoi.petitions import domain
from caunoi.petitions.commands import (
    AnswerOnSpot,
    ForwardPetition,
    IssueReply,
    ListPetitions,
    RaisePetition,
    SetCommitment,
    ShowPetition,
)
from caunoi.petitions.domain import Facts, Petition
from caunoi.petitions.readmodel import get_petition, list_petitions
from caunoi.shared.aggregate import AggregateExists, Outcome, Repository, reply
from caunoi.shared.authz import query_area
from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Endpoint, command, query
from caunoi.shared.errors import CommandError, Conflict, NotFound
from caunoi.shared.hamlets import HamletDirectory
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.units import UnitTree, require_unit

#: tries at a free reference before giving up (a taken one is astronomically rare)
MAX_REFERENCE_ATTEMPTS = 4


@dataclass(frozen=True)
class Deps:
    petitions: Repository[Petition]
    units: UnitTree
    #: this service's copy of the hamlet list (from the scheduling service's events)
    hamlets: HamletDirectory
    #: the read model's database, for queries
    pool: Pool = NO_DATABASE


def result(out: Outcome[Petition]) -> dict[str, Any]:
    return reply(out, petition_id=out.aggregate_id, status=out.state.status.value)


async def raise_petition(cmd: RaisePetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """A new petition needs no load: the append expects an empty subject. Its reference comes
    from the command id, so a retry lands on the same petition and is answered with it."""
    hamlet = await deps.hamlets.get(cmd.hamlet_id) if cmd.hamlet_id else None
    for attempt in range(MAX_REFERENCE_ATTEMPTS):
        reference = domain.reference_for(ctx.command_id, attempt)
        facts = Facts(ctx.today, deps.units, reference=reference, hamlet=hamlet)
        try:
            events = domain.decide_raise(domain.initial(), cmd, facts)
        except CommandError:
            # refused now, but a retry of a command accepted before is answered with what it did
            if done := await deps.petitions.replay_of(reference, ctx):
                return result(done)
            raise
        try:
            return result(await deps.petitions.create(reference, ctx, events))
        except AggregateExists:
            continue  # another command's petition has this reference: take the next one
    raise Conflict("Không cấp được mã ý kiến; hãy gửi lại", message_en="could not allot a reference; retry")


async def answer_on_spot(cmd: AnswerOnSpot, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = Facts(ctx.today, deps.units)
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_answer, cmd, facts))


async def forward(cmd: ForwardPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = Facts(ctx.today, deps.units)
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_forward, cmd, facts))


async def set_commitment(cmd: SetCommitment, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = Facts(ctx.today, deps.units)
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_commit, cmd, facts))


async def issue_reply(cmd: IssueReply, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = Facts(ctx.today, deps.units)
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_reply, cmd, facts))


async def list_query(q: ListPetitions, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Petitions the unit (the actor's own unless it asks for one of its sub-units) reaches: raised
    in it or below it, or forwarded to it or below it."""
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        total, rows = await list_petitions(
            conn,
            unit=unit,
            status=q.status.value if q.status else None,
            category=q.category.value if q.category else None,
            limit=q.limit,
            offset=q.offset,
        )
    return {"total": total, "items": rows}


async def show_query(q: ShowPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The petition's row and its whole history, read from the log."""
    loaded = await deps.petitions.get(q.petition_id, ctx)
    if not loaded.exists:
        raise NotFound(
            f"Không tìm thấy ý kiến {q.petition_id}", message_en=f"no petition {q.petition_id}", field="petition_id"
        )
    async with deps.pool.acquire() as conn:
        row = await get_petition(conn, q.petition_id)
    return {
        "petition": row,
        "status": loaded.state.status.value,
        "history": [
            {
                "seq": r.seq,
                "type": r.envelope.type,
                "time": r.envelope.time.isoformat(),
                "id": r.envelope.id,
                "actor": r.envelope.actor,
                "correlationid": r.envelope.correlationid,
                "causationid": r.envelope.causationid,
                "data": r.event.model_dump(mode="json"),
            }
            for r in loaded.history
        ],
    }


#: what each request subject runs (``caunoi.cmd|q.<service>.<name>``)
ENDPOINTS: list[Endpoint[Deps]] = [
    command("raise", RaisePetition, raise_petition, "Raise an opinion or petition (tiếp nhận ý kiến, kiến nghị)"),
    command("answer", AnswerOnSpot, answer_on_spot, "Answer on the spot at the meeting (giải đáp trực tiếp)"),
    command("forward", ForwardPetition, forward, "Forward to the unit with authority (chuyển cấp có thẩm quyền)"),
    command("commit", SetCommitment, set_commitment, "Set the committed resolution date (thời hạn cam kết)"),
    command("reply", IssueReply, issue_reply, "Issue the written reply (văn bản trả lời)"),
    query("list", ListPetitions, list_query, "List petitions by unit (with its sub-units), status, category"),
    query("show", ShowPetition, show_query, "One petition: its current row and its whole history from the log"),
]
