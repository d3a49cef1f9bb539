"""The scheduling service's read models (PostgreSQL), each a projection with its own schema:

- ``hamlets``: the hamlet list (the shared contract's :class:`HamletsProjection`);
- ``pilots``: one row per pilot choice (a district's or province's pilot localities, a commune's
  pilot sites);
- ``scheduling`` (table ``meetings``): one row per meeting, its current state;
- ``assignments``: one row per cadre assignment, with its periods;
- ``meeting_opinions``: one row per petition raised at a meeting, from the **petitions service's
  events** (stream ``PETITIONS``, read with the consumer-side contract in
  :mod:`caunoi.scheduling.petitions_contract`), never its tables.

Queries on them are in :mod:`caunoi.scheduling.queries`.
"""

from __future__ import annotations

from typing import ClassVar

from caunoi.scheduling.events import (
    AssignmentEnded,
    CadreAssigned,
    CadreReassigned,
    DeadlineMissed,
    MeetingAccepted,
    MeetingAnnounced,
    MeetingCancelled,
    MeetingHeld,
    MeetingMoved,
    MeetingPlanned,
    MeetingPostponed,
    MeetingProposed,
    MeetingStatus,
    MinutesClosed,
    MinutesOverdue,
    OpinionsCompiled,
    PilotLocalitiesChosen,
    PilotSitesChosen,
)
from caunoi.scheduling.petitions_contract import PetitionAnsweredOnSpot, PetitionForwarded, PetitionRaised
from caunoi.shared.jsonb import dumps, loads
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.recorded import RecordedEvent

HAMLETS = "hamlets"
PILOTS = "pilots"
#: the service's main read model is named after it (the operators' default: ``caunoi projections
#: rebuild scheduling``)
MEETINGS = "scheduling"
ASSIGNMENTS = "assignments"
OPINIONS = "meeting_opinions"


class PilotsProjection(RowPerAggregate):
    """One row per pilot choice: ``kind`` ``localities`` (``members`` are commune codes) or
    ``sites`` (``members`` are hamlet and party cell ids, in rotation order)."""

    name = PILOTS
    table = "pilots"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "kind": "text NOT NULL",
        "unit_code": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "members": "text[] NOT NULL",
        "names": "text[] NOT NULL",
        "total": "integer",
        "chosen_on": "date NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {
        "pilots_unit_path": "USING gin (unit_path)",
        "pilots_members": "USING gin (members)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject if isinstance(rec.event, PilotLocalitiesChosen | PilotSitesChosen) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, PilotLocalitiesChosen):
            members, names, kind, unit, total = (
                [c.code for c in ev.localities], [c.name for c in ev.localities], "localities", ev.unit_code, None,
            )  # fmt: skip
        elif isinstance(ev, PilotSitesChosen):
            members, names, kind, unit, total = (
                [s.id for s in ev.sites], [s.name for s in ev.sites], "sites", ev.commune_code, ev.total,
            )  # fmt: skip
        else:
            return row
        return {
            "id": rec.envelope.subject,
            "kind": kind,
            "unit_code": unit,
            "unit_path": list(ev.unit_path),
            "dataset": ev.dataset,
            "members": members,
            "names": names,
            "total": total,
            "chosen_on": ev.chosen_on,
            "last_seq": rec.seq,
        }


MEETING_EVENTS = (
    MeetingProposed,
    MeetingPlanned,
    MeetingAccepted,
    MeetingMoved,
    MeetingPostponed,
    MeetingCancelled,
    OpinionsCompiled,
    MeetingAnnounced,
    MeetingHeld,
    MinutesClosed,
    DeadlineMissed,
    MinutesOverdue,
)


