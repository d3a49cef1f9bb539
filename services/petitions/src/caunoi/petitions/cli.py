"""``caunoi petitions ...``: the clerk's commands, sent to the petitions service over NATS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import click

from caunoi.petitions.domain import STATUS_EN, STATUS_VI
from caunoi.petitions.events import Category, Channel, Complexity, DeadlineKind, Kind, Status
from caunoi.petitions.export import FORMATS, render
from caunoi.petitions.labels import EVENT_LABELS, KIND_VI, detail
from caunoi.petitions.lifecycle import PENDING
from caunoi.petitions.readmodel import LIFECYCLE
from caunoi.shared.client import Client
from caunoi.shared.clitools import (
    call,
    command_options,
    day,
    duties_command,
    echo_fields,
    echo_json,
    get_ctx,
    replayed,
    send_command,
    table,
    unit_option,
)
from caunoi.shared.ids import is_hamlet_id
from caunoi.shared.units import slugify

SERVICE = "petitions"


def status_label(status: str) -> str:
    s = Status(status)
    return STATUS_VI.get(s, status) if get_ctx().lang == "vi" else STATUS_EN.get(s, status)


def _send(name: str, payload: dict[str, Any]) -> None:
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    click.echo(f"{result['petition_id']}: {status_label(result['status'])}{replayed(result)}")


def resolve_hamlet(commune_code: str, hamlet: str) -> str:
    """A hamlet id as given, or the id of the commune's active hamlet with that name (any case,
    with or without diacritics), from the scheduling service's list."""
    if is_hamlet_id(hamlet):
        return hamlet
    ctx = get_ctx()
    listed = ctx.run(lambda c: c.query("scheduling", "hamlets", {"unit": commune_code}))
    items = [h for h in listed["items"] if h["commune_code"] == commune_code]
    found = [h for h in items if slugify(h["name"]) == slugify(hamlet)]
    if len(found) == 1:
        return str(found[0]["id"])
    names = ", ".join(f"«{h['name']}»" for h in items) or "-"
    raise click.BadParameter(
        f"xã {commune_code} không có thôn, tổ dân phố «{hamlet}» đang hoạt động (có: {names})"
        f" / commune {commune_code} has no active hamlet named {hamlet!r}",
        param_hint="--hamlet",
    )


@click.group(name="petitions", help="Ý kiến, kiến nghị của nhân dân / citizens' opinions and petitions.")
def group() -> None:
    pass


ON = click.option("--on", help="Ngày (YYYY-MM-DD), mặc định hôm nay / date, default today.")
PID = click.argument("petition_id")


def petition_command(
    name: str, help: str, *options: Callable[[Any], Any], date_field: str | None = None
) -> Callable[[Callable[..., dict[str, Any]]], Any]:
    """A sub-command that sends ``name`` with the petition id, the options' values as the body
    its function returns, ``--on`` as ``date_field`` and ``--command-id``."""

    def wrap(body: Callable[..., dict[str, Any]]) -> Any:
        def run(petition_id: str, command_id: str | None, on: str | None = None, **kw: Any) -> None:
            payload = {"petition_id": petition_id, **body(**kw), "command_id": command_id}
            if date_field:
                payload[date_field] = on
            _send(name, payload)

        run.__name__ = body.__name__
        run.__doc__ = help
        f: Any = command_options(run)
        if date_field:
            f = ON(f)
        for opt in reversed(options):
            f = opt(f)
        return group.command(name=name, help=help)(PID(f))

    return wrap


