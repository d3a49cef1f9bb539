"""Recognising a "Dân vận khéo" model tier by tier (seed 002, step 5), and the yearly commendation
and replication (step 6). Pure.

**The ladder**: grassroots → district → province in the three-tier structure (``vn-2024``);
grassroots → province since the 2025 two-tier structure (``vn-2025``: no district). A tier is
voted only when the tier below it was recognised (its notice issued).

**Who recognises** (the unit at that tier, from the registering unit, in the kernel's unit tree):

- grassroots (cơ sở): the registering unit's own party committee, i.e. the commune's (đảng ủy xã),
  or, for a model of an agency or organisation at a district or province, that unit's own grassroots
  party organisation (đảng ủy, chi bộ cơ quan), recorded under the same unit;
- district: the party committee of the district the unit is in (or is);
- province: the province's.

Only that unit's people (or a national operator recording for it) vote and issue the notice
(:func:`caunoi.shared.authz.require_acting_for`). A vote is recorded only when it recognises: the
quorum (``CAUNOI_MODELS_QUORUM``, default 2/3 of the members present) and more than half of the
members in favour; otherwise the command is refused quoting the rule, and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from caunoi.reporting.domain.model_rules import (
    COMMEND_RECOGNISED,
    CRITERIA,
    DISTRICT_FROM_GRASSROOTS,
    GRASSROOTS_STANDARD,
    MAJORITY,
    NO_DISTRICT,
    NOTICE_AFTER_VOTE,
    PROVINCE_FROM_DISTRICT,
    PROVINCE_FROM_GRASSROOTS,
    QUORUM,
    RESULTS_REPORT,
)
from caunoi.reporting.domain.models import TIERS, Model, ModelPolicy, at_step, dated, existing, out_of_order
from caunoi.reporting.model_commands import (
    CommendModel,
    NoticeRecognition,
    PlanReplication,
    ReportResults,
    VoteRecognition,
)
from caunoi.reporting.model_events import (
    Level,
    ModelCommended,
    ModelEvaluated,
    RecognitionNoticed,
    RecognitionVoted,
    ReplicationPlanned,
    ResultsReported,
    Tier,
    Vote,
)
from caunoi.shared.errors import InvalidState, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.rules import Rule, RuleViolated
from caunoi.shared.units import DATASET_LEGACY, LEVEL_DISTRICT, LEVEL_PROVINCE, Unit, UnitTree

TIER_VI = {Tier.grassroots: "cơ sở", Tier.district: "huyện", Tier.province: "tỉnh"}
_LEVEL_OF = {Tier.district: LEVEL_DISTRICT, Tier.province: LEVEL_PROVINCE}


def ladder(dataset: str) -> tuple[Tier, ...]:
    """The recognition tiers, lowest first, of a unit dataset."""
    return TIERS if dataset == DATASET_LEGACY else (Tier.grassroots, Tier.province)


def next_tier(state: Model) -> Tier | None:
    """The rung the model can be recognised at next (None: it is at the top)."""
    steps = ladder(state.reg.dataset)
    done = [steps.index(t) for t in state.notices if t in steps]
    i = max(done, default=-1) + 1
    return steps[i] if i < len(steps) else None


def _chosen_from(tier: Tier, dataset: str) -> Rule:
    """The standard a tier's model meets (where it is chosen from, how far it replicates)."""
    if tier is Tier.grassroots:
        return GRASSROOTS_STANDARD
    if tier is Tier.district:
        return DISTRICT_FROM_GRASSROOTS
    return PROVINCE_FROM_DISTRICT if dataset == DATASET_LEGACY else PROVINCE_FROM_GRASSROOTS


def require_rung(state: Model, tier: Tier, field_: str) -> None:
    """``tier`` is on the model's ladder, not recognised yet, and the tier below it is."""
    dataset = state.reg.dataset
    steps = ladder(dataset)
    if tier not in steps:
        raise RuleViolated(NO_DISTRICT, "Cơ cấu hai cấp không có cấp huyện", "the two-tier structure has no district",
                           field=field_, details={"ladder": list(steps)})  # fmt: skip
    if tier in state.notices:
        raise InvalidState(
            f"Mô hình {state.id} đã được công nhận cấp {TIER_VI[tier]}", code="duplicate",
            message_en=f"model {state.id} is already recognised at {tier}", field=field_,
        )  # fmt: skip
    i = steps.index(tier)
    if i and steps[i - 1] not in state.notices:
        below = steps[i - 1]
        raise RuleViolated(
            _chosen_from(tier, dataset),
            f"Mô hình {state.id} chưa được công nhận cấp {TIER_VI[below]}, chưa xét công nhận cấp {TIER_VI[tier]} được",
            f"model {state.id} is not recognised at {below}: it cannot be recognised at {tier}",
            field=field_, details={"ladder": list(steps), "recognised": sorted(state.notices, key=TIERS.index)},
        )  # fmt: skip


