"""The petition aggregate: pure functions, no I/O.

``evolve(state, event) -> state`` rebuilds a petition from its events; each ``decide_*(state,
command, facts) -> events`` returns the new events or raises a ``CommandError`` saying why not.
``facts`` are what the handler looked up for the decision (the unit tree, the deadline policy,
the working calendar, the hamlet as this service's copy of the list has it, today's date, who
acts), so every rule sits here with its inputs.

The life of a petition::

    received ─ classified ─┬─ answered (on the spot) ─────────────────┐
        │         │        ├─ ineligible                              │
        │         │        ├─ forwarded ─┬─ returned (to the sender)  │ written reply
        │         │        │             └─ accepted ─ in_progress ───┼─> replied ─┬─ closed
        └─────────┴────────┴─ accepted / in_progress (committed date) ┘            └─ reopened ─> …
    withdrawn: at any time before resolution; merged: into a case whose reply answers it too.

Deadlines come from the policy (policy.py), carried by the event that starts or moves them:
``handle`` while a unit has it without having classified, accepted or forwarded it; ``resolve``
(statutory) once accepted; ``committed`` once a date is promised. Time, not a person, marks them approaching and overdue
(``decide_approaching``, ``decide_overdue``, run by the deadline duties).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from caunoi.petitions.commands import (
    AcceptPetition,
    AnswerOnSpot,
    ClassifyPetition,
    ErasePetitioner,
    ExtendDeadline,
    ForwardPetition,
    GiveVerdict,
    IssueReply,
    MergePetition,
    RaisePetition,
    ReturnPetition,
    SetCommitment,
    WithdrawPetition,
    public_text,
)
from caunoi.petitions.events import (
    Category,
    Channel,
    CommitmentSet,
    Complexity,
    Deadline,
    DeadlineApproaching,
    DeadlineKind,
    DelayNoticeRequired,
    Kind,
    PetitionAccepted,
    PetitionAnsweredOnSpot,
    PetitionClassified,
    Petitioner,
    PetitionerDataErased,
    PetitionExtended,
    PetitionForwarded,
    PetitionMerged,
    PetitionOverdue,
    PetitionRaised,
    PetitionReturned,
    PetitionWithdrawn,
    ReplyIssued,
    Status,
    Verdict,
    VerdictGiven,
)
from caunoi.petitions.lifecycle import AWAITING_HANDLING, BEING_RESOLVED, OPEN, PENDING, alert_key
from caunoi.petitions.policy import Policy, default_policy
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.authz import may_reach
from caunoi.shared.context import Actor
from caunoi.shared.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletRecord
from caunoi.shared.sealed import Sealed
from caunoi.shared.units import LEVEL_COMMUNE, UnitTree, require_unit
from caunoi.shared.workdays import WorkingCalendar, calendar_vn

STATUS_VI = {
    Status.received: "Đã tiếp nhận",
    Status.classified: "Đã phân loại",
    Status.ineligible: "Không đủ điều kiện xử lý",
    Status.answered: "Đã giải đáp tại hội nghị",
    Status.forwarded: "Đã chuyển cấp có thẩm quyền",
    Status.returned: "Bị trả lại đơn vị chuyển",
    Status.accepted: "Đã thụ lý",
    Status.in_progress: "Đang giải quyết",
    Status.replied: "Đã có văn bản trả lời",
    Status.closed: "Người nêu hài lòng",
    Status.reopened: "Phản ánh lại, mở lại",
    Status.withdrawn: "Đã rút đơn",
    Status.merged: "Đã gộp vào vụ việc",
}
STATUS_EN = {s: s.value.replace("_", " ") for s in Status}

#: where an opinion can be answered on the spot
ON_SPOT_CHANNELS = (Channel.meeting, Channel.reception)
_COMPLEXITY_ORDER = list(Complexity)


@dataclass(frozen=True)
class Forward:
    from_unit: str
    from_agency: str | None
    to_unit: str
    to_agency: str | None


@dataclass(frozen=True)
class Petition:
    id: str = ""
    status: Status = Status.new
    channel: Channel | None = None
    kind: Kind = Kind.feedback
    category: Category | None = None
    #: in clear: a petition raised before personal data were sealed (v1, v2 events)
    petitioner: Petitioner | None = None
    #: the petitioner's personal data, sealed (v3)
    personal: Sealed | None = None
    #: the petitioner's personal data were erased
    erased: bool = False
    #: events of this petition that carry personal data in clear (written before they were sealed)
    in_clear: int = 0
    commune_code: str = ""
    hamlet_id: str | None = None
    hamlet_name: str | None = None
    text: str = ""
    dataset: str | None = None
    unit_path: tuple[str, ...] = ()
    handling_unit: str = ""
    handling_agency: str | None = None
    #: every unit it was forwarded to, in order
    handled_by: tuple[str, ...] = ()
    forwards: tuple[Forward, ...] = ()
    received_on: date | None = None
    complexity: Complexity = Complexity.normal
    remote_area: bool = False
    committed_date: date | None = None
    deadlines: tuple[Deadline, ...] = ()
    extensions: int = 0
    #: what the deadline watcher recorded: ``approaching|overdue:<deadline>:<due date>``
    alerts: frozenset[str] = frozenset()
    case_id: str | None = None
    #: the written reply that resolved it: document number, public summary, by which unit, when
    reply: tuple[str, str, str, date] | None = None

    def deadline(self, kind: DeadlineKind) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind is kind), None)

    def pending(self) -> list[Deadline]:
        """The deadlines being watched now."""
        return [d for d in self.deadlines if self.status in PENDING[d.kind]]


#: the petition before its first event (immutable: one serves every new aggregate)
_INITIAL = Petition()


def initial() -> Petition:
    return _INITIAL


def _with_deadline(state: Petition, d: Deadline) -> tuple[Deadline, ...]:
    return (*(x for x in state.deadlines if x.kind is not d.kind), d)


def evolve(state: Petition, event: DomainEvent) -> Petition:
    after = _evolve(state, event)
    # the event that starts or moves a deadline carries it (a raise: in its new state already)
    d = getattr(event, "deadline", None)
    if not isinstance(d, Deadline) or after.deadlines == (d,):
        return after
    return replace(after, deadlines=_with_deadline(after, d))


def _evolve(state: Petition, event: DomainEvent) -> Petition:
    match event:
        case PetitionRaised():
            return Petition(
                id=event.petition_id,
                status=Status.received,
                channel=event.channel,
                kind=event.kind,
                category=event.category,
                petitioner=event.petitioner,
                personal=event.personal,
                in_clear=int(event.petitioner is not None),
                commune_code=event.commune_code,
                hamlet_id=event.hamlet_id,
                hamlet_name=event.hamlet_name,
                text=event.text,
                dataset=event.dataset,
                unit_path=tuple(event.unit_path),
                handling_unit=event.commune_code,
                received_on=event.received_on,
                deadlines=() if event.deadline is None else (event.deadline,),
            )
        case PetitionClassified():
            status = Status.classified if event.eligible else Status.ineligible
            return replace(state, status=status, kind=event.kind, category=event.category)
        case PetitionAnsweredOnSpot():
            return replace(state, status=Status.answered)
        case PetitionForwarded():
            fwd = Forward(state.handling_unit, state.handling_agency, event.to_unit, event.to_agency)
            return replace(
                state,
                status=Status.forwarded,
                handling_unit=event.to_unit,
                handling_agency=event.to_agency,
                handled_by=(*state.handled_by, event.to_unit),
                forwards=(*state.forwards, fwd),
            )
        case PetitionReturned():
            back = state.forwards[-1] if state.forwards else None
            return replace(
                state,
                status=Status.returned,
                handling_unit=event.to_unit,
                handling_agency=back.from_agency if back else None,
            )
        case PetitionAccepted():
            return replace(state, status=Status.accepted, complexity=event.complexity, remote_area=event.remote_area)
        case CommitmentSet():
            # the deadline as v1 logs have it (v2 carries it with the policy's warning)
            promised = Deadline(kind=DeadlineKind.committed, due_on=event.committed_date)
            return replace(
                state,
                status=Status.in_progress,
                committed_date=event.committed_date,
                deadlines=_with_deadline(state, promised),
            )
        case PetitionExtended():
            committed = event.new_due if event.which is DeadlineKind.committed else state.committed_date
            return replace(state, extensions=event.number, complexity=event.complexity, committed_date=committed)
        case ReplyIssued():
            return replace(
                state,
                status=Status.replied,
                reply=(event.document_no, event.summary, event.by_unit, event.issued_on),
            )
        case VerdictGiven():
            if event.verdict is Verdict.satisfied:
                return replace(state, status=Status.closed)
            return replace(
                state,
                status=Status.reopened,
                committed_date=None,
                reply=None,
                deadlines=tuple(d for d in state.deadlines if d.kind is not DeadlineKind.committed),
            )
        case PetitionWithdrawn():
            return replace(state, status=Status.withdrawn)
        case PetitionMerged():
            return replace(state, status=Status.merged, case_id=event.case_id)
        case DeadlineApproaching():
            return replace(state, alerts=state.alerts | {alert_key("approaching", event.deadline, event.due_on)})
        case PetitionOverdue():
            return replace(state, alerts=state.alerts | {alert_key("overdue", event.deadline, event.due_on)})
        case DelayNoticeRequired():
            return replace(state, in_clear=state.in_clear + int(event.petitioner is not None))
        case PetitionerDataErased():
            return replace(state, erased=True, petitioner=None, personal=None)
    return state


def scope(state: Petition) -> Scope:
    """The unit now handling the petition (the commune until it is forwarded); its subject stays
    under the commune where it was raised; the units it was forwarded to reach it too."""
    return Scope(state.handling_unit, state.dataset, state.unit_path, state.handled_by)


PETITION = AggregateKind[Petition]("petition", initial, evolve, scope, snapshot_version=1)


@dataclass(frozen=True)
class Facts:
    """What a petition command's handler looked up."""

    today: date
    units: UnitTree
    #: raise: the reference allotted to the new petition
    reference: str = ""
    #: raise: the hamlet the command names, as this service's copy of the list has it
    hamlet: HamletRecord | None = None
    policy: Policy = field(default_factory=default_policy)
    calendar: WorkingCalendar = field(default_factory=calendar_vn)
    #: who acts (None: the service itself); acts of the handling unit need its reach
    actor: Actor | None = None
    #: merge: the case petition, as its events make it
    case: Petition | None = None
    #: raise: the petitioner's personal data, sealed under their key
    personal: Sealed | None = None


