"""A "Dân vận khéo" model (aggregate ``MH-XXXXXXXX``): its state, folded from its events, and the
decisions of steps 1 to 4 (registration, deployment, monitoring, evaluation); the results report,
recognition, commendation and replication are in :mod:`.recognition`. Pure.

    register -> deploy (revisable) -> monitor* -> evaluate (again: supersedes) -> report (2a)
             -> vote -> notice (2b), tier by tier up the ladder -> commend (yearly), replicate

A step out of order is refused quoting the six steps (:data:`.model_rules.STEPS`); every date is
at most today and not before the step it follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from caunoi.reporting.domain import evaluation
from caunoi.reporting.domain.model_rules import EVALUATE_AGAINST_TARGETS, STEPS
from caunoi.reporting.model_commands import (
    DeployModel,
    EvaluateModel,
    RecordMonitoring,
    RegisterModel,
    Stage,
)
from caunoi.reporting.model_events import (
    Assignment,
    ModelCommended,
    ModelDeployed,
    ModelEvaluated,
    ModelRegistered,
    MonitoringRecorded,
    Plan,
    RecognitionNoticed,
    RecognitionVoted,
    ReplicationPlanned,
    Resources,
    ResultsReported,
    Target,
    TargetResult,
    Tier,
)
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.rules import RuleViolated
from caunoi.shared.units import UnitTree, require_unit


@dataclass(frozen=True)
class ModelPolicy:
    """The local settings a decision applies (``CAUNOI_MODELS_*``, :mod:`caunoi.reporting.settings`):
    the band around a target that counts as met (%), and the share of a committee's members that
    makes a quorum."""

    tolerance_pct: Decimal
    quorum: Fraction


@dataclass(frozen=True)
class Model:
    id: str = ""
    registered: ModelRegistered | None = None
    deployed: ModelDeployed | None = None
    monitoring: tuple[MonitoringRecorded, ...] = ()
    evaluation: ModelEvaluated | None = None
    report: ResultsReported | None = None
    votes: Mapping[Tier, RecognitionVoted] = field(default_factory=dict)
    notices: Mapping[Tier, RecognitionNoticed] = field(default_factory=dict)
    commendations: tuple[ModelCommended, ...] = ()
    replications: tuple[ReplicationPlanned, ...] = ()
    #: the highest of the six steps with anything recorded
    stage: Stage = Stage.idea

    @property
    def exists(self) -> bool:
        return self.registered is not None

    @property
    def reg(self) -> ModelRegistered:
        assert self.registered is not None
        return self.registered

    @property
    def tier(self) -> Tier | None:
        """The highest tier at which the model is recognised (a notice issued)."""
        return max(self.notices, key=TIERS.index, default=None)


TIERS = (Tier.grassroots, Tier.district, Tier.province)
#: the step each event brings a model to (seed 002's six steps); its stage is the highest reached
STEP_OF: dict[type[DomainEvent], Stage] = {
    ModelRegistered: Stage.idea,
    ModelDeployed: Stage.deployment,
    MonitoringRecorded: Stage.monitoring,
    ModelEvaluated: Stage.evaluation,
    ResultsReported: Stage.recognition,
    RecognitionVoted: Stage.recognition,
    RecognitionNoticed: Stage.recognition,
    ModelCommended: Stage.commendation,
    ReplicationPlanned: Stage.commendation,
}
_STAGES = list(Stage)


def _from(stage: Stage) -> frozenset[Stage]:
    return frozenset(_STAGES[_STAGES.index(stage) :])


#: every command on an existing model, by its request name (``caunoi.cmd.reporting.<name>``), and the
#: stages it is accepted in. The decisions check this table; ``available_actions``
#: (:mod:`.model_actions`, the ``model`` query's ``actions``) offers from it, with what the ladder adds
#: (the next rung, a vote before its notice, a recognition before step 6) and who acts for which committee.
ACTS: dict[str, frozenset[Stage]] = {
    "model_deploy": _from(Stage.idea),  # a later deployment revises the plan
    "model_monitor": _from(Stage.deployment),
    "model_evaluate": _from(Stage.deployment),  # again: it supersedes the earlier evaluation
    "model_report": _from(Stage.evaluation),
    "model_vote": _from(Stage.recognition),  # after the results report (form 2a)
    "model_notice": _from(Stage.recognition),  # after the vote
    "model_commend": _from(Stage.recognition),  # once recognised
    "model_replicate": _from(Stage.recognition),
}


def stage_after(stage: Stage, event: DomainEvent) -> Stage:
    return max(stage, STEP_OF.get(type(event), stage), key=_STAGES.index)


def step_date(event: DomainEvent, recorded: date) -> date:
    """The day a step happened, as its event says (a replication plan: the day it was recorded, since
    its own date is when the replication starts). A model is "not updated" when its latest step is old."""
    match event:
        case ModelRegistered():
            return event.registered_on
        case ModelDeployed():
            return event.deployed_on
        case MonitoringRecorded() | ModelCommended():
            return event.on
        case ModelEvaluated():
            return event.evaluated_on
        case ResultsReported():
            return event.reported_on
        case RecognitionVoted():
            return event.voted_on
        case RecognitionNoticed():
            return event.issued_on
    return recorded


def evolve(state: Model, event: DomainEvent) -> Model:
    state = replace(state, stage=stage_after(state.stage, event))
    match event:
        case ModelRegistered():
            return replace(state, id=event.model_id, registered=event)
        case ModelDeployed():
            return replace(state, deployed=event)
        case MonitoringRecorded():
            return replace(state, monitoring=(*state.monitoring, event))
        case ModelEvaluated():
            return replace(state, evaluation=event)
        case ResultsReported():
            return replace(state, report=event)
        case RecognitionVoted():
            return replace(state, votes={**state.votes, event.tier: event})
        case RecognitionNoticed():
            return replace(state, notices={**state.notices, event.tier: event})
        case ModelCommended():
            return replace(state, commendations=(*state.commendations, event))
        case ReplicationPlanned():
            return replace(state, replications=(*state.replications, event))
    return state


def scope(state: Model) -> Scope:
    r = state.registered
    return Scope(r.unit_code, r.dataset, list(r.unit_path)) if r else Scope("", None, [])


MODEL = AggregateKind[Model]("model", Model, evolve, scope)


# --- checks every step uses -------------------------------------------------------------------------


def existing(state: Model, model_id: str) -> ModelRegistered:
    if state.registered is None:
        raise NotFound(f"Không có mô hình {model_id}", message_en=f"no model {model_id}", field="model_id")
    return state.registered


def dated(value: date | None, today: date, after: date, field_: str) -> date:
    """The step's date (default today): not in the future, not before the step it follows."""
    day = value or today
    if day > today:
        raise ValidationFailed(f"Ngày {day:%d/%m/%Y} chưa đến", message_en=f"{day} is in the future", field=field_)
    if day < after:
        raise ValidationFailed(
            f"Ngày {day:%d/%m/%Y} trước bước trước đó ({after:%d/%m/%Y})",
            message_en=f"{day} is before the previous step ({after})", field=field_,
            details={"not_before": after},
        )  # fmt: skip
    return day


