"""``caunoi scheduling ...``: the clerk's commands, sent to the scheduling service over NATS."""

from __future__ import annotations

from typing import Any

import click

from caunoi.shared.clitools import REPLAYED, call, command_options, get_ctx, send_command, table
from caunoi.shared.hamlets import KIND_EN, KIND_VI, HamletKind

SERVICE = "scheduling"


def _kind_label(kind: str, lang: str) -> str:
    try:
        k = HamletKind(kind)
    except ValueError:
        return kind
    return KIND_VI[k] if lang == "vi" else KIND_EN[k]


def _send(name: str, payload: dict[str, Any]) -> None:
    ctx = get_ctx()
    result = send_command(SERVICE, name, payload)
    if result is None:
        return
    again = REPLAYED if result.get("replayed") else ""
    retired = ""
    if result.get("retired"):
        retired = (
            f" — thôi sử dụng từ {result['retired_on']}"
            if ctx.lang == "vi"
            else f" — retired on {result['retired_on']}"
        )
    click.echo(f"{result['hamlet_id']}: {result['name']} [{_kind_label(result['kind'], ctx.lang)}]{retired}{again}")


@click.group(name="scheduling", help="Lịch hội nghị đối thoại, danh sách thôn / dialogue scheduling and hamlets.")
def group() -> None:
    pass


@group.group(name="hamlets", help="Thôn, ấp, bản, tổ dân phố của xã / a commune's hamlets.")
def hamlets() -> None:
    pass


@hamlets.command(name="add", help="Thêm thôn, tổ dân phố / add a hamlet to a commune.")
@click.option("--commune", "commune_code", required=True, help="Mã xã, phường (5 chữ số) / commune code (5 digits).")
@click.option("--name", required=True, help="Tên, ví dụ «Thôn Đồng Tâm» / name.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in HamletKind]),
    required=True,
    help="Loại: thon, ap, ban, buon, lang, to_dan_pho, khu_pho, khom, other / kind.",
)
@command_options
def add(commune_code: str, name: str, kind: str, command_id: str | None) -> None:
    _send(
        "hamlet_add",
        {"commune_code": commune_code, "name": name, "kind": kind, "command_id": command_id},
    )


@hamlets.command(name="list", help="Danh sách thôn, tổ dân phố / list hamlets.")
@click.option("--unit", help="Mã tỉnh hoặc xã (mặc định: tất cả) / province or commune code (default: all).")
@click.option("--all", "include_retired", is_flag=True, help="Gồm cả thôn đã thôi sử dụng / include retired.")
def list_(unit: str | None, include_retired: bool) -> None:
    ctx = get_ctx()
    result = call("query", SERVICE, "hamlets", {"include_retired": include_retired, "unit": unit})
    if result is None:
        return
    items = result["items"]
    for r in items:
        r["kind_label"] = _kind_label(r["kind"], ctx.lang)
    cols = [
        ("id", "Mã", "Id"),
        ("name", "Tên", "Name"),
        ("kind_label", "Loại", "Kind"),
        ("commune_code", "Xã", "Commune"),
    ]
    if include_retired:
        cols.append(("retired_on", "Thôi sử dụng từ", "Retired on"))
    click.echo(table(items, cols, ctx.lang))
    click.echo(f"\n{result['total']}")


@hamlets.command(name="show", help="Một thôn, tổ dân phố / one hamlet.")
@click.argument("hamlet_id")
def show(hamlet_id: str) -> None:
    ctx = get_ctx()
    row = call("query", SERVICE, "hamlet", {"hamlet_id": hamlet_id})
    if row is None:
        return
    row["kind"] = _kind_label(row["kind"], ctx.lang)
    for k in ("id", "name", "kind", "commune_code", "unit_path", "dataset", "retired", "retired_on"):
        if row.get(k) is not None:
            click.echo(f"  {k:<13} {row[k]}")


@hamlets.command(name="rename", help="Đổi tên (mã giữ nguyên) / rename; the id stays.")
@click.argument("hamlet_id")
@click.option("--name", required=True, help="Tên mới / new name.")
@command_options
def rename(hamlet_id: str, name: str, command_id: str | None) -> None:
    _send("hamlet_rename", {"hamlet_id": hamlet_id, "name": name, "command_id": command_id})


@hamlets.command(name="retire", help="Thôi sử dụng (sáp nhập, giải thể) / retire a hamlet; its history stays.")
@click.argument("hamlet_id")
@click.option("--reason", required=True, help="Lý do / reason.")
@click.option("--on", "retired_on", help="Ngày (YYYY-MM-DD), mặc định hôm nay / date, default today.")
@command_options
def retire(hamlet_id: str, reason: str, retired_on: str | None, command_id: str | None) -> None:
    _send(
        "hamlet_retire",
        {"hamlet_id": hamlet_id, "reason": reason, "retired_on": retired_on, "command_id": command_id},
    )