@dataclass(frozen=True)
class Alert:
    """What a deadline duty found: which deadline, due when."""

    deadline: DeadlineKind
    due_on: date


# --- shared checks ------------------------------------------------------------------------------


def _must_exist(state: Petition, petition_id: str) -> None:
    if state.status is Status.new:
        raise NotFound(
            f"Không tìm thấy ý kiến, kiến nghị {petition_id}",
            message_en=f"no petition {petition_id}",
            field="petition_id",
        )


def _refuse(state: Petition, action_vi: str, action_en: str) -> InvalidState:
    return InvalidState(
        f"Không thể {action_vi}: ý kiến đang ở trạng thái «{STATUS_VI.get(state.status, state.status)}»",
        message_en=f"cannot {action_en} a petition that is {state.status.value}",
        details={"status": state.status.value},
    )


def _require(state: Petition, allowed: frozenset[Status] | set[Status], action_vi: str, action_en: str) -> None:
    if state.status not in allowed:
        raise _refuse(state, action_vi, action_en)


def _not_before_receipt(state: Petition, on: date, field_name: str) -> None:
    if state.received_on is not None and on < state.received_on:
        raise ValidationFailed(
            "Ngày không được trước ngày tiếp nhận",
            message_en=f"{field_name} is before the date received",
            field=field_name,
        )


