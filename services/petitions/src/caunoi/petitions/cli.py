"""``caunoi petitions ...``: the clerk's commands, sent to the petitions service over NATS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from caunoi.petitions.domain import STATUS_VI
from caunoi.petitions.events import Category, Channel, Kind, Status
from caunoi.shared.clitools import REPLAYED, call, command_options, get_ctx, send_command, table
from caunoi.shared.clock import today_vn
from caunoi.shared.ids import is_hamlet_id
from caunoi.shared.units import slugify

SERVICE = "petitions"

STATUS_EN = {s.value: s.value.replace("_", " ") for s in Status}


def _send(name: str, payload: dict[str, Any]) -> None:
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    status = result["status"]
    label = STATUS_VI.get(Status(status), status) if get_ctx().lang == "vi" else STATUS_EN.get(status, status)
    click.echo(f"{result['petition_id']}: {label}{REPLAYED if result.get('replayed') else ''}")


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
@click.option("--text", required=True, help="Nội dung ý kiến.")
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


@group.command(help="Giải đáp trực tiếp tại hội nghị / answer on the spot.")
@click.argument("petition_id")
@click.option("--answer", required=True)
@click.option("--by", "answered_by", required=True, help="Người giải đáp.")
@click.option("--on", "answered_on", help="YYYY-MM-DD, mặc định hôm nay.")
@command_options
def answer(petition_id: str, answer: str, answered_by: str, answered_on: str | None, command_id: str | None) -> None:
    _send(
        "answer",
        {
            "petition_id": petition_id,
            "answer": answer,
            "answered_by": answered_by,
            "answered_on": answered_on,
            "command_id": command_id,
        },
    )


@group.command(help="Chuyển cấp có thẩm quyền / forward to a higher unit.")
@click.argument("petition_id")
@click.option("--to", "to_unit", required=True, help="Mã đơn vị cấp trên (huyện/tỉnh).")
@click.option("--agency", "to_agency", help="Cơ quan chuyên môn nhận xử lý.")
@click.option("--note")
@click.option("--on", "forwarded_on", help="YYYY-MM-DD")
@command_options
def forward(
    petition_id: str,
    to_unit: str,
    to_agency: str | None,
    note: str | None,
    forwarded_on: str | None,
    command_id: str | None,
) -> None:
    _send(
        "forward",
        {
            "petition_id": petition_id,
            "to_unit": to_unit,
            "to_agency": to_agency,
            "note": note,
            "forwarded_on": forwarded_on,
            "command_id": command_id,
        },
    )


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
        committed_date = (today_vn() + timedelta(days=in_days)).isoformat()
    _send(
        "commit",
        {
            "petition_id": petition_id,
            "committed_date": committed_date,
            "note": note,
            "command_id": command_id,
        },
    )


@group.command(help="Ban hành văn bản trả lời / issue the written reply.")
@click.argument("petition_id")
@click.option("--document", "document_no", required=True, help="Số văn bản.")
@click.option("--summary", required=True)
@click.option("--on", "issued_on", help="YYYY-MM-DD")
@command_options
def reply(petition_id: str, document_no: str, summary: str, issued_on: str | None, command_id: str | None) -> None:
    _send(
        "reply",
        {
            "petition_id": petition_id,
            "document_no": document_no,
            "summary": summary,
            "issued_on": issued_on,
            "command_id": command_id,
        },
    )


@group.command(name="list", help="Danh sách ý kiến / list petitions.")
@click.option("--unit", help="Mã đơn vị (gồm cả đơn vị trực thuộc).")
@click.option("--status", type=click.Choice([s.value for s in Status if s is not Status.new]))
@click.option("--category", type=click.Choice([c.value for c in Category]))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--offset", type=int, default=0)
def list_cmd(unit: str | None, status: str | None, category: str | None, limit: int, offset: int) -> None:
    ctx = get_ctx()
    q = {"unit": unit, "status": status, "category": category, "limit": limit, "offset": offset}
    result = call("query", SERVICE, "list", q)
    if result is None:
        return
    items = result["items"]
    for r in items:
        r["status_label"] = STATUS_VI.get(Status(r["status"]), r["status"]) if ctx.lang == "vi" else r["status"]
    cols = [
        ("id", "Mã", "Ref"),
        ("received_on", "Ngày nhận", "Received"),
        ("status_label", "Trạng thái", "Status"),
        ("category", "Lĩnh vực", "Category"),
        ("commune_code", "Xã", "Commune"),
        ("hamlet", "Thôn/Tổ", "Hamlet"),
        ("handling_unit", "Đang xử lý", "Handling"),
        ("committed_date", "Hạn cam kết", "Committed"),
        ("text", "Nội dung", "Text"),
    ]
    click.echo(table(items, cols, ctx.lang))
    click.echo(f"\n{len(items)} / {result['total']}")


@group.command(help="Chi tiết và lịch sử một ý kiến / one petition with its history.")
@click.argument("petition_id")
def show(petition_id: str) -> None:
    result = call("query", SERVICE, "show", {"petition_id": petition_id})
    if result is None:
        return
    p = result["petition"] or {}
    click.echo(f"{petition_id}  [{result['status']}]")
    for k in (
        "channel",
        "kind",
        "category",
        "petitioner",
        "commune_code",
        "hamlet",
        "handling_unit",
        "received_on",
        "committed_date",
        "text",
    ):
        if p.get(k) is not None:
            click.echo(f"  {k:<15} {p[k]}")
    click.echo("  history:")
    for h in result["history"]:
        kind = h["type"].rsplit(".", 2)[-2]
        click.echo(f"    #{h['seq']:<6} {h['time'][:19]}  {kind}")
