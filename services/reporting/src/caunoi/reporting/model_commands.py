"""Request bodies for the "Dân vận khéo" models (``caunoi.cmd.reporting.model_*``,
``caunoi.q.reporting.model*``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from caunoi.reporting.model_events import (
    CommendationForm,
    Direction,
    Level,
    ModelField,
    ModelKind,
    MonitoringKind,
    Sustainability,
    Tier,
)
from caunoi.shared.endpoints import Command, Request
from caunoi.shared.ids import ModelId, UnitCode
from caunoi.shared.validation import require_order

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Money = Annotated[int, Field(ge=0, le=10**13)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
TargetKey = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^t\d{1,2}$")]


class Stage(StrEnum):
    """The step a model has reached (the highest of the six with anything recorded)."""

    idea = "idea"  # 1. lên ý tưởng, đăng ký
    deployment = "deployment"  # 2. triển khai
    monitoring = "monitoring"  # 3. theo dõi, kiểm tra
    evaluation = "evaluation"  # 4. đánh giá
    recognition = "recognition"  # 5. công nhận (báo cáo 2a, biểu quyết, thông báo 2b)
    commendation = "commendation"  # 6. khen thưởng, nhân rộng


class TargetSpec(Request):
    """A numeric target as registered (its id, ``t1``, ``t2``… is given in order)."""

    text: Name
    value: float = Field(ge=0, le=1e12)
    unit: str = Field(default="", max_length=40)
    direction: Direction = Direction.at_least
    essential: bool = True


class ResourcesSpec(Request):
    participants: Count = 0
    core_team: list[Name] = Field(default_factory=list, max_length=100)
    budget_vnd: Money = 0
    budget_source: Name | None = None


class RegisterModel(Command):
    """Bước 1: đăng ký xây dựng mô hình “Dân vận khéo”."""

    unit_code: UnitCode
    #: the organisation of the unit that builds it (Hội Phụ nữ xã, Sở Y tế...), if not the unit itself
    agency: Name | None = None
    name: Name
    kind: ModelKind = ModelKind.collective
    holder: Name
    field: ModelField
    problem: Text
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    criteria: list[Text] = Field(default_factory=list, max_length=30)
    expected_results: Text
    targets: list[TargetSpec] = Field(min_length=1, max_length=30)
    #: default today
    registered_on: dt.date | None = None


class AssignmentSpec(Request):
    who: Name
    task: Text


class PlanSpec(Request):
    form: Text
    start: dt.date
    end: dt.date | None = None
    place: Name
    budget_vnd: Money = 0
    budget_source: Name | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PlanSpec:
        require_order(self.start, self.end, "end")
        return self


class DeployModel(Command):
    """Bước 2: triển khai (ban chỉ đạo, tổ khảo sát, tổ tuyên truyền, báo cáo khảo sát, phân công, kế hoạch)."""

    model_id: ModelId
    steering_board: list[Name] = Field(min_length=1, max_length=50)
    survey_team: list[Name] = Field(default_factory=list, max_length=50)
    publicity_team: list[Name] = Field(default_factory=list, max_length=50)
    survey_report: Text
    assignments: list[AssignmentSpec] = Field(default_factory=list, max_length=100)
    plan: PlanSpec
    pledge: bool = False
    deployed_on: dt.date | None = None


class RecordMonitoring(Command):
    """Bước 3: một lần theo dõi, kiểm tra, việc đã làm, khắc phục, động viên."""

    model_id: ModelId
    kind: MonitoringKind
    text: Text
    on: dt.date | None = None
    by: Name | None = None


class TargetOutcome(Request):
    target_id: TargetKey
    result: float = Field(ge=0, le=1e12)
    note: Text | None = None


class EvaluateModel(Command):
    """Bước 4: tự đánh giá theo từng chỉ tiêu đã đăng ký (vượt / bằng / kém)."""

    model_id: ModelId
    results: list[TargetOutcome] = Field(min_length=1, max_length=30)
    sustainability: Sustainability
    replicable_at: Tier
    findings: Text
    budget_spent_vnd: Money | None = None
    evaluated_on: dt.date | None = None


class ReportResults(Command):
    """Bước 5.1: báo cáo kết quả (Mẫu 2a), đề nghị công nhận ở cấp ``proposed_tier`` (mặc định: cấp kế tiếp)."""

    model_id: ModelId
    achievements: Text
    lessons: Text | None = None
    proposals: Text | None = None
    number: Short | None = None
    proposed_tier: Tier | None = None
    reported_on: dt.date | None = None


class VoteRecognition(Command):
    """Bước 5.2: cấp ủy biểu quyết công nhận ở cấp ``tier``."""

    model_id: ModelId
    tier: Tier
    members: int = Field(ge=1, le=500)
    present: int = Field(ge=0, le=500)
    in_favour: int = Field(ge=0, le=500)
    against: int = Field(default=0, ge=0, le=500)
    abstaining: int = Field(default=0, ge=0, le=500)
    voted_on: dt.date | None = None
    minutes_ref: Short | None = None


class NoticeRecognition(Command):
    """Bước 5.3: thông báo công nhận (Mẫu 2b) ở cấp ``tier``."""

    model_id: ModelId
    tier: Tier
    number: Short
    signer_name: Name
    signer_title: Name
    issued_on: dt.date | None = None


class CommendModel(Command):
    """Bước 6: biểu dương, khen thưởng mô hình tiêu biểu của năm ``year`` (by ``by_unit``: default
    the actor's unit)."""

    model_id: ModelId
    year: int = Field(ge=2000, le=2100)
    form: CommendationForm = CommendationForm.praise
    reason: Text
    decision_ref: Short | None = None
    on: dt.date | None = None
    by_unit: UnitCode | None = None


class PlanReplication(Command):
    """Bước 6: kế hoạch nhân rộng mô hình ra các đơn vị ``units``."""

    model_id: ModelId
    scope: Tier
    units: list[UnitCode] = Field(default_factory=list, max_length=500)
    plan: Text
    from_date: dt.date | None = None
    by_unit: UnitCode | None = None


class ListModels(Request):
    """Models under ``unit`` (its sub-tree), by field, stage, level, recognition tier; ``stale``: not
    updated (no event) for ``months`` months (default ``CAUNOI_MODELS_STALE_MONTHS``)."""

    unit: UnitCode | None = None
    field: ModelField | None = None
    stage: Stage | None = None
    level: Level | None = None
    tier: Tier | None = None
    stale: bool = False
    months: int | None = Field(default=None, ge=1, le=120)
    limit: int = Field(default=500, ge=1, le=10_000)


class ModelTargets(Request):
    """Targets against results, for the models under ``unit``."""

    unit: UnitCode | None = None
    field: ModelField | None = None
    level: Level | None = None
    model_id: ModelId | None = None
    limit: int = Field(default=2000, ge=1, le=20_000)


class CommendationCandidates(Request):
    """The year's candidates for commendation under ``unit``: recognised by the year's end, evaluated
    met or exceeded, not yet commended that year (default: this year)."""

    unit: UnitCode | None = None
    year: int | None = Field(default=None, ge=2000, le=2100)


class ShowModel(Request):
    model_id: ModelId