def _on(given: date | None, facts: Facts, state: Petition, field_name: str) -> date:
    on = given or facts.today
    _not_before_receipt(state, on, field_name)
    if on > facts.today:
        raise ValidationFailed(
            "Ngày không được sau ngày hôm nay", message_en=f"{field_name} is in the future", field=field_name
        )
    return on


def tree_of(state: Petition, facts: Facts) -> UnitTree:
    """The unit tree of the petition's own dataset (a legacy petition keeps its legacy units)."""
    return facts.units if state.dataset in (None, facts.units.dataset) else UnitTree.load(state.dataset)


def may_handle(state: Petition, facts: Facts) -> bool:
    """Whether the actor is the unit handling the petition now, or a unit above it."""
    actor = facts.actor
    if actor is None:
        return True
    tree = tree_of(state, facts)
    path = tree.path(state.handling_unit) if state.handling_unit in tree else [state.handling_unit]
    return may_reach(actor, facts.units, state.dataset, path)


def _must_handle(state: Petition, facts: Facts) -> None:
    """Acts of the handling unit: only it (and the units above it) may do them."""
    if not may_handle(state, facts):
        actor = facts.actor
        assert actor is not None
        raise Forbidden(
            f"Chỉ đơn vị đang giải quyết ({state.handling_unit}) hoặc cấp trên của đơn vị đó được làm việc này",
            message_en=f"only the unit handling the petition ({state.handling_unit}) or a unit above it may do this",
            details={"handling_unit": state.handling_unit, "actor_unit": actor.unit},
        )


