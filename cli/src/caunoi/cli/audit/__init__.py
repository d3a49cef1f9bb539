"""``caunoi audit ...``: what an auditor (and an operator) does with the logs.

``verify`` (every hash, chain and signed checkpoint; the first broken link), ``replay`` (each
read model replayed from its log and compared with the live one), ``timeline`` (a petition across
services; what a unit or an actor did in a period), ``export`` / ``import`` (JSON lines for
outside auditors; into a fresh installation), ``verifier`` (the standalone script that verifies an
export), ``checkpoint``, ``keys``; and ``erase`` (operators only: a petitioner's personal data).

Auditors read the streams directly (their NATS user may read every stream and write none) and ask
the services for replays and checkpoints; nothing here appends an event but ``erase`` and
``import``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from caunoi.cli.audit import replay as replaying
from caunoi.cli.audit import timeline as timelines
from caunoi.cli.audit import transfer
from caunoi.cli.audit.reading import Reader, streams
from caunoi.cli.audit.verify import Range, pinned_keys, verify_stream
from caunoi.shared.audit import verifier as verifier_module
from caunoi.shared.audit.verifier import render
from caunoi.shared.client import Client, RequestFailed, ServiceUnreachable
from caunoi.shared.clitools import Ctx, echo_json, get_ctx, send_command, table
from caunoi.shared.clock import VN
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.settings import Settings
from caunoi.shared.units import UnitTree

T = TypeVar("T")


def _run(fn: Callable[[Client, Reader], Awaitable[T]]) -> T:
    ctx = get_ctx()

    async def go(c: Client) -> T:
        return await fn(c, Reader(c.nc, ctx.nats_url, ctx.login))

    return ctx.run(go)


def _services(names: tuple[str, ...]) -> list[StreamSpec]:
    try:
        return streams(names)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="SERVICE") from e


def _keys_dir(given: Path | None) -> Path | None:
    return given or Settings().keys_dir / "audit"


def _when(value: str | None, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` (Vietnam's day: its start, or with ``end`` the start of the next), an ISO
    time, or ``-N``: N days ago."""
    if value is None:
        return None
    try:
        if value.startswith("-") and value[1:].isdigit():
            day = datetime.now(VN).date() - timedelta(days=int(value[1:]))
        elif len(value) == 10:
            day = datetime.fromisoformat(value).date()
        else:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return t if t.tzinfo else t.replace(tzinfo=VN)
    except ValueError:
        raise click.BadParameter(f"{value!r}: YYYY-MM-DD, một thời điểm ISO hoặc -N (N ngày trước)") from None
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), VN)


def _exit(ok: bool) -> None:
    if not ok:
        sys.exit(1)


@click.group(name="audit", help="Kiểm toán nhật ký sự kiện / audit the event logs: verify, replay, timelines, export.")
def audit() -> None:
    pass


# -- verify ------------------------------------------------------------------------------------------


@audit.command(help="Kiểm tra chuỗi băm và checkpoint đã ký / verify every hash, chain and signed checkpoint.")
@click.argument("services", nargs=-1)
@click.option("--from", "first", type=click.IntRange(1), help="Từ số thứ tự / from this sequence.")
@click.option("--to", "last", type=click.IntRange(1), help="Đến số thứ tự / up to this sequence.")
@click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Thư mục khóa công khai <dịch vụ>.pub để ghim / the public keys to pin (default: the installation's).",
)
@click.option("--identities", is_flag=True, help="Cả luồng IDENTITIES (chỉ chuỗi băm) / the IDENTITIES stream too.")
def verify(
    services: tuple[str, ...], first: int | None, last: int | None, keys_dir: Path | None, identities: bool
) -> None:
    ctx = get_ctx()
    specs = _services(services)
    if identities:
        specs += streams(identities=True)[-1:]
    keys = _keys_dir(keys_dir)

    async def go(c: Client, reader: Reader) -> list[Any]:
        return [
            await verify_stream(
                reader, s, pinned_keys(keys, s.service), Range(first, last), None if ctx.as_json else ctx.lang
            )
            for s in specs
        ]

    reports = _run(go)
    if ctx.as_json:
        echo_json([r.to_dict() for r in reports])
    else:
        for r in reports:
            click.echo(render(r, ctx.lang))
    _exit(all(r.ok for r in reports))


# -- replay ------------------------------------------------------------------------------------------


