"""The petition aggregate: pure functions, no I/O.

``evolve(state, event) -> state`` rebuilds a petition from its events;
each ``decide_*`` takes the current state and a command and returns the new events, or raises a
``CommandError`` saying why not.

Life in this release: received -> answered on the spot | forwarded (possibly again, up the tiers)
-> committed date set -> written reply issued. Later releases add acceptance, extension,
resolution, reopening and withdrawal; the states are named for that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from caunoi.petitions.events import (
    Channel,
    CommitmentSet,
    PetitionAnsweredOnSpot,
    PetitionForwarded,
    PetitionRaised,
    ReplyIssued,
)
from caunoi.shared.aggregate import Scope
from caunoi.shared.errors import InvalidState, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent


class Status(StrEnum):
    new = "new"
    received = "received"  # tiếp nhận
    answered = "answered"  # giải đáp trực tiếp tại hội nghị
    forwarded = "forwarded"  # chuyển cấp có thẩm quyền giải quyết
    in_progress = "in_progress"  # đang giải quyết, có thời hạn cam kết
    replied = "replied"  # đã có văn bản trả lời


STATUS_VI = {
    Status.received: "Đã tiếp nhận",
    Status.answered: "Đã giải đáp tại hội nghị",
    Status.forwarded: "Đã chuyển cấp có thẩm quyền",
    Status.in_progress: "Đang giải quyết",
    Status.replied: "Đã có văn bản trả lời",
}

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def reference_for(command_id: str, attempt: int = 0) -> str:
    """A short reference people can quote (``PA-7KQ2M9XD``), derived from the command id so a
    retried raise lands on the same petition. ``attempt`` > 0 gives the alternatives used when
    another petition already has the reference (40 bits: rare, but not impossible)."""
    seed = command_id if attempt == 0 else f"{command_id}#{attempt}"
    n = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:5], "big")
    chars = "".join(_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"PA-{chars}"


@dataclass(frozen=True)
class Petition:
    id: str = ""
    status: Status = Status.new
    channel: Channel | None = None
    commune_code: str = ""
    dataset: str | None = None
    unit_path: tuple[str, ...] = ()
    handling_unit: str = ""
    received_on: date | None = None
    committed_date: date | None = None
    answered: bool = False
    replied: bool = False


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
            return replace(state, status=Status.answered, answered=True)
        case PetitionForwarded():
            return replace(state, status=Status.forwarded, handling_unit=event.to_unit)
        case CommitmentSet():
            return replace(state, status=Status.in_progress, committed_date=event.committed_date)
        case ReplyIssued():
            return replace(state, status=Status.replied, replied=True)
    return state


def initial() -> Petition:
    return Petition()


def scope(state: Petition) -> Scope:
    """The unit now handling the petition (the commune until it is forwarded); its subject stays
    under the commune where it was raised."""
    return Scope(state.handling_unit, state.dataset, state.unit_path)


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


def decide_raise(state: Petition, event: PetitionRaised, today: date) -> list[DomainEvent]:
    if state.status is not Status.new:
        raise InvalidState(
            f"Ý kiến {event.petition_id} đã được tiếp nhận", message_en="petition already exists", field="command_id"
        )
    if event.received_on > today:
        raise ValidationFailed(
            "Ngày tiếp nhận không được sau ngày hôm nay",
            message_en="received_on is in the future",
            field="received_on",
        )
    if event.channel is Channel.meeting and not event.hamlet_id:
        raise ValidationFailed(
            "Ý kiến tại hội nghị phải ghi thôn, tổ dân phố nơi tổ chức",
            message_en="a meeting opinion needs the hamlet that held the meeting",
            field="hamlet_id",
        )
    return [event]


ON_SPOT_CHANNELS = (Channel.meeting, Channel.reception)


def decide_answer(state: Petition, petition_id: str, answer: str, by: str, on: date) -> list[DomainEvent]:
    _must_exist(state, petition_id)
    if state.status is not Status.received:
        raise _refuse(state, "giải đáp trực tiếp", "answer on the spot")
    if state.channel not in ON_SPOT_CHANNELS:
        raise InvalidState(
            "Chỉ giải đáp trực tiếp ý kiến nêu tại hội nghị hoặc buổi tiếp công dân",
            message_en="only opinions raised at a meeting or a reception can be answered on the spot",
            details={"channel": state.channel.value if state.channel else None},
        )
    _not_before_receipt(state, on, "answered_on")
    return [PetitionAnsweredOnSpot(petition_id=petition_id, answer=answer, answered_by=by, answered_on=on)]


def decide_forward(
    state: Petition,
    petition_id: str,
    to_unit: str,
    higher_units: list[str],
    to_agency: str | None,
    note: str | None,
    on: date,
) -> list[DomainEvent]:
    """``higher_units`` are the codes above the unit now handling it (from the unit tree)."""
    _must_exist(state, petition_id)
    if state.status not in (Status.received, Status.forwarded):
        raise _refuse(state, "chuyển cấp", "forward")
    if to_unit not in higher_units:
        raise ValidationFailed(
            f"Đơn vị {to_unit} không phải cấp trên của đơn vị đang giải quyết ({state.handling_unit})",
            message_en=f"{to_unit} is not above the unit handling the petition ({state.handling_unit})",
            field="to_unit",
            details={"allowed": higher_units},
        )
    _not_before_receipt(state, on, "forwarded_on")
    return [
        PetitionForwarded(
            petition_id=petition_id,
            from_unit=state.handling_unit,
            to_unit=to_unit,
            to_agency=to_agency,
            note=note,
            forwarded_on=on,
        )
    ]


def decide_commit(state: Petition, petition_id: str, committed: date, note: str | None) -> list[DomainEvent]:
    _must_exist(state, petition_id)
    if state.committed_date is not None:
        raise InvalidState(
            "Đã có thời hạn cam kết; thay đổi phải qua gia hạn",
            message_en="a committed date is already set; changing it is an extension",
            field="committed_date",
        )
    if state.status not in (Status.received, Status.forwarded):
        raise _refuse(state, "đặt thời hạn cam kết", "set a committed date for")
    assert state.received_on is not None
    if committed < state.received_on:
        raise ValidationFailed(
            "Thời hạn cam kết không được trước ngày tiếp nhận",
            message_en="committed date is before the date received",
            field="committed_date",
        )
    return [CommitmentSet(petition_id=petition_id, committed_date=committed, by_unit=state.handling_unit, note=note)]


def decide_reply(
    state: Petition, petition_id: str, document_no: str, issued_on: date, summary: str, recipients: list[str]
) -> list[DomainEvent]:
    _must_exist(state, petition_id)
    if state.status not in (Status.answered, Status.forwarded, Status.in_progress):
        raise _refuse(state, "ban hành văn bản trả lời", "issue a written reply for")
    _not_before_receipt(state, issued_on, "issued_on")
    return [
        ReplyIssued(
            petition_id=petition_id,
            document_no=document_no,
            issued_on=issued_on,
            by_unit=state.handling_unit,
            summary=summary,
            recipients=recipients,
        )
    ]


def _not_before_receipt(state: Petition, on: date, field: str) -> None:
    if state.received_on is not None and on < state.received_on:
        raise ValidationFailed(
            "Ngày không được trước ngày tiếp nhận", message_en=f"{field} is before the date received", field=field
        )