def _handle_deadline(kind: Kind, start: date, facts: Facts) -> Deadline | None:
    return facts.policy.deadline(kind, DeadlineKind.handle, start, calendar=facts.calendar)


def _resolve_deadline(
    state: Petition, start: date, facts: Facts, complexity: Complexity | None = None, remote: bool | None = None
) -> Deadline | None:
    return facts.policy.deadline(
        state.kind,
        DeadlineKind.resolve,
        start,
        complexity=state.complexity if complexity is None else complexity,
        remote=state.remote_area if remote is None else remote,
        calendar=facts.calendar,
    )


# --- which command each status allows ---------------------------------------------------------------

FORWARDABLE = AWAITING_HANDLING | {Status.classified, Status.accepted, Status.reopened}
COMMITTABLE = AWAITING_HANDLING | {Status.classified, Status.accepted, Status.reopened}
REPLIABLE = frozenset(
    {
        Status.answered,
        Status.classified,
        Status.forwarded,
        Status.returned,
        Status.accepted,
        Status.in_progress,
        Status.reopened,
    }
)


@dataclass(frozen=True)
class Act:
    """A command on an existing petition: the statuses it is accepted in, and whether only the
    unit handling the petition (or one above it) may give it."""

    statuses: frozenset[Status]
    handling_unit_only: bool = True


#: every command on an existing petition, by its request name (``caunoi.cmd.petitions.<name>``)
ACTS: dict[str, Act] = {
    "classify": Act(AWAITING_HANDLING | {Status.classified}),
    "answer": Act(frozenset({Status.received, Status.classified})),
    "forward": Act(FORWARDABLE),
    "return": Act(frozenset({Status.forwarded})),
    "accept": Act(AWAITING_HANDLING | {Status.classified}),
    "commit": Act(COMMITTABLE),
    "extend": Act(BEING_RESOLVED),
    "reply": Act(REPLIABLE),
    "verdict": Act(frozenset({Status.replied}), handling_unit_only=False),
    "withdraw": Act(OPEN | {Status.merged}, handling_unit_only=False),
    "merge": Act(OPEN),
}


def deadline_to_extend(state: Petition) -> tuple[DeadlineKind, Deadline | None]:
    """An extension moves the committed date if there is one, else the statutory limit."""
    which = DeadlineKind.committed if state.committed_date is not None else DeadlineKind.resolve
    return which, state.deadline(which)


def may_extend(state: Petition, facts: Facts) -> bool:
    """There is a deadline to extend and an extension left, at the matter's complexity or a
    higher one an extension may declare."""
    policy = facts.policy.for_kind(state.kind)
    higher = _COMPLEXITY_ORDER[_COMPLEXITY_ORDER.index(state.complexity) :]
    room = max(policy.extensions_allowed(c) for c in higher)
    return deadline_to_extend(state)[1] is not None and state.extensions < room


def available_actions(state: Petition, facts: Facts) -> list[str]:
    """The commands this petition's state allows the acting unit (``facts.actor``), by name: what
    a client offers. The decisions below check the same table, so an offered command is refused
    only for its input (or a change made since)."""
    handles = may_handle(state, facts)
    out = []
    for name, act in ACTS.items():
        if state.status not in act.statuses or (act.handling_unit_only and not handles):
            continue
        if name == "answer" and state.channel not in ON_SPOT_CHANNELS:
            continue
        if name == "commit" and state.committed_date is not None:
            continue
        if name == "extend" and not may_extend(state, facts):
            continue
        out.append(name)
    return out


def forward_targets(state: Petition, facts: Facts) -> list[str]:
    """Where the unit handling it may forward it: the units above it, nearest first, and the
    unit itself (across, to another agency)."""
    tree = tree_of(state, facts)
    return [*(u.code for u in tree.higher_units(state.handling_unit)), state.handling_unit]


# --- commands -------------------------------------------------------------------------------------