@audit.command(help="Phát lại nhật ký vào read model bóng và đối chiếu / replay the logs into shadows and compare.")
@click.argument("services", nargs=-1)
@click.option("--projection", help="Một read model / one read model (with one service).")
@click.option(
    "--from",
    "start",
    help="Tiếp tục bản đối chiếu lưu lại từ số thứ tự hoặc thời điểm / continue the kept shadow from a sequence or"
    " time (default: from the start).",
)
@click.option(
    "--keep", is_flag=True, help="Giữ bản đối chiếu cho lần sau (--from) / keep the shadows for a later --from."
)
def replay(services: tuple[str, ...], projection: str | None, start: str | None, keep: bool) -> None:
    ctx = get_ctx()
    names = [s.service for s in _services(services)]
    body: dict[str, Any] = {"projection": projection, "keep": keep or None}
    if start is not None:
        if start.isdigit():
            body["from_seq"] = int(start)
        else:
            since = _when(start)
            body["since"] = since.isoformat() if since else None
    body = {k: x for k, x in body.items() if x is not None}

    async def go(c: Client, _: Reader) -> list[dict[str, Any]]:
        out = []
        for name in names:
            try:
                out.append(await replaying.replay_service(c, name, body, None if ctx.as_json else ctx.lang))
            except ServiceUnreachable as e:
                out.append({"service": name, "state": "failed", "error": str(e), "models": [], "clean": False})
        return out

    jobs = _run(go)
    if ctx.as_json:
        echo_json(jobs)
    else:
        for job in jobs:
            _print_job(job, ctx)
    _exit(all(j.get("clean") for j in jobs))


def _print_job(job: dict[str, Any], ctx: Ctx) -> None:
    vi = ctx.lang == "vi"
    state = "KHỚP" if job.get("clean") else "CÓ KHÁC BIỆT" if job["state"] == "done" else "LỖI"
    if not vi:
        state = "MATCHES" if job.get("clean") else "DIFFERS" if job["state"] == "done" else "FAILED"
    click.echo(f"\n{job['service']}: {state}" + (f" ({job['error']})" if job.get("error") else ""))
    rows = replaying.rows(job)
    if rows:
        click.echo(
            table(
                rows,
                [
                    ("model", "Read model", "Read model"),
                    ("table", "Bảng", "Table"),
                    ("position", "Vị trí", "Position"),
                    ("equal", "Khớp", "Equal"),
                    ("differing", "Khác", "Differing"),
                    ("missing", "Thiếu", "Missing"),
                    ("extra", "Thừa", "Extra"),
                    ("state", "Kết quả", "Result"),
                ],
                ctx.lang,
            )
        )
    for line in replaying.differences(job, ctx.lang):
        click.echo(line)


# -- timelines ---------------------------------------------------------------------------------------


@audit.command(help="Diễn biến từ nhật ký / a timeline from the logs: a petition, or a unit's or an actor's acts.")
@click.argument("petition", required=False)
@click.option("--unit", help="Những gì đơn vị (và cấp dưới) đã làm / what a unit and the units below it did.")
@click.option("--actor", help="Những gì một người, một hệ thống đã làm / what one actor did.")
@click.option("--from", "since", help="Từ ngày (YYYY-MM-DD, -N: N ngày trước) / from.")
@click.option("--to", "until", help="Đến hết ngày / up to the end of that day (default: now).")
def timeline(petition: str | None, unit: str | None, actor: str | None, since: str | None, until: str | None) -> None:
    ctx = get_ctx()
    if sum(x is not None for x in (petition, unit, actor)) != 1:
        raise click.UsageError("một ý kiến (PA-…), hoặc --unit, hoặc --actor / one petition, or --unit, or --actor")
    erased = False
    if petition is not None:

        async def one(c: Client, reader: Reader) -> tuple[list[timelines.Entry], bool]:
            return await timelines.petition(reader, petition.strip().upper())

        try:
            entries, erased = _run(one)
        except LookupError as e:
            raise click.ClickException(str(e)) from e
    else:
        start = _when(since or "-30")
        end = _when(until, end=True) if until else datetime.now(VN) + timedelta(seconds=1)
        assert start is not None and end is not None
        if unit is not None:
            tree = UnitTree.load(Settings().units_dataset)
            if unit not in tree:
                raise click.BadParameter(f"không có đơn vị {unit} / no unit {unit}", param_hint="--unit")
            keep = timelines.by_unit(unit, tree)
        else:
            keep = timelines.by_actor(str(actor))

        async def many(c: Client, reader: Reader) -> list[timelines.Entry]:
            return await timelines.activity(reader, start, end, keep)

        entries = _run(many)
    rows = [e.row(erased, ctx.lang) for e in entries]
    if ctx.as_json:
        echo_json({"erased": erased, "events": rows})
        return
    for r in rows:
        r["data"] = json.dumps(r["data"], ensure_ascii=False)[:90]
    click.echo(
        table(
            rows,
            [
                ("time", "Thời điểm", "Time"),
                ("stream", "Luồng", "Stream"),
                ("seq", "Số", "Seq"),
                ("type", "Sự kiện", "Event"),
                ("aggregate", "Đối tượng", "Aggregate"),
                ("actor", "Người thực hiện", "Actor"),
                ("actor_unit", "Thay mặt", "For"),
                ("unit", "Đơn vị liên quan", "Unit"),
                ("data", "Nội dung", "Data"),
            ],
            ctx.lang,
        )
    )
    if erased:
        click.echo(
            "Dữ liệu cá nhân của người nêu đã bị xóa."
            if ctx.lang == "vi"
            else "The petitioner's personal data were erased."
        )