def recognising_unit(tree: UnitTree, state: Model, tier: Tier) -> Unit:
    """The unit whose party committee recognises the model at ``tier`` (see the module's docstring)."""
    reg = state.reg
    if reg.dataset != tree.dataset:
        raise InvalidState(
            f"Mô hình {state.id} đăng ký theo danh mục {reg.dataset}, không phải {tree.dataset}",
            message_en=f"model {state.id} was registered under {reg.dataset}, not {tree.dataset}",
        )  # fmt: skip
    if tier is Tier.grassroots:
        return tree.get(reg.unit_code)
    unit = tree.at_level(reg.unit_code, _LEVEL_OF[tier])
    if unit is None:
        raise RuleViolated(NO_DISTRICT, "Cơ cấu hai cấp không có cấp huyện", "the two-tier structure has no district",
                           field="tier", details={"ladder": list(ladder(tree.dataset))})  # fmt: skip
    return unit


# --- step 5.1: the results report (form 2a) -------------------------------------------------------------


def decide_report(state: Model, cmd: ReportResults, today: date) -> list[DomainEvent]:
    existing(state, cmd.model_id)
    if not at_step(state, "model_report") or state.evaluation is None:
        raise out_of_order(f"Mô hình {state.id} chưa tự đánh giá (bước 4), chưa báo cáo kết quả được",
                           f"model {state.id} has no evaluation yet (step 4): nothing to report")  # fmt: skip
    tier = cmd.proposed_tier or next_tier(state)
    if tier is None:
        raise InvalidState(
            f"Mô hình {state.id} đã được công nhận ở cấp cao nhất", code="duplicate",
            message_en=f"model {state.id} is recognised at the top tier", field="proposed_tier",
        )  # fmt: skip
    require_rung(state, tier, "proposed_tier")
    on = dated(cmd.reported_on, today, state.evaluation.evaluated_on, "reported_on")
    return [
        ResultsReported(
            model_id=state.id, evaluation=state.evaluation.number, number=cmd.number, reported_on=on,
            achievements=cmd.achievements, lessons=cmd.lessons, proposals=cmd.proposals, proposed_tier=tier,
        )
    ]  # fmt: skip


# --- step 5.2: the party committee's vote ----------------------------------------------------------------


@dataclass(frozen=True)
class VoteFacts:
    today: date
    policy: ModelPolicy
    #: the unit whose committee votes (:func:`recognising_unit`)
    by: Unit


def require_votable(state: Model, tier: Tier) -> tuple[ModelEvaluated, ResultsReported]:
    """What the model must be for its committee to vote at ``tier`` (whatever the vote's figures): the
    next rung, not voted yet, a results report on its latest evaluation, not below, replicable that far."""
    require_rung(state, tier, "tier")
    if tier in state.votes:
        raise InvalidState(
            f"Cấp ủy đã biểu quyết công nhận mô hình {state.id} cấp {TIER_VI[tier]}", code="duplicate",
            message_en=f"the committee already voted {state.id} at {tier}", field="tier",
        )  # fmt: skip
    ev, report = state.evaluation, state.report
    if not at_step(state, "model_vote") or ev is None or report is None or report.evaluation != ev.number:
        raise RuleViolated(
            RESULTS_REPORT,
            f"Mô hình {state.id} chưa có báo cáo kết quả (Mẫu 2a) theo lần đánh giá mới nhất",
            f"model {state.id} has no results report (form 2a) on its latest evaluation",
            field="model_id",
        )
    if ev.level is Level.below:
        raise RuleViolated(CRITERIA, f"Mô hình {state.id} tự đánh giá ở mức «kém»",
                           f"model {state.id} evaluated itself 'below'", field="model_id")  # fmt: skip
    if TIERS.index(ev.replicable_at) < TIERS.index(tier):
        raise RuleViolated(
            _chosen_from(tier, state.reg.dataset),
            f"Mô hình {state.id} chỉ nhân rộng được ở cấp {TIER_VI[ev.replicable_at]}",
            f"model {state.id} can be replicated at {ev.replicable_at} only", field="tier",
            details={"replicable_at": ev.replicable_at},
        )  # fmt: skip
    return ev, report