def out_of_order(why_vi: str, why_en: str) -> RuleViolated:
    return RuleViolated(STEPS, why_vi, why_en, field="model_id")


def at_step(state: Model, name: str) -> bool:
    """Whether the model's stage is one the command ``name`` is accepted in (:data:`ACTS`)."""
    return state.stage in ACTS[name]


# --- step 1: the idea, registered -------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterFacts:
    today: date
    units: UnitTree
    model_id: str


def decide_register(state: Model, cmd: RegisterModel, facts: RegisterFacts) -> list[DomainEvent]:
    if state.exists:
        raise InvalidState(f"Mô hình {state.id} đã đăng ký", code="duplicate", message_en=f"{state.id} exists")
    unit = require_unit(facts.units, cmd.unit_code, field="unit_code")
    on = dated(cmd.registered_on, facts.today, date.min, "registered_on")
    texts = [t.text.casefold() for t in cmd.targets]
    if len(set(texts)) != len(texts):
        raise ValidationFailed("Chỉ tiêu bị trùng", message_en="a target is listed twice", field="targets")
    targets = [Target(id=f"t{i}", **t.model_dump()) for i, t in enumerate(cmd.targets, start=1)]
    return [
        ModelRegistered(
            model_id=facts.model_id, name=cmd.name, kind=cmd.kind, holder=cmd.holder, field=cmd.field,
            unit_code=unit.code, unit_name=unit.name, unit_level=unit.level, unit_path=facts.units.path(unit.code),
            dataset=facts.units.dataset, agency=cmd.agency, problem=cmd.problem,
            resources=Resources(**cmd.resources.model_dump()), criteria=list(cmd.criteria),
            expected_results=cmd.expected_results, targets=targets, registered_on=on,
        )
    ]  # fmt: skip


