"""Operator commands: ``caunoi status``, ``caunoi projections ...``, ``caunoi units ...``."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import click

from caunoi.cli.runtime import read_runtime
from caunoi.shared.client import Client, RequestFailed, ServiceUnreachable
from caunoi.shared.clitools import call, echo_json, get_ctx, table
from caunoi.shared.jsapi import api
from caunoi.shared.settings import Settings
from caunoi.shared.units import DATASETS, UnitTree, UnknownUnit


def service_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="caunoi.services"))


async def gather_status(c: Client) -> dict[str, Any]:
    out: dict[str, Any] = {"services": {}}
    try:
        out["jetstream"] = await api(c.nc, "$JS.API.INFO", timeout=2.0)
    except Exception as e:  # noqa: BLE001 - only the operator's NATS user may ask the server itself
        out["jetstream"] = {"error": f"{type(e).__name__}: {e}"}
    for name in service_names():
        try:
            out["services"][name] = await c.admin(name, "status")
        except (ServiceUnreachable, RequestFailed) as e:
            out["services"][name] = {"error": str(e)}
    return out


@click.command(help="Máy chủ, dịch vụ, luồng sự kiện, read model / servers, services, streams, projections.")
def status() -> None:
    ctx = get_ctx()
    rt = read_runtime() or {}
    result = ctx.run(gather_status)
    result["nats_url"] = ctx.nats_url
    result["runtime"] = rt
    if ctx.as_json:
        echo_json(result)
        return
    js = result["jetstream"]
    click.echo(
        f"NATS      {ctx.nats_url}  JetStream: {js.get('streams', '?')} streams, {js.get('storage', 0)} bytes stored"
    )
    if rt:
        click.echo(f"Postgres  {rt.get('database_url', '?')}")
        click.echo(f"Data dir  {rt.get('data_dir', '?')}")
    rows = []
    for name, s in result["services"].items():
        if "error" in s:
            rows.append({"service": name, "state": "DOWN", "detail": s["error"]})
            continue
        st = s["stream"]
        for p in s["projections"] or [{"name": "-", "position": "-", "lag": "-", "parked": 0}]:
            state = "HALTED" if p.get("halted_at") else "ok"
            own = p.get("stream", st["name"]) == st["name"]
            rows.append(
                {
                    "service": name,
                    "state": state,
                    # a projection may follow another service's stream (read only)
                    "stream": st["name"] if own else f"← {p['stream']}",
                    "messages": st["messages"] if own else None,
                    "bytes": st["bytes"] if own else None,
                    "projection": p["name"],
                    "position": p["position"],
                    "lag": p["lag"],
                    "parked": p.get("parked", 0),
                    "junk": p.get("junk", 0),
                    "detail": p.get("last_error") or "",
                }
            )
    click.echo("")
    click.echo(
        table(
            rows,
            [
                ("service", "Dịch vụ", "Service"),
                ("state", "Tình trạng", "State"),
                ("stream", "Luồng", "Stream"),
                ("messages", "Sự kiện", "Events"),
                ("bytes", "Bytes", "Bytes"),
                ("projection", "Read model", "Projection"),
                ("position", "Vị trí", "Position"),
                ("lag", "Chậm", "Lag"),
                ("parked", "Tạm giữ", "Parked"),
                ("junk", "Bỏ qua (không phải sự kiện)", "Junk passed over"),
                ("detail", "Chi tiết", "Detail"),
            ],
            ctx.lang,
        )
    )


@click.group(help="Read model: dựng lại, sự kiện tạm giữ / rebuild, parked events.")
def projections() -> None:
    pass


@projections.command(help="Dựng lại read model từ sự kiện số 1 (shadow rồi hoán đổi) / rebuild from sequence 1.")
@click.argument("service")
@click.option("--projection", help="Tên read model (mặc định: read model duy nhất của dịch vụ).")
def rebuild(service: str, projection: str | None) -> None:
    if not get_ctx().as_json:
        click.echo(f"Rebuilding {service} … (the live read model keeps serving)")
    result = call("admin", service, "rebuild", {"projection": projection})
    if result is not None:
        click.echo(f"done: {result['projection']} at position {result['position']}")


@projections.command(help="Sự kiện không áp dụng được / events a projection could not apply.")
@click.argument("service")
def parked(service: str) -> None:
    rows = call("admin", service, "parked")
    if rows is not None:
        click.echo(
            table(
                rows,
                [
                    ("projection", "Read model", "Projection"),
                    ("seq", "Số", "Seq"),
                    ("event_type", "Loại", "Type"),
                    ("attempts", "Lần thử", "Attempts"),
                    ("resolution", "Xử lý", "Resolution"),
                    ("error", "Lỗi", "Error"),
                ],
                get_ctx().lang,
            )
        )


@projections.command(help="Bỏ qua một sự kiện tạm giữ (có ghi nhận) / skip a parked event (recorded).")
@click.argument("service")
@click.argument("seq", type=int)
@click.option("--projection")
@click.option("--operator", required=True, help="Người quyết định bỏ qua.")
def skip(service: str, seq: int, projection: str | None, operator: str) -> None:
    result = call("admin", service, "skip", {"seq": seq, "operator": operator, "projection": projection})
    if result is not None:
        click.echo("skipped" if result["skipped"] else "nothing parked at that seq")


@click.group(help="Đơn vị hành chính / administrative units (offline data).")
@click.option(
    "--dataset",
    type=click.Choice(list(DATASETS)),
    default=None,
    help="Bộ dữ liệu (mặc định CAUNOI_UNITS_DATASET hoặc vn-2025).",
)
@click.pass_context
def units(ctx: click.Context, dataset: str | None) -> None:
    ctx.meta["units_tree"] = UnitTree.load(dataset or Settings().units_dataset)


def _tree() -> UnitTree:
    tree: UnitTree = click.get_current_context().meta["units_tree"]
    return tree


def _unit_rows(items: Any) -> list[dict[str, Any]]:
    return [{"code": u.code, "name": u.name, "level": u.level, "parent": u.parent_code} for u in items]


_UNIT_COLS = [
    ("code", "Mã", "Code"),
    ("name", "Tên", "Name"),
    ("level", "Cấp", "Level"),
    ("parent", "Trực thuộc", "Parent"),
]


@units.command(name="children", help="Đơn vị trực thuộc (không mã: các tỉnh) / children of a unit.")
@click.argument("code", required=False)
def children(code: str | None) -> None:
    ctx = get_ctx()
    try:
        rows = _unit_rows(_tree().children(code))
    except UnknownUnit as e:
        raise click.ClickException(str(e)) from e
    echo_json(rows) if ctx.as_json else click.echo(table(rows, _UNIT_COLS, ctx.lang))


@units.command(name="show", help="Một đơn vị và các cấp trên / a unit and its ancestors.")
@click.argument("code")
def show_unit(code: str) -> None:
    ctx = get_ctx()
    tree = _tree()
    try:
        rows = _unit_rows([*tree.ancestors(code), tree.get(code)])
    except UnknownUnit as e:
        raise click.ClickException(str(e)) from e
    echo_json(rows) if ctx.as_json else click.echo(table(rows, _UNIT_COLS, ctx.lang))


@units.command(name="search", help="Tìm theo tên, có hoặc không dấu / search by name.")
@click.argument("text")
@click.option("--level", type=click.Choice(["province", "district", "commune"]))
def search(text: str, level: str | None) -> None:
    ctx = get_ctx()
    rows = _unit_rows(_tree().search(text, level)[:50])
    echo_json(rows) if ctx.as_json else click.echo(table(rows, _UNIT_COLS, ctx.lang))