def decide_vote(state: Model, cmd: VoteRecognition, facts: VoteFacts) -> list[DomainEvent]:
    existing(state, cmd.model_id)
    tier = cmd.tier
    _ev, report = require_votable(state, tier)
    vote = _valid_vote(cmd)
    q = facts.policy.quorum
    if vote.present < vote.members * q:
        rule = Rule(QUORUM.vi.format(quorum=f"{q.numerator}/{q.denominator}"),
                    QUORUM.en.format(quorum=f"{q.numerator}/{q.denominator}"), QUORUM.source)  # fmt: skip
        raise RuleViolated(rule, f"Chỉ có {vote.present}/{vote.members} cấp ủy viên dự họp: không đủ số lượng",
                           f"only {vote.present} of {vote.members} members present: no quorum", field="present",
                           details={"present": vote.present, "members": vote.members,
                                    "quorum": f"{q.numerator}/{q.denominator}"})  # fmt: skip
    if 2 * vote.in_favour <= vote.members:
        raise RuleViolated(MAJORITY, f"Chỉ có {vote.in_favour}/{vote.members} cấp ủy viên tán thành",
                           f"only {vote.in_favour} of {vote.members} members voted for", field="in_favour",
                           details={"in_favour": vote.in_favour, "members": vote.members})  # fmt: skip
    on = dated(cmd.voted_on, facts.today, report.reported_on, "voted_on")
    q = facts.policy.quorum
    return [
        RecognitionVoted(
            model_id=state.id, tier=tier, by_unit=facts.by.code, by_unit_name=facts.by.name, vote=vote,
            quorum=f"{q.numerator}/{q.denominator}", voted_on=on, minutes_ref=cmd.minutes_ref,
        )
    ]  # fmt: skip


def _valid_vote(cmd: VoteRecognition) -> Vote:
    if cmd.present > cmd.members:
        raise ValidationFailed(
            f"Số dự họp ({cmd.present}) lớn hơn số cấp ủy viên ({cmd.members})",
            message_en=f"{cmd.present} present of {cmd.members} members", field="present",
        )  # fmt: skip
    if cmd.in_favour + cmd.against + cmd.abstaining > cmd.present:
        raise ValidationFailed(
            "Số phiếu tán thành, không tán thành, không biểu quyết vượt số dự họp",
            message_en="for, against and abstaining add up to more than those present", field="in_favour",
        )  # fmt: skip
    return Vote(members=cmd.members, present=cmd.present, in_favour=cmd.in_favour, against=cmd.against,
                abstaining=cmd.abstaining)  # fmt: skip


# --- step 5.3: the recognition notice (form 2b) ----------------------------------------------------------


def decide_notice(state: Model, cmd: NoticeRecognition, today: date) -> list[DomainEvent]:
    existing(state, cmd.model_id)
    vote = state.votes.get(cmd.tier)
    if not at_step(state, "model_notice") or vote is None:
        raise RuleViolated(
            NOTICE_AFTER_VOTE,
            f"Cấp ủy chưa biểu quyết công nhận mô hình {state.id} cấp {TIER_VI[cmd.tier]}",
            f"no committee voted to recognise {state.id} at {cmd.tier}",
            field="tier",
        )
    if cmd.tier in state.notices:
        raise InvalidState(
            f"Đã ban hành thông báo công nhận mô hình {state.id} cấp {TIER_VI[cmd.tier]}", code="duplicate",
            message_en=f"{state.id}'s notice at {cmd.tier} was issued", field="tier",
        )  # fmt: skip
    on = dated(cmd.issued_on, today, vote.voted_on, "issued_on")
    return [
        RecognitionNoticed(
            model_id=state.id, tier=cmd.tier, by_unit=vote.by_unit, by_unit_name=vote.by_unit_name,
            number=cmd.number, issued_on=on, signer_name=cmd.signer_name, signer_title=cmd.signer_title,
        )
    ]  # fmt: skip


