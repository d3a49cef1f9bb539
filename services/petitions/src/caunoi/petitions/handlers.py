"""The petitions service's handlers: load, look up the facts, decide (domain.py), record.

Each is a top-level function ``(request, ctx, deps)``; ``bootstrap.py`` builds ``deps`` and routes
the NATS subjects to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from caunoi.petitions import domain
from caunoi.petitions.commands import (
    AcceptPetition,
    AnswerOnSpot,
    ClassifyPetition,
    ErasePetitioner,
    ExtendDeadline,
    ForwardPetition,
    GiveVerdict,
    GroupBy,
    IssueReply,
    ListPetitions,
    MergePetition,
    PetitionStats,
    RaisePetition,
    ReturnPetition,
    SetCommitment,
    ShowPetition,
    WithdrawPetition,
)
from caunoi.petitions.domain import Facts, Petition
from caunoi.petitions.events import PersonalData, PetitionerDataErased, PetitionRaised
from caunoi.petitions.policy import Policy, default_policy
from caunoi.petitions.readmodel import (
    EXPORT_COLUMNS,
    PRIVATE_COLUMNS,
    PUBLIC_COLUMNS,
    get_petition,
    list_petitions,
    open_personal,
    petition_stats,
    petitioner_matches,
    status_counts,
)
from caunoi.shared.aggregate import Outcome, Repository, reply
from caunoi.shared.authz import COMMAND_ROLES, query_area
from caunoi.shared.context import Actor, RequestContext, Role
from caunoi.shared.duties import SYSTEM_ROLE
from caunoi.shared.endpoints import Endpoint, Request, command, query
from caunoi.shared.errors import Forbidden, NotFound
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletDirectory
from caunoi.shared.ids import PETITION_PREFIX
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.units import UnitTree, area_codes, require_unit
from caunoi.shared.vault import InMemoryVault, Vault
from caunoi.shared.workdays import WorkingCalendar, calendar_vn

#: who sees personal data (name, phone, address) and internal notes: officials of the units concerned
OFFICIALS = frozenset({Role.clerk, Role.officer})
#: event data that carries personal data or stays in the office
PRIVATE_EVENT_FIELDS = ("petitioner", "personal", "internal_note", "answer")
#: who may erase a petitioner's personal data
ERASERS = frozenset({Role.operator})


@dataclass(frozen=True)
class Deps:
    petitions: Repository[Petition]
    units: UnitTree
    #: this service's copy of the hamlet list (from the scheduling service's events)
    hamlets: HamletDirectory
    #: the read model's database, for queries
    pool: Pool = NO_DATABASE
    #: the deadline policy in force (policy.py)
    policy: Policy = field(default_factory=default_policy)
    calendar: WorkingCalendar = field(default_factory=calendar_vn)
    #: the personal-data key store (caunoi.shared.vault)
    vault: Vault = field(default_factory=InMemoryVault)


def facts_for(ctx: RequestContext, deps: Deps, **more: Any) -> Facts:
    """The facts every decision uses; the service's own duties act as nobody in particular."""
    actor = None if ctx.actor.has(SYSTEM_ROLE) else ctx.actor
    return Facts(ctx.today, deps.units, policy=deps.policy, calendar=deps.calendar, actor=actor, **more)


def result(out: Outcome[Petition]) -> dict[str, Any]:
    return reply(out, petition_id=out.aggregate_id, status=out.state.status.value)


async def raise_petition(cmd: RaisePetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """A new petition needs no load: the append expects an empty subject. Its reference comes
    from the command id, so a retry lands on the same petition and is answered with it."""
    hamlet = await deps.hamlets.get(cmd.hamlet_id) if cmd.hamlet_id else None

    async def decide(reference: str) -> list[DomainEvent]:
        facts = facts_for(ctx, deps, reference=reference, hamlet=hamlet)
        domain.validate_raise(domain.initial(), cmd, facts)
        sealed = await deps.vault.seal(reference, domain.personal_data(cmd))
        return domain.decide_raise(domain.initial(), cmd, replace(facts, personal=sealed))

    return result(await deps.petitions.create_referenced(PETITION_PREFIX, ctx, decide))


async def classify(cmd: ClassifyPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_classify, cmd, facts_for(ctx, deps)))


async def answer_on_spot(cmd: AnswerOnSpot, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_answer, cmd, facts_for(ctx, deps)))


async def forward(cmd: ForwardPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_forward, cmd, facts_for(ctx, deps)))


async def return_petition(cmd: ReturnPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_return, cmd, facts_for(ctx, deps)))


async def accept(cmd: AcceptPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_accept, cmd, facts_for(ctx, deps)))


async def set_commitment(cmd: SetCommitment, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_commit, cmd, facts_for(ctx, deps)))


async def extend(cmd: ExtendDeadline, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_extend, cmd, facts_for(ctx, deps)))


async def issue_reply(cmd: IssueReply, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_reply, cmd, facts_for(ctx, deps)))


async def verdict(cmd: GiveVerdict, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_verdict, cmd, facts_for(ctx, deps)))