def decide_raise(state: Petition, cmd: RaisePetition, facts: Facts) -> list[DomainEvent]:
    """The new petition; its personal data go in ``facts.personal`` (sealed by the handler after
    :func:`validate_raise`), never in clear."""
    commune, received_on, hamlet = validate_raise(state, cmd, facts)
    if facts.personal is None:
        raise ValueError("the petitioner's personal data must be sealed before the petition is raised")
    text, _ = public_text(cmd.text)
    raised = PetitionRaised(
        petition_id=facts.reference,
        channel=cmd.channel,
        kind=cmd.kind,
        category=cmd.category,
        personal=facts.personal,
        confidential=cmd.petitioner.confidential,
        commune_code=commune,
        hamlet_id=cmd.hamlet_id,
        hamlet_name=hamlet.name if hamlet and cmd.hamlet_id else None,
        text=text,
        received_on=received_on,
        unit_path=facts.units.path(commune),
        dataset=facts.units.dataset,
        meeting_id=cmd.meeting_id,
        deadline=_handle_deadline(cmd.kind, received_on, facts),
    )
    return [raised]


def personal_data(cmd: RaisePetition) -> dict[str, str | None]:
    """What is sealed of a new petition: the contact, and the whole text when passages are marked."""
    _, marked = public_text(cmd.text)
    p = cmd.petitioner
    return {"name": p.name, "phone": p.phone, "address": p.address, "text": cmd.text if marked else None}


def validate_raise(state: Petition, cmd: RaisePetition, facts: Facts) -> tuple[str, date, HamletRecord | None]:
    """The checks of a raise (the commune, the date and the hamlet it names), before anything is
    sealed: a refused petition leaves no key behind."""
    if state.status is not Status.new:
        raise InvalidState(
            f"Ý kiến {state.id} đã được tiếp nhận", message_en="petition already exists", field="command_id"
        )
    commune = require_unit(facts.units, cmd.commune_code, field="commune_code", level=LEVEL_COMMUNE)
    received_on = cmd.received_on or facts.today
    if received_on > facts.today:
        raise ValidationFailed(
            "Ngày tiếp nhận không được sau ngày hôm nay", message_en="received_on is in the future", field="received_on"
        )
    if cmd.channel is Channel.meeting and not cmd.hamlet_id:
        raise ValidationFailed(
            "Ý kiến tại hội nghị phải ghi thôn, tổ dân phố nơi tổ chức",
            message_en="a meeting opinion needs the hamlet that held the meeting",
            field="hamlet_id",
        )
    hamlet = facts.hamlet
    if cmd.hamlet_id and (hamlet is None or not hamlet.active or hamlet.commune_code != commune.code):
        raise NotFound(
            f"Xã {commune.code} không có thôn, tổ dân phố mã {cmd.hamlet_id} (đang hoạt động)",
            code="unknown_unit",
            message_en=f"commune {commune.code} has no active hamlet {cmd.hamlet_id}",
            field="hamlet_id",
        )
    return commune.code, received_on, hamlet


def decide_classify(state: Petition, cmd: ClassifyPetition, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["classify"].statuses, "phân loại", "classify")
    _must_handle(state, facts)
    if not cmd.eligible and not cmd.reason:
        raise ValidationFailed(
            "Đơn không đủ điều kiện xử lý phải ghi lý do",
            message_en="an ineligible petition needs the reason",
            field="reason",
        )
    return [
        PetitionClassified(
            petition_id=state.id,
            kind=cmd.kind,
            category=cmd.category or state.category or Category.other,
            eligible=cmd.eligible,
            reason=cmd.reason,
            by_unit=state.handling_unit,
            classified_on=_on(cmd.classified_on, facts, state, "classified_on"),
        )
    ]


def decide_answer(state: Petition, cmd: AnswerOnSpot, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["answer"].statuses, "giải đáp trực tiếp", "answer on the spot")
    _must_handle(state, facts)
    if state.channel not in ON_SPOT_CHANNELS:
        raise InvalidState(
            "Chỉ giải đáp trực tiếp ý kiến nêu tại hội nghị hoặc buổi tiếp công dân",
            message_en="only opinions raised at a meeting or a reception can be answered on the spot",
            details={"channel": state.channel.value if state.channel else None},
        )
    on = _on(cmd.answered_on, facts, state, "answered_on")
    return [
        PetitionAnsweredOnSpot(petition_id=state.id, answer=cmd.answer, answered_by=cmd.answered_by, answered_on=on)
    ]