class MeetingsProjection(RowPerAggregate):
    """One row per meeting: the fold of its events."""

    name = MEETINGS
    table = "meetings"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "programme": "text NOT NULL",
        "status": "text NOT NULL",
        "commune_code": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "host_id": "text",
        "host_name": "text",
        "plan_unit": "text",
        "target_group": "text",
        "cycle": "integer",
        "date": "date NOT NULL",
        "start_time": "time",
        "venue": "text NOT NULL",
        "chair": "text",
        "title": "text",
        "opinions_due": "date",
        "broadcast_due": "date",
        "opinions_compiled_on": "date",
        "opinions_compiled": "integer",
        "announced_on": "date",
        "broadcast_text": "text",
        "held_on": "date",
        "attendees": "jsonb",
        "attendees_total": "integer",
        "representatives": "jsonb",
        "order_of_business": "jsonb",
        "minutes_ref": "text",
        "minutes_closed_on": "date",
        #: ``<deadline>:<due date>`` recorded as missed; minutes reminders recorded (their due dates)
        "missed": "text[] NOT NULL",
        "minutes_reminded": "date[] NOT NULL",
        #: the last postponement's or cancellation's reason
        "reason": "text",
        "sequence": "integer NOT NULL",
        "created_at": "timestamptz NOT NULL",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {
        "meetings_unit_path": "USING gin (unit_path)",
        "meetings_commune_date": "(commune_code, date)",
        "meetings_status_date": "(status, date)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject if isinstance(rec.event, MEETING_EVENTS) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev, at = rec.event, rec.envelope.time
        if isinstance(ev, MeetingProposed | MeetingPlanned):
            planned = isinstance(ev, MeetingPlanned)
            return {
                **dict.fromkeys(self.columns),
                "id": ev.meeting_id,
                "programme": ev.programme.value,
                "status": (MeetingStatus.planned if planned else MeetingStatus.proposed).value,
                "commune_code": ev.commune_code,
                "unit_path": list(ev.unit_path),
                "dataset": ev.dataset,
                "host_id": ev.host_id,
                "host_name": ev.host_name,
                "plan_unit": ev.plan_unit if isinstance(ev, MeetingPlanned) else None,
                "target_group": ev.target_group.value if isinstance(ev, MeetingPlanned) else None,
                "cycle": ev.cycle if isinstance(ev, MeetingProposed) else None,
                "date": ev.date,
                "start_time": ev.start_time,
                "venue": ev.venue,
                "chair": ev.chair if isinstance(ev, MeetingPlanned) else None,
                "title": ev.title if isinstance(ev, MeetingPlanned) else None,
                "opinions_due": ev.opinions_due if isinstance(ev, MeetingPlanned) else None,
                "broadcast_due": ev.broadcast_due if isinstance(ev, MeetingPlanned) else None,
                "missed": [],
                "minutes_reminded": [],
                "sequence": 0,
                "created_at": at,
                "updated_at": at,
                "last_seq": rec.seq,
            }
        if row is None:
            raise LookupError(f"meeting {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        change: Row
        match ev:
            case MeetingAccepted():
                change = {"status": MeetingStatus.planned.value, "chair": ev.chair or row["chair"]}
            case MeetingMoved():
                change = {
                    "date": ev.date, "start_time": ev.start_time, "venue": ev.venue, "host_id": ev.host_id,
                    "host_name": ev.host_name, "opinions_due": ev.opinions_due, "broadcast_due": ev.broadcast_due,
                    "sequence": row["sequence"] + 1, "announced_on": None, "broadcast_text": None,
                    "status": MeetingStatus.planned.value if row["status"] == "announced" else row["status"],
                }  # fmt: skip
            case MeetingPostponed():
                change = {
                    "status": MeetingStatus.postponed.value, "date": ev.date, "reason": ev.reason,
                    "opinions_due": ev.opinions_due, "broadcast_due": ev.broadcast_due, "announced_on": None,
                    "broadcast_text": None, "sequence": row["sequence"] + 1,
                }  # fmt: skip
            case MeetingCancelled():
                change = {"status": MeetingStatus.cancelled.value, "reason": ev.reason, "sequence": row["sequence"] + 1}
            case OpinionsCompiled():
                change = {"opinions_compiled_on": ev.compiled_on, "opinions_compiled": ev.count}
            case MeetingAnnounced():
                change = {
                    "status": MeetingStatus.announced.value, "announced_on": ev.announced_on,
                    "broadcast_text": ev.broadcast_text,
                }  # fmt: skip
            case MeetingHeld():
                change = {
                    "status": MeetingStatus.held.value, "held_on": ev.held_on, "venue": ev.venue, "chair": ev.chair,
                    "host_id": ev.host_id, "host_name": ev.host_name,
                    "attendees": dumps({g.value: n for g, n in ev.attendees.items()}),
                    "attendees_total": ev.attendees_total,
                    "representatives": dumps([r.model_dump(mode="json") for r in ev.representatives]),
                    "order_of_business": dumps(ev.order_of_business.model_dump(mode="json"))
                    if ev.order_of_business else None,
                    "minutes_ref": ev.minutes_ref,
                }  # fmt: skip
            case MinutesClosed():
                change = {
                    "status": MeetingStatus.minutes_closed.value, "minutes_closed_on": ev.closed_on,
                    "minutes_ref": ev.minutes_ref,
                }  # fmt: skip
            case DeadlineMissed():
                change = {"missed": [*row["missed"], f"{ev.deadline.value}:{ev.due_on}"]}
            case MinutesOverdue():
                change = {"minutes_reminded": [*row["minutes_reminded"], ev.due_on]}
            case _:
                return row
        return {**row, **change, "updated_at": at, "last_seq": rec.seq}


class AssignmentsProjection(RowPerAggregate):
    """One row per cadre assignment; ``periods`` (JSON) says who followed the area when."""

    name = ASSIGNMENTS
    table = "assignments"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "cadre": "text NOT NULL",
        "cadre_unit": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "area_kind": "text NOT NULL",
        "area_id": "text",
        "area_name": "text NOT NULL",
        "area_path": "text[] NOT NULL",
        "periods": "jsonb NOT NULL",
        "from_date": "date NOT NULL",
        "ended_on": "date",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {
        "assignments_unit_path": "USING gin (unit_path)",
        "assignments_area_path": "USING gin (area_path)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        ev = rec.event
        return rec.envelope.subject if isinstance(ev, CadreAssigned | CadreReassigned | AssignmentEnded) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, CadreAssigned):
            return {
                "id": ev.assignment_id,
                "cadre": ev.cadre,
                "cadre_unit": ev.cadre_unit,
                "unit_path": list(ev.unit_path),
                "dataset": ev.dataset,
                "area_kind": ev.area_kind.value,
                "area_id": ev.area_id,
                "area_name": ev.area_name,
                "area_path": list(ev.area_path),
                "periods": dumps([{"cadre": ev.cadre, "from": ev.from_date, "to": None}]),
                "from_date": ev.from_date,
                "ended_on": None,
                "last_seq": rec.seq,
            }
        if row is None:
            raise LookupError(f"assignment {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        periods = loads(row["periods"])
        if isinstance(ev, CadreReassigned):
            periods[-1]["to"] = ev.on
            periods.append({"cadre": ev.to_cadre, "from": ev.on, "to": None})
            return {**row, "cadre": ev.to_cadre, "periods": dumps(periods), "last_seq": rec.seq}
        if isinstance(ev, AssignmentEnded):
            periods[-1]["to"] = ev.on
            return {**row, "periods": dumps(periods), "ended_on": ev.on, "last_seq": rec.seq}
        return row


class MeetingOpinionsProjection(RowPerAggregate):
    """The petitions raised at a meeting (``meeting_id`` set), from the petitions service's events:
    whether each was answered on the spot or forwarded. Petitions raised elsewhere get no row."""

    name = OPINIONS
    table = "opinions"
    columns: ClassVar[dict[str, str]] = {
        "petition_id": "text PRIMARY KEY",
        "meeting_id": "text NOT NULL",
        "commune_code": "text",
        "answered": "boolean NOT NULL",
        "forwarded": "boolean NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {"opinions_meeting": "(meeting_id)"}

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, PetitionRaised):
            if not ev.meeting_id:
                return None
            return {
                "petition_id": ev.petition_id,
                "meeting_id": ev.meeting_id.upper(),
                "commune_code": ev.commune_code,
                "answered": False,
                "forwarded": False,
                "last_seq": rec.seq,
            }
        if row is None:
            return None  # a petition not raised at a meeting
        if isinstance(ev, PetitionAnsweredOnSpot):
            return {**row, "answered": True, "last_seq": rec.seq}
        if isinstance(ev, PetitionForwarded):
            return {**row, "forwarded": True, "last_seq": rec.seq}
        return row
