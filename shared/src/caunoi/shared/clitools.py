"""What every ``caunoi`` sub-command shares: the NATS URL option, running a request, printing
results as a table (Vietnamese labels by default, ``--lang en``) or JSON (``--json``)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import click

from caunoi.shared.client import Client, Login, RequestFailed, ServiceUnreachable
from caunoi.shared.clock import today_vn
from caunoi.shared.settings import Settings

T = TypeVar("T")


class Ctx:
    def __init__(self, nats_url: str, as_json: bool, lang: str, login: Login | None = None) -> None:
        self.nats_url = nats_url
        self.as_json = as_json
        self.lang = lang
        self.login = login

    def run(self, fn: Callable[[Client], Awaitable[T]]) -> T:
        async def go() -> T:
            c = await Client.connect(self.nats_url, self.login, Settings().request_timeout)
            try:
                return await fn(c)
            finally:
                await c.close()

        try:
            return asyncio.run(go())
        except RequestFailed as e:
            err = e.error
            if self.as_json:
                click.echo(json.dumps({"ok": False, "error": err}, ensure_ascii=False, indent=2))
            else:
                msg = err.get("message") if self.lang == "vi" else err.get("message_en", err.get("message"))
                field = f" [{err['field']}]" if err.get("field") else ""
                click.echo(f"Lỗi / error {err.get('code')}{field}: {msg}", err=True)
            sys.exit(2)
        except ServiceUnreachable as e:
            click.echo(f"Không kết nối được / unreachable: {e}", err=True)
            sys.exit(3)


def get_ctx() -> Ctx:
    ctx = click.get_current_context().find_root()
    obj = ctx.obj
    if not isinstance(obj, Ctx):
        obj = Ctx(Settings().nats_url, False, "vi")
    return obj


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]], lang: str) -> str:
    """``columns``: (key, Vietnamese header, English header)."""
    heads = [vi if lang == "vi" else en for _, vi, en in columns]
    cells = [["" if r.get(k) is None else str(r.get(k)) for k, _, _ in columns] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(heads)]
    widths = [min(w, 48) for w in widths]

    def fmt(vals: Sequence[str]) -> str:
        return "  ".join((v if len(v) <= w else v[: w - 1] + "…").ljust(w) for v, w in zip(vals, widths, strict=True))

    lines = [fmt(heads), "  ".join("-" * w for w in widths), *(fmt(c) for c in cells)]
    return "\n".join(line.rstrip() for line in lines)


def command_options(f: Any) -> Any:
    """The options every command-sending sub-command takes."""
    return click.option("--command-id", help="Mã lệnh: gửi lại cùng mã không ghi hai lần / idempotency key.")(f)


REPLAYED = " (lệnh đã thực hiện trước đó / already done)"

#: a query's area: a unit and everything below it (the services' default: the person's own unit)
unit_option = click.option(
    "--unit", help="Mã đơn vị, gồm cả cấp dưới (mặc định: đơn vị của bạn) / a unit and those below (default: yours)."
)


def replayed(result: Mapping[str, Any]) -> str:
    """What a command's confirmation adds when its command id was carried out before."""
    return REPLAYED if result.get("replayed") else ""


def echo_fields(row: Mapping[str, Any], keys: Sequence[str]) -> None:
    """One record as ``key  value`` lines, the keys aligned; empty values left out."""
    shown = [k for k in keys if row.get(k) not in (None, "", [])]
    width = max((len(k) for k in shown), default=0)
    for k in shown:
        click.echo(f"  {k:<{width}} {row[k]}")


def duties_command(service: str, name: str, help: str) -> click.Command:
    """``caunoi <service> <name>``: record now what fell due (the service's duties also run by
    themselves), and print each thing recorded."""

    @click.command(name=name, help=help)
    def run() -> None:
        result = call("admin", service, "duties", {})
        if result is None:
            return
        for r in result["recorded"]:
            click.echo(f"{r['aggregate_id']}  {r['duty']}  {r['key']}")
        click.echo(f"{len(result['recorded'])}")

    return run


def day(value: str | None) -> str | None:
    """A date option: ``YYYY-MM-DD`` as given; ``+N`` / ``-N``: N days from today (in Vietnam)."""
    if value is None or value[:1] not in "+-":
        return value
    if not value[1:].isdigit():
        raise click.BadParameter(f"{value!r}: YYYY-MM-DD hoặc +N / -N (số ngày) / or ±N days")
    return (today_vn() + timedelta(days=int(value))).isoformat()


def call(kind: str, service: str, name: str, payload: dict[str, Any] | None = None) -> Any:
    """Send a ``command``, ``query`` or ``admin`` request (``None`` fields left out). With
    ``--json`` print the reply and return None; otherwise return the result to print."""
    ctx = get_ctx()
    clean = {k: v for k, v in (payload or {}).items() if v is not None}
    result = ctx.run(lambda c: getattr(c, kind)(service, name, clean))
    if ctx.as_json:
        echo_json(result)
        return None
    return result


def send_command(service: str, name: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    result: dict[str, Any] | None = call("command", service, name, payload)
    return result