@group.command(name="raise", help="Tiếp nhận ý kiến / raise an opinion or petition.")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), required=True, help="Kênh tiếp nhận.")
@click.option("--kind", type=click.Choice([k.value for k in Kind]), default=Kind.feedback.value, show_default=True)
@click.option("--category", type=click.Choice([c.value for c in Category]), required=True, help="Lĩnh vực.")
@click.option("--name", "petitioner", required=True, help="Họ tên người nêu ý kiến.")
@click.option("--phone")
@click.option("--address")
@click.option("--confidential", is_flag=True, help="Giữ bí mật danh tính người nêu.")
@click.option("--commune", "commune_code", required=True, help="Mã xã/phường (5 chữ số).")
@click.option(
    "--hamlet",
    help="Thôn, tổ dân phố: tên (vd. «Thôn Đồng Tâm») hoặc mã (vd. 00691-thon-dong-tam) / hamlet name or id.",
)
@click.option(
    "--text",
    required=True,
    help="Nội dung ý kiến; đoạn nêu danh tính ai đó đặt trong [[ ]] (được mã hóa, công khai hiện […])"
    " / the text; passages that identify someone between [[ ]] (sealed; the public sees […]).",
)
@click.option("--received-on", help="Ngày tiếp nhận (YYYY-MM-DD), mặc định hôm nay.")
@click.option("--meeting", "meeting_id", help="Mã hội nghị (nếu nêu tại hội nghị).")
@command_options
def raise_cmd(
    channel: str,
    kind: str,
    category: str,
    petitioner: str,
    phone: str | None,
    address: str | None,
    confidential: bool,
    commune_code: str,
    hamlet: str | None,
    text: str,
    received_on: str | None,
    meeting_id: str | None,
    command_id: str | None,
) -> None:
    who = {"name": petitioner, "phone": phone, "address": address, "confidential": confidential}
    _send(
        "raise",
        {
            "channel": channel,
            "kind": kind,
            "category": category,
            "petitioner": {k: v for k, v in who.items() if v is not None},
            "commune_code": commune_code,
            "hamlet_id": resolve_hamlet(commune_code, hamlet) if hamlet else None,
            "text": text,
            "received_on": received_on,
            "meeting_id": meeting_id,
            "command_id": command_id,
        },
    )


@petition_command(
    "classify",
    "Phân loại / classify: kind, field, eligible or not (with the reason).",
    click.option("--kind", type=click.Choice([k.value for k in Kind]), required=True),
    click.option("--category", type=click.Choice([c.value for c in Category])),
    click.option("--ineligible", is_flag=True, help="Không đủ điều kiện xử lý / not eligible."),
    click.option("--reason", help="Lý do / reason (required when ineligible)."),
    date_field="classified_on",
)
def classify(kind: str, category: str | None, ineligible: bool, reason: str | None) -> dict[str, Any]:
    return {"kind": kind, "category": category, "eligible": not ineligible, "reason": reason}


@petition_command(
    "answer",
    "Giải đáp trực tiếp tại hội nghị / answer on the spot.",
    click.option("--answer", required=True),
    click.option("--by", "answered_by", required=True, help="Người giải đáp."),
    date_field="answered_on",
)
def answer(answer: str, answered_by: str) -> dict[str, Any]:
    return {"answer": answer, "answered_by": answered_by}


@petition_command(
    "forward",
    "Chuyển cấp có thẩm quyền / forward up the tiers, or across to another agency (--to the same unit).",
    click.option(
        "--to", "to_unit", required=True, help="Mã đơn vị nhận (cấp trên, hoặc chính đơn vị đang giải quyết)."
    ),
    click.option("--agency", "to_agency", help="Cơ quan chuyên môn nhận xử lý."),
    click.option("--note"),
    date_field="forwarded_on",
)
def forward(to_unit: str, to_agency: str | None, note: str | None) -> dict[str, Any]:
    return {"to_unit": to_unit, "to_agency": to_agency, "note": note}


@petition_command(
    "return",
    "Từ chối, trả lại đơn vị chuyển / refuse what was forwarded: back to the sender.",
    click.option("--reason", required=True),
    date_field="returned_on",
)
def return_cmd(reason: str) -> dict[str, Any]:
    return {"reason": reason}


@petition_command(
    "accept",
    "Thụ lý / accept for resolution.",
    click.option("--complexity", type=click.Choice([c.value for c in Complexity]), default="normal", show_default=True),
    click.option("--remote", "remote_area", is_flag=True, help="Vùng sâu, vùng xa / remote area."),
    click.option("--note"),
    date_field="accepted_on",
)
def accept(complexity: str, remote_area: bool, note: str | None) -> dict[str, Any]:
    return {"complexity": complexity, "remote_area": remote_area, "note": note}


