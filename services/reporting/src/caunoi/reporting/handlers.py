"""The reporting service's handlers: load, look up the facts (a compilation, the schedules),
decide (domain/), record. The "Dân vận khéo" models' are in :mod:`.model_handlers`, listed here too.

Each is a top-level function ``(request, ctx, deps)``; ``bootstrap.py`` builds ``deps`` and routes
the NATS subjects to them (``ENDPOINTS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from caunoi.reporting import queries
from caunoi.reporting.commands import (
    Compile,
    CorrectFigure,
    EndEnrolment,
    Enrol,
    ListEnrolments,
    ListReports,
    ListSchedules,
    OpenReport,
    ReportStatus,
    ShowReport,
    SubmitReport,
    WriteNarrative,
)
from caunoi.reporting.compilation import compile_report
from caunoi.reporting.deps import Deps, area_unit, reach
from caunoi.reporting.domain import enrolments, reports
from caunoi.reporting.domain.enrolments import Enrolment, enrolment_id
from caunoi.reporting.domain.figures import CORRECTABLE, with_corrections
from caunoi.reporting.domain.periods import Period, Schedule, adhoc_period, dates_period
from caunoi.reporting.domain.reports import ADHOC, Report
from caunoi.reporting.events import Compilation, compilation_with_model_figures, with_model_figures
from caunoi.reporting.model_handlers import MODEL_ENDPOINTS
from caunoi.shared.aggregate import Loaded, Outcome, reply
from caunoi.shared.authz import COMMAND_ROLES, is_national, query_area, require_acting_for, require_reach
from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Endpoint, command, query
from caunoi.shared.errors import NotFound, ValidationFailed
from caunoi.shared.ids import report_id, short_reference
from caunoi.shared.units import Unit, require_unit


def schedule_period(
    deps: Deps, unit: Unit, schedule_id: str, key: str | None, now: datetime
) -> tuple[Schedule, Period]:
    """A schedule that applies to the unit, and its period ``key`` (default: the last fallen due)."""
    schedule = reports.check_schedule(deps.schedules.get(schedule_id), schedule_id, unit, deps.units.dataset)
    if key is None:
        return schedule, schedule.latest(now)
    try:
        return schedule, schedule.period(key)
    except ValueError as e:
        raise ValidationFailed(f"Kỳ báo cáo không hợp lệ: {e}", message_en=str(e), field="period") from e


def spec_for(deps: Deps, unit: Unit, schedule: Schedule, period: Period) -> dict[str, Any]:
    return reports.head(unit, deps.units, schedule.id, schedule.vi, deps.schedules.version, period)


async def compiled(deps: Deps, unit_code: str, start: Any, end: Any) -> Compilation:
    async with deps.pool.acquire() as conn:
        return await compile_report(conn, deps.units.get(unit_code), deps.units, start, end)


# --- enrolment --------------------------------------------------------------------------------------


def enrolment_result(out: Outcome[Enrolment]) -> dict[str, Any]:
    s = out.state
    return reply(out, unit_code=s.unit_code, schedules=list(s.schedules), since=s.since, ended=s.ended)


async def enrol(cmd: Enrol, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    reach(ctx, deps, cmd.unit_code, "unit_code")
    facts = enrolments.Facts(ctx.today, deps.units, deps.schedules)
    aid = enrolment_id(cmd.unit_code)
    return enrolment_result(await deps.enrolments.execute(aid, ctx, enrolments.decide_enrol, cmd, facts))


async def end_enrolment(cmd: EndEnrolment, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = enrolments.Facts(ctx.today, deps.units, deps.schedules)
    aid = enrolment_id(cmd.unit_code)
    return enrolment_result(await deps.enrolments.execute(aid, ctx, enrolments.decide_end, cmd, facts))


async def list_enrolments(q: ListEnrolments, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        rows = await queries.enrolments_under(conn, unit)
    return {"unit": unit, "total": len(rows), "items": rows}


async def list_schedules(q: ListSchedules, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The schedules in force for this installation's unit dataset, with their next due times."""
    now = ctx.received_at
    items = []
    for s in deps.schedules.for_dataset(deps.units.dataset):
        nxt = s.periods_opening(now, now + timedelta(days=800))[:1]
        items.append({
            "id": s.id, "vi": s.vi, "en": s.en, "source": s.source, "every": s.every, "levels": list(s.levels),
            "compile_time": s.compile_time, "due_time": s.due_time,
            "next": None if not nxt else {"period": nxt[0].key, "label": nxt[0].label_vi,
                                          "opens_at": nxt[0].opens_at, "due_at": nxt[0].due_at},
        })  # fmt: skip
    return {"version": deps.schedules.version, "dataset": deps.units.dataset, "items": items}


# --- compilation --------------------------------------------------------------------------------------


