"""The petitions read model (PostgreSQL): one row per petition, kept by a projection, and its
queries: listings with every filter, the figures city portals publish, and what the deadline
duties look for.

Unit codes only mean something in their dataset, so ``reach`` holds qualified codes
(``vn-2025:08``): a listing of a 2025 unit also finds what was recorded under the legacy
(``vn-2024``) units it succeeded. Text search ignores Vietnamese accents: the projection writes
folded copies of the text (``search``) and of the petitioner's name, as PostgreSQL's ``unaccent``
is not always installed.

Personal data come sealed in the events (v3) and stay sealed here (``personal_sealed``): the read
model is a function of the log alone, whatever keys exist, so a rebuild, an audit replay or a
fresh installation fed the same log makes the same rows. Officials' queries open the boxes of the
rows they return (:func:`open_personal`); an erasure (``PetitionerDataErased``) drops the box, and
the name, phone and address petitions raised before v3 carry in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, cast

from caunoi.petitions import events
from caunoi.petitions.events import (
    Deadline,
    DeadlineKind,
    PersonalData,
    PetitionOverdue,
    PetitionRaised,
    Status,
    Verdict,
)
from caunoi.petitions.lifecycle import PENDING, alert_key
from caunoi.shared.lean import model_of, to_json
from caunoi.shared.projection import Conn
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.sealed import Sealed
from caunoi.shared.units import UnitTree, fold, qualified, qualified_path

if TYPE_CHECKING:  # (queries are given the vault: folding events needs no cryptography)
    from caunoi.shared.vault import Vault

DEADLINES = tuple(DeadlineKind)
_RECEIVED = Status.received.value
#: every date of a petition's life, in order: the columns of an export
LIFECYCLE = (
    "received_on",
    "classified_on",
    "answered_on",
    "first_forwarded_on",
    "last_forwarded_on",
    "returned_on",
    "accepted_on",
    "committed_date",
    "extended_on",
    "handle_due",
    "resolve_due",
    "overdue_since",
    "replied_on",
    "verdict_on",
    "withdrawn_on",
    "merged_on",
)


class PetitionsProjection(RowPerAggregate):
    """One row per petition: the fold of its events."""

    name = "petitions"
    table = "petitions"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "status": "text NOT NULL",
        "channel": "text NOT NULL",
        "kind": "text NOT NULL",
        "category": "text NOT NULL",
        "eligible": "boolean",
        "ineligible_reason": "text",
        #: personal data in clear: petitions raised before they were sealed (v1, v2); None once erased
        "petitioner_name": "text",
        "petitioner_phone": "text",
        "petitioner_address": "text",
        "confidential": "boolean NOT NULL",
        #: that name folded (lowercase, no accents), for search
        "petitioner_search": "text NOT NULL",
        #: personal data sealed (v3: JSON of the event's box), opened by officials' queries; None once erased
        "personal_sealed": "text",
        #: the key they are sealed under
        "personal_key": "text",
        #: the petitioner's personal data were erased
        "erased": "boolean NOT NULL",
        "commune_code": "text NOT NULL",
        "hamlet_id": "text",
        "hamlet": "text",
        "unit_path": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "handling_unit": "text NOT NULL",
        "handling_agency": "text",
        #: every unit that reaches the petition, qualified by dataset (``vn-2025:08``): its unit
        #: path and the path of each unit it was forwarded to (see caunoi.shared.authz)
        "reach": "text[] NOT NULL",
        "forwards": "integer NOT NULL",
        "text": "text NOT NULL",
        #: reference, text and hamlet folded, for accent-insensitive search
        "search": "text NOT NULL",
        "meeting_id": "text",
        "complexity": "text NOT NULL",
        "remote_area": "boolean NOT NULL",
        #: the deadline policy version the petition's deadlines were last computed by
        "policy_version": "text",
        "received_on": "date NOT NULL",
        "classified_on": "date",
        "answered_on": "date",
        "answer": "text",
        "first_forwarded_on": "date",
        "last_forwarded_on": "date",
        "returned_on": "date",
        "accepted_on": "date",
        "committed_date": "date",
        "extensions": "integer NOT NULL",
        "extended_on": "date",
        "handle_due": "date",
        "handle_warn": "date",
        "resolve_due": "date",
        "resolve_warn": "date",
        "committed_due": "date",
        "committed_warn": "date",
        #: what the deadline watcher recorded (``approaching|overdue:<deadline>:<due>``)
        "alerts": "text[] NOT NULL",
        #: a deadline being watched has passed (time put it there, PetitionOverdue)
        "overdue": "boolean NOT NULL",
        "overdue_since": "date",
        "replied_on": "date",
        "reply_document": "text",
        "reply_summary": "text",
        "internal_note": "text",
        #: resolved by the deadline watched at that moment (None: there was none)
        "on_time": "boolean",
        "days_to_resolve": "integer",
        "verdict": "text",
        "verdict_on": "date",
        "reopened": "integer NOT NULL",
        "withdrawn_on": "date",
        "merged_into": "text",
        "merged_on": "date",
        "raised_at": "timestamptz NOT NULL",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
        "correlation_id": "text",
    }
    indexes: ClassVar[dict[str, str]] = {
        "petitions_reach": "USING gin (reach)",
        "petitions_handling": "(handling_unit)",
        "petitions_status": "(status, category)",
        "petitions_received": "(received_on)",
        "petitions_merged": "(merged_into) WHERE merged_into IS NOT NULL",
        # what the deadline duties look for every half minute: passed (``due < today``) and in
        # the warning window (``warn <= today <= due``: without an index on the warning day that
        # read every pending petition each time, 25,000 rows every 30 s with ~20,000 petitions;
        # bench/README.md, "The lag row")
        "petitions_handle_due": "(handle_due) WHERE handle_due IS NOT NULL",
        "petitions_resolve_due": "(resolve_due) WHERE resolve_due IS NOT NULL",
        "petitions_committed_due": "(committed_due) WHERE committed_due IS NOT NULL",
        "petitions_handle_warn": "(handle_warn) WHERE handle_warn IS NOT NULL",
        "petitions_resolve_warn": "(resolve_warn) WHERE resolve_warn IS NOT NULL",
        "petitions_committed_warn": "(committed_warn) WHERE committed_warn IS NOT NULL",
    }

    #: one row per petition, keyed by the petition (the events' aggregate): a rebuild may run
    #: over several processes
    partitionable = True
    #: the fold reads events as lean structs (caunoi.shared.lean): attributes, model_of, to_json
    lean_events = True

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject

    def starts(self, rec: RecordedEvent) -> bool:
        return model_of(rec.event) is PetitionRaised  # (a new petition's row is not looked up)

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev, at = rec.event, rec.envelope.time
        model = model_of(ev)
        if model is PetitionRaised:
            raised = cast(PetitionRaised, ev)
            new_row = raised_row(raised, rec)  # (a new dict: completed in place, not copied again)
            new_row.update(deadline_columns(raised.deadline))
            return new_row
        if row is None:
            raise LookupError(f"petition {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        change = _change(row, model, ev)
        if change is None:
            return row
        new = {**row, **change, "updated_at": at, "last_seq": rec.seq}
        new["overdue"] = is_overdue(new)
        if new["overdue"] and not row["overdue"]:
            new["overdue_since"] = cast(PetitionOverdue, ev).noticed_on if model is PetitionOverdue else None
        elif not new["overdue"]:
            new["overdue_since"] = None
        return new


#: a new petition's columns that nothing has set yet (the dates of its life but the first)
_BLANK_LIFECYCLE: Row = {c: None for c in LIFECYCLE if c != "received_on"}
#: each deadline's columns
_DEADLINE_COLUMNS = {k: (f"{k.value}_due", f"{k.value}_warn") for k in DEADLINES}


def raised_row(ev: PetitionRaised, rec: RecordedEvent) -> Row:
    # (a rebuild folds a million of these: str() of a StrEnum member is its value, without the
    # enum's property lookup)
    at = rec.envelope.time
    who = ev.petitioner  # in clear: raised before personal data were sealed
    return {
        "id": ev.petition_id,
        "status": _RECEIVED,
        "channel": str(ev.channel),
        "kind": str(ev.kind),
        "category": str(ev.category),
        "eligible": None,
        "ineligible_reason": None,
        "petitioner_name": who.name if who else None,
        "petitioner_phone": who.phone if who else None,
        "petitioner_address": who.address if who else None,
        "confidential": ev.confidential,
        "petitioner_search": fold(who.name) if who else "",
        "personal_sealed": to_json(ev.personal) if ev.personal else None,
        "personal_key": ev.personal.key_id if ev.personal else None,
        "erased": False,
        "commune_code": ev.commune_code,
        "hamlet_id": ev.hamlet_id,
        "hamlet": ev.hamlet_name,
        "unit_path": ev.unit_path,
        "dataset": ev.dataset,
        "handling_unit": ev.commune_code,
        "handling_agency": None,
        "reach": qualified_path(ev.dataset, ev.unit_path),
        "forwards": 0,
        "text": ev.text,
        "search": fold(" ".join(x for x in (ev.petition_id, ev.text, ev.hamlet_name or "") if x)),
        "meeting_id": ev.meeting_id,
        "complexity": "normal",
        "remote_area": False,
        "policy_version": None,
        "received_on": ev.received_on,
        **_BLANK_LIFECYCLE,
        "answer": None,
        "extensions": 0,
        "handle_warn": None,
        "resolve_warn": None,
        "committed_due": None,
        "committed_warn": None,
        "alerts": [],
        "overdue": False,
        "reply_document": None,
        "reply_summary": None,
        "internal_note": None,
        "on_time": None,
        "days_to_resolve": None,
        "verdict": None,
        "reopened": 0,
        "merged_into": None,
        "raised_at": at,
        "updated_at": at,
        "last_seq": rec.seq,
        "correlation_id": rec.envelope.correlationid,
    }


def is_overdue(row: Row) -> bool:
    if not row["alerts"]:
        return False  # the usual case: the deadline watcher recorded nothing
    status = Status(row["status"])
    return any(
        status in PENDING[k]
        and row[f"{k.value}_due"] is not None
        and alert_key("overdue", k, row[f"{k.value}_due"]) in row["alerts"]
        for k in DEADLINES
    )


def watched_due(row: Row) -> date | None:
    """The deadline a resolution is measured against now: the earliest being watched."""
    status = Status(row["status"])
    dues = [row[f"{k.value}_due"] for k in DEADLINES if status in PENDING[k] and row[f"{k.value}_due"] is not None]
    return min(dues) if dues else None


def _change(row: Row, model: type, ev: Any) -> Row | None:
    change = _event_change(row, model, ev)
    d = getattr(ev, "deadline", None)
    if change is None or model_of(d) is not Deadline:  # (DeadlineApproaching's is a DeadlineKind)
        return change
    return change | deadline_columns(d)


def deadline_columns(d: Deadline | None) -> Row:
    """The columns of the deadline an event carries (the event that starts or moves it)."""
    if d is None:
        return {}
    due, warn = _DEADLINE_COLUMNS[d.kind]
    change: Row = {due: d.due_on, warn: d.warn_on}
    if d.policy_version:
        change["policy_version"] = d.policy_version
    return change


def _event_change(row: Row, model: type, ev: Any) -> Row | None:
    match model:  # (a lean event is not an instance of its model: its model is compared)
        case events.PetitionClassified:
            return {
                "status": (Status.classified if ev.eligible else Status.ineligible).value,
                "kind": ev.kind.value,
                "category": ev.category.value,
                "eligible": ev.eligible,
                "ineligible_reason": None if ev.eligible else ev.reason,
                "classified_on": ev.classified_on,
            }
        case events.PetitionAnsweredOnSpot:
            return {"status": Status.answered.value, "answered_on": ev.answered_on, "answer": ev.answer}
        case events.PetitionForwarded:
            tree = UnitTree.load(row["dataset"])
            added = tree.path(ev.to_unit) if ev.to_unit in tree else [ev.to_unit]
            return {
                "status": Status.forwarded.value,
                "handling_unit": ev.to_unit,
                "handling_agency": ev.to_agency,
                "reach": list(dict.fromkeys([*row["reach"], *(qualified(row["dataset"], c) for c in added)])),
                "forwards": row["forwards"] + 1,
                "first_forwarded_on": row["first_forwarded_on"] or ev.forwarded_on,
                "last_forwarded_on": ev.forwarded_on,
            }
        case events.PetitionReturned:
            return {"status": Status.returned.value, "handling_unit": ev.to_unit, "returned_on": ev.returned_on}
        case events.PetitionAccepted:
            return {
                "status": Status.accepted.value,
                "accepted_on": ev.accepted_on,
                "complexity": ev.complexity.value,
                "remote_area": ev.remote_area,
            }
        case events.CommitmentSet:
            return {
                "status": Status.in_progress.value,
                "committed_date": ev.committed_date,
                "committed_due": ev.committed_date,
                "committed_warn": None,
            }
        case events.PetitionExtended:
            extended: Row = {"extensions": ev.number, "extended_on": ev.extended_on, "complexity": ev.complexity.value}
            if ev.which is DeadlineKind.committed:
                extended["committed_date"] = ev.new_due
            return extended
        case events.ReplyIssued:
            due = watched_due(row)
            return {
                "status": Status.replied.value,
                "replied_on": ev.issued_on,
                "reply_document": ev.document_no,
                "reply_summary": ev.summary,
                "internal_note": ev.internal_note,
                "on_time": None if due is None else ev.issued_on <= due,
                "days_to_resolve": (ev.issued_on - row["received_on"]).days,
            }
        case events.VerdictGiven:
            satisfied = ev.verdict is Verdict.satisfied
            given: Row = {
                "status": (Status.closed if satisfied else Status.reopened).value,
                "verdict": ev.verdict.value,
                "verdict_on": ev.given_on,
            }
            if not satisfied:
                given |= {"reopened": row["reopened"] + 1, "committed_date": None, "committed_due": None}
            return given
        case events.PetitionWithdrawn:
            return {"status": Status.withdrawn.value, "withdrawn_on": ev.withdrawn_on}
        case events.PetitionMerged:
            return {"status": Status.merged.value, "merged_into": ev.case_id, "merged_on": ev.merged_on}
        case events.DeadlineApproaching:
            return {"alerts": [*row["alerts"], alert_key("approaching", ev.deadline, ev.due_on)]}
        case events.PetitionOverdue:
            return {"alerts": [*row["alerts"], alert_key("overdue", ev.deadline, ev.due_on)]}
        case events.PetitionerDataErased:
            return {c: None for c in PERSONAL_COLUMNS} | {"petitioner_search": "", "erased": True}
    return None


# --- queries --------------------------------------------------------------------------------------

#: what anyone who reaches a petition may see
PUBLIC_COLUMNS = (
    "id",
    "status",
    "channel",
    "kind",
    "category",
    "commune_code",
    "hamlet_id",
    "hamlet",
    "unit_path",
    "dataset",
    "handling_unit",
    "handling_agency",
    "text",
    "eligible",
    "ineligible_reason",
    "complexity",
    "remote_area",
    "policy_version",
    "received_on",
    "committed_date",
    "handle_due",
    "resolve_due",
    "overdue",
    "replied_on",
    "reply_document",
    "reply_summary",
    "on_time",
    "verdict",
    "merged_into",
    "updated_at",
)
#: personal data and what stays in the office: officials of the units concerned only
#: personal data: dropped when the petitioner is erased
PERSONAL_COLUMNS = ("petitioner_name", "petitioner_phone", "petitioner_address", "personal_sealed")
PRIVATE_COLUMNS = (*PERSONAL_COLUMNS, "confidential", "answer", "internal_note", "erased")
#: what officials read of personal data: the clear columns, filled from the sealed box if any
OPENED_COLUMNS = ("petitioner_name", "petitioner_phone", "petitioner_address", "text_private")
EXPORT_COLUMNS = tuple(
    dict.fromkeys((*PUBLIC_COLUMNS, *LIFECYCLE, "extensions", "forwards", "reopened", "days_to_resolve"))
)


def select_list(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _approaching_sql() -> str:
    """SQL: time marked a watched deadline approaching (``DeadlineApproaching``) and none has
    passed: the badge beside the overdue one."""
    parts = []
    for k in DEADLINES:
        statuses = "','".join(s.value for s in PENDING[k])
        due = f"{k.value}_due"
        alerted = f"('approaching:{k.value}:' || {due}::text) = ANY(alerts)"
        parts.append(f"(status IN ('{statuses}') AND {due} IS NOT NULL AND {alerted})")
    return f"(NOT overdue AND ({' OR '.join(parts)}))"


APPROACHING = _approaching_sql()
#: what a listing adds to each row: the deadline watched now (``due``) and ``approaching``
WATCH_COLUMNS = ("status", *(f"{k.value}_due" for k in DEADLINES))


def where_clause(filters: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL conditions for a listing's filters (None: no condition)."""
    where: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if (codes := filters.get("area")) is not None:
        where.append(f"reach && {arg(list(codes))}::text[]")
    if statuses := filters.get("status"):
        where.append(f"status = ANY({arg(list(statuses))}::text[])")
    for name in ("kind", "category", "channel", "meeting_id"):
        if (value := filters.get(name)) is not None:
            where.append(f'"{name}" = {arg(value)}')
    if (overdue := filters.get("overdue")) is not None:
        where.append(f"overdue = {arg(overdue)}")
    if (approaching := filters.get("approaching")) is not None:
        where.append(APPROACHING if approaching else f"NOT {APPROACHING}")
    if (start := filters.get("received_from")) is not None:
        where.append(f"received_on >= {arg(start)}")
    if (end := filters.get("received_to")) is not None:
        where.append(f"received_on <= {arg(end)}")
    if text := filters.get("search"):
        for word in fold(text).split():
            where.append(f"search LIKE {arg('%' + word + '%')}")
    if (ids := filters.get("ids")) is not None:
        where.append(f"id = ANY({arg(list(ids))}::text[])")
    return (" WHERE " + " AND ".join(where)) if where else "", args


