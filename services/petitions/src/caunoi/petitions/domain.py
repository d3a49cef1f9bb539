"""The petition aggregate: pure functions, no I/O.

``evolve(state, event) -> state`` rebuilds a petition from its events; each ``decide_*(state,
command, facts) -> events`` returns the new events or raises a ``CommandError`` saying why not.
``facts`` are what the handler looked up for the decision (the unit tree, the hamlet as this
service's copy of the list has it, today's date), so every rule sits here with its inputs.

Life in this release: received -> answered on the spot | forwarded (possibly again, up the tiers)
-> committed date set -> written reply issued. Later releases add acceptance, extension,
resolution, reopening and withdrawal; the states are named for that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

from caunoi.petitions.commands import AnswerOnSpot, ForwardPetition, IssueReply, RaisePetition, SetCommitment
from caunoi.petitions.events import (
    Channel,
    CommitmentSet,
    PetitionAnsweredOnSpot,
    PetitionForwarded,
    PetitionRaised,
    ReplyIssued,
    Status,
)
from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.hamlets import HamletRecord
from caunoi.shared.ids import PETITION_PREFIX, REFERENCE_ALPHABET
from caunoi.shared.units import LEVEL_COMMUNE, UnitTree, require_unit

STATUS_VI = {
    Status.received: "Đã tiếp nhận",
    Status.answered: "Đã giải đáp tại hội nghị",
    Status.forwarded: "Đã chuyển cấp có thẩm quyền",
    Status.in_progress: "Đang giải quyết",
    Status.replied: "Đã có văn bản trả lời",
}

#: where an opinion can be answered on the spot
ON_SPOT_CHANNELS = (Channel.meeting, Channel.reception)


def reference_for(command_id: str, attempt: int = 0) -> str:
    """A short reference people can quote (``PA-7KQ2M9XD``), derived from the command id so a
    retried raise lands on the same petition. ``attempt`` > 0 gives the alternatives used when
    another petition already has the reference (40 bits: rare, but not impossible)."""
    seed = command_id if attempt == 0 else f"{command_id}#{attempt}"
    n = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:5], "big")
    chars = "".join(REFERENCE_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"{PETITION_PREFIX}{chars}"


@dataclass(frozen=True)
class Petition:
    id: str = ""
    status: Status = Status.new
    channel: Channel | None = None
    commune_code: str = ""
    dataset: str | None = None
    unit_path: tuple[str, ...] = ()
    handling_unit: str = ""
    #: every unit it was forwarded to, in order
    handled_by: tuple[str, ...] = ()
    received_on: date | None = None
    committed_date: date | None = None


def initial() -> Petition:
    return Petition()


def evolve(state: Petition, event: DomainEvent) -> Petition:
    match event:
        case PetitionRaised():
            return Petition(
                id=event.petition_id,
                status=Status.received,
                channel=event.channel,
                commune_code=event.commune_code,
                dataset=event.dataset,
                unit_path=tuple(event.unit_path),
                handling_unit=event.commune_code,
                received_on=event.received_on,
            )
        case PetitionAnsweredOnSpot():
            return replace(state, status=Status.answered)
        case PetitionForwarded():
            return replace(
                state,
                status=Status.forwarded,
                handling_unit=event.to_unit,
                handled_by=(*state.handled_by, event.to_unit),
            )
        case CommitmentSet():
            return replace(state, status=Status.in_progress, committed_date=event.committed_date)
        case ReplyIssued():
            return replace(state, status=Status.replied)
    return state


def scope(state: Petition) -> Scope:
    """The unit now handling the petition (the commune until it is forwarded); its subject stays
    under the commune where it was raised; the units it was forwarded to reach it too."""
    return Scope(state.handling_unit, state.dataset, state.unit_path, state.handled_by)


PETITION = AggregateKind[Petition]("petition", initial, evolve, scope)


@dataclass(frozen=True)
class Facts:
    """What a petition command's handler looked up."""

    today: date
    units: UnitTree
    #: raise: the reference allotted to the new petition
    reference: str = ""
    #: raise: the hamlet the command names, as this service's copy of the list has it
    hamlet: HamletRecord | None = None


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