async def withdraw(cmd: WithdrawPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    out = await deps.petitions.execute(cmd.petition_id, ctx, domain.decide_withdraw, cmd, facts_for(ctx, deps))
    return result(out)


async def erase(cmd: ErasePetitioner, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Erase the petitioner's personal data: record it, then destroy their key (a retry of the same
    command finishes an erasure whose key was not destroyed yet)."""
    loaded = await deps.petitions.get(cmd.petition_id, ctx)
    out = loaded.done_by(ctx) or await deps.petitions.save(
        loaded, ctx, domain.decide_erase(loaded.state, cmd, facts_for(ctx, deps))
    )
    erased = next(r.event for r in out.events if isinstance(r.event, PetitionerDataErased))
    # the petition's snapshot made now, before the key goes: none from before, with what was erased, stays
    await deps.petitions.snapshot_now(out.aggregate_id)
    erasure = None
    if erased.key_id is not None:
        erasure = await deps.vault.destroy(erased.key_id, by=ctx.actor.id, reason=cmd.reason)
    return reply(
        out,
        petition_id=out.aggregate_id,
        key_destroyed=erasure is not None,
        destroyed_at=erasure.destroyed_at.isoformat() if erasure else None,
        #: events written before personal data were sealed: they keep them in clear
        in_clear=erased.in_clear,
    )


async def merge(cmd: MergePetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The case is looked up as a fact; the actor must reach it as well as the petition."""
    loaded = await deps.petitions.current(cmd.petition_id, ctx)
    if done := loaded.done_by(ctx):
        return result(done)
    case = await deps.petitions.current(cmd.case_id, ctx)
    facts = facts_for(ctx, deps, case=case.state)
    return result(await deps.petitions.save(loaded, ctx, domain.decide_merge(loaded.state, cmd, facts)))


# --- queries ----------------------------------------------------------------------------------------


def sees_personal_data(actor: Actor) -> bool:
    """Officials (clerks, officers) of a unit: everything they list is of the units concerned
    (their reach). Operators, auditors and other systems never see it."""
    return bool(actor.unit) and bool(actor.roles & OFFICIALS)


def area(q: ListPetitions | PetitionStats, ctx: RequestContext, deps: Deps) -> list[str] | None:
    """The qualified unit codes a query covers: the unit asked for (the actor's own by default),
    and in the 2025 dataset the legacy units it succeeded; None: everything (national)."""
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    if unit is None:
        return None
    return area_codes(deps.units, unit)


async def list_query(q: ListPetitions, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Petitions the unit (the actor's own unless it asks for one of its sub-units) reaches: raised
    in it or below it, or forwarded to it or below it, or recorded under the legacy units it
    succeeded."""
    private = sees_personal_data(ctx.actor) and not q.public
    if q.petitioner and not private:
        raise Forbidden(
            "Chỉ cán bộ của đơn vị liên quan được tìm theo tên người nêu",
            message_en="only officials of the units concerned may search by the petitioner's name",
            field="petitioner",
        )
    filters = {
        "area": area(q, ctx, deps),
        "status": [s.value for s in q.status] if q.status else None,
        "kind": q.kind.value if q.kind else None,
        "category": q.category.value if q.category else None,
        "channel": q.channel.value if q.channel else None,
        "meeting_id": q.meeting_id,
        "overdue": q.overdue,
        "approaching": q.approaching,
        "received_from": q.received_from,
        "received_to": q.received_to,
        "search": q.search,
    }
    columns = EXPORT_COLUMNS if q.full else PUBLIC_COLUMNS
    if private:
        columns = (*columns, *PRIVATE_COLUMNS)
    async with deps.pool.acquire() as conn:
        if q.petitioner:
            filters["ids"] = await petitioner_matches(conn, filters, q.petitioner, deps.vault)
        total, rows = await list_petitions(conn, filters, columns, q.limit, q.offset)
        counts = await status_counts(conn, filters) if q.counts else None
    if private:
        rows = await open_personal(rows, deps.vault)
    out = {"total": total, "items": rows, "personal_data": private}
    return out | {"counts": counts} if counts is not None else out


async def show_query(q: ShowPetition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The petition's row and its whole timeline, read from the log."""
    loaded = await deps.petitions.get(q.petition_id, ctx)
    if not loaded.exists:
        raise NotFound(
            f"Không tìm thấy ý kiến {q.petition_id}", message_en=f"no petition {q.petition_id}", field="petition_id"
        )
    private = sees_personal_data(ctx.actor)
    async with deps.pool.acquire() as conn:
        row = await get_petition(conn, q.petition_id, (*EXPORT_COLUMNS, *(PRIVATE_COLUMNS if private else ())))
    facts = facts_for(ctx, deps)
    actions = domain.available_actions(loaded.state, facts) if ctx.actor.roles & COMMAND_ROLES else []
    if row is not None and private:
        [row] = await open_personal([row], deps.vault)
    state = loaded.state
    # officials see the petitioner as sealed (while the key lives); nobody sees erased data
    opened = None
    if private and isinstance(raised := loaded.history[0].event, PetitionRaised) and raised.personal:
        opened = await deps.vault.open(raised.personal, q.petition_id)
    return {
        "petition": row,
        "status": state.status.value,
        "personal_data": private,
        #: the commands its state allows this actor (what a client offers)
        "actions": actions,
        #: where it may be forwarded (the units above the one handling it, then that unit itself)
        "forward_to": domain.forward_targets(loaded.state, facts) if "forward" in actions else [],
        "erased": state.erased,
        "history": [
            {
                "seq": r.seq,
                "type": r.envelope.type,
                "time": r.envelope.time.isoformat(),
                "id": r.envelope.id,
                "actor": r.envelope.actor,
                "unit": r.envelope.unitcode,
                "correlationid": r.envelope.correlationid,
                "causationid": r.envelope.causationid,
                "data": redact(r.event.model_dump(mode="json"), private and not state.erased, opened),
            }
            for r in loaded.history
        ],
    }


def redact(data: dict[str, Any], private: bool, opened: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event's data as an actor may read it: personal data only for officials, opened."""
    if not private:
        return {k: v for k, v in data.items() if k not in PRIVATE_EVENT_FIELDS}
    if data.get("personal") is None:
        return data
    clear = PersonalData.model_validate(opened).model_dump() if opened else None
    return {**{k: v for k, v in data.items() if k != "personal"}, "petitioner": clear}


#: how a statistics group is computed from a row (fixed SQL, never from the request)
def group_sql(q: PetitionStats, unit: str | None, dataset: str) -> tuple[str, list[Any]]:
    match q.group_by:
        case GroupBy.category | GroupBy.kind | GroupBy.channel:
            return f'"{q.group_by.value}"', []
        case GroupBy.period:
            return f"to_char(date_trunc('{q.period.value}', received_on), 'YYYY-MM-DD')", []
    if unit is None:
        return "dataset || ':' || unit_path[1]", []
    # the unit just below the one asked for; records of legacy units: their own commune
    return (
        f"CASE WHEN dataset = '{dataset}' THEN coalesce(unit_path[array_position(unit_path, '{unit}') + 1], '{unit}')"
        " ELSE dataset || ':' || commune_code END",
        [],
    )


async def stats_query(q: PetitionStats, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Counts, median days to resolve, on-time and satisfaction rates: public figures."""
    codes = area(q, ctx, deps)
    unit = query_area(ctx.actor, deps.units, q.unit)
    group, _ = group_sql(q, unit, deps.units.dataset)
    filters = {"area": codes, "received_from": q.received_from, "received_to": q.received_to}
    async with deps.pool.acquire() as conn:
        groups = await petition_stats(conn, filters, group)
        overall = await petition_stats(conn, filters, "'total'")
    names = {u: deps.units.find(u) for g in groups if isinstance(u := g["group"], str)}
    for g in groups:
        found = names.get(g["group"])
        g["name"] = found.name if found and q.group_by is GroupBy.unit else None
    total = overall[0] if overall else None
    return {"unit": unit, "group_by": q.group_by.value, "period": q.period.value, "groups": groups, "total": total}


async def policy_query(q: Request, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The deadline policy in force."""
    return deps.policy.model_dump(mode="json", by_alias=True)


#: what each request subject runs (``caunoi.cmd|q.<service>.<name>``)
ENDPOINTS: list[Endpoint[Deps]] = [
    command("raise", RaisePetition, raise_petition, "Raise an opinion or petition (tiếp nhận ý kiến, kiến nghị)"),
    command("classify", ClassifyPetition, classify, "Classify: kind, field, eligible or not (phân loại)"),
    command("answer", AnswerOnSpot, answer_on_spot, "Answer on the spot at the meeting (giải đáp trực tiếp)"),
    command("forward", ForwardPetition, forward, "Forward up the tiers or across (chuyển cấp có thẩm quyền)"),
    command("return", ReturnPetition, return_petition, "Refuse what was forwarded: back to the sender (trả lại)"),
    command("accept", AcceptPetition, accept, "Accept for resolution (thụ lý)"),
    command("commit", SetCommitment, set_commitment, "Set the committed resolution date (thời hạn cam kết)"),
    command("extend", ExtendDeadline, extend, "Extend a deadline, with the reason (gia hạn)"),
    command("reply", IssueReply, issue_reply, "Resolve with the written reply (văn bản trả lời)"),
    command("verdict", GiveVerdict, verdict, "The petitioner's verdict: satisfied, or not resolved (reopens)"),
    command("withdraw", WithdrawPetition, withdraw, "Withdraw before resolution (rút đơn)"),
    command("merge", MergePetition, merge, "Merge into a case about the same matter (gộp vụ việc)"),
    command("erase", ErasePetitioner, erase, "Erase the petitioner's personal data (xóa dữ liệu cá nhân)", ERASERS),
    query("list", ListPetitions, list_query, "List petitions: unit (with sub-units and legacy units), filters, search"),
    query("show", ShowPetition, show_query, "One petition: its current row and its whole timeline from the log"),
    query("stats", PetitionStats, stats_query, "Figures: counts, median days, on-time and satisfaction rates"),
    query("policy", Request, policy_query, "The deadline policy in force"),
]