# --- step 6: commendation and replication ----------------------------------------------------------------


@dataclass(frozen=True)
class ByFacts:
    today: date
    #: the unit whose committee commends or plans (on the model's path: the unit or one above it)
    by: Unit
    units: UnitTree


def first_notice(state: Model) -> RecognitionNoticed | None:
    """The model's first recognition (None: not recognised)."""
    return min(state.notices.values(), key=lambda n: n.issued_on, default=None)


def _recognised(state: Model, name: str, why_vi: str, why_en: str) -> RecognitionNoticed:
    first = first_notice(state)
    if not at_step(state, name) or first is None:
        raise RuleViolated(
            COMMEND_RECOGNISED,
            f"Mô hình {state.id} chưa được công nhận, chưa {why_vi}",
            f"model {state.id} is not recognised yet: it cannot be {why_en}",
            field="model_id",
        )
    return first


def _above(state: Model, by: Unit) -> None:
    if by.code not in state.reg.unit_path:
        raise ValidationFailed(
            f"Đơn vị {by.code} không phải cấp của mô hình {state.id}",
            message_en=f"unit {by.code} is not one of model {state.id}'s tiers", field="by_unit",
            details={"unit_path": list(state.reg.unit_path)},
        )  # fmt: skip


def decide_commend(state: Model, cmd: CommendModel, facts: ByFacts) -> list[DomainEvent]:
    existing(state, cmd.model_id)
    first = _recognised(state, "model_commend", "biểu dương, khen thưởng", "commended")
    _above(state, facts.by)
    if first.issued_on.year > cmd.year:
        raise RuleViolated(COMMEND_RECOGNISED, f"Mô hình {state.id} được công nhận năm {first.issued_on.year}",
                           f"model {state.id} was recognised in {first.issued_on.year}", field="year")  # fmt: skip
    on = dated(cmd.on, facts.today, first.issued_on, "on")
    if not cmd.year <= on.year <= cmd.year + 1:
        raise ValidationFailed(f"Khen thưởng năm {cmd.year} vào ngày {on:%d/%m/%Y}?",
                               message_en=f"a commendation for {cmd.year} on {on}", field="year")  # fmt: skip
    if any(c.year == cmd.year and c.by_unit == facts.by.code for c in state.commendations):
        raise InvalidState(
            f"Mô hình {state.id} đã được {facts.by.name} khen thưởng năm {cmd.year}", code="duplicate",
            message_en=f"{state.id} was commended by {facts.by.code} for {cmd.year}", field="year",
        )  # fmt: skip
    return [
        ModelCommended(
            model_id=state.id, year=cmd.year, by_unit=facts.by.code, by_unit_name=facts.by.name, form=cmd.form,
            decision_ref=cmd.decision_ref, on=on, reason=cmd.reason,
        )
    ]  # fmt: skip


def decide_replicate(state: Model, cmd: PlanReplication, facts: ByFacts) -> list[DomainEvent]:
    existing(state, cmd.model_id)
    first = _recognised(state, "model_replicate", "lập kế hoạch nhân rộng", "replicated")
    _above(state, facts.by)
    if cmd.scope not in ladder(state.reg.dataset):
        raise RuleViolated(NO_DISTRICT, "Cơ cấu hai cấp không có cấp huyện", "the two-tier structure has no district",
                           field="scope")  # fmt: skip
    outside = [u for u in cmd.units if u not in facts.units or facts.by.code not in facts.units.path(u)]
    if outside:
        raise ValidationFailed(
            f"Đơn vị ngoài phạm vi của {facts.by.name}: {', '.join(outside)}",
            message_en=f"units outside {facts.by.code}: {outside}", field="units", details={"units": outside},
        )  # fmt: skip
    start = cmd.from_date or facts.today
    if start < first.issued_on:
        raise ValidationFailed(f"Ngày {start:%d/%m/%Y} trước khi mô hình được công nhận",
                               message_en=f"{start} is before the recognition", field="from_date")  # fmt: skip
    return [
        ReplicationPlanned(
            model_id=state.id, by_unit=facts.by.code, by_unit_name=facts.by.name, scope=cmd.scope,
            units=list(dict.fromkeys(cmd.units)), plan=cmd.plan, from_date=start,
        )
    ]  # fmt: skip
