"""Operator commands: ``caunoi status``, ``caunoi projections ...``, ``caunoi units ...``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
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


def rebuilding(progress: dict[str, Any] | None) -> str:
    """A rebuild under way as the status table shows it (empty when there is none)."""
    if not progress:
        return ""
    return f"REBUILDING {100 * progress['at'] // max(progress['to'], 1)}%"


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
            state = "HALTED" if p.get("halted_at") else rebuilding(p.get("rebuild")) or "ok"
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


#: how long ``caunoi projections rebuild`` waits for the rebuild's reply (it shows progress meanwhile:
#: ten million events take some five minutes on 2 cores, more than an admin request's 120 s)
REBUILD_WAIT = 24 * 3600.0
#: how often it asks the service how far the rebuild has got (seconds)
PROGRESS_EVERY = 1.0


async def rebuild_watched(
    c: Client,
    service: str,
    projection: str | None,
    show: Callable[[dict[str, Any]], None] | None = None,
    every: float = PROGRESS_EVERY,
) -> Any:
    """Ask ``service`` to rebuild a read model and wait for the reply as long as the rebuild
    takes, giving ``show`` the read model's status entry (with its ``rebuild`` progress) every
    ``every`` seconds. Raises ``ServiceUnreachable`` once the service, having shown the rebuild,
    shows it no longer and has not replied (it restarted meanwhile)."""
    payload = {"projection": projection} if projection else {}
    asked = asyncio.get_running_loop().create_task(c.admin(service, "rebuild", payload, timeout=REBUILD_WAIT))
    seen = gone = 0
    try:
        while True:
            done, _ = await asyncio.wait({asked}, timeout=every)
            if done:
                return asked.result()
            try:
                status = await c.admin(service, "status")
            except (ServiceUnreachable, RequestFailed):
                continue
            entries = status["projections"]
            # the read model the service rebuilds without a name: its only one, or the one named after it
            name = projection or (entries[0]["name"] if len(entries) == 1 else service)
            rebuilding_it = [p for p in entries if p["name"] == name and p.get("rebuild")]
            if rebuilding_it:
                seen, gone = seen + 1, 0
                if show is not None:
                    show(rebuilding_it[0])
            elif seen:
                gone += 1
                if gone >= 3:
                    raise ServiceUnreachable(
                        f"{service}: the rebuild is no longer under way and did not answer (the service restarted?);"
                        " see `caunoi status`"
                    )
    finally:
        asked.cancel()


class RebuildBar:
    """The rebuild's progress on stderr: one line redrawn in place on a terminal; elsewhere (a log,
    a pipe) a line at each tenth of the way."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.tenths = -1
        self.drawn = False

    def show(self, p: dict[str, Any]) -> None:
        r = p["rebuild"]
        to, at = max(r["to"], 1), min(r["at"], r["to"])
        line = f"Đang dựng lại / rebuilding {p['name']}: {at:,} / {r['to']:,} ({100 * at // to} %)" + (
            f", {at / r['seconds']:,.0f}/s" if at and r.get("seconds") else ""
        )
        if self.tty:
            click.echo(f"\r{line}\x1b[K", nl=False, err=True)
            self.drawn = True
        elif 10 * at // to > self.tenths:
            self.tenths = 10 * at // to
            click.echo(line, err=True)

    def end(self) -> None:
        if self.drawn:
            click.echo("", err=True)


@projections.command(help="Dựng lại read model từ sự kiện số 1 (shadow rồi hoán đổi) / rebuild from sequence 1.")
@click.argument("service")
@click.option("--projection", help="Tên read model (mặc định: read model duy nhất của dịch vụ).")
def rebuild(service: str, projection: str | None) -> None:
    ctx = get_ctx()
    if ctx.as_json:
        echo_json(ctx.run(lambda c: rebuild_watched(c, service, projection)))
        return
    click.echo(f"Đang dựng lại / rebuilding {service} … (read model hiện tại vẫn phục vụ / the live one keeps serving)")
    bar = RebuildBar()
    try:
        result = ctx.run(lambda c: rebuild_watched(c, service, projection, bar.show))
    finally:
        bar.end()
    click.echo(f"Xong / done: {result['projection']} at position {result['position']:,}{took(result)}")


def took(result: dict[str, Any]) -> str:
    """`` in 21.3 s (nạp / loading 19.3 s, chỉ mục / indexes 1.9 s)`` from a rebuild's reply (a
    service of an older release says only its position)."""
    if "seconds" not in result:
        return ""
    phases = (
        f" (nạp / loading {result['load_seconds']:.1f} s, chỉ mục / indexes {result['index_seconds']:.1f} s)"
        if "load_seconds" in result
        else ""
    )
    return f" in {result['seconds']:.1f} s{phases}"


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