def decide_forward(state: Petition, cmd: ForwardPetition, facts: Facts) -> list[DomainEvent]:
    """Up the tiers (any number of them), or across to another agency of the unit handling it."""
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["forward"].statuses, "chuyển", "forward")
    _must_handle(state, facts)
    tree = tree_of(state, facts)
    higher = [u.code for u in tree.higher_units(state.handling_unit)]
    across = cmd.to_unit == state.handling_unit
    if across and (not cmd.to_agency or cmd.to_agency == state.handling_agency):
        raise ValidationFailed(
            "Chuyển trong cùng cấp phải ghi cơ quan nhận khác cơ quan đang giải quyết",
            message_en="forwarding across the same unit needs another agency",
            field="to_agency",
        )
    if not across and cmd.to_unit not in higher:
        raise ValidationFailed(
            f"Đơn vị {cmd.to_unit} không phải cấp trên của đơn vị đang giải quyết ({state.handling_unit})",
            message_en=f"{cmd.to_unit} is not above the unit handling the petition ({state.handling_unit})",
            field="to_unit",
            details={"allowed": [*higher, state.handling_unit]},
        )
    on = _on(cmd.forwarded_on, facts, state, "forwarded_on")
    forwarded = PetitionForwarded(
        petition_id=state.id,
        from_unit=state.handling_unit,
        to_unit=cmd.to_unit,
        to_agency=cmd.to_agency,
        note=cmd.note,
        forwarded_on=on,
        deadline=_handle_deadline(state.kind, on, facts),
    )
    return [forwarded]


def decide_return(state: Petition, cmd: ReturnPetition, facts: Facts) -> list[DomainEvent]:
    """The receiving unit refuses what was forwarded to it: back to the sender."""
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["return"].statuses, "trả lại", "return")
    _must_handle(state, facts)
    back = state.forwards[-1]
    on = _on(cmd.returned_on, facts, state, "returned_on")
    return [
        PetitionReturned(
            petition_id=state.id,
            from_unit=state.handling_unit,
            to_unit=back.from_unit,
            reason=cmd.reason,
            returned_on=on,
            deadline=_handle_deadline(state.kind, on, facts),
        )
    ]


def decide_accept(state: Petition, cmd: AcceptPetition, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["accept"].statuses, "thụ lý", "accept")
    _must_handle(state, facts)
    on = _on(cmd.accepted_on, facts, state, "accepted_on")
    return [
        PetitionAccepted(
            petition_id=state.id,
            by_unit=state.handling_unit,
            accepted_on=on,
            complexity=cmd.complexity,
            remote_area=cmd.remote_area,
            note=cmd.note,
            deadline=_resolve_deadline(state, on, facts, cmd.complexity, cmd.remote_area),
        )
    ]


def decide_commit(state: Petition, cmd: SetCommitment, facts: Facts) -> list[DomainEvent]:
    """The resolver commits to a date (taking the petition on, if it had not yet)."""
    _must_exist(state, cmd.petition_id)
    if state.committed_date is not None:
        raise InvalidState(
            "Đã có thời hạn cam kết; thay đổi phải qua gia hạn",
            message_en="a committed date is already set; changing it is an extension",
            field="committed_date",
        )
    _require(state, ACTS["commit"].statuses, "đặt thời hạn cam kết", "set a committed date for")
    _must_handle(state, facts)
    if state.received_on is not None and cmd.committed_date < state.received_on:
        raise ValidationFailed(
            "Thời hạn cam kết không được trước ngày tiếp nhận",
            message_en="committed date is before the date received",
            field="committed_date",
        )
    statutory = state.deadline(DeadlineKind.resolve)
    if statutory is not None and state.status in BEING_RESOLVED and cmd.committed_date > statutory.due_on:
        raise ValidationFailed(
            f"Thời hạn cam kết không được sau thời hạn giải quyết theo luật ({statutory.due_on.isoformat()})",
            message_en=f"the committed date is after the statutory deadline ({statutory.due_on.isoformat()})",
            field="committed_date",
            details={"statutory_due": statutory.due_on.isoformat()},
        )
    committed = facts.policy.committed(state.kind, cmd.committed_date, facts.today, facts.calendar)
    return [
        CommitmentSet(
            petition_id=state.id,
            committed_date=cmd.committed_date,
            by_unit=state.handling_unit,
            note=cmd.note,
            deadline=committed,
        )
    ]


