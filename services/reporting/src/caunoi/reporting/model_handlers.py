"""The "Dân vận khéo" models' handlers: load, look up the facts (the unit tree, the settings, who
recognises), decide (:mod:`.domain.models`, :mod:`.domain.recognition`), record; and the views.

Who may do what, through the kernel: registering and steps 2 to 5.1 are for the registering unit or a
unit above it (the repository's reach); a vote and its notice only for the unit whose party committee
recognises at that tier (``require_acting_for``); a commendation or replication plan for a unit on
the model's path, by its own people. Reads are scoped to the actor's sub-tree (``query_area``)."""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from caunoi.reporting import model_queries
from caunoi.reporting.deps import Deps, reach
from caunoi.reporting.domain import model_actions, models, recognition
from caunoi.reporting.domain.models import TIERS, Model, existing
from caunoi.reporting.domain.recognition import TIER_VI
from caunoi.reporting.model_commands import (
    CommendationCandidates,
    CommendModel,
    DeployModel,
    EvaluateModel,
    ListModels,
    ModelTargets,
    NoticeRecognition,
    PlanReplication,
    RecordMonitoring,
    RegisterModel,
    ReportResults,
    ShowModel,
    VoteRecognition,
)
from caunoi.reporting.model_events import Level, Tier
from caunoi.shared.aggregate import Loaded, Outcome, reply
from caunoi.shared.authz import COMMAND_ROLES, acting_for, query_area, require_acting_for
from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Endpoint, command, query
from caunoi.shared.errors import NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.ids import MODEL_PREFIX
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.units import Unit, require_unit


def result(out: Outcome[Model]) -> dict[str, Any]:
    s = out.state
    return reply(
        out,
        model_id=out.aggregate_id,
        name=s.reg.name if s.exists else None,
        stage=s.stage.value,
        level=s.evaluation.level.value if s.evaluation else None,
        tier=s.tier.value if s.tier else None,
        next_tier=_next(s),
    )


def _next(s: Model) -> str | None:
    tier = recognition.next_tier(s) if s.exists else None
    return tier.value if tier else None


# --- steps 1 to 4, and the results report ----------------------------------------------------------------


