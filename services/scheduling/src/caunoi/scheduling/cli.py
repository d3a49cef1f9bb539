"""``caunoi scheduling ...``: the clerk's commands, sent to the scheduling service over NATS.

Dates are ``YYYY-MM-DD`` or ``+N`` / ``-N`` (N days from today: the kernel's ``clitools.day``);
months ``YYYY-MM`` or ``+N`` (N months from this one, ``+0`` this month).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from caunoi.scheduling.events import AreaKind, AttendeeGroup, MeetingStatus, Programme, TargetGroup
from caunoi.scheduling.labels import (
    AREA_VI,
    ATTENDEE_VI,
    KIND_EN,
    KIND_VI,
    PROGRAMME_EN,
    PROGRAMME_VI,
    SITE_STATE_VI,
    STATUS_EN,
    STATUS_VI,
    TARGET_VI,
)
from caunoi.shared.clitools import (
    call,
    command_options,
    day,
    echo_fields,
    get_ctx,
    replayed,
    send_command,
    table,
    unit_option,
)
from caunoi.shared.clock import today_vn
from caunoi.shared.hamlets import HamletKind
from caunoi.shared.labels import label

SERVICE = "scheduling"


def month(value: str | None) -> str | None:
    """``YYYY-MM`` as given, ``+N``: N months from this one."""
    if value is None or not value.startswith("+"):
        return value
    if not value[1:].isdigit():
        raise click.BadParameter(f"{value!r}: YYYY-MM hoặc +N (số tháng) / or +N months")
    t = today_vn()
    n = t.year * 12 + t.month - 1 + int(value[1:])
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


# --- group ----------------------------------------------------------------------------------------


@click.group(name="scheduling", help="Lịch hội nghị đối thoại, danh sách thôn / dialogue scheduling and hamlets.")
def group() -> None:
    pass


# --- hamlets --------------------------------------------------------------------------------------


def _send_hamlet(name: str, payload: dict[str, Any]) -> None:
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    lang = get_ctx().lang
    again = replayed(result)
    retired = ""
    if result.get("retired"):
        retired = (
            f" — thôi sử dụng từ {result['retired_on']}" if lang == "vi" else f" — retired on {result['retired_on']}"
        )
    kind = label(result["kind"], KIND_VI, KIND_EN, lang)
    click.echo(f"{result['hamlet_id']}: {result['name']} [{kind}]{retired}{again}")


@group.group(name="hamlets", help="Thôn, ấp, bản, tổ dân phố, chi bộ cơ quan của xã / a commune's hamlets.")
def hamlets() -> None:
    pass


@hamlets.command(name="add", help="Thêm thôn, tổ dân phố, chi bộ cơ quan / add a hamlet or party cell.")
@click.option("--commune", "commune_code", required=True, help="Mã xã, phường (5 chữ số) / commune code (5 digits).")
@click.option("--name", required=True, help="Tên, ví dụ «Thôn Đồng Tâm» / name.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in HamletKind]),
    required=True,
    help="Loại: thon, ap, ban, buon, lang, to_dan_pho, khu_pho, khom, party_cell, other / kind.",
)
@command_options
def add(commune_code: str, name: str, kind: str, command_id: str | None) -> None:
    _send_hamlet("hamlet_add", {"commune_code": commune_code, "name": name, "kind": kind, "command_id": command_id})


@hamlets.command(name="list", help="Danh sách thôn, tổ dân phố / list hamlets.")
@unit_option
@click.option("--all", "include_retired", is_flag=True, help="Gồm cả thôn đã thôi sử dụng / include retired.")
def list_(unit: str | None, include_retired: bool) -> None:
    result = call("query", SERVICE, "hamlets", {"include_retired": include_retired, "unit": unit})
    if result is None:
        return
    lang = get_ctx().lang
    items = result["items"]
    for r in items:
        r["kind_label"] = label(r["kind"], KIND_VI, KIND_EN, lang)
    cols = [
        ("id", "Mã", "Id"),
        ("name", "Tên", "Name"),
        ("kind_label", "Loại", "Kind"),
        ("commune_code", "Xã", "Commune"),
    ]
    if include_retired:
        cols.append(("retired_on", "Thôi sử dụng từ", "Retired on"))
    click.echo(table(items, cols, lang))
    click.echo(f"\n{result['total']}")


@hamlets.command(name="show", help="Một thôn, tổ dân phố / one hamlet.")
@click.argument("hamlet_id")
def show(hamlet_id: str) -> None:
    row = call("query", SERVICE, "hamlet", {"hamlet_id": hamlet_id})
    if row is None:
        return
    row["kind"] = label(row["kind"], KIND_VI, KIND_EN, get_ctx().lang)
    echo_fields(row, ("id", "name", "kind", "commune_code", "unit_path", "dataset", "retired", "retired_on"))


@hamlets.command(name="rename", help="Đổi tên (mã giữ nguyên) / rename; the id stays.")
@click.argument("hamlet_id")
@click.option("--name", required=True, help="Tên mới / new name.")
@command_options
def rename(hamlet_id: str, name: str, command_id: str | None) -> None:
    _send_hamlet("hamlet_rename", {"hamlet_id": hamlet_id, "name": name, "command_id": command_id})


@hamlets.command(name="retire", help="Thôi sử dụng (sáp nhập, giải thể) / retire a hamlet; its history stays.")
@click.argument("hamlet_id")
@click.option("--reason", required=True, help="Lý do / reason.")
@click.option("--on", "retired_on", help="Ngày (YYYY-MM-DD), mặc định hôm nay / date, default today.")
@command_options
def retire(hamlet_id: str, reason: str, retired_on: str | None, command_id: str | None) -> None:
    _send_hamlet(
        "hamlet_retire",
        {"hamlet_id": hamlet_id, "reason": reason, "retired_on": day(retired_on), "command_id": command_id},
    )


# --- pilots and the rotation ------------------------------------------------------------------------


@group.group(name="pilots", help="Chương trình 1: đơn vị làm điểm / programme 1 pilots.")
def pilots() -> None:
    pass


@pilots.command(name="choose", help="Huyện (từ 2025: tỉnh) chọn xã làm điểm / pick pilot communes.")
@click.option("--unit", "unit_code", required=True, help="Mã huyện (từ 2025: tỉnh) / district (2025: province).")
@click.option("--commune", "communes", multiple=True, required=True, help="Mã xã làm điểm (lặp lại) / repeatable.")
@command_options
def pilots_choose(unit_code: str, communes: tuple[str, ...], command_id: str | None) -> None:
    body = {"unit_code": unit_code, "communes": list(communes), "command_id": command_id}
    result = send_command(SERVICE, "pilot_localities", body)
    if result is not None:
        again = replayed(result)
        click.echo(f"{result['id']}: {', '.join(result['communes'])}{again}")


@pilots.command(name="sites", help="Xã chọn thôn, chi bộ làm điểm, theo thứ tự luân phiên / pick pilot sites.")
@click.option("--commune", "commune_code", required=True, help="Mã xã / commune code.")
@click.option("--site", "sites", multiple=True, required=True, help="Mã thôn, chi bộ (lặp lại) / repeatable.")
@command_options
def pilots_sites(commune_code: str, sites: tuple[str, ...], command_id: str | None) -> None:
    body = {"commune_code": commune_code, "sites": list(sites), "command_id": command_id}
    result = send_command(SERVICE, "pilot_sites", body)
    if result is not None:
        again = replayed(result)
        names = ", ".join(s["name"] for s in result["sites"])
        click.echo(f"{result['id']}: {len(result['sites'])}/{result['total']} — {names}{again}")


@pilots.command(name="list", help="Đơn vị làm điểm / pilot localities and sites.")
@unit_option
def pilots_list(unit: str | None) -> None:
    result = call("query", SERVICE, "pilots", {"unit": unit})
    if result is None:
        return
    lang = get_ctx().lang
    communes_label = "xã làm điểm" if lang == "vi" else "pilot communes"
    sites_label = "điểm" if lang == "vi" else "sites"
    rows = [
        {"unit": r["unit_code"], "what": communes_label, "members": ", ".join(r["names"])} for r in result["localities"]
    ]
    rows += [
        {
            "unit": r["unit_code"],
            "what": f"{sites_label} {len(r['members'])}/{r['total']}",
            "members": ", ".join(r["names"]),
        }
        for r in result["sites"]
    ]
    click.echo(
        table(rows, [("unit", "Đơn vị", "Unit"), ("what", "Nội dung", "What"), ("members", "Điểm", "Chosen")], lang)
    )


@group.group(name="rotation", help="Chương trình 1: luân phiên hằng tháng / programme 1 monthly rotation.")
def rotation_group() -> None:
    pass


@rotation_group.command(name="show", help="Điểm đã tổ chức, đang chờ, còn lại trong vòng / the rotation's state.")
@click.option("--commune", "commune_code", required=True, help="Mã xã / commune code.")
def rotation_show(commune_code: str) -> None:
    result = call("query", SERVICE, "rotation", {"commune_code": commune_code})
    if result is None:
        return
    lang = get_ctx().lang
    for s in result["sites"]:
        s["state_label"] = SITE_STATE_VI[s["state"]] if lang == "vi" else s["state"]
    head = "Vòng" if lang == "vi" else "Cycle"
    click.echo(f"{head} {result['cycle']}: {result['hosted']} / {result['pending']} / {result['remaining']}")
    cols = [("id", "Mã", "Id"), ("name", "Tên", "Name"), ("state_label", "Tình trạng", "State"),
            ("meeting_id", "Hội nghị", "Meeting"), ("date", "Ngày", "Date")]  # fmt: skip
    click.echo(table(result["sites"], cols, lang))


@rotation_group.command(name="propose", help="Đề xuất hội nghị của tháng / propose a month's meeting.")
@click.option("--commune", "commune_code", required=True, help="Mã xã làm điểm / pilot commune code.")
@click.option("--month", "month_", required=True, help="YYYY-MM hoặc +N (tháng) / month.")
@click.option("--date", "date_", help="Ngày (mặc định ngày 15) / date (default the 15th).")
@click.option("--time", "start_time", help="Giờ bắt đầu HH:MM / start time.")
@click.option("--venue", help="Địa điểm (mặc định nhà văn hóa thôn) / venue.")
@command_options
def rotation_propose(
    commune_code: str, month_: str, date_: str | None, start_time: str | None, venue: str | None, command_id: str | None
) -> None:
    _send_meeting(
        "rotation_propose",
        {"commune_code": commune_code, "month": month(month_), "date": day(date_), "start_time": start_time,
         "venue": venue, "command_id": command_id},
    )  # fmt: skip


# --- meetings -------------------------------------------------------------------------------------


def _send_meeting(name: str, payload: dict[str, Any]) -> None:
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    lang = get_ctx().lang
    status = label(result["status"], STATUS_VI, STATUS_EN, lang)
    where = f" — {result['host_name']}" if result.get("host_name") else ""
    again = replayed(result)
    click.echo(f"{result['meeting_id']}: {status}, {result['date']}, {result['venue']}{where}{again}")


@group.group(name="meetings", help="Hội nghị tiếp xúc, đối thoại / dialogue meetings.")
def meetings_group() -> None:
    pass


@meetings_group.command(name="list", help="Hội nghị của đơn vị và cấp dưới / meetings under a unit.")
@unit_option
@click.option("--from", "from_date", help="Từ ngày / from (YYYY-MM-DD, +N or -N days).")
@click.option("--to", "to_date", help="Đến ngày / to.")
@click.option("--status", type=click.Choice([s.value for s in MeetingStatus]))
@click.option("--programme", type=click.Choice([p.value for p in Programme]))
def meetings_list(
    unit: str | None, from_date: str | None, to_date: str | None, status: str | None, programme: str | None
) -> None:
    body = {
        "unit": unit,
        "from_date": day(from_date),
        "to_date": day(to_date),
        "status": status,
        "programme": programme,
    }
    result = call("query", SERVICE, "meetings", body)
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        r["status_label"] = label(r["status"], STATUS_VI, STATUS_EN, lang)
        r["programme_label"] = label(r["programme"], PROGRAMME_VI, PROGRAMME_EN, lang)
        r["where"] = r["host_name"] or r["venue"]
        r["raised"] = r["opinions"]["raised"]
    cols = [("id", "Mã", "Id"), ("date", "Ngày", "Date"), ("commune_code", "Xã", "Commune"),
            ("where", "Nơi tổ chức", "Where"), ("programme_label", "Chương trình", "Programme"),
            ("status_label", "Tình trạng", "Status"), ("raised", "Ý kiến", "Opinions")]  # fmt: skip
    click.echo(table(result["items"], cols, lang))
    click.echo(f"\n{result['total']}")


@meetings_group.command(name="show", help="Một hội nghị và các ý kiến nêu tại đó / one meeting.")
@click.argument("meeting_id")
def meetings_show(meeting_id: str) -> None:
    row = call("query", SERVICE, "meeting", {"meeting_id": meeting_id})
    if row is None:
        return
    lang = get_ctx().lang
    row["status"] = label(row["status"], STATUS_VI, STATUS_EN, lang)
    row["target_group"] = label(row["target_group"], TARGET_VI, None, lang) or None
    if row.get("attendees"):
        row["attendees"] = ", ".join(f"{label(g, ATTENDEE_VI, None, lang)}: {n}" for g, n in row["attendees"].items())
    echo_fields(row, ("id", "programme", "status", "commune_code", "host_name", "date", "start_time", "venue",
                      "chair", "plan_unit", "target_group", "cycle", "opinions_due", "broadcast_due", "announced_on",
                      "held_on", "attendees_total", "attendees", "representatives", "minutes_ref",
                      "minutes_closed_on", "missed", "reason"))  # fmt: skip
    o = row["opinions"]
    if lang == "vi":
        click.echo(
            f"  ý kiến             {o['raised']} (giải đáp tại chỗ {o['answered_on_spot']}, chuyển {o['forwarded']})"
        )
    else:
        click.echo(f"  opinions           {o['raised']} (answered on the spot {o['answered_on_spot']}, "
                   f"forwarded {o['forwarded']})")  # fmt: skip


@meetings_group.command(name="accept", help="Chấp nhận đề xuất / accept a proposed meeting.")
@click.argument("meeting_id")
@click.option("--chair", help="Người chủ trì / chair.")
@command_options
def meetings_accept(meeting_id: str, chair: str | None, command_id: str | None) -> None:
    _send_meeting("meeting_accept", {"meeting_id": meeting_id, "chair": chair, "command_id": command_id})


@meetings_group.command(name="move", help="Đổi ngày, giờ, địa điểm, nơi tổ chức / move a meeting.")
@click.argument("meeting_id")
@click.option("--date", "date_", help="Ngày mới / new date.")
@click.option("--time", "start_time", help="Giờ HH:MM / time.")
@click.option("--venue", help="Địa điểm / venue.")
@click.option("--host", "host_id", help="Mã thôn, chi bộ tổ chức / host hamlet or party cell id.")
@click.option("--reason", help="Lý do / reason.")
@command_options
def meetings_move(
    meeting_id: str, date_: str | None, start_time: str | None, venue: str | None, host_id: str | None,
    reason: str | None, command_id: str | None,
) -> None:  # fmt: skip
    _send_meeting(
        "meeting_move",
        {"meeting_id": meeting_id, "date": day(date_), "start_time": start_time, "venue": venue, "host_id": host_id,
         "reason": reason, "command_id": command_id},
    )  # fmt: skip


@meetings_group.command(name="postpone", help="Hoãn, có lý do / postpone, with a reason.")
@click.argument("meeting_id")
@click.option("--to", "to_date", required=True, help="Ngày mới / new date (YYYY-MM-DD or +N).")
@click.option("--reason", required=True, help="Lý do / reason.")
@command_options
def meetings_postpone(meeting_id: str, to_date: str, reason: str, command_id: str | None) -> None:
    body = {"meeting_id": meeting_id, "to_date": day(to_date), "reason": reason, "command_id": command_id}
    _send_meeting("meeting_postpone", body)


@meetings_group.command(name="cancel", help="Hủy, có lý do / cancel, with a reason.")
@click.argument("meeting_id")
@click.option("--reason", required=True, help="Lý do / reason.")
@command_options
def meetings_cancel(meeting_id: str, reason: str, command_id: str | None) -> None:
    _send_meeting("meeting_cancel", {"meeting_id": meeting_id, "reason": reason, "command_id": command_id})


@meetings_group.command(name="compile", help="CT2: đã tổng hợp ý kiến / programme 2: opinions compiled.")
@click.argument("meeting_id")
@click.option("--count", type=int, required=True, help="Số ý kiến / how many.")
@click.option("--by", "compiled_by", required=True, help="Cơ quan tổng hợp / by whom.")
@command_options
def meetings_compile(meeting_id: str, count: int, compiled_by: str, command_id: str | None) -> None:
    body = {"meeting_id": meeting_id, "count": count, "compiled_by": compiled_by, "command_id": command_id}
    _send_meeting("meeting_compile", body)


@meetings_group.command(name="announce", help="Thông báo trên hệ thống truyền thanh / announce.")
@click.argument("meeting_id")
@click.option("--text", "broadcast_text", required=True, help="Nội dung thông báo / broadcast text.")
@command_options
def meetings_announce(meeting_id: str, broadcast_text: str, command_id: str | None) -> None:
    body = {"meeting_id": meeting_id, "broadcast_text": broadcast_text, "command_id": command_id}
    _send_meeting("meeting_announce", body)


def _attendees(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        group_, _, n = v.partition("=")
        if group_ not in {g.value for g in AttendeeGroup} or not n.isdigit():
            groups = ", ".join(g.value for g in AttendeeGroup)
            raise click.BadParameter(f"{v!r}: NHÓM=SỐ / GROUP=N, nhóm / groups: {groups}", param_hint="--attendees")
        out[group_] = int(n)
    return out


def _representative(value: str) -> dict[str, str]:
    parts = [p.strip() for p in value.split("|")]
    if len(parts) < 2:
        raise click.BadParameter(f"{value!r}: MÃ_ĐƠN_VỊ|HỌ TÊN|CHỨC VỤ / UNIT|NAME|OFFICE", param_hint="--rep")
    return {"unit_code": parts[0], "name": parts[1], "office": parts[2] if len(parts) > 2 else ""}


@meetings_group.command(name="hold", help="Ghi nhận đã tổ chức / record a meeting as held.")
@click.argument("meeting_id")
@click.option("--chair", required=True, help="Người chủ trì / chair.")
@click.option("--attendees", multiple=True, required=True, help="NHÓM=SỐ, ví dụ citizens=30 (lặp lại) / GROUP=N.")
@click.option("--rep", "reps", multiple=True, help="Đại biểu cấp trên: MÃ|HỌ TÊN|CHỨC VỤ (lặp lại) / UNIT|NAME|OFFICE.")
@click.option("--minutes", "minutes_ref", required=True, help="Số biên bản / minutes reference.")
@click.option(
    "--held-on",
    help="Ngày họp (YYYY-MM-DD, -N: N ngày trước; mặc định ngày dự kiến) / date (-N: N days ago; default: as planned).",
)
@click.option("--venue", help="Địa điểm / venue.")
@click.option("--host", "host_id", help="Mã thôn, chi bộ tổ chức / host id.")
@click.option("--agenda", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trình tự hội nghị (JSON) / order of business (JSON file).")  # fmt: skip
@command_options
def meetings_hold(
    meeting_id: str, chair: str, attendees: tuple[str, ...], reps: tuple[str, ...], minutes_ref: str,
    held_on: str | None, venue: str | None, host_id: str | None, agenda: Path | None, command_id: str | None,
) -> None:  # fmt: skip
    body = {
        "meeting_id": meeting_id, "chair": chair, "attendees": _attendees(attendees),
        "representatives": [_representative(r) for r in reps], "minutes_ref": minutes_ref, "held_on": day(held_on),
        "venue": venue, "host_id": host_id, "command_id": command_id,
        "order_of_business": json.loads(agenda.read_text()) if agenda else None,
    }  # fmt: skip
    _send_meeting("meeting_hold", body)


@meetings_group.command(name="close", help="Khóa biên bản / close the minutes.")
@click.argument("meeting_id")
@click.option("--minutes", "minutes_ref", help="Số biên bản / minutes reference.")
@click.option("--summary", help="Tóm tắt / summary.")
@command_options
def meetings_close(meeting_id: str, minutes_ref: str | None, summary: str | None, command_id: str | None) -> None:
    body = {"meeting_id": meeting_id, "minutes_ref": minutes_ref, "summary": summary, "command_id": command_id}
    _send_meeting("meeting_close", body)


@meetings_group.command(name="missing", help="Xã chưa có hội nghị trong tháng / communes with no meeting.")
@unit_option
@click.option("--month", "month_", help="YYYY-MM hoặc +N (mặc định tháng này) / month (default this one).")
@click.option("--pilots-only", is_flag=True, help="Chỉ xã làm điểm / pilot communes only.")
def meetings_missing(unit: str | None, month_: str | None, pilots_only: bool) -> None:
    result = call("query", SERVICE, "missing", {"unit": unit, "month": month(month_), "pilots_only": pilots_only})
    if result is None:
        return
    lang = get_ctx().lang
    head = "có hội nghị" if lang == "vi" else "with a meeting"
    click.echo(f"{result['month']}: {result['with_meeting']}/{result['communes']} {head}")
    click.echo(table(result["without"], [("code", "Mã", "Code"), ("name", "Xã chưa có hội nghị", "No meeting")], lang))


@meetings_group.command(name="calendar", help="Lịch iCalendar (.ics) / upcoming meetings as iCalendar.")
@unit_option
@click.option("--days", type=int, default=366, show_default=True, help="Số ngày tới / days ahead.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Ghi ra tệp / write to a file.")
def meetings_calendar(unit: str | None, days: int, out: Path | None) -> None:
    result = call("query", SERVICE, "calendar", {"unit": unit, "days": days})
    if result is None:
        return
    if out is None:
        click.echo(result["ics"], nl=False)
        return
    out.write_text(result["ics"])
    click.echo(f"{out}: {result['count']}")


# --- programme 2: the yearly plan -------------------------------------------------------------------


@group.group(name="plan", help="Chương trình 2: kế hoạch tiếp xúc, đối thoại năm / programme 2 yearly plan.")
def plan_group() -> None:
    pass


@plan_group.command(name="add", help="Thêm một cuộc đối thoại vào kế hoạch / plan a dialogue.")
@click.option("--plan-unit", required=True, help="Đơn vị của người đứng đầu / the head's unit.")
@click.option("--commune", "commune_code", required=True, help="Xã nơi đối thoại / commune.")
@click.option("--target", "target_group", type=click.Choice([t.value for t in TargetGroup]), required=True)
@click.option("--date", "date_", required=True, help="Ngày (YYYY-MM-DD hoặc +N) / date.")
@click.option("--time", "start_time", help="Giờ HH:MM / time.")
@click.option("--venue", required=True, help="Địa điểm / venue.")
@click.option("--chair", required=True, help="Người chủ trì / chair.")
@click.option("--host", "host_id", help="Mã thôn, chi bộ (nếu có) / host id.")
@click.option("--title", help="Tiêu đề / title.")
@command_options
def plan_add(
    plan_unit: str, commune_code: str, target_group: str, date_: str, start_time: str | None, venue: str, chair: str,
    host_id: str | None, title: str | None, command_id: str | None,
) -> None:  # fmt: skip
    _send_meeting(
        "dialogue_plan",
        {"plan_unit": plan_unit, "commune_code": commune_code, "target_group": target_group, "date": day(date_),
         "start_time": start_time, "venue": venue, "chair": chair, "host_id": host_id, "title": title,
         "command_id": command_id},
    )  # fmt: skip


@plan_group.command(name="show", help="Kế hoạch năm / the yearly plan.")
@click.option("--plan-unit", required=True, help="Đơn vị của người đứng đầu / the head's unit.")
@click.option("--year", type=int, default=lambda: today_vn().year, help="Năm / year.")
def plan_show(plan_unit: str, year: int) -> None:
    result = call("query", SERVICE, "plan", {"plan_unit": plan_unit, "year": year})
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        r["month"] = str(r["date"])[:7]
        r["target"] = label(r["target_group"], TARGET_VI, None, lang)
        r["status_label"] = label(r["status"], STATUS_VI, STATUS_EN, lang)
        r["deadlines"] = f"{r['opinions_due']} / {r['broadcast_due']}"
    cols = [("month", "Tháng", "Month"), ("id", "Mã", "Id"), ("target", "Đối tượng", "Target group"),
            ("commune_code", "Xã", "Commune"), ("venue", "Địa điểm", "Venue"), ("chair", "Chủ trì", "Chair"),
            ("deadlines", "Hạn ý kiến / thông báo", "Due: opinions / broadcast"),
            ("status_label", "Tình trạng", "Status")]  # fmt: skip
    click.echo(table(result["items"], cols, lang))


# --- programme 3 ----------------------------------------------------------------------------------


def _send_assignment(name: str, payload: dict[str, Any]) -> None:
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    again = replayed(result)
    ended = f" — kết thúc {result['ended_on']}" if result.get("ended_on") else ""
    click.echo(
        f"{result['assignment_id']}: {result['cadre']} → {result['area_name']} ({result['from_date']}){ended}{again}"
    )


@group.group(name="cadres", help="Chương trình 3: cán bộ theo dõi địa bàn / programme 3: cadres following areas.")
def cadres_group() -> None:
    pass


@cadres_group.command(name="assign", help="Phân công cán bộ theo dõi địa bàn / assign a cadre.")
@click.option("--cadre", required=True, help="Họ tên cán bộ / cadre's name.")
@click.option("--unit", "cadre_unit", required=True, help="Đơn vị của cán bộ / the cadre's unit.")
@click.option("--area-kind", type=click.Choice([a.value for a in AreaKind]), required=True)
@click.option("--area", "area_id", help="Mã xã hoặc mã thôn / commune code or hamlet id.")
@click.option("--description", help="Người dân, đoàn viên, hội viên nào / whom (citizens).")
@click.option("--from", "from_date", help="Từ ngày / from.")
@command_options
def cadres_assign(
    cadre: str, cadre_unit: str, area_kind: str, area_id: str | None, description: str | None,
    from_date: str | None, command_id: str | None,
) -> None:  # fmt: skip
    _send_assignment(
        "cadre_assign",
        {"cadre": cadre, "cadre_unit": cadre_unit, "area_kind": area_kind, "area_id": area_id,
         "description": description, "from_date": day(from_date), "command_id": command_id},
    )  # fmt: skip


@cadres_group.command(name="reassign", help="Giao cán bộ khác / another cadre follows the area.")
@click.argument("assignment_id")
@click.option("--to", "to_cadre", required=True, help="Cán bộ mới / new cadre.")
@click.option("--on", help="Từ ngày / from.")
@click.option("--reason", help="Lý do / reason.")
@command_options
def cadres_reassign(
    assignment_id: str, to_cadre: str, on: str | None, reason: str | None, command_id: str | None
) -> None:
    body = {"assignment_id": assignment_id, "to_cadre": to_cadre, "on": day(on), "reason": reason,
            "command_id": command_id}  # fmt: skip
    _send_assignment("cadre_reassign", body)


@cadres_group.command(name="end", help="Kết thúc phân công / end an assignment.")
@click.argument("assignment_id")
@click.option("--reason", required=True, help="Lý do / reason.")
@click.option("--on", help="Ngày / date.")
@command_options
def cadres_end(assignment_id: str, reason: str, on: str | None, command_id: str | None) -> None:
    _send_assignment(
        "cadre_end", {"assignment_id": assignment_id, "reason": reason, "on": day(on), "command_id": command_id}
    )


@cadres_group.command(name="list", help="Ai theo dõi địa bàn nào vào một ngày / who follows what on a date.")
@unit_option
@click.option("--on", help="Ngày (mặc định hôm nay) / date (default today).")
def cadres_list(unit: str | None, on: str | None) -> None:
    result = call("query", SERVICE, "following", {"unit": unit, "on": day(on)})
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        r["kind"] = label(r["area_kind"], AREA_VI, None, lang)
    cols = [("id", "Mã", "Id"), ("cadre", "Cán bộ", "Cadre"), ("cadre_unit", "Đơn vị", "Unit"),
            ("kind", "Loại", "Kind"), ("area_name", "Địa bàn", "Area"), ("from", "Từ ngày", "Since")]  # fmt: skip
    click.echo(table(result["items"], cols, lang))
    click.echo(f"\n{result['total']}")
