"""The scheduling service's handlers: load, look up the facts, decide (domain/), record.

Each is a top-level function ``(request, ctx, deps)``; ``bootstrap.py`` builds ``deps`` and routes
the NATS subjects to them (``ENDPOINTS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from caunoi.scheduling import ical, queries
from caunoi.scheduling.commands import (
    AcceptMeeting,
    AddHamlet,
    AnnounceMeeting,
    AssignCadre,
    CalendarFeed,
    CancelMeeting,
    ChoosePilotLocalities,
    ChoosePilotSites,
    CloseMinutes,
    CompileOpinions,
    EndAssignment,
    Following,
    HoldMeeting,
    ListHamlets,
    ListMeetings,
    MissingMeetings,
    MoveMeeting,
    PlanDialogue,
    PostponeMeeting,
    ProposeRotation,
    ReassignCadre,
    RenameHamlet,
    RetireHamlet,
    ShowDialoguePlan,
    ShowHamlet,
    ShowMeeting,
    ShowPilots,
    ShowRotation,
)
from caunoi.scheduling.domain import cadres, hamlets, meetings, pilots
from caunoi.scheduling.domain.cadres import Assignment
from caunoi.scheduling.domain.hamlets import Hamlet
from caunoi.scheduling.domain.meetings import Meeting
from caunoi.scheduling.domain.pilots import Localities, Sites
from caunoi.scheduling.domain.rotation import DONE, RotationMeeting, month_of, rotation
from caunoi.scheduling.events import MeetingProposed, MeetingStatus, Programme, RotationScheduled
from caunoi.scheduling.readmodel import HAMLETS
from caunoi.scheduling.settings import SchedulingSettings
from caunoi.shared.aggregate import MAX_REFERENCE_ATTEMPTS, Outcome, Repository, reply
from caunoi.shared.authz import COMMAND_ROLES, query_area, require_reach
from caunoi.shared.clock import VN
from caunoi.shared.context import RequestContext
from caunoi.shared.endpoints import Endpoint, command, query
from caunoi.shared.errors import Conflict, NotFound
from caunoi.shared.events import DomainEvent
from caunoi.shared.eventstore import WrongExpectedSequence
from caunoi.shared.hamlets import HamletDirectory, get_hamlet, list_hamlets
from caunoi.shared.ids import ASSIGNMENT_PREFIX, MEETING_PREFIX, commune_of, is_hamlet_id, short_reference
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.units import LEVEL_COMMUNE, UnitTree, require_unit


@dataclass(frozen=True)
class Deps:
    hamlets: Repository[Hamlet]
    localities: Repository[Localities]
    sites: Repository[Sites]
    meetings: Repository[Meeting]
    assignments: Repository[Assignment]
    units: UnitTree
    #: the hamlet list as this service's read model has it
    directory: HamletDirectory
    #: the read models' database, for queries and the facts they hold
    pool: Pool = NO_DATABASE
    settings: SchedulingSettings = field(default_factory=SchedulingSettings)


def reach(ctx: RequestContext, deps: Deps, code: str, field: str) -> None:
    """Refuse at once (before deciding) a new aggregate placed at unit ``code`` the actor does not
    reach; the repository checks it again as it appends."""
    if code in deps.units:
        require_reach(ctx.actor, deps.units, deps.units.dataset, deps.units.path(code), what=code, field=field)


# --- hamlets ------------------------------------------------------------------------------------


def hamlet_result(out: Outcome[Hamlet]) -> dict[str, Any]:
    s = out.state
    return reply(
        out,
        hamlet_id=out.aggregate_id,
        commune_code=s.commune_code,
        name=s.name,
        kind=s.kind.value,
        retired=s.retired,
        retired_on=s.retired_on,
    )


async def hamlet_facts(deps: Deps, ctx: RequestContext, commune_code: str) -> hamlets.Facts:
    return hamlets.Facts(ctx.today, deps.units, hamlets.Facts.names_of(await deps.directory.in_commune(commune_code)))


async def add_hamlet(cmd: AddHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    hamlet = await deps.hamlets.get(hamlets.new_hamlet_id(cmd), ctx)
    if done := hamlet.done_by(ctx):
        return hamlet_result(done)
    facts = await hamlet_facts(deps, ctx, cmd.commune_code)
    return hamlet_result(await deps.hamlets.save(hamlet, ctx, hamlets.decide_add(hamlet.state, cmd, facts)))


async def rename_hamlet(cmd: RenameHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    hamlet = await deps.hamlets.get(cmd.hamlet_id, ctx)
    if done := hamlet.done_by(ctx):
        return hamlet_result(done)
    facts = await hamlet_facts(deps, ctx, commune_of(cmd.hamlet_id))
    return hamlet_result(await deps.hamlets.save(hamlet, ctx, hamlets.decide_rename(hamlet.state, cmd, facts)))


async def retire_hamlet(cmd: RetireHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = hamlets.Facts(ctx.today, deps.units)
    return hamlet_result(await deps.hamlets.execute(cmd.hamlet_id, ctx, hamlets.decide_retire, cmd, facts))


async def list_hamlets_query(q: ListHamlets, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        rows = await list_hamlets(conn, HAMLETS, unit, q.include_retired)
    return {"total": len(rows), "items": rows}


async def show_hamlet(q: ShowHamlet, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    async with deps.pool.acquire() as conn:
        row = await get_hamlet(conn, HAMLETS, q.hamlet_id)
    if row is None:
        raise NotFound(
            f"Không tìm thấy thôn, tổ dân phố {q.hamlet_id}", message_en=f"no hamlet {q.hamlet_id}", field="hamlet_id"
        )
    require_reach(ctx.actor, deps.units, row["dataset"], row["unit_path"], what=f"hamlet {q.hamlet_id}")
    return row


# --- programme 1: pilots -----------------------------------------------------------------------------


def localities_result(out: Outcome[Localities]) -> dict[str, Any]:
    s = out.state
    return reply(out, id=out.aggregate_id, unit_code=s.unit_code, communes=list(s.communes), chosen_on=s.chosen_on)


def sites_result(out: Outcome[Sites]) -> dict[str, Any]:
    s = out.state
    return reply(
        out, id=out.aggregate_id, commune_code=s.commune_code, sites=[x.model_dump() for x in s.sites], total=s.total
    )


async def choose_localities(cmd: ChoosePilotLocalities, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    reach(ctx, deps, cmd.unit_code, "unit_code")
    facts = pilots.LocalityFacts(ctx.today, deps.units)
    aid = pilots.localities_id(cmd.unit_code)
    return localities_result(await deps.localities.execute(aid, ctx, pilots.decide_choose_localities, cmd, facts))


async def choose_sites(cmd: ChoosePilotSites, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    reach(ctx, deps, cmd.commune_code, "commune_code")
    loaded = await deps.sites.get(pilots.sites_id(cmd.commune_code), ctx)
    if done := loaded.done_by(ctx):
        return sites_result(done)
    picker = pilots.picking_unit(deps.units, cmd.commune_code)
    chosen = (await deps.localities.load(pilots.localities_id(picker))).state.communes if picker else ()
    facts = pilots.SiteFacts(
        ctx.today, deps.units, await deps.directory.in_commune(cmd.commune_code), frozenset(chosen)
    )
    return sites_result(await deps.sites.save(loaded, ctx, pilots.decide_choose_sites(loaded.state, cmd, facts)))


async def show_pilots(q: ShowPilots, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    if q.unit:
        require_unit(deps.units, q.unit, field="unit")
    unit = query_area(ctx.actor, deps.units, q.unit)
    async with deps.pool.acquire() as conn:
        rows = await queries.pilots_under(conn, unit)
    return {
        "localities": [r for r in rows if r["kind"] == "localities"],
        "sites": [r for r in rows if r["kind"] == "sites"],
    }


# --- meetings ----------------------------------------------------------------------------------------


def meeting_result(out: Outcome[Meeting]) -> dict[str, Any]:
    s = out.state
    return reply(
        out,
        meeting_id=out.aggregate_id,
        status=s.status.value if s.status else None,
        commune_code=s.commune_code,
        host_id=s.host_id,
        host_name=s.host_name,
        date=s.date,
        venue=s.venue,
        cycle=s.cycle,
    )


async def rotation_facts(deps: Deps, ctx: RequestContext, commune_code: str, **more: Any) -> meetings.Facts:
    """The commune's programme 1 meetings as the read model has them (a move's or postponement's
    month check)."""
    async with deps.pool.acquire() as conn:
        held = await queries.rotation_meetings(conn, commune_code)
    return meetings.Facts(ctx.today, deps.units, rotation_meetings=held, **more)


async def rotation_now(deps: Deps, sites: Sites) -> list[RotationMeeting]:
    """The commune's recent programme 1 meetings (the last two cycles) from the event store: the
    slots its pilot-sites aggregate recorded, each as its meeting's own events make it now. A slot
    whose meeting was never stored counts as cancelled."""
    if not sites.scheduled:
        return []
    last = max(s.cycle for s in sites.scheduled)
    out = []
    for slot in (s for s in sites.scheduled if s.cycle >= last - 1):
        m = (await deps.meetings.load(slot.meeting_id)).state
        out.append(
            RotationMeeting(
                slot.meeting_id, slot.host_id, slot.cycle, m.status or MeetingStatus.cancelled, m.date or slot.date
            )
        )
    return out


async def month_id(deps: Deps, commune_code: str, month: str) -> str:
    """The id of the commune's meeting of ``month``: derived from both, so one month gets one
    proposal however often (and by whom) it is asked; after a cancellation, the next alternative."""
    seed = f"rotation:{commune_code}:{month}"
    for attempt in range(MAX_REFERENCE_ATTEMPTS):
        mid = short_reference(MEETING_PREFIX, seed, attempt)
        status = (await deps.meetings.load(mid)).state.status
        if status is None:
            return mid
        if status is not MeetingStatus.cancelled:
            raise Conflict(
                f"Tháng {month} đã có hội nghị {mid} được đề xuất",
                code="duplicate",
                message_en=f"month {month} already has proposed meeting {mid}",
                field="month",
                details={"meeting_id": mid},
            )
    raise Conflict("Không cấp được mã hội nghị; hãy gửi lại", message_en="could not allot a meeting id; retry")


async def propose(cmd: ProposeRotation, ctx: RequestContext, deps: Deps) -> Outcome[Meeting]:
    """The commune's meeting of the month at the next site of its rotation. The slot is recorded
    first on the commune's pilot-sites aggregate (expecting its last sequence, so two proposals
    for one commune cannot both pick from the same state), then the meeting is created; a retry
    of the same command finishes what the first try began."""
    reach(ctx, deps, cmd.commune_code, "commune_code")
    for _ in range(MAX_REFERENCE_ATTEMPTS):
        loaded = await deps.sites.get(pilots.sites_id(cmd.commune_code), ctx)
        if done := loaded.done_by(ctx):
            slot = next(r.event for r in done.events if isinstance(r.event, RotationScheduled))
            return await deps.meetings.create(slot.meeting_id, ctx, [meetings.proposed(slot, loaded.state)])
        sites = loaded.state
        listed = {h.id: h for h in await deps.directory.in_commune(cmd.commune_code)}
        facts = meetings.Facts(
            ctx.today,
            deps.units,
            meeting_id=await month_id(deps, cmd.commune_code, cmd.month) if sites.exists else "",
            rotation_meetings=await rotation_now(deps, sites),
            sites=sites,
            listed=listed,
        )
        events = meetings.decide_propose(meetings.initial(), cmd, facts)
        try:
            await deps.sites.save(
                loaded, ctx, [meetings.scheduled(e) for e in events if isinstance(e, MeetingProposed)]
            )
        except WrongExpectedSequence:
            continue  # another proposal for the commune came first: decide again on what it did
        return await deps.meetings.create(facts.meeting_id, ctx, events)
    raise Conflict(
        "Nhiều đề xuất cùng lúc cho xã này; hãy gửi lại", message_en="proposals for this commune collided; retry"
    )


async def propose_rotation(cmd: ProposeRotation, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    return meeting_result(await propose(cmd, ctx, deps))


async def plan_dialogue(cmd: PlanDialogue, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    reach(ctx, deps, cmd.plan_unit, "plan_unit")
    reach(ctx, deps, cmd.commune_code, "commune_code")
    host = await deps.directory.get(cmd.host_id) if cmd.host_id else None

    def decide(mid: str) -> list[DomainEvent]:
        return meetings.decide_plan(meetings.initial(), cmd, meetings.Facts(ctx.today, deps.units, mid, host))

    return meeting_result(await deps.meetings.create_referenced(MEETING_PREFIX, ctx, decide))


async def accept_meeting(cmd: AcceptMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = meetings.Facts(ctx.today, deps.units)
    return meeting_result(await deps.meetings.execute(cmd.meeting_id, ctx, meetings.decide_accept, cmd, facts))


async def move_meeting(cmd: MoveMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await deps.meetings.get(cmd.meeting_id, ctx)
    if done := loaded.done_by(ctx):
        return meeting_result(done)
    host = await deps.directory.get(cmd.host_id) if cmd.host_id else None
    facts = await rotation_facts(deps, ctx, loaded.state.commune_code, host=host)
    return meeting_result(await deps.meetings.save(loaded, ctx, meetings.decide_move(loaded.state, cmd, facts)))


async def postpone_meeting(cmd: PostponeMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await deps.meetings.get(cmd.meeting_id, ctx)
    if done := loaded.done_by(ctx):
        return meeting_result(done)
    facts = await rotation_facts(deps, ctx, loaded.state.commune_code)
    return meeting_result(await deps.meetings.save(loaded, ctx, meetings.decide_postpone(loaded.state, cmd, facts)))


async def cancel_meeting(cmd: CancelMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = meetings.Facts(ctx.today, deps.units)
    return meeting_result(await deps.meetings.execute(cmd.meeting_id, ctx, meetings.decide_cancel, cmd, facts))


async def compile_opinions(cmd: CompileOpinions, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = meetings.Facts(ctx.today, deps.units)
    return meeting_result(await deps.meetings.execute(cmd.meeting_id, ctx, meetings.decide_compile, cmd, facts))


async def announce_meeting(cmd: AnnounceMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = meetings.Facts(ctx.today, deps.units)
    return meeting_result(await deps.meetings.execute(cmd.meeting_id, ctx, meetings.decide_announce, cmd, facts))


async def hold_meeting(cmd: HoldMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    loaded = await deps.meetings.get(cmd.meeting_id, ctx)
    if done := loaded.done_by(ctx):
        return meeting_result(done)
    host = await deps.directory.get(cmd.host_id) if cmd.host_id else None
    first = loaded.history[0].envelope.time.astimezone(VN).date() if loaded.history else None
    facts = meetings.Facts(
        ctx.today, deps.units, host=host, planned_on=first, record_days=deps.settings.meeting_record_days
    )
    return meeting_result(await deps.meetings.save(loaded, ctx, meetings.decide_hold(loaded.state, cmd, facts)))


async def close_minutes(cmd: CloseMinutes, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = meetings.Facts(ctx.today, deps.units)
    return meeting_result(await deps.meetings.execute(cmd.meeting_id, ctx, meetings.decide_close_minutes, cmd, facts))


def _unit(q_unit: str | None, ctx: RequestContext, deps: Deps) -> str | None:
    if q_unit:
        require_unit(deps.units, q_unit, field="unit")
    return query_area(ctx.actor, deps.units, q_unit)


async def list_meetings(q: ListMeetings, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    unit = _unit(q.unit, ctx, deps)
    async with deps.pool.acquire() as conn:
        rows = await queries.list_meetings(
            conn,
            unit=unit,
            from_date=q.from_date,
            to_date=q.to_date,
            status=q.status.value if q.status else None,
            programme=q.programme.value if q.programme else None,
            limit=q.limit,
        )
    return {"total": len(rows), "items": rows}


async def show_meeting(q: ShowMeeting, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    async with deps.pool.acquire() as conn:
        row = await queries.get_meeting(conn, q.meeting_id)
    if row is None:
        raise NotFound(
            f"Không tìm thấy hội nghị {q.meeting_id}", message_en=f"no meeting {q.meeting_id}", field="meeting_id"
        )
    require_reach(ctx.actor, deps.units, row["dataset"], row["unit_path"], what=f"meeting {q.meeting_id}")
    if not ctx.actor.roles & COMMAND_ROLES:
        return row | {"actions": []}
    #: the commands its state (the log's) allows (what a client offers)
    return row | {"actions": meetings.available_actions((await deps.meetings.load(q.meeting_id)).state)}


async def show_rotation(q: ShowRotation, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Which pilot sites hosted in this cycle, which are pending, which remain."""
    require_unit(deps.units, q.commune_code, field="commune_code", level=LEVEL_COMMUNE)
    query_area(ctx.actor, deps.units, q.commune_code, field="commune_code")
    sites = (await deps.sites.load(pilots.sites_id(q.commune_code))).state
    held = await rotation_now(deps, sites)
    view = rotation(sites.ids, held)
    current = [m for m in held if m.live and m.cycle == view.cycle]
    items = []
    for s in sites.sites:
        mine = sorted((m for m in current if m.host_id == s.id), key=lambda m: m.status not in DONE)
        m = mine[0] if mine else None
        state = "remaining" if m is None else ("hosted" if m.status in DONE else "pending")
        items.append(
            {"id": s.id, "name": s.name, "kind": s.kind.value, "state": state,
             "meeting_id": m.meeting_id if m else None, "date": m.date if m else None}
        )  # fmt: skip
    nxt = view.next_host()
    return {
        "commune_code": q.commune_code,
        "cycle": view.cycle,
        "sites": items,
        "hosted": len(view.hosted),
        "pending": len(view.pending),
        "remaining": len(view.remaining),
        "next": {"host_id": nxt[0], "cycle": nxt[1]} if nxt else None,
    }