async def register(cmd: RegisterModel, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """A new model needs no load: its reference comes from the command id, so a retry lands on it."""
    reach(ctx, deps, cmd.unit_code, "unit_code")

    def decide(reference: str) -> list[DomainEvent]:
        return models.decide_register(Model(), cmd, models.RegisterFacts(ctx.today, deps.units, reference))

    return result(await deps.models.create_referenced(MODEL_PREFIX, ctx, decide))


async def deploy(cmd: DeployModel, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.models.execute(cmd.model_id, ctx, models.decide_deploy, cmd, ctx.today))


async def monitor(cmd: RecordMonitoring, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.models.execute(cmd.model_id, ctx, models.decide_monitor, cmd, ctx.today))


async def evaluate(cmd: EvaluateModel, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = models.EvaluateFacts(ctx.today, deps.model_policy)
    return result(await deps.models.execute(cmd.model_id, ctx, models.decide_evaluate, cmd, facts))


async def report_results(cmd: ReportResults, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return result(await deps.models.execute(cmd.model_id, ctx, recognition.decide_report, cmd, ctx.today))


# --- recognition: the committee of the tier's unit --------------------------------------------------------


async def _loaded(deps: Deps, ctx: RequestContext, model_id: str) -> Loaded[Model]:
    loaded = await deps.models.get(model_id, ctx)
    existing(loaded.state, model_id)
    return loaded


def _committee(ctx: RequestContext, unit_code: str, tier: Tier, act_vi: str, act_en: str) -> None:
    require_acting_for(ctx.actor, unit_code, what_vi=f"{act_vi} cấp {TIER_VI[tier]}", what_en=f"{act_en} at {tier}",
                       field="tier")  # fmt: skip


async def vote(cmd: VoteRecognition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await _loaded(deps, ctx, cmd.model_id)
    if done := loaded.done_by(ctx):
        return result(done)
    by = recognition.recognising_unit(deps.units, loaded.state, cmd.tier)
    _committee(ctx, by.code, cmd.tier, "biểu quyết công nhận mô hình", "vote to recognise the model")
    facts = recognition.VoteFacts(ctx.today, deps.model_policy, by)
    return result(await deps.models.save(loaded, ctx, recognition.decide_vote(loaded.state, cmd, facts)))


async def notice(cmd: NoticeRecognition, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await _loaded(deps, ctx, cmd.model_id)
    if done := loaded.done_by(ctx):
        return result(done)
    voted = loaded.state.votes.get(cmd.tier)
    by = voted.by_unit if voted else recognition.recognising_unit(deps.units, loaded.state, cmd.tier).code
    _committee(ctx, by, cmd.tier, "thông báo công nhận mô hình", "issue the recognition notice")
    return result(await deps.models.save(loaded, ctx, recognition.decide_notice(loaded.state, cmd, ctx.today)))


# --- step 6 -----------------------------------------------------------------------------------------------


def _by_unit(ctx: RequestContext, deps: Deps, code: str | None, what_vi: str, what_en: str) -> Unit:
    """The unit whose committee acts: the one named (its own people, or a national operator), else
    the actor's own."""
    code = code or ctx.actor.unit
    if not code:
        raise ValidationFailed("Cần chọn đơn vị (by_unit)", message_en="name the unit (by_unit)", field="by_unit")
    unit = require_unit(deps.units, code, field="by_unit")
    require_acting_for(ctx.actor, unit.code, what_vi=what_vi, what_en=what_en, field="by_unit")
    return unit


async def commend(cmd: CommendModel, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    by = _by_unit(ctx, deps, cmd.by_unit, "biểu dương, khen thưởng thay đơn vị này", "commend for this unit")
    facts = recognition.ByFacts(ctx.today, by, deps.units)
    return result(await deps.models.execute(cmd.model_id, ctx, recognition.decide_commend, cmd, facts))


async def replicate(cmd: PlanReplication, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    by = _by_unit(ctx, deps, cmd.by_unit, "lập kế hoạch nhân rộng thay đơn vị này", "plan for this unit")
    facts = recognition.ByFacts(ctx.today, by, deps.units)
    return result(await deps.models.execute(cmd.model_id, ctx, recognition.decide_replicate, cmd, facts))


# --- views ------------------------------------------------------------------------------------------------


def _area(ctx: RequestContext, deps: Deps, unit: str | None) -> str | None:
    if unit:
        require_unit(deps.units, unit, field="unit")
    return query_area(ctx.actor, deps.units, unit)


def months_back(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (clipped to the month's length)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


async def list_models(q: ListModels, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    unit = _area(ctx, deps, q.unit)
    months = q.months or deps.stale_months
    before = months_back(ctx.today, months) if q.stale else None
    async with deps.pool.acquire() as conn:
        rows = await model_queries.models_under(conn, unit, field=q.field, stage=q.stage, level=q.level, tier=q.tier,
                                                updated_before=before, limit=q.limit)  # fmt: skip
    items = [{k: r[k] for k in ("id", "name", "kind", "holder", "field", "unit_code", "unit_name", "agency",
                                 "registered_on", "stage", "level", "tier", "recognised_on", "last_step_on",
                                 "updated_at", "events")}
             for r in rows]  # fmt: skip
    counts = {
        key: dict(sorted(Counter(i[key] or "-" for i in items).items())) for key in ("stage", "level", "field", "tier")
    }
    return {"unit": unit, "total": len(items), "counts": counts, "stale_months": months if q.stale else None,
            "items": items}  # fmt: skip


async def model_targets(q: ModelTargets, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Targets against results: each registered target of the models under the unit, with its latest
    result and level (none before the model's first evaluation)."""
    unit = _area(ctx, deps, q.unit)
    async with deps.pool.acquire() as conn:
        rows = await model_queries.models_under(conn, unit, field=q.field, limit=10_000)
    items = [
        {"model_id": r["id"], "name": r["name"], "unit_code": r["unit_code"], "unit_name": r["unit_name"],
         "target_id": t["id"], "text": t["text"], "unit": t["unit"], "direction": t["direction"],
         "essential": t["essential"], "target": t["value"], "result": t["result"], "level": t["level"]}
        for r in rows if q.model_id in (None, r["id"]) for t in r["targets"] if q.level in (None, t["level"])
    ][: q.limit]  # fmt: skip
    counts = dict(sorted(Counter(i["level"] or "-" for i in items).items()))
    return {"unit": unit, "total": len(items), "counts": counts, "items": items}


def _share_exceeded(targets: Sequence[dict[str, Any]]) -> float:
    return sum(1 for t in targets if t["level"] == Level.exceeded) / max(1, len(targets))


async def candidates(q: CommendationCandidates, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The year's candidates for commendation: recognised by the year's end, evaluated met or
    exceeded, not commended for that year yet; the highest tier first, then exceeded before met,
    then the share of targets exceeded."""
    unit = _area(ctx, deps, q.unit)
    year = q.year or ctx.today.year
    async with deps.pool.acquire() as conn:
        rows = await model_queries.models_under(conn, unit, limit=10_000)
    items = []
    for r in rows:
        recognised = [n for n in r["notices"] if int(n["on"][:4]) <= year]
        if not recognised or r["level"] not in (Level.exceeded, Level.met):
            continue
        if any(c["year"] == year for c in r["commendations"]):
            continue
        top = max(recognised, key=lambda n: TIERS.index(n["tier"]))
        share = round(_share_exceeded(r["targets"]), 4)
        items.append({k: r[k] for k in ("id", "name", "holder", "field", "unit_code", "unit_name", "level")}
                     | {"tier": top["tier"], "recognised_on": top["on"], "share_exceeded": share})  # fmt: skip
    items.sort(key=lambda i: (-TIERS.index(i["tier"]), i["level"] != Level.exceeded, -i["share_exceeded"], i["name"]))
    return {"unit": unit, "year": year, "total": len(items), "items": items}


def next_committee(state: Model, deps: Deps) -> Unit | None:
    """The unit whose committee recognises the model at its next rung (None: at the top, or registered
    under another unit list than this installation's)."""
    nxt = recognition.next_tier(state)
    if nxt is None or state.reg.dataset != deps.units.dataset:
        return None
    return recognition.recognising_unit(deps.units, state, nxt)


def view(state: Model, history: Sequence[RecordedEvent], deps: Deps) -> dict[str, Any]:
    """One model in full, from its events: every step as recorded, its stage, level and tiers, the
    next rung and which unit's committee recognises there, and the timeline."""

    def dump(ev: Any) -> Any:
        return None if ev is None else ev.model_dump(mode="json")

    nxt = recognition.next_tier(state)
    unit = next_committee(state, deps)
    by = {"code": unit.code, "name": unit.name} if unit else None
    return {
        "model_id": state.id, "stage": state.stage.value,
        "level": state.evaluation.level.value if state.evaluation else None,
        "tier": state.tier.value if state.tier else None, "next_tier": nxt.value if nxt else None, "next_by": by,
        "ladder": [t.value for t in recognition.ladder(state.reg.dataset)],
        "registered": dump(state.registered), "deployed": dump(state.deployed),
        "monitoring": [dump(m) for m in state.monitoring], "evaluation": dump(state.evaluation),
        "report": dump(state.report), "votes": {t.value: dump(v) for t, v in state.votes.items()},
        "notices": {t.value: dump(n) for t, n in state.notices.items()},
        "commendations": [dump(c) for c in state.commendations], "replications": [dump(r) for r in state.replications],
        "history": [{"seq": r.seq, "type": r.envelope.type, "time": r.envelope.time, "actor": r.envelope.actor}
                    for r in history],
    }  # fmt: skip


def act_facts(state: Model, ctx: RequestContext, deps: Deps) -> model_actions.ActFacts:
    """What the person asking may do, as the handlers above decide it: commands at all (the role),
    the committees they act for (a unit of this installation's list), the next rung's committee."""
    nxt = next_committee(state, deps)
    return model_actions.ActFacts(
        today=ctx.today, commands=bool(ctx.actor.roles & COMMAND_ROLES),
        acts_for=lambda code: code in deps.units and acting_for(ctx.actor, code), next_by=nxt.code if nxt else None,
    )  # fmt: skip


async def show(q: ShowModel, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """One model (:func:`view`), with the commands its state (the log's) allows the person asking
    (``actions``) and, for a commendation or a replication plan, the units they may act for
    (``by_units``, the model's unit first)."""
    loaded = await deps.models.get(q.model_id, ctx)
    if not loaded.exists:
        raise NotFound(f"Không có mô hình {q.model_id}", message_en=f"no model {q.model_id}", field="model_id")
    state = loaded.state
    facts = act_facts(state, ctx, deps)
    actions = model_actions.available_actions(state, facts)
    step6 = {"model_commend", "model_replicate"} & set(actions)
    by_units = model_actions.committee_units(state, facts)[::-1] if step6 else []
    return view(state, loaded.history, deps) | {"actions": actions, "by_units": by_units}


MODEL_ENDPOINTS: Sequence[Endpoint[Deps]] = [
    command("model_register", RegisterModel, register, 'Step 1: register a "Dân vận khéo" model (idea, targets)'),
    command("model_deploy", DeployModel, deploy, "Step 2: record (or revise) a model's deployment"),
    command("model_monitor", RecordMonitoring, monitor, "Step 3: record a monitoring entry"),
    command("model_evaluate", EvaluateModel, evaluate, "Step 4: evaluate a model against its registered targets"),
    command("model_report", ReportResults, report_results, "Step 5.1: the results report (form 2a)"),
    command("model_vote", VoteRecognition, vote, "Step 5.2: the party committee's vote to recognise, at a tier"),
    command("model_notice", NoticeRecognition, notice, "Step 5.3: the recognition notice (form 2b), at a tier"),
    command("model_commend", CommendModel, commend, "Step 6: the year's commendation of a recognised model"),
    command("model_replicate", PlanReplication, replicate, "Step 6: a plan to replicate a recognised model"),
    query(
        "models", ListModels, list_models, "Models under a unit, by field, stage, level, tier; not updated for months"
    ),
    query("model", ShowModel, show, "One model in full, from its events, with its timeline"),
    query("model_targets", ModelTargets, model_targets, "Models' targets against their results"),
    query("model_candidates", CommendationCandidates, candidates, "The year's candidates for commendation"),
]