# --- step 2: deployment -------------------------------------------------------------------------------


def decide_deploy(state: Model, cmd: DeployModel, today: date) -> list[DomainEvent]:
    reg = existing(state, cmd.model_id)
    if not at_step(state, "model_deploy"):  # every stage, as the table stands: a later one revises the plan
        raise out_of_order(f"Mô hình {state.id} không triển khai lại được ở bước này",
                           f"model {state.id} cannot be deployed again at its stage")  # fmt: skip
    on = dated(cmd.deployed_on, today, reg.registered_on, "deployed_on")
    return [
        ModelDeployed(
            model_id=state.id, steering_board=list(cmd.steering_board), survey_team=list(cmd.survey_team),
            publicity_team=list(cmd.publicity_team), survey_report=cmd.survey_report,
            assignments=[Assignment(**a.model_dump()) for a in cmd.assignments], plan=Plan(**cmd.plan.model_dump()),
            pledge=cmd.pledge, deployed_on=on,
        )
    ]  # fmt: skip


def _deployed(state: Model, name: str, step_vi: str, step_en: str) -> ModelDeployed:
    if not at_step(state, name) or state.deployed is None:
        raise out_of_order(f"Mô hình {state.id} chưa triển khai (bước 2), chưa {step_vi}",
                           f"model {state.id} is not deployed yet (step 2): it cannot be {step_en}")  # fmt: skip
    return state.deployed


# --- step 3: monitoring ---------------------------------------------------------------------------------


def decide_monitor(state: Model, cmd: RecordMonitoring, today: date) -> list[DomainEvent]:
    existing(state, cmd.model_id)
    deployed = _deployed(state, "model_monitor", "theo dõi, kiểm tra", "monitored")
    on = dated(cmd.on, today, deployed.deployed_on, "on")
    return [MonitoringRecorded(model_id=state.id, kind=cmd.kind, on=on, text=cmd.text, by=cmd.by)]


# --- step 4: evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluateFacts:
    today: date
    policy: ModelPolicy


def decide_evaluate(state: Model, cmd: EvaluateModel, facts: EvaluateFacts) -> list[DomainEvent]:
    reg = existing(state, cmd.model_id)
    deployed = _deployed(state, "model_evaluate", "đánh giá", "evaluated")
    on = dated(cmd.evaluated_on, facts.today, deployed.deployed_on, "evaluated_on")
    given = {r.target_id: r for r in cmd.results}
    if len(given) != len(cmd.results):
        raise ValidationFailed("Một chỉ tiêu có hai kết quả", message_en="a target has two results", field="results")
    registered = {t.id for t in reg.targets}
    missing, unknown = sorted(registered - set(given)), sorted(set(given) - registered)
    if missing or unknown:
        raise RuleViolated(
            EVALUATE_AGAINST_TARGETS,
            "Cần kết quả của đúng các chỉ tiêu đã đăng ký" + (f"; thiếu {', '.join(missing)}" if missing else "")
            + (f"; không có chỉ tiêu {', '.join(unknown)}" if unknown else ""),
            f"give a result for exactly the registered targets (missing {missing}, unknown {unknown})",
            field="results", details={"missing": missing, "unknown": unknown},
        )  # fmt: skip
    tolerance = facts.policy.tolerance_pct
    results = []
    for t in reg.targets:
        out = given[t.id]
        level = evaluation.target_level(t.value, out.result, t.direction, tolerance)
        results.append(TargetResult(target_id=t.id, target=t.value, result=out.result, direction=t.direction,
                                    essential=t.essential, level=level, note=out.note))  # fmt: skip
    number = (state.evaluation.number if state.evaluation else 0) + 1
    return [
        ModelEvaluated(
            model_id=state.id, number=number, evaluated_on=on, results=results,
            level=evaluation.overall_level([(r.level, r.essential) for r in results]), rule=evaluation.RULE,
            tolerance_pct=float(tolerance), sustainability=cmd.sustainability, replicable_at=cmd.replicable_at,
            findings=cmd.findings, budget_spent_vnd=cmd.budget_spent_vnd,
        )
    ]  # fmt: skip
