"""The petitions service process: command and query endpoints, the read-model projection.

Run: ``caunoi-petitions`` (or ``python -m caunoi.petitions``). Subjects are listed in
docs/architecture.md and in the generated docs/asyncapi.json.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from pydantic import Field

from caunoi.petitions import domain
from caunoi.petitions.domain import Petition
from caunoi.petitions.events import Category, Channel, Kind, Petitioner, PetitionRaised, registry
from caunoi.petitions.readmodel import PetitionsProjection, get_petition, list_petitions
from caunoi.shared import hamlets
from caunoi.shared.aggregate import AggregateKind, Loaded, Outcome, Repository
from caunoi.shared.clock import today_vn
from caunoi.shared.errors import Conflict, NotFound, ValidationFailed
from caunoi.shared.events import DomainEvent
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletsProjection, get_hamlet, require_commune
from caunoi.shared.service import Command, Query, ServiceRuntime

SERVICE = "petitions"
MAX_REFERENCE_ATTEMPTS = 4


class ReferenceTaken(Exception):
    """The reference derived from a command id belongs to another petition."""


STREAM = StreamSpec(
    name="PETITIONS",
    service=SERVICE,
    description="caunoi petitions: opinions, petitions and their handling (events, CloudEvents 1.0 JSON)",
)
HAMLETS = "hamlets"
KIND = AggregateKind[Petition]("petition", domain.initial, domain.evolve, domain.scope)

PetitionId = Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
Text = Field(min_length=1, max_length=10_000)
Short = Field(min_length=1, max_length=300)


class RaisePetition(Command):
    """Tiếp nhận ý kiến, kiến nghị."""

    channel: Channel
    kind: Kind = Kind.feedback
    category: Category
    petitioner: Petitioner
    commune_code: str = Field(pattern=r"^\d{5}$")
    #: the hamlet's id from the hamlet list (``caunoi scheduling hamlets list``); required for a meeting
    hamlet_id: str | None = Field(default=None, max_length=120, pattern=r"^\d{5}-[a-z0-9-]+$")
    text: str = Text
    received_on: date | None = None
    meeting_id: str | None = Field(default=None, max_length=80)


class AnswerOnSpot(Command):
    """Giải đáp trực tiếp tại hội nghị."""

    petition_id: str = PetitionId
    answer: str = Text
    answered_by: str = Short
    answered_on: date | None = None


class ForwardPetition(Command):
    """Chuyển cấp có thẩm quyền giải quyết."""

    petition_id: str = PetitionId
    to_unit: str = Field(pattern=r"^\d{2,5}$")
    to_agency: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=2000)
    forwarded_on: date | None = None


class SetCommitment(Command):
    """Đặt thời hạn cam kết giải quyết."""

    petition_id: str = PetitionId
    committed_date: date
    note: str | None = Field(default=None, max_length=2000)


class IssueReply(Command):
    """Ban hành văn bản trả lời."""

    petition_id: str = PetitionId
    document_no: str = Field(min_length=1, max_length=80)
    issued_on: date | None = None
    summary: str = Text
    recipients: list[str] = Field(default_factory=lambda: ["petitioner", "hamlet"], min_length=1)


class ListPetitions(Query):
    unit: str | None = Field(default=None, pattern=r"^\d{2,5}$")
    status: domain.Status | None = None
    category: Category | None = None
    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class ShowPetition(Query):
    petition_id: str = PetitionId


def build(runtime: ServiceRuntime | None = None) -> ServiceRuntime:
    rt = runtime or ServiceRuntime(SERVICE, STREAM, registry)
    rt.add_projection(PetitionsProjection())
    # this service's own copy of the hamlet list, from the scheduling service's events
    rt.add_projection(HamletsProjection(HAMLETS), stream=SCHEDULING_STREAM, registry=hamlets.registry)
    tree = rt.units

    def repo() -> Repository[Petition]:
        return rt.repository(KIND)

    async def hamlet_name(hamlet_id: str | None, commune_code: str) -> str | None:
        """The hamlet's current name, from this service's copy of the hamlet list."""
        if hamlet_id is None:
            return None
        async with rt.pool.acquire() as conn:
            row = await get_hamlet(conn, HAMLETS, hamlet_id)
        if row is None or row["retired"] or row["commune_code"] != commune_code:
            raise NotFound(
                f"Xã {commune_code} không có thôn, tổ dân phố mã {hamlet_id} (đang hoạt động)",
                code="unknown_unit",
                message_en=f"commune {commune_code} has no active hamlet {hamlet_id}",
                field="hamlet_id",
            )
        return str(row["name"])

    def higher(code: str) -> list[str]:
        return [u.code for u in tree().ancestors(code)] if tree().find(code) else []

    def result(out: Outcome[Petition]) -> dict[str, Any]:
        return {
            "petition_id": out.aggregate_id,
            "status": out.state.status.value,
            "events": [{"id": r.envelope.id, "type": r.envelope.type, "seq": r.seq} for r in out.events],
            "replayed": out.replayed,
        }

    @rt.command("raise", RaisePetition, "Raise an opinion or petition (tiếp nhận ý kiến, kiến nghị)")
    async def raise_(cmd: RaisePetition) -> dict[str, Any]:
        meta = cmd.meta()

        async def decide(s: Loaded[Petition]) -> list[DomainEvent]:
            if s.exists:  # another command's petition has this reference (ours would be replayed)
                raise ReferenceTaken
            unit = require_commune(tree(), cmd.commune_code)
            event = PetitionRaised(
                petition_id=s.aggregate_id,
                channel=cmd.channel,
                kind=cmd.kind,
                category=cmd.category,
                petitioner=cmd.petitioner,
                commune_code=unit.code,
                hamlet_id=cmd.hamlet_id,
                hamlet_name=await hamlet_name(cmd.hamlet_id, unit.code),
                text=cmd.text,
                received_on=cmd.received_on or today_vn(),
                unit_path=tree().path(unit.code),
                dataset=tree().dataset,
                meeting_id=cmd.meeting_id,
            )
            return domain.decide_raise(s.state, event, today_vn())

        for attempt in range(MAX_REFERENCE_ATTEMPTS):
            pid = domain.reference_for(meta.command_id, attempt)
            try:
                return result(await repo().execute(pid, meta, decide))
            except ReferenceTaken:
                continue
        raise Conflict("Không cấp được mã ý kiến; hãy gửi lại", message_en="could not allot a reference; retry")

    @rt.command("answer", AnswerOnSpot, "Answer on the spot at the meeting (giải đáp trực tiếp)")
    async def answer(cmd: AnswerOnSpot) -> dict[str, Any]:
        out = await repo().execute(
            cmd.petition_id,
            cmd.meta(),
            lambda s: domain.decide_answer(
                s.state, cmd.petition_id, cmd.answer, cmd.answered_by, cmd.answered_on or today_vn()
            ),
        )
        return result(out)

    @rt.command("forward", ForwardPetition, "Forward to the unit with authority (chuyển cấp có thẩm quyền)")
    async def forward(cmd: ForwardPetition) -> dict[str, Any]:
        out = await repo().execute(
            cmd.petition_id,
            cmd.meta(),
            lambda s: domain.decide_forward(
                s.state,
                cmd.petition_id,
                cmd.to_unit,
                higher(s.state.handling_unit),
                cmd.to_agency,
                cmd.note,
                cmd.forwarded_on or today_vn(),
            ),
        )
        return result(out)

    @rt.command("commit", SetCommitment, "Set the committed resolution date (thời hạn cam kết)")
    async def commit(cmd: SetCommitment) -> dict[str, Any]:
        out = await repo().execute(
            cmd.petition_id,
            cmd.meta(),
            lambda s: domain.decide_commit(s.state, cmd.petition_id, cmd.committed_date, cmd.note),
        )
        return result(out)

    @rt.command("reply", IssueReply, "Issue the written reply (văn bản trả lời)")
    async def reply(cmd: IssueReply) -> dict[str, Any]:
        out = await repo().execute(
            cmd.petition_id,
            cmd.meta(),
            lambda s: domain.decide_reply(
                s.state, cmd.petition_id, cmd.document_no, cmd.issued_on or today_vn(), cmd.summary, cmd.recipients
            ),
        )
        return result(out)

    @rt.query("list", ListPetitions, "List petitions by unit (with its sub-units), status, category")
    async def list_(q: ListPetitions) -> dict[str, Any]:
        if q.unit and tree().find(q.unit) is None:
            raise ValidationFailed(f"Không có đơn vị mã {q.unit}", code="unknown_unit", field="unit")
        async with rt.pool.acquire() as conn:
            total, rows = await list_petitions(
                conn,
                unit=q.unit,
                status=q.status.value if q.status else None,
                category=q.category.value if q.category else None,
                limit=q.limit,
                offset=q.offset,
            )
        return {"total": total, "items": rows}

    @rt.query("show", ShowPetition, "One petition: its current row and its whole history from the event log")
    async def show(q: ShowPetition) -> dict[str, Any]:
        loaded = await repo().load(q.petition_id)
        if not loaded.exists:
            raise NotFound(f"Không tìm thấy ý kiến {q.petition_id}", field="petition_id")
        async with rt.pool.acquire() as conn:
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
                    "correlationid": r.envelope.correlationid,
                    "causationid": r.envelope.causationid,
                    "data": r.envelope.data,
                }
                for r in loaded.history
            ],
        }

    return rt


def main() -> None:
    asyncio.run(build().app().run())


if __name__ == "__main__":
    main()