def decide_extend(state: Petition, cmd: ExtendDeadline, facts: Facts) -> list[DomainEvent]:
    """Gia hạn: the committed date if there is one, else the statutory limit, counted against
    the extensions the kind allows at the matter's complexity."""
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["extend"].statuses, "gia hạn", "extend")
    _must_handle(state, facts)
    which, current = deadline_to_extend(state)
    if current is None:
        raise InvalidState(
            "Ý kiến chưa có thời hạn để gia hạn", message_en="the petition has no deadline to extend", field="until"
        )
    complexity = cmd.complexity or state.complexity
    if _COMPLEXITY_ORDER.index(complexity) < _COMPLEXITY_ORDER.index(state.complexity):
        raise ValidationFailed(
            "Không thể hạ mức độ phức tạp khi gia hạn",
            message_en="an extension cannot lower the complexity",
            field="complexity",
        )
    kind_policy = facts.policy.for_kind(state.kind)
    allowed = kind_policy.extensions_allowed(complexity)
    if state.extensions >= allowed:
        raise InvalidState(
            f"Đã gia hạn {state.extensions} lần; loại đơn này ở mức độ «{complexity.value}» được gia hạn {allowed} lần",
            message_en=f"extended {state.extensions} times; a {state.kind.value} of {complexity.value} complexity"
            f" allows {allowed}",
            details={"allowed": allowed, "used": state.extensions, "complexity": complexity.value},
        )
    on = _on(cmd.extended_on, facts, state, "extended_on")
    by_days = which is DeadlineKind.resolve and kind_policy.extension > 0
    if by_days:
        if cmd.until is not None:
            raise ValidationFailed(
                f"Gia hạn theo luật là {kind_policy.extension} ngày; không ghi ngày mới",
                message_en=f"a statutory extension adds {kind_policy.extension} days; give no date",
                field="until",
            )
        new_due = facts.calendar.add(current.due_on, kind_policy.extension, current.unit or "calendar")
    else:
        if cmd.until is None:
            raise ValidationFailed("Ghi thời hạn mới (--until)", message_en="give the new date (until)", field="until")
        new_due = cmd.until
    if new_due <= current.due_on:
        raise ValidationFailed(
            f"Thời hạn mới phải sau thời hạn hiện tại ({current.due_on.isoformat()})",
            message_en=f"the new date must be after the current one ({current.due_on.isoformat()})",
            field="until",
        )
    return [
        PetitionExtended(
            petition_id=state.id,
            which=which,
            previous_due=current.due_on,
            new_due=new_due,
            reason=cmd.reason,
            number=state.extensions + 1,
            complexity=complexity,
            by_unit=state.handling_unit,
            extended_on=on,
            deadline=facts.policy.extended(current, new_due, facts.calendar),
        )
    ]


def decide_reply(state: Petition, cmd: IssueReply, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["reply"].statuses, "ban hành văn bản trả lời", "issue a written reply for")
    _must_handle(state, facts)
    on = _on(cmd.issued_on, facts, state, "issued_on")
    return [
        ReplyIssued(
            petition_id=state.id,
            document_no=cmd.document_no,
            issued_on=on,
            by_unit=state.handling_unit,
            summary=cmd.summary,
            recipients=[r.value for r in cmd.recipients],
            internal_note=cmd.internal_note,
        )
    ]


def decide_verdict(state: Petition, cmd: GiveVerdict, facts: Facts) -> list[DomainEvent]:
    """The petitioner's word on the reply; "not resolved" reopens it (phản ánh lại)."""
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["verdict"].statuses, "ghi ý kiến của người nêu", "record the verdict on")
    on = _on(cmd.given_on, facts, state, "given_on")
    reopened = cmd.verdict is Verdict.not_resolved
    return [
        VerdictGiven(
            petition_id=state.id,
            verdict=cmd.verdict,
            comment=cmd.comment,
            given_on=on,
            deadline=_resolve_deadline(state, on, facts) if reopened else None,
        )
    ]


def decide_withdraw(state: Petition, cmd: WithdrawPetition, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["withdraw"].statuses, "rút đơn", "withdraw")
    on = _on(cmd.withdrawn_on, facts, state, "withdrawn_on")
    return [PetitionWithdrawn(petition_id=state.id, reason=cmd.reason, withdrawn_on=on)]


def decide_merge(state: Petition, cmd: MergePetition, facts: Facts) -> list[DomainEvent]:
    """Into a case about the same matter, still open, handled where the actor may act."""
    _must_exist(state, cmd.petition_id)
    _require(state, ACTS["merge"].statuses, "gộp", "merge")
    _must_handle(state, facts)
    case = facts.case
    if case is None or case.status is Status.new:
        raise NotFound(
            f"Không tìm thấy vụ việc {cmd.case_id}", message_en=f"no petition {cmd.case_id}", field="case_id"
        )
    if case.id == state.id:
        raise ValidationFailed(
            "Không thể gộp một ý kiến vào chính nó", message_en="a petition cannot merge into itself", field="case_id"
        )
    if case.status not in OPEN:
        raise InvalidState(
            f"Vụ việc {case.id} đang ở trạng thái «{STATUS_VI.get(case.status, case.status)}», không nhận gộp thêm",
            message_en=f"case {case.id} is {case.status.value}: nothing can merge into it",
            field="case_id",
        )
    _must_handle(case, facts)
    on = _on(cmd.merged_on, facts, state, "merged_on")
    return [PetitionMerged(petition_id=state.id, case_id=case.id, reason=cmd.reason, merged_on=on)]