@group.command(help="Đặt thời hạn cam kết / set the committed date.")
@click.argument("petition_id")
@click.option("--date", "committed_date", help="YYYY-MM-DD")
@click.option("--in-days", type=click.IntRange(0, 3650), help="Số ngày kể từ hôm nay / days from today.")
@click.option("--note")
@command_options
def commit(
    petition_id: str,
    committed_date: str | None,
    in_days: int | None,
    note: str | None,
    command_id: str | None,
) -> None:
    if (committed_date is None) == (in_days is None):
        raise click.UsageError("cho --date hoặc --in-days / give either --date or --in-days")
    if in_days is not None:
        committed_date = day(f"+{in_days}")
    _send(
        "commit",
        {"petition_id": petition_id, "committed_date": committed_date, "note": note, "command_id": command_id},
    )


@petition_command(
    "extend",
    "Gia hạn / extend the deadline (a committed date to --until; a statutory one by the policy's days).",
    click.option("--reason", required=True),
    click.option("--until", help="Thời hạn mới / new date (YYYY-MM-DD)."),
    click.option("--in-days", type=click.IntRange(1, 3650), help="Thời hạn mới: số ngày kể từ hôm nay."),
    click.option("--complexity", type=click.Choice([c.value for c in Complexity])),
    date_field="extended_on",
)
def extend(reason: str, until: str | None, in_days: int | None, complexity: str | None) -> dict[str, Any]:
    if until is not None and in_days is not None:
        raise click.UsageError("cho --until hoặc --in-days / give --until or --in-days, not both")
    if in_days is not None:
        until = day(f"+{in_days}")
    return {"reason": reason, "until": until, "complexity": complexity}


@petition_command(
    "reply",
    "Ban hành văn bản trả lời / resolve with the written reply.",
    click.option("--document", "document_no", required=True, help="Số văn bản."),
    click.option("--summary", required=True, help="Nội dung trả lời (công khai) / the public answer."),
    click.option("--internal-note", help="Ghi chú nội bộ (không gửi ra ngoài) / stays in the office."),
    date_field="issued_on",
)
def reply(document_no: str, summary: str, internal_note: str | None) -> dict[str, Any]:
    return {"document_no": document_no, "summary": summary, "internal_note": internal_note}


@petition_command(
    "verdict",
    "Ý kiến người nêu về văn bản trả lời / the petitioner's verdict (not resolved reopens it).",
    click.option("--satisfied/--not-resolved", required=True, help="Hài lòng / chưa được giải quyết."),
    click.option("--comment"),
    date_field="given_on",
)
def verdict(satisfied: bool, comment: str | None) -> dict[str, Any]:
    return {"verdict": "satisfied" if satisfied else "not_resolved", "comment": comment}


@petition_command(
    "withdraw", "Rút đơn / withdraw (before resolution).", click.option("--reason"), date_field="withdrawn_on"
)
def withdraw(reason: str | None) -> dict[str, Any]:
    return {"reason": reason}


@petition_command(
    "merge",
    "Gộp vào vụ việc / merge into a case about the same matter.",
    click.option("--into", "case_id", required=True, help="Mã ý kiến của vụ việc / the case's reference."),
    click.option("--reason"),
    date_field="merged_on",
)
def merge(case_id: str, reason: str | None) -> dict[str, Any]:
    return {"case_id": case_id, "reason": reason}


# --- queries ----------------------------------------------------------------------------------------

LIST_COLUMNS = [
    ("id", "Mã", "Ref"),
    ("received_on", "Ngày nhận", "Received"),
    ("status_label", "Trạng thái", "Status"),
    ("overdue_mark", "Quá hạn", "Overdue"),
    ("kind", "Loại", "Kind"),
    ("category", "Lĩnh vực", "Category"),
    ("commune_code", "Xã", "Commune"),
    ("hamlet", "Thôn/Tổ", "Hamlet"),
    ("handling_unit", "Đang xử lý", "Handling"),
    ("due", "Hạn", "Due"),
    ("petitioner_name", "Người nêu", "Petitioner"),
    ("text", "Nội dung", "Text"),
]
#: an export: every lifecycle date, and the rest of the row
EXPORT_PAGE = 1000


def watched_due(row: dict[str, Any]) -> str | None:
    """The deadline being watched now (None once resolved, withdrawn, merged...)."""
    status = Status(row["status"])
    dues = [row.get(f"{k.value}_due") for k in DeadlineKind if status in PENDING[k]]
    dues += [row.get("committed_date")] if status in PENDING[DeadlineKind.committed] else []
    return min((d for d in dues if d), default=None)