async def compile_query(q: Compile, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Any unit's figures for any period: a schedule's, or the dates given."""
    unit = area_unit(ctx, deps, q.unit)
    if q.schedule:
        schedule, period = schedule_period(deps, unit, q.schedule, q.period, ctx.received_at)
    else:
        period = dates_period(q.from_date, q.to_date)  # type: ignore[arg-type]
        schedule = None
    compilation = await compiled(deps, unit.code, period.start, period.end)
    return {
        "unit": {"code": unit.code, "name": unit.name, "level": unit.level},
        "schedule": schedule.id if schedule else None,
        "schedule_title": schedule.vi if schedule else None,
        "period": _period(period, dated=schedule is not None),
        "compilation": compilation.model_dump(mode="json"),
    }


def _period(p: Period, dated: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"key": p.key, "label": p.label_vi, "label_en": p.label_en, "start": p.start, "end": p.end}
    if dated:
        out |= {"opens_at": p.opens_at, "due_at": p.due_at}
    return out


# --- a report's life ------------------------------------------------------------------------------------


def report_result(out: Outcome[Report]) -> dict[str, Any]:
    s = out.state
    return reply(
        out,
        report_id=out.aggregate_id,
        unit_code=s.head.get("unit_code"),
        schedule=s.head.get("schedule"),
        period=s.head.get("period"),
        period_label=s.head.get("period_label"),
        due_at=s.due_at,
        submitted_at=s.submitted_at,
        late=s.late if s.submitted else None,
        corrections={
            k: {"value": c.value, "computed": c.computed, "reason": c.reason} for k, c in s.corrections.items()
        },
    )


def files(ctx: RequestContext, state: Report) -> bool:
    """Whether the actor files this report: its own unit's (the tier above reads it, never writes
    it), or a national operator."""
    return is_national(ctx.actor) or ctx.actor.unit == state.head.get("unit_code")


def own_unit(ctx: RequestContext, state: Report) -> None:
    """A report is filed by its own unit (the tier above reads it, never writes it)."""
    if state.exists:
        require_acting_for(ctx.actor, state.head["unit_code"], what_vi="lập và nộp báo cáo này",
                           what_en="draft and file this report")  # fmt: skip


async def load_own(deps: Deps, ctx: RequestContext, rid: str) -> Loaded[Report]:
    loaded = await deps.reports.get(rid, ctx)
    own_unit(ctx, loaded.state)
    return loaded


async def open_report(cmd: OpenReport, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    unit = reach(ctx, deps, cmd.unit_code, "unit_code")
    if cmd.schedule is not None:
        schedule, period = schedule_period(deps, unit, cmd.schedule, cmd.period, ctx.received_at)
        spec = spec_for(deps, unit, schedule, period)
        title = None
    else:
        key = short_reference("", ctx.command_id)
        period = adhoc_period(key, cmd.from_date, cmd.to_date)  # type: ignore[arg-type]
        spec = reports.head(unit, deps.units, ADHOC, "Báo cáo đột xuất", deps.schedules.version, period)
        title = cmd.title
    require_acting_for(ctx.actor, unit.code, what_vi="mở báo cáo của mình", what_en="open its reports",
                       field="unit_code")  # fmt: skip
    facts = reports.OpenFacts(ctx.today, spec, title)
    return report_result(await deps.reports.execute(spec["report_id"], ctx, reports.decide_open, cmd, facts))


async def write_narrative(cmd: WriteNarrative, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await load_own(deps, ctx, cmd.report_id)
    if done := loaded.done_by(ctx):
        return report_result(done)
    return report_result(await deps.reports.save(loaded, ctx, reports.decide_narrative(loaded.state, cmd)))


async def correct_figure(cmd: CorrectFigure, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await load_own(deps, ctx, cmd.report_id)
    if done := loaded.done_by(ctx):
        return report_result(done)
    reports.editable(loaded.state, cmd.report_id)
    h = loaded.state.head
    computed = (await compiled(deps, h["unit_code"], h["period_start"], h["period_end"])).totals.model_dump()
    return report_result(await deps.reports.save(loaded, ctx, reports.decide_correct(loaded.state, cmd, computed)))


async def submit_report(cmd: SubmitReport, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await load_own(deps, ctx, cmd.report_id)
    if done := loaded.done_by(ctx):
        return report_result(done)
    reports.editable(loaded.state, cmd.report_id)
    h = loaded.state.head
    compilation = await compiled(deps, h["unit_code"], h["period_start"], h["period_end"])
    facts = reports.SubmitFacts(ctx.today, ctx.received_at, compilation)
    return report_result(await deps.reports.save(loaded, ctx, reports.decide_submit(loaded.state, cmd, facts)))


def status_of(row: dict[str, Any], now: datetime) -> ReportStatus:
    if row.get("submitted_at") is not None:
        return ReportStatus.late if row.get("late") else ReportStatus.submitted
    due = row.get("due_at")
    return ReportStatus.missing if due is not None and due < now else ReportStatus.pending


async def show_report(q: ShowReport, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """One report: its state, narrative and corrections, and its figures: as filed once submitted,
    else compiled now, with each correction beside the computed value."""
    async with deps.pool.acquire() as conn:
        row = await queries.get_report(conn, q.report_id)
    if row is None:
        raise NotFound(f"Không có báo cáo {q.report_id}", message_en=f"no report {q.report_id}", field="report_id")
    require_reach(ctx.actor, deps.units, row["dataset"], row["unit_path"], what=f"report {q.report_id}")
    row["status"] = status_of(row, ctx.received_at).value
    if row["filed"] is not None:  # as filed; a row kept from a v1 submission lacks the models' figures
        row["compilation"] = compilation_with_model_figures(row["filed"]["compilation"])
        row["final"] = with_model_figures(row["filed"]["final"])
    else:
        compilation = await compiled(deps, row["unit_code"], row["period_start"], row["period_end"])
        row["compilation"] = compilation.model_dump(mode="json")
        corrections = {k: c["value"] for k, c in row["corrections"].items()}
        row["final"] = with_corrections(compilation.totals, corrections).model_dump(mode="json")
    state = (await deps.reports.load(q.report_id)).state
    allowed = ctx.actor.roles & COMMAND_ROLES and files(ctx, state)
    #: the filing commands its state (the log's) allows this actor, and the figures it may correct
    row["actions"] = reports.available_actions(state, bool(allowed), ctx.today)
    row["correctable"] = list(CORRECTABLE) if "correct" in row["actions"] else []
    return row


async def list_reports(q: ListReports, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """The reports under a unit, each submitted, late, missing or pending; with a schedule and a
    period, also the enrolled units that have no report for it yet."""
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    now = ctx.received_at
    async with deps.pool.acquire() as conn:
        rows = await queries.list_reports(conn, unit, q.schedule, q.period, q.limit)
        enrolled = await queries.enrolments_under(conn, unit) if q.schedule and q.period else []
    items = []
    for r in rows:
        items.append({k: r[k] for k in ("id", "unit_code", "unit_name", "schedule", "period", "period_label",
                                         "period_end", "due_at", "submitted_at", "late", "overdue_at", "title")}
                     | {"status": status_of(r, now).value})  # fmt: skip
    have = {(r["unit_code"], r["schedule"], r["period"]) for r in rows}
    for e in enrolled:
        if q.schedule not in e["schedules"] or (e["unit_code"], q.schedule, q.period) in have:
            continue
        unit_ = deps.units.find(e["unit_code"])
        schedule = deps.schedules.get(q.schedule)  # type: ignore[arg-type]
        if unit_ is None or schedule is None:
            continue
        try:
            period = schedule.period(q.period)  # type: ignore[arg-type]
        except ValueError:
            continue
        if period.opens_at.date() < e["since"] or (e["until"] is not None and period.opens_at.date() >= e["until"]):
            continue
        row = {"id": report_id(unit_.code, schedule.id, period.key), "unit_code": unit_.code,
               "unit_name": unit_.name, "schedule": schedule.id, "period": period.key,
               "period_label": period.label_vi, "period_end": period.end, "due_at": period.due_at,
               "submitted_at": None, "late": None, "overdue_at": None, "title": None}  # fmt: skip
        items.append(row | {"status": status_of(row, now).value})
    if q.status is not None:
        items = [i for i in items if i["status"] == q.status.value]
    counts = {s.value: sum(1 for i in items if i["status"] == s.value) for s in ReportStatus}
    return {"unit": unit, "total": len(items), "counts": counts, "items": items}


#: what each request subject runs (``caunoi.cmd|q.<service>.<name>``)
ENDPOINTS: Sequence[Endpoint[Deps]] = [
    command("enrol", Enrol, enrol, "Enrol a unit in report schedules: it owes them from a date"),
    command("enrol_end", EndEnrolment, end_enrolment, "End a unit's enrolment: it owes no more reports"),
    command("open", OpenReport, open_report, "Open a report's draft: a schedule's period, or an ad-hoc report"),
    command("narrative", WriteNarrative, write_narrative, "Write a part of a report's narrative"),
    command("correct", CorrectFigure, correct_figure, "Correct a figure; the computed value stays beside it"),
    command("submit", SubmitReport, submit_report, "Submit a report: its figures as filed (ReportSubmitted)"),
    query("schedules", ListSchedules, list_schedules, "The report schedules in force"),
    query("enrolments", ListEnrolments, list_enrolments, "Units under a unit enrolled in report schedules"),
    query("compile", Compile, compile_query, "A unit's figures for a period, by unit below and month by month"),
    query("reports", ListReports, list_reports, "Reports under a unit: submitted, late, missing, pending"),
    query("report", ShowReport, show_report, "One report, its figures computed (or as filed) beside corrections"),
    *MODEL_ENDPOINTS,
]
