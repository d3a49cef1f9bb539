"""``caunoi reporting ...``: report schedules, enrolments, compiled figures, filing, and the
printable report (terminal tables, ``--export`` CSV or XLSX, ``--pdf``). Dates are ``YYYY-MM-DD``
or ``+N`` / ``-N`` days from today; a period is its key (``2026-05``, ``2026-W18``), by default
the last fallen due. The "Dân vận khéo" models are the group ``caunoi reporting models``
(:mod:`caunoi.reporting.model_cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from caunoi.reporting import export, printout
from caunoi.reporting.commands import ReportStatus
from caunoi.reporting.events import Section
from caunoi.reporting.labels import FIELDS_VI, SECTION_EN, SECTION_VI, STATUS_EN, STATUS_VI, figure_rows, percent
from caunoi.reporting.model_cli import models
from caunoi.shared.clitools import (
    call,
    command_options,
    day,
    duties_command,
    get_ctx,
    replayed,
    send_command,
    table,
    unit_option,
)
from caunoi.shared.clock import today_vn
from caunoi.shared.labels import label

SERVICE = "reporting"


@click.group(name="reporting", help="Báo cáo định kỳ, tự tổng hợp số liệu / reports that compile themselves.")
def group() -> None:
    pass


@group.command(name="schedules", help="Chế độ báo cáo đang áp dụng / the report schedules in force.")
def schedules() -> None:
    result = call("query", SERVICE, "schedules", {})
    if result is None:
        return
    lang = get_ctx().lang
    rows = [
        {"id": s["id"], "name": s["vi"] if lang == "vi" else s["en"], "levels": ", ".join(s["levels"]),
         "times": f"{s['compile_time'][:5]} / {s['due_time'][:5]}",
         "next": f"{s['next']['label']} — {s['next']['due_at'][:16]}" if s["next"] else ""}
        for s in result["items"]
    ]  # fmt: skip
    cols = [("id", "Mã", "Id"), ("name", "Chế độ báo cáo", "Schedule"), ("levels", "Cấp", "Levels"),
            ("times", "Tổng hợp / hạn nộp", "Compiled / due"), ("next", "Kỳ tới, hạn nộp", "Next, due")]  # fmt: skip
    click.echo(f"{result['version']} ({result['dataset']})")
    click.echo(table(rows, cols, lang))


@group.command(name="enrol", help="Đăng ký đơn vị thực hiện chế độ báo cáo / enrol a unit in schedules.")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị / unit code.")
@click.option("--schedule", "schedules_", multiple=True, required=True, help="Mã chế độ (lặp lại) / repeatable.")
@click.option("--since", help="Từ ngày (mặc định hôm nay; tối đa một năm trước) / from (default today).")
@command_options
def enrol(unit_code: str, schedules_: tuple[str, ...], since: str | None, command_id: str | None) -> None:
    body = {"unit_code": unit_code, "schedules": list(schedules_), "since": day(since), "command_id": command_id}
    result = send_command(SERVICE, "enrol", body)
    if result is not None:
        again = replayed(result)
        click.echo(f"{result['unit_code']}: {', '.join(result['schedules'])} ({result['since']}){again}")


@group.command(name="unenrol", help="Kết thúc đăng ký / end a unit's enrolment.")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị / unit code.")
@click.option("--reason", required=True, help="Lý do / reason.")
@command_options
def unenrol(unit_code: str, reason: str, command_id: str | None) -> None:
    result = send_command(SERVICE, "enrol_end", {"unit_code": unit_code, "reason": reason, "command_id": command_id})
    if result is not None:
        click.echo(f"{result['unit_code']}: {'kết thúc' if get_ctx().lang == 'vi' else 'ended'}")


@group.command(name="enrolments", help="Đơn vị đã đăng ký chế độ báo cáo / enrolled units.")
@unit_option
def enrolments(unit: str | None) -> None:
    result = call("query", SERVICE, "enrolments", {"unit": unit})
    if result is None:
        return
    for r in result["items"]:
        r["schedules"] = ", ".join(r["schedules"])
    cols = [("unit_code", "Mã", "Code"), ("unit_name", "Đơn vị", "Unit"), ("schedules", "Chế độ", "Schedules"),
            ("since", "Từ ngày", "Since"), ("until", "Đến ngày", "Until")]  # fmt: skip
    click.echo(table(result["items"], cols, get_ctx().lang))
    click.echo(f"\n{result['total']}")


def _figures_table(view: dict[str, Any], lang: str) -> str:
    rows = [{"figure": r["label"], "computed": r["computed"], "final": "" if r["corrected"] is None else r["corrected"],
             "reason": r["reason"] or ""} for r in figure_rows(view, lang)]  # fmt: skip
    cols = [("figure", "Chỉ tiêu", "Figure"), ("computed", "Tổng hợp", "Computed"),
            ("final", "Điều chỉnh", "Corrected"), ("reason", "Lý do", "Reason")]  # fmt: skip
    return table(rows, cols, lang)


def _echo_view(view: dict[str, Any], lang: str) -> None:
    comp = view["compilation"]
    click.echo(f"{view['unit_name']} ({view['unit_code']}) — {view['schedule_title']}, {view['period_label']}")
    click.echo(f"{view['period_start']} → {view['period_end']}\n")
    click.echo(_figures_table(view, lang))
    if comp["by_unit"]:
        rows = [{"name": u["name"], **u["figures"], "rate": percent(u["figures"]["on_time_rate"])}
                for u in comp["by_unit"]]  # fmt: skip
        cols = [("name", "Đơn vị", "Unit"), ("meetings_held", "HN", "Meetings"), ("attendees", "Lượt dự", "Attendees"),
                ("opinions", "Ý kiến", "Opinions"), ("answered_on_spot", "Giải đáp", "On the spot"),
                ("forwarded", "Chuyển", "Forwarded"), ("resolved", "Giải quyết", "Resolved"),
                ("outstanding", "Tồn", "Outstanding"), ("overdue", "Quá hạn", "Overdue"),
                ("rate", "Đúng hạn", "On time")]  # fmt: skip
        click.echo("")
        click.echo(table(rows, cols, lang))
    fields = comp["totals"]["opinions_by_field"]
    if fields:
        click.echo("")
        rows = [{"field": label(k, FIELDS_VI, None, lang), "n": n} for k, n in fields.items()]
        click.echo(table(rows, [("field", "Lĩnh vực", "Field"), ("n", "Ý kiến", "Opinions")], lang))
    for section, text in (view.get("narrative") or {}).items():
        click.echo(f"\n{label(section, SECTION_VI, SECTION_EN, lang)}: {text}")


def _write(view: dict[str, Any], export_to: Path | None, pdf: Path | None, lang: str) -> None:
    if export_to is not None:
        fmt = export_to.suffix.lower().lstrip(".")
        if fmt not in export.FORMATS:
            raise click.BadParameter(f"{export_to}: .csv hoặc .xlsx / .csv or .xlsx", param_hint="--export")
        export_to.write_bytes(export.render(fmt, view, lang))
        click.echo(f"{export_to}")
    if pdf is not None:
        pdf.write_bytes(printout.render(view, today_vn()))
        click.echo(f"{pdf}")


def _outputs(f: Any) -> Any:
    f = click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Bản in PDF / printable PDF.")(f)
    return click.option("--export", "export_to", type=click.Path(dir_okay=False, path_type=Path),
                        help="FILE.csv | FILE.xlsx")(f)  # fmt: skip


@group.command(name="compile", help="Số liệu tự tổng hợp của một đơn vị, một kỳ / a unit's figures for a period.")
@unit_option
@click.option("--schedule", help="Chế độ báo cáo, ví dụ monthly / schedule.")
@click.option("--period", help="Kỳ: 2026-05, 2026-W18 (mặc định kỳ vừa đến hạn) / period key.")
@click.option("--from", "from_date", help="Hoặc: từ ngày / or from a date.")
@click.option("--to", "to_date", help="đến ngày / to a date.")
@_outputs
def compile_(
    unit: str | None, schedule: str | None, period: str | None, from_date: str | None, to_date: str | None,
    export_to: Path | None, pdf: Path | None,
) -> None:  # fmt: skip
    body = {"unit": unit, "schedule": schedule, "period": period, "from_date": day(from_date), "to_date": day(to_date)}
    result = call("query", SERVICE, "compile", body)
    if result is None:
        return
    view = printout.view_of_compilation(result)
    lang = get_ctx().lang
    _echo_view(view, lang)
    _write(view, export_to, pdf, lang)


@group.command(name="list", help="Báo cáo của các đơn vị: đã nộp, nộp muộn, chưa nộp / who filed, who is late.")
@unit_option
@click.option("--schedule", help="Chế độ / schedule.")
@click.option("--period", help="Kỳ / period key.")
@click.option("--status", type=click.Choice([s.value for s in ReportStatus]))
def list_(unit: str | None, schedule: str | None, period: str | None, status: str | None) -> None:
    body = {"unit": unit, "schedule": schedule, "period": period, "status": status}
    result = call("query", SERVICE, "reports", body)
    if result is None:
        return
    lang = get_ctx().lang
    for r in result["items"]:
        r["status_label"] = label(r["status"], STATUS_VI, STATUS_EN, lang)
        r["due"] = (r["due_at"] or "")[:16]
        r["submitted"] = (r["submitted_at"] or "")[:16]
    cols = [("id", "Mã báo cáo", "Report"), ("unit_name", "Đơn vị", "Unit"), ("period_label", "Kỳ", "Period"),
            ("due", "Hạn nộp", "Due"), ("submitted", "Đã nộp lúc", "Submitted"),
            ("status_label", "Tình trạng", "Status")]  # fmt: skip
    click.echo(table(result["items"], cols, lang))
    counts = ", ".join(f"{label(k, STATUS_VI, STATUS_EN, lang)}: {n}" for k, n in result["counts"].items())
    click.echo(f"\n{result['total']} — {counts}")


@group.command(name="show", help="Một báo cáo: số liệu tổng hợp bên cạnh điều chỉnh / one report.")
@click.argument("report_id")
@_outputs
def show(report_id: str, export_to: Path | None, pdf: Path | None) -> None:
    view = call("query", SERVICE, "report", {"report_id": report_id})
    if view is None:
        return
    lang = get_ctx().lang
    status = label(view["status"], STATUS_VI, STATUS_EN, lang)
    click.echo(f"{view['id']}: {status}" + (f" ({view['submitted_at'][:16]})" if view["submitted_at"] else ""))
    _echo_view(view, lang)
    _write(view, export_to, pdf, lang)


def _send_report(name: str, payload: dict[str, Any]) -> None:
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    again = replayed(result)
    state = "đã nộp" if result.get("submitted_at") else "dự thảo"
    if get_ctx().lang != "vi":
        state = "submitted" if result.get("submitted_at") else "draft"
    late = (" — nộp muộn" if get_ctx().lang == "vi" else " — late") if result.get("late") else ""
    fixes = f", {len(result['corrections'])} điều chỉnh" if result.get("corrections") else ""
    click.echo(f"{result['report_id']}: {result['period_label']}, {state}{late}{fixes}{again}")


@group.command(name="open", help="Mở dự thảo báo cáo / open a report's draft.")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị / unit code.")
@click.option("--schedule", help="Chế độ báo cáo / schedule (or an ad-hoc report: --title, --from, --to).")
@click.option("--period", help="Kỳ (mặc định kỳ vừa đến hạn) / period key.")
@click.option("--title", help="Báo cáo đột xuất: tiêu đề / ad hoc: title.")
@click.option("--from", "from_date", help="Báo cáo đột xuất: từ ngày / ad hoc: from.")
@click.option("--to", "to_date", help="đến ngày / to.")
@command_options
def open_(
    unit_code: str, schedule: str | None, period: str | None, title: str | None, from_date: str | None,
    to_date: str | None, command_id: str | None,
) -> None:  # fmt: skip
    _send_report("open", {"unit_code": unit_code, "schedule": schedule, "period": period, "title": title,
                          "from_date": day(from_date), "to_date": day(to_date), "command_id": command_id})  # fmt: skip


@group.command(name="narrative", help="Viết phần nhận định / write a part of the narrative.")
@click.argument("report_id")
@click.option("--section", type=click.Choice([s.value for s in Section]), required=True)
@click.option("--text", "text_", required=True, help="Nội dung (rỗng: xóa) / text (empty removes).")
@command_options
def narrative(report_id: str, section: str, text_: str, command_id: str | None) -> None:
    _send_report("narrative", {"report_id": report_id, "section": section, "text": text_, "command_id": command_id})


@group.command(name="correct", help="Điều chỉnh một số liệu, có lý do / correct a figure, with a reason.")
@click.argument("report_id")
@click.option("--figure", required=True, help="Chỉ tiêu, ví dụ attendees / figure.")
@click.option("--value", type=int, help="Giá trị đúng (bỏ trống: hủy điều chỉnh) / value (none: withdraw).")
@click.option("--reason", required=True, help="Lý do / reason.")
@command_options
def correct(report_id: str, figure: str, value: int | None, reason: str, command_id: str | None) -> None:
    body = {"report_id": report_id, "figure": figure, "value": value, "reason": reason, "command_id": command_id}
    _send_report("correct", body)


@group.command(name="submit", help="Nộp báo cáo / submit a report.")
@click.argument("report_id")
@command_options
def submit(report_id: str, command_id: str | None) -> None:
    _send_report("submit", {"report_id": report_id, "command_id": command_id})


group.add_command(duties_command(SERVICE, "due", "Ghi nhận ngay báo cáo đến hạn, quá hạn / record what fell due now."))
group.add_command(models)