def _month_bounds(month: str) -> tuple[date, date]:
    first = meetings.month_start(month)
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


async def missing_meetings(q: MissingMeetings, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Communes under the unit with no meeting (not cancelled) in the month."""
    unit = _unit(q.unit, ctx, deps)
    month = q.month or month_of(ctx.today)
    first, last = _month_bounds(month)
    units = deps.units
    communes = [u for u in (units.descendants(unit) if unit else units) if u.level == LEVEL_COMMUNE]
    if unit and units.get(unit).level == LEVEL_COMMUNE:
        communes = [units.get(unit)]
    async with deps.pool.acquire() as conn:
        if q.pilots_only:
            chosen = await queries.pilot_communes(conn)
            communes = [u for u in communes if u.code in chosen]
        met = await queries.communes_with_meetings(conn, unit, first, last)
    return {
        "unit": unit,
        "month": month,
        "communes": len(communes),
        "with_meeting": sum(1 for u in communes if u.code in met),
        "without": [{"code": u.code, "name": u.name} for u in communes if u.code not in met],
    }


async def dialogue_plan(q: ShowDialoguePlan, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """A head's yearly plan: the unit's programme 2 dialogues of the year, by date."""
    require_unit(deps.units, q.plan_unit, field="plan_unit")
    query_area(ctx.actor, deps.units, q.plan_unit, field="plan_unit")
    async with deps.pool.acquire() as conn:
        rows = await queries.list_meetings(
            conn,
            unit=q.plan_unit,
            plan_unit=q.plan_unit,
            programme=Programme.p2.value,
            from_date=date(q.year, 1, 1),
            to_date=date(q.year, 12, 31),
        )
    return {"plan_unit": q.plan_unit, "year": q.year, "total": len(rows), "items": rows}


async def calendar_feed(q: CalendarFeed, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Upcoming meetings (cancelled ones included, so subscribers see them called off)."""
    unit = _unit(q.unit, ctx, deps)
    async with deps.pool.acquire() as conn:
        rows = await queries.list_meetings(
            conn, unit=unit, from_date=ctx.today, to_date=ctx.today + timedelta(days=q.days), limit=5000
        )
    name = f"Hội nghị đối thoại — {deps.units.get(unit).name}" if unit else "Hội nghị đối thoại"
    return {"content_type": "text/calendar", "count": len(rows), "ics": ical.render(rows, name)}


# --- programme 3 -------------------------------------------------------------------------------------


def assignment_result(out: Outcome[Assignment]) -> dict[str, Any]:
    s = out.state
    cur = s.current if s.exists else None
    return reply(
        out,
        assignment_id=out.aggregate_id,
        cadre=cur.cadre if cur else None,
        area_name=s.area_name,
        from_date=cur.start if cur else None,
        ended_on=cur.end if cur else None,
    )


async def assign_cadre(cmd: AssignCadre, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    reach(ctx, deps, cmd.cadre_unit, "cadre_unit")
    hamlet = await deps.directory.get(cmd.area_id) if cmd.area_id and is_hamlet_id(cmd.area_id) else None

    def decide(aid: str) -> list[DomainEvent]:
        return cadres.decide_assign(cadres.initial(), cmd, cadres.Facts(ctx.today, deps.units, aid, hamlet))

    return assignment_result(await deps.assignments.create_referenced(ASSIGNMENT_PREFIX, ctx, decide))


async def reassign_cadre(cmd: ReassignCadre, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = cadres.Facts(ctx.today, deps.units)
    out = await deps.assignments.execute(cmd.assignment_id, ctx, cadres.decide_reassign, cmd, facts)
    return assignment_result(out)


async def end_assignment(cmd: EndAssignment, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    facts = cadres.Facts(ctx.today, deps.units)
    return assignment_result(await deps.assignments.execute(cmd.assignment_id, ctx, cadres.decide_end, cmd, facts))


async def following(q: Following, ctx: RequestContext, deps: Deps) -> dict[str, Any]:
    """Who follows what under the unit on a date (today by default)."""
    unit = _unit(q.unit, ctx, deps)
    on = q.on or ctx.today
    async with deps.pool.acquire() as conn:
        rows = await queries.following(conn, unit, on)
    return {"unit": unit, "on": on, "total": len(rows), "items": rows}


#: what each request subject runs (``caunoi.cmd|q.<service>.<name>``)
ENDPOINTS: Sequence[Endpoint[Deps]] = [
    command("hamlet_add", AddHamlet, add_hamlet, "Add a hamlet or agency party cell to a commune's list"),
    command("hamlet_rename", RenameHamlet, rename_hamlet, "Rename a hamlet; its id stays (đổi tên thôn, tổ dân phố)"),
    command("hamlet_retire", RetireHamlet, retire_hamlet, "Stop using a hamlet; its history stays (thôi sử dụng)"),
    command(
        "pilot_localities",
        ChoosePilotLocalities,
        choose_localities,
        "Programme 1: a district (since 2025 a province) picks its pilot communes (chọn địa phương làm điểm)",
    ),
    command(
        "pilot_sites",
        ChoosePilotSites,
        choose_sites,
        "Programme 1: a pilot commune picks its pilot hamlets and party cells, in rotation order (>= 50 %)",
    ),
    command(
        "rotation_propose",
        ProposeRotation,
        propose_rotation,
        "Programme 1: propose a pilot commune's meeting of a month at the next site of its rotation",
    ),
    command("meeting_accept", AcceptMeeting, accept_meeting, "Accept a proposed meeting (chấp nhận đề xuất)"),
    command(
        "dialogue_plan",
        PlanDialogue,
        plan_dialogue,
        "Programme 2: plan one dialogue of a head's yearly plan (kế hoạch tiếp xúc, đối thoại)",
    ),
    command("meeting_move", MoveMeeting, move_meeting, "Move a meeting: date, time, venue or host (đổi lịch)"),
    command("meeting_postpone", PostponeMeeting, postpone_meeting, "Postpone a meeting, with a reason (hoãn)"),
    command("meeting_cancel", CancelMeeting, cancel_meeting, "Cancel a meeting, with a reason (hủy)"),
    command(
        "meeting_compile",
        CompileOpinions,
        compile_opinions,
        "Programme 2: the opinions were compiled and reported (tổng hợp ý kiến)",
    ),
    command(
        "meeting_announce",
        AnnounceMeeting,
        announce_meeting,
        "Announce time and place on the local radio (thông báo trên hệ thống truyền thanh)",
    ),
    command("meeting_hold", HoldMeeting, hold_meeting, "Record a meeting as held: MeetingHeld (đã tổ chức)"),
    command("meeting_close", CloseMinutes, close_minutes, "Close a held meeting's minutes (khóa biên bản)"),
    command("cadre_assign", AssignCadre, assign_cadre, "Programme 3: assign a cadre to follow an area (phân công)"),
    command("cadre_reassign", ReassignCadre, reassign_cadre, "Programme 3: another cadre follows the area"),
    command("cadre_end", EndAssignment, end_assignment, "Programme 3: end an assignment"),
    query("hamlets", ListHamlets, list_hamlets_query, "Hamlets under a unit (province, district or commune)"),
    query("hamlet", ShowHamlet, show_hamlet, "One hamlet from the read model"),
    query("pilots", ShowPilots, show_pilots, "Pilot localities and pilot sites under a unit"),
    query("rotation", ShowRotation, show_rotation, "A pilot commune's rotation: hosted, pending, remaining sites"),
    query("meetings", ListMeetings, list_meetings, "Meetings under a unit and its sub-tree, by date"),
    query("meeting", ShowMeeting, show_meeting, "One meeting, with the opinions raised there (from petitions)"),
    query("missing", MissingMeetings, missing_meetings, "Communes under a unit with no meeting in a month"),
    query("plan", ShowDialoguePlan, dialogue_plan, "A head's yearly dialogue plan (programme 2)"),
    query("calendar", CalendarFeed, calendar_feed, "Upcoming meetings under a unit as iCalendar (RFC 5545)"),
    query("following", Following, following, "Programme 3: who follows what under a unit on a date"),
]