# -- export, import, the verifier ------------------------------------------------------------------


@audit.command(name="export", help="Xuất nhật ký (JSON lines, kèm chuỗi băm và checkpoint) / export the logs.")
@click.argument("services", nargs=-1)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Tệp xuất / the file.")
@click.option("--from", "since", help="Từ ngày / from (widened to whole checkpoints).")
@click.option("--to", "until", help="Đến hết ngày / up to the end of that day.")
def export_cmd(services: tuple[str, ...], out: Path, since: str | None, until: str | None) -> None:
    ctx = get_ctx()
    specs = _services(services)
    start, end = _when(since), _when(until, end=True)

    async def go(c: Client, reader: Reader) -> list[transfer.Exported]:
        for s in specs:  # seal what is stored now, so the file ends with a checkpoint
            try:
                await c.admin(s.service, "audit_checkpoint")
            except (RequestFailed, ServiceUnreachable) as e:
                click.echo(f"{s.service}: no checkpoint now ({e})", err=True)
        with out.open("w", encoding="utf-8") as f:
            return [
                await transfer.export_stream(reader, s, f, start, end, None if ctx.as_json else ctx.lang) for s in specs
            ]

    done = _run(go)
    result = [{"stream": d.stream, "from_seq": d.first, "to_seq": d.last, "lines": d.lines} for d in done]
    if ctx.as_json:
        echo_json({"file": str(out), "streams": result})
        return
    for d in done:
        click.echo(f"{d.stream}: {d.lines} {'dòng' if ctx.lang == 'vi' else 'lines'} ({d.first}-{d.last})")
    click.echo(f"→ {out}  (caunoi audit verifier --out caunoi_verify.py; python3 caunoi_verify.py {out.name})")