# --- what time and cases cause (run by the duties) --------------------------------------------------


def _current(state: Petition, alert: Alert) -> Deadline | None:
    """The deadline the alert is about, if it is still the one being watched."""
    d = state.deadline(alert.deadline)
    return d if d is not None and d.due_on == alert.due_on and state.status in PENDING[d.kind] else None


def decide_approaching(state: Petition, alert: Alert, facts: Facts) -> list[DomainEvent]:
    d = _current(state, alert)
    key = alert_key("approaching", alert.deadline, alert.due_on)
    if d is None or key in state.alerts or d.warn_on is None or not d.warn_on <= facts.today <= d.due_on:
        return []
    left = facts.calendar.between(facts.today, d.due_on, d.unit or "calendar")
    return [
        DeadlineApproaching(
            petition_id=state.id, deadline=d.kind, due_on=d.due_on, handling_unit=state.handling_unit, days_left=left
        )
    ]


def decide_overdue(state: Petition, alert: Alert, facts: Facts) -> list[DomainEvent]:
    """A deadline passed with the petition still pending: overdue, and when it was a committed
    date, the petitioner must be told (seed 000)."""
    d = _current(state, alert)
    key = alert_key("overdue", alert.deadline, alert.due_on)
    if d is None or key in state.alerts or not d.due_on < facts.today:
        return []
    events: list[DomainEvent] = [
        PetitionOverdue(
            petition_id=state.id,
            deadline=d.kind,
            due_on=d.due_on,
            handling_unit=state.handling_unit,
            noticed_on=facts.today,
        )
    ]
    if d.kind is DeadlineKind.committed and state.received_on is not None:
        events.append(
            DelayNoticeRequired(
                petition_id=state.id,
                committed_date=d.due_on,
                handling_unit=state.handling_unit,
                handling_agency=state.handling_agency,
                personal=state.personal,
                hamlet_id=state.hamlet_id,
                hamlet_name=state.hamlet_name,
                commune_code=state.commune_code,
                received_on=state.received_on,
                text=state.text,
                noticed_on=facts.today,
            )
        )
    return events


def decide_erase(state: Petition, cmd: ErasePetitioner, facts: Facts) -> list[DomainEvent]:
    """Erase the petitioner's personal data: the handler destroys their key once this is stored."""
    _must_exist(state, cmd.petition_id)
    if state.erased:
        raise InvalidState(
            f"Dữ liệu cá nhân của người nêu ý kiến {state.id} đã được xóa",
            message_en=f"the personal data of petition {state.id}'s petitioner were erased already",
            field="petition_id",
        )
    return [
        PetitionerDataErased(
            petition_id=state.id,
            reason=cmd.reason,
            erased_on=facts.today,
            key_id=state.personal.key_id if state.personal else None,
            in_clear=state.in_clear,
        )
    ]


def decide_case_reply(state: Petition, case: Petition, facts: Facts) -> list[DomainEvent]:
    """A petition merged into a case that was answered gets the case's reply too."""
    if state.status is not Status.merged or state.case_id != case.id or case.reply is None:
        return []
    document_no, summary, by_unit, issued_on = case.reply
    return [
        ReplyIssued(
            petition_id=state.id,
            document_no=document_no,
            issued_on=max(issued_on, state.received_on or issued_on),
            by_unit=by_unit,
            summary=summary,
            recipients=["petitioner"],
            case_id=case.id,
        )
    ]


def alerts_due(state: Petition, today: date) -> Sequence[tuple[str, Alert]]:
    """What the watcher would record for this petition today (for tests and the read model's
    cross-check): ``("approaching" | "overdue", alert)``."""
    out: list[tuple[str, Alert]] = []
    for d in state.pending():
        alert = Alert(d.kind, d.due_on)
        if d.due_on < today and alert_key("overdue", d.kind, d.due_on) not in state.alerts:
            out.append(("overdue", alert))
        elif d.warn_on is not None and d.warn_on <= today <= d.due_on:
            if alert_key("approaching", d.kind, d.due_on) not in state.alerts:
                out.append(("approaching", alert))
    return out
