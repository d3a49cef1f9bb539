"""``caunoi notify ...``: notices (by state, recipient, event), resending a failed one, a preview
from a real event, and the contacts of units and hamlets; sent to the notify service over NATS."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import click

from caunoi.notify.events import DeliveryChannel, NoticeKind
from caunoi.notify.labels import KIND_VI, STATE_VI
from caunoi.shared.clitools import (
    call,
    command_options,
    echo_fields,
    get_ctx,
    replayed,
    send_command,
    table,
    unit_option,
)

SERVICE = "notify"


def _kind(kind: str, lang: str) -> str:
    try:
        k = NoticeKind(kind)
    except ValueError:
        return kind
    return KIND_VI[k] if lang == "vi" else k.value.replace("_", " ")


@click.group(name="notify", help="Thông báo gửi người dân, thôn, đơn vị / notices to citizens, hamlets and units.")
def group() -> None:
    pass


@group.command(name="list", help="Danh sách thông báo / notices by state, recipient, event.")
@click.option("--state", type=click.Choice(["queued", "sent", "failed"]), help="Chờ gửi, đã gửi, thất bại / state.")
@click.option("--kind", type=click.Choice([k.value for k in NoticeKind]), help="Loại thông báo / kind.")
@click.option("--recipient", help="petitioner:PA-…, hamlet:<mã thôn>, unit:<mã đơn vị>.")
@click.option("--event", help="Mã sự kiện hoặc mã ý kiến, hội nghị / the event's id, or what it is about (PA-…).")
@unit_option
@click.option("--limit", type=int, default=50, show_default=True)
def list_(state: str | None, kind: str | None, recipient: str | None, event: str | None, unit: str | None,
          limit: int) -> None:  # fmt: skip
    ctx = get_ctx()
    body = {"state": state, "kind": kind, "recipient": recipient, "event": event, "unit": unit, "limit": limit}
    result = call("query", SERVICE, "list", body)
    if result is None:
        return
    for r in result["items"]:
        r["state_label"] = STATE_VI.get(r["state"], r["state"]) if ctx.lang == "vi" else r["state"]
        r["kind_label"] = _kind(r["kind"], ctx.lang)
    cols = [
        ("id", "Mã", "Id"),
        ("state_label", "Trạng thái", "State"),
        ("kind_label", "Loại", "Kind"),
        ("recipient", "Người nhận", "NoticeRecipient"),
        ("about", "Về", "About"),
        ("channel", "Kênh", "DeliveryChannel"),
        ("attempts", "Lần gửi", "Attempts"),
        ("last_error", "Lỗi", "Error"),
    ]
    click.echo(table(result["items"], cols, ctx.lang))
    click.echo(f"\n{result['total']}")


@group.command(name="show", help="Một thông báo và lịch sử của nó / one notice and its history.")
@click.argument("notice_id")
def show(notice_id: str) -> None:
    result = call("query", SERVICE, "show", {"notice_id": notice_id})
    if result is None:
        return
    row = result["notice"] or {}
    echo_fields(row, ("id", "state", "kind", "recipient", "about", "channel", "address", "message_id", "template",
                      "template_version", "attempts", "last_error", "sent_at"))  # fmt: skip
    click.echo("")
    for h in result["history"]:
        click.echo(f"  {h['seq']:>6}  {h['time'][:19]}  {h['type'].split('.')[-2]}")


@group.command(name="resend", help="Gửi lại thông báo đã thất bại / send a failed notice again.")
@click.argument("notice_id")
@click.option("--reason", required=True, help="Lý do / reason.")
@command_options
def resend(notice_id: str, reason: str, command_id: str | None) -> None:
    result = send_command(SERVICE, "resend", {"notice_id": notice_id, "reason": reason, "command_id": command_id})
    if result is not None:
        click.echo(f"{result['notice_id']}: {result['state']} (round {result['round']})"
                   f"{replayed(result)}")  # fmt: skip


@group.command(name="preview", help="Xem trước thông báo dựng từ sự kiện thật / a notice rendered from its real event.")
@click.argument("ref")
@click.option("--recipient", help="Người nhận (nếu sự kiện có nhiều) / which recipient.")
@click.option("--template", help="Mẫu khác để thử / another template to render.")
@click.option("--as", "lang", type=click.Choice(["vi", "en"]), help="Ngôn ngữ của thông báo / the notice's language.")
@click.option(
    "--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), help="Ghi thư in ra tệp PDF / write the letter."
)
def preview(ref: str, recipient: str | None, template: str | None, lang: str | None, pdf: Path | None) -> None:
    body = {"ref": ref, "recipient": recipient, "template": template, "lang": lang, "letter": pdf is not None or None}
    result = call("query", SERVICE, "preview", body)
    if result is None:
        return
    if pdf is not None:
        pdf.write_bytes(base64.b64decode(result.pop("letter_pdf")))
    ev = result["event"]
    click.echo(f"{result['notice_id']} → {result['recipient']}   ({ev['type']} #{ev['stream']}:{ev['seq']})")
    click.echo(f"{result['template']} {result['version']} [{result['lang']}]")
    click.echo(f"\n{result['subject']}\n\nSMS/Zalo: {result['short']}\n\n{result['body']}")
    if pdf is not None:
        click.echo(f"\n→ {pdf}")


@group.group(name="contacts", help="Cách liên lạc với đơn vị, thôn / how units and hamlets are reached.")
def contacts() -> None:
    pass


def _whose(f: Any) -> Any:
    f = click.option("--hamlet", "hamlet_id", help="Mã thôn, tổ dân phố / hamlet id.")(f)
    return click.option("--unit", help="Mã đơn vị / unit code.")(f)


@contacts.command(name="set", help="Đặt cách liên lạc / set a contact.")
@_whose
@click.option("--name", help="Tên hiển thị / name shown.")
@click.option("--email")
@click.option("--phone", help="Số điện thoại (SMS) / phone.")
@click.option("--zalo", help="Số Zalo / Zalo number.")
@click.option("--address", help="Địa chỉ gửi thư / postal address.")
@click.option(
    "--prefer", "preferred", type=click.Choice([c.value for c in DeliveryChannel]), help="Kênh ưu tiên / preferred."
)
@click.option("--language", "language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@command_options
def contacts_set(unit: str | None, hamlet_id: str | None, name: str | None, email: str | None, phone: str | None,
                 zalo: str | None, address: str | None, preferred: str | None, language: str,
                 command_id: str | None) -> None:  # fmt: skip
    body = {"unit": unit, "hamlet_id": hamlet_id, "name": name, "email": email, "phone": phone, "zalo": zalo,
            "address": address, "preferred": preferred, "lang": language, "command_id": command_id}  # fmt: skip
    result = send_command(SERVICE, "contact_set", body)
    if result is not None:
        click.echo(f"{result['recipient']}{replayed(result)}")


@contacts.command(name="list", help="Danh sách liên lạc / contacts under a unit.")
@unit_option
def contacts_list(unit: str | None) -> None:
    ctx = get_ctx()
    result = call("query", SERVICE, "contacts", {"unit": unit})
    if result is None:
        return
    cols = [
        ("recipient", "Người nhận", "NoticeRecipient"),
        ("name", "Tên", "Name"),
        ("email", "Email", "Email"),
        ("phone", "Điện thoại", "Phone"),
        ("zalo", "Zalo", "Zalo"),
        ("preferred", "Ưu tiên", "Preferred"),
    ]
    click.echo(table(result["items"], cols, ctx.lang))
    click.echo(f"\n{result['total']}")


@contacts.command(name="remove", help="Xóa cách liên lạc / remove a contact.")
@_whose
@click.option("--reason", required=True)
@command_options
def contacts_remove(unit: str | None, hamlet_id: str | None, reason: str, command_id: str | None) -> None:
    body = {"unit": unit, "hamlet_id": hamlet_id, "reason": reason, "command_id": command_id}
    result = send_command(SERVICE, "contact_remove", body)
    if result is not None:
        click.echo(f"{result['recipient']}{replayed(result)}")