@audit.command(name="import", help="Nhập nhật ký vào một cài đặt mới / import an export into a fresh installation.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "pins", multiple=True, metavar="SERVICE=FILE", help="Ghim khóa công khai / pin a public key.")
def import_cmd(file: Path, pins: tuple[str, ...]) -> None:
    ctx = get_ctx()
    login = ctx.login
    if login is None or "operator" not in login.roles:
        raise click.ClickException("cần đăng nhập với vai trò quản trị / needs an operator's login")
    parsed = transfer.Parsed.read(transfer.read_lines(file))
    pinned: dict[str, dict[str, bytes]] = {}
    for spec in pins:
        service, _, path = spec.partition("=")
        pinned.setdefault(service, {}).update(verifier_module.load_keys([path]))
    reports = verifier_module.verify_export(transfer.read_lines(file), pinned)
    broken = [r for r in reports if not r.ok]
    if broken:
        for r in broken:
            click.echo(render(r, ctx.lang), err=True)
        raise click.ClickException("tệp không toàn vẹn, không nhập / the export does not verify: nothing imported")
    specs = {s.service: s for s in streams()}
    unknown = set(parsed.streams) - set(specs)
    if unknown:
        raise click.ClickException(f"no installed service for {', '.join(sorted(unknown))}")

    async def go(c: Client, _: Reader) -> dict[str, int]:
        for name in parsed.streams:
            try:
                await c.query(name, "ping")
            except ServiceUnreachable:
                continue
            raise click.ClickException(
                f"dịch vụ {name} đang chạy: hãy dừng các dịch vụ trước khi nhập / the {name} service is running: "
                "import with the services stopped (they would act on the events as they arrive)"
            )
        replicas = Settings().stream_replicas
        lang = None if ctx.as_json else ctx.lang
        return {
            specs[n].name: await transfer.import_stream(c.nc, replace(specs[n], replicas=replicas), msgs, lang)
            for n, msgs in parsed.streams.items()
        }

    try:
        counts = _run(go)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    trusted = transfer.trust(Settings().keys_dir / "audit", pinned or parsed.keys())
    if ctx.as_json:
        echo_json({"imported": counts, "trusted_keys": [str(p) for p in trusted]})
        return
    for stream, n in counts.items():
        click.echo(f"{stream}: {n} {'thông điệp' if ctx.lang == 'vi' else 'messages'}")
    for p in trusted:
        click.echo(f"{'tin cậy khóa' if ctx.lang == 'vi' else 'trusting key'} {p}")


@audit.command(help="Ghi chương trình kiểm tra độc lập / write the standalone verifier an outside auditor runs.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("caunoi_verify.py"), show_default=True
)
def verifier(out: Path) -> None:
    source = verifier_module.__file__
    assert source is not None
    shutil.copyfile(source, out)
    click.echo(f"{out}: python3 {out} EXPORT.jsonl [--key petitions=petitions.pub] (Python 3.11+, cryptography)")


# -- checkpoints, keys -------------------------------------------------------------------------------


@audit.command(help="Ký checkpoint ngay / have each service sign a checkpoint over what it holds now.")
@click.argument("services", nargs=-1)
def checkpoint(services: tuple[str, ...]) -> None:
    ctx = get_ctx()
    names = [s.service for s in _services(services)]

    async def go(c: Client, _: Reader) -> list[dict[str, Any]]:
        return [{"service": n, **await c.admin(n, "audit_checkpoint")} for n in names]

    done = _run(go)
    if ctx.as_json:
        echo_json(done)
        return
    for d in done:
        ranges = ", ".join(f"{r['from_seq']}-{r['to_seq']}" for r in d["sealed"]) or "-"
        click.echo(f"{d['stream']}: {ranges}")


@audit.command(help="Khóa công khai ký checkpoint / the public keys the services sign checkpoints with.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Ghi <dịch vụ>.pub vào đây.")
def keys(out_dir: Path | None) -> None:
    ctx = get_ctx()
    names = [s.service for s in streams()]

    async def go(c: Client, _: Reader) -> list[dict[str, Any]]:
        return [await c.admin(n, "audit_keys") for n in names]

    found = _run(go)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for k in found:
            if k["public_key"]:
                (out_dir / f"{k['service']}.pub").write_text(k["public_key"])
    if ctx.as_json:
        echo_json(found)
        return
    for k in found:
        click.echo(f"{k['service']}: {k['key_id'] or '-'}")
        if k["public_key"] and out_dir is None:
            click.echo(k["public_key"].rstrip())


# -- erasure -----------------------------------------------------------------------------------------


@audit.command(help="Xóa dữ liệu cá nhân của người nêu ý kiến (quản trị) / erase a petitioner's personal data.")
@click.argument("petition")
@click.option("--reason", required=True, help="Lý do, căn cứ (yêu cầu của chủ thể dữ liệu…) / the reason.")
@click.option("--command-id", help="Mã lệnh / idempotency key (re-run to finish an interrupted erasure).")
def erase(petition: str, reason: str, command_id: str | None) -> None:
    ctx = get_ctx()
    payload = {"petition_id": petition, "reason": reason, "command_id": command_id}
    result = send_command("petitions", "erase", {k: x for k, x in payload.items() if x is not None})
    if result is None:
        return
    vi = ctx.lang == "vi"
    click.echo(
        f"{result['petition_id']}: "
        + ("đã xóa dữ liệu cá nhân, khóa đã hủy" if vi else "personal data erased, key destroyed")
        if result["key_destroyed"]
        else f"{result['petition_id']}: "
        + ("đã ghi nhận xóa (không có dữ liệu mã hóa)" if vi else "erasure recorded (nothing was sealed)")
    )
    if result["in_clear"]:
        click.echo(
            f"Lưu ý: {result['in_clear']} sự kiện ghi trước khi dữ liệu cá nhân được mã hóa vẫn chứa họ tên,"
            " số điện thoại ở dạng rõ trong nhật ký bất biến (read model đã xóa; nhật ký không thể sửa)."
            if vi
            else f"Note: {result['in_clear']} event(s) written before personal data were sealed still hold the"
            " name and phone in clear in the immutable log (read models dropped them; the log cannot change)."
        )