async def list_petitions(
    conn: Conn, filters: dict[str, Any], columns: Sequence[str], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """A page of rows, each with the deadline watched now (``due``) and whether time marked it
    ``approaching``."""
    cond, args = where_clause(filters)
    total = await conn.fetchval(f"SELECT count(*) FROM petitions.petitions{cond}", *args)
    rows = await conn.fetch(
        f"SELECT {_watched_select(columns)} FROM petitions.petitions{cond}"
        f" ORDER BY received_on DESC, id LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args,
        limit,
        offset,
    )
    return int(total), [_watched(dict(r), columns) for r in rows]


def _watched_select(columns: Sequence[str]) -> str:
    return f"{select_list(tuple(dict.fromkeys((*columns, *WATCH_COLUMNS))))}, {APPROACHING} AS approaching"


def _watched(row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The row's ``columns``, the deadline watched now (``due``) and ``approaching``."""
    return {c: row[c] for c in columns} | {"due": watched_due(row), "approaching": row["approaching"]}


async def status_counts(conn: Conn, filters: dict[str, Any]) -> dict[str, Any]:
    """How many petitions each status holds under the listing's other filters, and how many are
    overdue and approaching: the counts beside an inbox's filters."""
    cond, args = where_clause({**filters, "status": None})
    rows = await conn.fetch(
        f"SELECT status, count(*) AS n, count(*) FILTER (WHERE overdue) AS overdue,"
        f" count(*) FILTER (WHERE {APPROACHING}) AS approaching"
        f" FROM petitions.petitions{cond} GROUP BY status ORDER BY status",
        *args,
    )
    return {
        "by_status": {r["status"]: r["n"] for r in rows},
        "overdue": sum(r["overdue"] for r in rows),
        "approaching": sum(r["approaching"] for r in rows),
    }


async def open_personal(rows: list[dict[str, Any]], vault: Vault) -> list[dict[str, Any]]:
    """Officials' rows with their sealed personal data opened (one read of the key store): the
    name, phone and address, and the text with its marked passages (``text_private``). A box whose
    key was destroyed opens to nothing."""
    sealed = [r for r in rows if r.get("personal_sealed")]
    opened = await vault.open_many([(Sealed.model_validate_json(r["personal_sealed"]), r["id"]) for r in sealed])
    clear = {r["id"]: PersonalData.model_validate(o) for r, o in zip(sealed, opened, strict=True) if o is not None}
    for r in rows:
        r.pop("personal_sealed", None)
        r.setdefault("text_private", None)
        if (p := clear.get(r["id"])) is not None:
            r |= {"petitioner_name": p.name, "petitioner_phone": p.phone, "petitioner_address": p.address,
                  "text_private": p.text}  # fmt: skip
    return rows


async def petitioner_matches(conn: Conn, filters: dict[str, Any], who: str, vault: Vault) -> list[str]:
    """The petitions among ``filters`` whose petitioner's name holds ``who`` (any case, accents
    optional): names in clear are searched in PostgreSQL, sealed ones opened (officials only)."""
    cond, args = where_clause(filters)
    rows = await conn.fetch(f"SELECT id, petitioner_search, personal_sealed FROM petitions.petitions{cond}", *args)
    want = fold(who)
    found = [r["id"] for r in rows if want in r["petitioner_search"]]
    sealed = [dict(r) for r in rows if r["personal_sealed"]]
    opened = await open_personal(sealed, vault)
    return found + [r["id"] for r in opened if r["petitioner_name"] and want in fold(r["petitioner_name"])]


async def get_petition(conn: Conn, petition_id: str, columns: Sequence[str]) -> dict[str, Any] | None:
    """One row, with ``due`` and ``approaching`` as in a listing."""
    row = await conn.fetchrow(f"SELECT {_watched_select(columns)} FROM petitions.petitions WHERE id = $1", petition_id)
    return _watched(dict(row), columns) if row else None


RESOLVED = (Status.answered.value, Status.replied.value, Status.closed.value)
OPEN_STATUSES = tuple(
    s.value
    for s in (
        Status.received,
        Status.classified,
        Status.forwarded,
        Status.returned,
        Status.accepted,
        Status.in_progress,
        Status.reopened,
    )
)


async def petition_stats(conn: Conn, filters: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """Received, resolved, in progress, overdue, withdrawn, median days to resolve, on-time rate
    and satisfaction, per group (a SQL expression over the row, built by the caller from fixed
    parts only)."""
    cond, args = where_clause(filters)
    rows = await conn.fetch(
        f"""
        SELECT {group} AS "group",
               count(*) AS received,
               count(*) FILTER (WHERE status = ANY('{{{",".join(RESOLVED)}}}')) AS resolved,
               count(*) FILTER (WHERE status = ANY('{{{",".join(OPEN_STATUSES)}}}')) AS in_progress,
               count(*) FILTER (WHERE overdue) AS overdue,
               count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
               count(*) FILTER (WHERE status = 'ineligible') AS ineligible,
               count(*) FILTER (WHERE status = 'merged') AS merged,
               count(*) FILTER (WHERE forwards > 0) AS forwarded,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_resolve)
                   FILTER (WHERE days_to_resolve IS NOT NULL AND status IN ('replied', 'closed'))
                   AS median_days_to_resolve,
               count(*) FILTER (WHERE on_time AND status IN ('replied', 'closed')) AS on_time,
               count(*) FILTER (WHERE on_time IS NOT NULL AND status IN ('replied', 'closed')) AS timed,
               count(*) FILTER (WHERE verdict = 'satisfied') AS satisfied,
               count(*) FILTER (WHERE verdict IS NOT NULL) AS verdicts
        FROM petitions.petitions{cond}
        GROUP BY 1 ORDER BY 1
        """,
        *args,
    )
    out = []
    for r in rows:
        d = dict(r)
        timed, verdicts = d.pop("timed"), d.pop("verdicts")
        d["on_time_rate"] = round(d["on_time"] / timed, 4) if timed else None
        d["satisfaction_rate"] = round(d["satisfied"] / verdicts, 4) if verdicts else None
        if d["median_days_to_resolve"] is not None:
            d["median_days_to_resolve"] = float(d["median_days_to_resolve"])
        out.append(d)
    return out


# --- what the duties look for ------------------------------------------------------------------------


async def deadlines_due(conn: Conn, what: str, today: date, limit: int = 1000) -> list[dict[str, Any]]:
    """Petitions with a watched deadline that is ``overdue`` (passed) or ``approaching`` (in its
    warning window) on ``today`` and not yet recorded as such: ``id``, ``deadline``, ``due_on``."""
    parts = []
    for k in DEADLINES:
        statuses = "','".join(s.value for s in PENDING[k])
        due, warn = f"{k.value}_due", f"{k.value}_warn"
        when = f"{due} < $1" if what == "overdue" else f"{warn} <= $1 AND $1 <= {due}"
        parts.append(
            f"SELECT id, '{k.value}' AS deadline, {due} AS due_on FROM petitions.petitions"
            f" WHERE status IN ('{statuses}') AND {due} IS NOT NULL AND {when}"
            f" AND NOT ('{what}:{k.value}:' || {due}::text) = ANY(alerts)"
        )
    rows = await conn.fetch(" UNION ALL ".join(parts) + f" ORDER BY due_on, id LIMIT {int(limit)}", today)
    return [dict(r) for r in rows]


async def cases_answered(conn: Conn, limit: int = 1000) -> list[dict[str, Any]]:
    """Petitions merged into a case that has been answered, not yet answered themselves."""
    rows = await conn.fetch(
        "SELECT m.id, m.merged_into AS case_id, c.reply_document FROM petitions.petitions m"
        " JOIN petitions.petitions c ON c.id = m.merged_into"
        " WHERE m.status = 'merged' AND c.status IN ('replied', 'closed') ORDER BY m.id LIMIT $1",
        limit,
    )
    return [dict(r) for r in rows]
