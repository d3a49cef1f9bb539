"""The "Dân vận khéo" models' events (programme 4, seed 002): part of the reporting service's
contract, in the same registry as its reports' (:mod:`caunoi.reporting.events`).

A model (aggregate ``MH-XXXXXXXX``, subject ``caunoi.reporting.MH-….<unit path>`` of the unit
that registered it) lives the seed's six steps:

1. ``ModelRegistered``: the idea (problem, resources, field, criteria, expected results and
   numeric targets, name, collective or individual, the registering unit);
2. ``ModelDeployed``: steering board, survey team, publicity team, survey report, assignments,
   plan (form, schedule, place, budget); a later one revises it;
3. ``MonitoringRecorded``: progress checks, what was done, corrective actions, interim commendations;
4. ``ModelEvaluated``: each registered target's result and level (vượt / bằng / kém), the model's
   overall level, sustainability and how far it can be replicated; the rule and tolerance used are
   in the event, so a changed setting never changes a past evaluation;
5. ``ResultsReported`` (form 2a), ``RecognitionVoted`` (the party committee's vote, recorded only
   when it recognises: quorum and majority), ``RecognitionNoticed`` (form 2b), tier by tier;
6. ``ModelCommended`` (the yearly commendation), ``ReplicationPlanned``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from caunoi.reporting.events import NS, registry
from caunoi.shared.events import DomainEvent


class ModelField(StrEnum):
    """The fields a model belongs to (seed 002, step 1)."""

    economy = "economy"  # kinh tế
    culture_society = "culture_society"  # văn hóa – xã hội
    defence_security = "defence_security"  # quốc phòng – an ninh
    political_system = "political_system"  # xây dựng hệ thống chính trị
    four_no = "four_no"  # nội dung "4 không"


class ModelKind(StrEnum):
    collective = "collective"  # tập thể
    individual = "individual"  # cá nhân


class Direction(StrEnum):
    """Which way a target is good: more (reach at least the target) or less (stay at most at it:
    traffic violations, complaints)."""

    at_least = "at_least"
    at_most = "at_most"


class Level(StrEnum):
    """The three levels of a self-evaluation (seed 002, step 4)."""

    exceeded = "exceeded"  # vượt
    met = "met"  # bằng
    below = "below"  # kém


class Tier(StrEnum):
    """Recognition levels: grassroots (cơ sở: the commune, an agency's party organisation), district,
    province. In the 2025 two-tier structure there is no district step."""

    grassroots = "grassroots"
    district = "district"
    province = "province"


class MonitoringKind(StrEnum):
    progress_check = "progress_check"  # kiểm tra theo tiến độ
    activity = "activity"  # việc đã làm
    corrective_action = "corrective_action"  # khắc phục hạn chế
    commendation = "commendation"  # động viên, khen thưởng kịp thời


class Sustainability(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class CommendationForm(StrEnum):
    praise = "praise"  # biểu dương
    certificate = "certificate"  # giấy khen
    merit = "merit"  # bằng khen


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(_Part):
    """A registered numeric target (chỉ tiêu): ``value`` in ``unit``, to reach at least or to stay at
    most at; an essential one below its target makes the model below."""

    id: str
    text: str
    value: float
    unit: str = ""
    direction: Direction = Direction.at_least
    essential: bool = True


class Resources(_Part):
    """What the unit has to build the model with (step 1)."""

    participants: int = 0
    core_team: list[str] = Field(default_factory=list)
    budget_vnd: int = 0
    budget_source: str | None = None


class Assignment(_Part):
    who: str
    task: str


class Plan(_Part):
    """The deployment plan: its form, schedule, place and budget (step 2)."""

    form: str
    start: dt.date
    end: dt.date | None = None
    place: str
    budget_vnd: int = 0
    budget_source: str | None = None


class TargetResult(_Part):
    """One target's result and the level it gives (with the target as registered)."""

    target_id: str
    target: float
    result: float
    direction: Direction
    essential: bool
    level: Level
    note: str | None = None


class Vote(_Part):
    """The party committee's vote: its members, those present, for, against, abstaining."""

    members: int
    present: int
    in_favour: int
    against: int
    abstaining: int


class _OfModel(DomainEvent):
    model_id: str


@registry.register
class ModelRegistered(_OfModel):
    """Step 1: the idea, named and registered by a unit (or one of its organisations, ``agency``)."""

    NAME = f"{NS}.ModelRegistered"
    name: str
    kind: ModelKind
    #: the collective or the person who builds it
    holder: str
    field: ModelField
    unit_code: str
    unit_name: str
    unit_level: str
    unit_path: list[str]
    dataset: str
    agency: str | None = None
    problem: str
    resources: Resources
    criteria: list[str]
    expected_results: str
    targets: list[Target] = Field(min_length=1)
    registered_on: dt.date


@registry.register
class ModelDeployed(_OfModel):
    """Step 2: the model deployed (a later one revises the deployment)."""

    NAME = f"{NS}.ModelDeployed"
    steering_board: list[str]
    survey_team: list[str]
    publicity_team: list[str]
    survey_report: str
    assignments: list[Assignment]
    plan: Plan
    #: a written pledge all the people sign (for models across a whole commune or hamlet)
    pledge: bool = False
    deployed_on: dt.date


@registry.register
class MonitoringRecorded(_OfModel):
    """Step 3: one entry of the monitoring log."""

    NAME = f"{NS}.MonitoringRecorded"
    kind: MonitoringKind
    on: dt.date
    text: str
    by: str | None = None


@registry.register
class ModelEvaluated(_OfModel):
    """Step 4: the self-evaluation against every registered target; ``number`` counts the model's
    evaluations (a later one supersedes). ``rule`` names the overall-level rule applied and
    ``tolerance_pct`` the band within which a result counts as met (docs/architecture.md)."""

    NAME = f"{NS}.ModelEvaluated"
    number: int
    evaluated_on: dt.date
    results: list[TargetResult]
    level: Level
    rule: str
    tolerance_pct: float
    sustainability: Sustainability
    #: the widest tier where it has been or can be replicated
    replicable_at: Tier
    findings: str
    budget_spent_vnd: int | None = None


@registry.register
class ResultsReported(_OfModel):
    """Step 5.1: the results report (form 2a) on evaluation ``evaluation``, asking for recognition
    at ``proposed_tier``."""

    NAME = f"{NS}.ResultsReported"
    evaluation: int
    number: str | None = None
    reported_on: dt.date
    achievements: str
    lessons: str | None = None
    proposals: str | None = None
    proposed_tier: Tier


@registry.register
class RecognitionVoted(_OfModel):
    """Step 5.2: the party committee of ``by_unit`` voted to recognise the model at ``tier``, with a
    quorum (``quorum``: the share of members that must be present) and a majority of its members."""

    NAME = f"{NS}.RecognitionVoted"
    tier: Tier
    by_unit: str
    by_unit_name: str
    vote: Vote
    quorum: str
    voted_on: dt.date
    minutes_ref: str | None = None


@registry.register
class RecognitionNoticed(_OfModel):
    """Step 5.3: the recognition notice (form 2b) at ``tier``, issued by ``by_unit``'s committee."""

    NAME = f"{NS}.RecognitionNoticed"
    tier: Tier
    by_unit: str
    by_unit_name: str
    number: str
    issued_on: dt.date
    signer_name: str
    signer_title: str


@registry.register
class ModelCommended(_OfModel):
    """Step 6: the year's commendation of a typical model by ``by_unit``."""

    NAME = f"{NS}.ModelCommended"
    year: int
    by_unit: str
    by_unit_name: str
    form: CommendationForm
    decision_ref: str | None = None
    on: dt.date
    reason: str


@registry.register
class ReplicationPlanned(_OfModel):
    """Step 6: a plan to replicate the model in ``units`` (within ``scope``)."""

    NAME = f"{NS}.ReplicationPlanned"
    by_unit: str
    by_unit_name: str
    scope: Tier
    units: list[str]
    plan: str
    from_date: dt.date


MODEL_EVENTS = (
    ModelRegistered,
    ModelDeployed,
    MonitoringRecorded,
    ModelEvaluated,
    ResultsReported,
    RecognitionVoted,
    RecognitionNoticed,
    ModelCommended,
    ReplicationPlanned,
)