def _list_payload(**kw: Any) -> dict[str, Any]:
    return {k: (list(v) or None) if isinstance(v, tuple) else v for k, v in kw.items()}


@group.command(name="list", help="Danh sách ý kiến / list petitions (--export FILE.csv|.xlsx for every row).")
@click.option("--unit", help="Mã đơn vị (gồm cả đơn vị trực thuộc và đơn vị cũ trước sáp nhập).")
@click.option("--status", multiple=True, type=click.Choice([s.value for s in Status if s is not Status.new]))
@click.option("--kind", type=click.Choice([k.value for k in Kind]))
@click.option("--category", type=click.Choice([c.value for c in Category]))
@click.option("--channel", type=click.Choice([c.value for c in Channel]))
@click.option("--overdue/--not-overdue", default=None, help="Chỉ quá hạn / only overdue (or not).")
@click.option("--from", "received_from", help="Nhận từ ngày / received from (YYYY-MM-DD).")
@click.option("--to", "received_to", help="Nhận đến ngày / received until.")
@click.option("--petitioner", help="Tên người nêu (không dấu cũng được) / petitioner's name.")
@click.option("--search", help="Tìm trong nội dung, không cần dấu (vd. «dat dai») / text search, accents optional.")
@click.option("--public", is_flag=True, help="Bản công khai: không có thông tin cá nhân / no personal data.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--offset", type=int, default=0)
@click.option("--export", "export_to", type=click.Path(dir_okay=False, path_type=Path), help="FILE.csv | FILE.xlsx")
def list_cmd(export_to: Path | None, limit: int, offset: int, **filters: Any) -> None:
    ctx = get_ctx()
    q = _list_payload(**filters)
    if export_to is not None:
        export(export_to, q)
        return
    result = call("query", SERVICE, "list", {**q, "limit": limit, "offset": offset})
    if result is None:
        return
    items = result["items"]
    for r in items:
        r["status_label"] = status_label(r["status"])
        r["overdue_mark"] = ("QUÁ HẠN" if ctx.lang == "vi" else "OVERDUE") if r.get("overdue") else ""
        r["due"] = watched_due(r)
    cols = [c for c in LIST_COLUMNS if c[0] != "petitioner_name" or result.get("personal_data")]
    click.echo(table(items, cols, ctx.lang))
    click.echo(f"\n{len(items)} / {result['total']}")


async def _query_list(body: dict[str, Any], c: Client) -> Any:
    return await c.query(SERVICE, "list", body)