def _not_before_receipt(state: Petition, on: date, field: str) -> None:
    if state.received_on is not None and on < state.received_on:
        raise ValidationFailed(
            "Ngày không được trước ngày tiếp nhận", message_en=f"{field} is before the date received", field=field
        )


def decide_raise(state: Petition, cmd: RaisePetition, facts: Facts) -> list[DomainEvent]:
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
    return [
        PetitionRaised(
            petition_id=facts.reference,
            channel=cmd.channel,
            kind=cmd.kind,
            category=cmd.category,
            petitioner=cmd.petitioner,
            commune_code=commune.code,
            hamlet_id=cmd.hamlet_id,
            hamlet_name=hamlet.name if hamlet and cmd.hamlet_id else None,
            text=cmd.text,
            received_on=received_on,
            unit_path=facts.units.path(commune.code),
            dataset=facts.units.dataset,
            meeting_id=cmd.meeting_id,
        )
    ]


def decide_answer(state: Petition, cmd: AnswerOnSpot, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    if state.status is not Status.received:
        raise _refuse(state, "giải đáp trực tiếp", "answer on the spot")
    if state.channel not in ON_SPOT_CHANNELS:
        raise InvalidState(
            "Chỉ giải đáp trực tiếp ý kiến nêu tại hội nghị hoặc buổi tiếp công dân",
            message_en="only opinions raised at a meeting or a reception can be answered on the spot",
            details={"channel": state.channel.value if state.channel else None},
        )
    on = cmd.answered_on or facts.today
    _not_before_receipt(state, on, "answered_on")
    return [
        PetitionAnsweredOnSpot(petition_id=state.id, answer=cmd.answer, answered_by=cmd.answered_by, answered_on=on)
    ]


def decide_forward(state: Petition, cmd: ForwardPetition, facts: Facts) -> list[DomainEvent]:
    """Up the tiers only: to a unit above the one handling the petition now."""
    _must_exist(state, cmd.petition_id)
    if state.status not in (Status.received, Status.forwarded):
        raise _refuse(state, "chuyển cấp", "forward")
    higher = [u.code for u in facts.units.higher_units(state.handling_unit)]
    if cmd.to_unit not in higher:
        raise ValidationFailed(
            f"Đơn vị {cmd.to_unit} không phải cấp trên của đơn vị đang giải quyết ({state.handling_unit})",
            message_en=f"{cmd.to_unit} is not above the unit handling the petition ({state.handling_unit})",
            field="to_unit",
            details={"allowed": higher},
        )
    on = cmd.forwarded_on or facts.today
    _not_before_receipt(state, on, "forwarded_on")
    return [
        PetitionForwarded(
            petition_id=state.id,
            from_unit=state.handling_unit,
            to_unit=cmd.to_unit,
            to_agency=cmd.to_agency,
            note=cmd.note,
            forwarded_on=on,
        )
    ]


def decide_commit(state: Petition, cmd: SetCommitment, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    if state.committed_date is not None:
        raise InvalidState(
            "Đã có thời hạn cam kết; thay đổi phải qua gia hạn",
            message_en="a committed date is already set; changing it is an extension",
            field="committed_date",
        )
    if state.status not in (Status.received, Status.forwarded):
        raise _refuse(state, "đặt thời hạn cam kết", "set a committed date for")
    if state.received_on is not None and cmd.committed_date < state.received_on:
        raise ValidationFailed(
            "Thời hạn cam kết không được trước ngày tiếp nhận",
            message_en="committed date is before the date received",
            field="committed_date",
        )
    return [
        CommitmentSet(
            petition_id=state.id, committed_date=cmd.committed_date, by_unit=state.handling_unit, note=cmd.note
        )
    ]


def decide_reply(state: Petition, cmd: IssueReply, facts: Facts) -> list[DomainEvent]:
    _must_exist(state, cmd.petition_id)
    if state.status not in (Status.answered, Status.forwarded, Status.in_progress):
        raise _refuse(state, "ban hành văn bản trả lời", "issue a written reply for")
    on = cmd.issued_on or facts.today
    _not_before_receipt(state, on, "issued_on")
    return [
        ReplyIssued(
            petition_id=state.id,
            document_no=cmd.document_no,
            issued_on=on,
            by_unit=state.handling_unit,
            summary=cmd.summary,
            recipients=[r.value for r in cmd.recipients],
        )
    ]