def export(path: Path, q: dict[str, Any]) -> None:
    """Every row of the listing, page by page (progress on stderr), into ``path``."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise click.BadParameter(f"{path}: .csv hoặc .xlsx / .csv or .xlsx", param_hint="--export")
    ctx = get_ctx()
    rows: list[dict[str, Any]] = []
    total = None
    while total is None or len(rows) < total:
        body = {
            k: v for k, v in {**q, "full": True, "limit": EXPORT_PAGE, "offset": len(rows)}.items() if v is not None
        }
        page = ctx.run(partial(_query_list, body))
        total = page["total"]
        rows += page["items"]
        click.echo(f"  {len(rows)} / {total}", err=True)
        if not page["items"]:
            break
    columns = list(rows[0]) if rows else ["id", "status", *LIFECYCLE]
    for r in rows:
        for c in LIFECYCLE:
            if isinstance(r.get(c), str):
                r[c] = date.fromisoformat(r[c])
    path.write_bytes(render(fmt, rows, columns))
    if ctx.as_json:
        echo_json({"file": str(path), "rows": len(rows), "columns": columns})
    else:
        click.echo(f"{path}: {len(rows)} {'ý kiến' if ctx.lang == 'vi' else 'petitions'}")


@group.command(help="Chi tiết và diễn biến một ý kiến / one petition and its timeline.")
@click.argument("petition_id")
def show(petition_id: str) -> None:
    result = call("query", SERVICE, "show", {"petition_id": petition_id})
    if result is None:
        return
    lang = get_ctx().lang
    p = result["petition"] or {}
    overdue = (" — QUÁ HẠN" if lang == "vi" else " — OVERDUE") if p.get("overdue") else ""
    click.echo(f"{petition_id}  [{status_label(result['status'])}]{overdue}")
    echo_fields(
        p,
        (
            "channel",
            "kind",
            "category",
            "petitioner_name",
            "petitioner_phone",
            "commune_code",
            "hamlet",
            "handling_unit",
            "handling_agency",
            *LIFECYCLE,
            "policy_version",
            "reply_document",
            "reply_summary",
            "internal_note",
            "text",
            "text_private",
        ),
    )
    if result.get("erased"):
        click.echo(
            "  dữ liệu cá nhân người nêu đã bị xóa" if lang == "vi" else "  the petitioner's personal data were erased"
        )
    click.echo("  diễn biến:" if lang == "vi" else "  timeline:")
    for h in result["history"]:
        name = h["type"].rsplit(".", 2)[-2]
        vi, en = EVENT_LABELS.get(name, (name, name))
        what, unit, actor = vi if lang == "vi" else en, h.get("unit") or "", h["actor"] or ""
        click.echo(f"    {h['time'][:19]}  {what:<30} {unit:<6} {actor:<18} {detail(name, h['data'])}".rstrip())


@group.command(help="Số liệu công khai / figures: received, resolved, overdue, on-time and satisfaction rates.")
@unit_option
@click.option(
    "--by", "group_by", type=click.Choice(["unit", "category", "period", "kind", "channel"]), default="category"
)
@click.option("--period", type=click.Choice(["month", "quarter", "year"]), default="month", show_default=True)
@click.option("--from", "received_from")
@click.option("--to", "received_to")
def stats(unit: str | None, group_by: str, period: str, received_from: str | None, received_to: str | None) -> None:
    q = {
        "unit": unit,
        "group_by": group_by,
        "period": period,
        "received_from": received_from,
        "received_to": received_to,
    }
    result = call("query", SERVICE, "stats", q)
    if result is None:
        return
    for g in result["groups"]:
        g["label"] = f"{g['group']} {g['name']}" if g.get("name") else g["group"]
        for rate in ("on_time_rate", "satisfaction_rate"):
            g[rate] = None if g[rate] is None else f"{100 * g[rate]:.0f}%"
    cols = [
        ("label", "Nhóm", "Group"),
        ("received", "Tiếp nhận", "Received"),
        ("resolved", "Đã giải quyết", "Resolved"),
        ("in_progress", "Đang giải quyết", "In progress"),
        ("overdue", "Quá hạn", "Overdue"),
        ("median_days_to_resolve", "Số ngày (trung vị)", "Median days"),
        ("on_time_rate", "Đúng hạn", "On time"),
        ("satisfaction_rate", "Hài lòng", "Satisfied"),
    ]
    click.echo(table(result["groups"], cols, get_ctx().lang))


@group.command(help="Quy định thời hạn đang áp dụng / the deadline policy in force.")
def policy() -> None:
    result = call("query", SERVICE, "policy", {})
    if result is None:
        return
    lang = get_ctx().lang
    click.echo(f"version {result['version']}  (warn_before {result['warn_before']})")

    def rule(r: dict[str, Any] | None) -> str:
        if r is None:
            return "-"
        if r["limit"] is None:
            return f"← {r['from']}"
        variants = "/".join(str(r[k]) for k in ("complex", "remote", "remote_complex") if r.get(k) is not None)
        return f"{r['limit']}{'/' + variants if variants else ''} {r['unit']} ← {r['from']}"

    rows = [
        {
            "kind": KIND_VI.get(Kind(kind), kind) if lang == "vi" else kind,
            "handle": rule(rules.get("handle")),
            "resolve": rule(rules["resolve"]),
            "extensions": "/".join(str(v) for v in rules["extensions"].values())
            + (f" × {rules['extension']}" if rules["extension"] else ""),
        }
        for kind, rules in result["kinds"].items()
    ]
    cols = [
        ("kind", "Loại", "Kind"),
        ("handle", "Xử lý đơn", "Handle"),
        ("resolve", "Giải quyết (thường/phức tạp/vùng xa/vùng xa phức tạp)", "Resolve (normal/complex/remote/both)"),
        ("extensions", "Gia hạn (thường/phức tạp/đặc biệt)", "Extensions (normal/complex/especially)"),
    ]
    click.echo(table(rows, cols, lang))


group.add_command(
    duties_command(
        SERVICE, "deadlines", "Ghi ngay những gì đã đến hạn (quá hạn, sắp đến hạn) / record what fell due now."
    )
)
