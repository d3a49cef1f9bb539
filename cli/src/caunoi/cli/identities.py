"""Identities at the command line: an operator issues, lists and revokes credentials
(``caunoi identities ...``); a clerk logs in once (``caunoi login FILE``); a provincial server's
operator creates the users that may read one area's events (``caunoi bus ...``).

Which login a ``caunoi`` command uses, first found: ``$CAUNOI_LOGIN`` (a login file), the file
``caunoi login`` saved (``~/.config/caunoi/login.json``), the local operator's login that
``caunoi up`` created under the data directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from caunoi.cli.bus import area_filters, installed_services, reload_server
from caunoi.cli.installation import Installation, identities, record_issued
from caunoi.cli.runtime import default_nats_url
from caunoi.shared.client import Login, ServiceUnreachable, connect
from caunoi.shared.clitools import echo_json, get_ctx, table
from caunoi.shared.context import Actor, RequestContext, Role
from caunoi.shared.errors import CommandError
from caunoi.shared.identity import (
    ROLE_VI,
    IdentityIssued,
    IdentityRevoked,
    Revoke,
    Verifier,
    bearer,
    decide_revoke,
    load_public_key,
    registry,
)
from caunoi.shared.recorded import decode_message
from caunoi.shared.settings import Settings
from caunoi.shared.units import UnitTree, UnknownUnit

LOGIN_ENV = "CAUNOI_LOGIN"


def saved_login_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "caunoi" / "login.json"


def current_login(settings: Settings | None = None) -> Login | None:
    for path in (
        Path(os.environ[LOGIN_ENV]) if os.environ.get(LOGIN_ENV) else None,
        saved_login_path(),
        Installation((settings or Settings()).data_dir).operator_login,
    ):
        if path is not None and path.is_file():
            return Login.from_file(path)
    return None


def installation() -> Installation:
    inst = Installation(Settings().data_dir)
    if not inst.signing_key.is_file():
        raise click.ClickException(
            f"không có khóa ký tại {inst.signing_key} (chạy `caunoi up` hoặc `caunoi bus init` trước)"
            f" / no signing key at {inst.signing_key}: run `caunoi up` or `caunoi bus init` first"
        )
    return inst


def operator_login() -> Login:
    login = get_ctx().login
    if login is None or Role.operator.value not in login.roles:
        raise click.ClickException("cần đăng nhập với vai trò quản trị / needs an operator's login")
    return login


def slug(text: str) -> str:
    from caunoi.shared.units import slugify

    return slugify(text) or "x"


# -- login -------------------------------------------------------------------------------------


@click.command(help="Đăng nhập bằng tệp thông tin xác thực / log in once with a login file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def login(file: Path) -> None:
    try:
        found = Login.from_file(file)
    except (ValueError, KeyError, TypeError) as e:
        raise click.ClickException(str(e)) from e
    found.save(saved_login_path())
    click.echo(f"Đã đăng nhập / logged in: {found.name} ({found.unit or 'toàn quốc'}; {', '.join(found.roles)})")
    click.echo(f"  {saved_login_path()}")


@click.command(help="Đăng xuất / forget the saved login.")
def logout() -> None:
    saved_login_path().unlink(missing_ok=True)
    click.echo("Đã đăng xuất / logged out")


@click.command(help="Đang đăng nhập là ai / who caunoi acts as.")
def whoami() -> None:
    found = get_ctx().login
    if found is None:
        raise click.ClickException("chưa đăng nhập / not logged in (caunoi login FILE)")
    data = {"name": found.name, "unit": found.unit, "roles": list(found.roles), "nats_user": found.nats_user}
    if get_ctx().as_json:
        echo_json(data)
        return
    roles = ", ".join(f"{r} ({ROLE_VI.get(Role(r), r)})" for r in found.roles)
    click.echo(f"{found.name}  đơn vị / unit: {found.unit or 'toàn quốc / national'}  vai trò / roles: {roles}")


# -- identities --------------------------------------------------------------------------------


@click.group(name="identities", help="Cấp, liệt kê, thu hồi thông tin xác thực / issue, list, revoke credentials.")
def identities_group() -> None:
    pass


@identities_group.command(name="issue", help="Cấp thông tin xác thực / issue a credential and write its login file.")
@click.option("--name", required=True, help="Họ tên hoặc tên hệ thống / person's or system's name.")
@click.option("--unit", default="", help="Mã đơn vị (trống: toàn quốc, chỉ quản trị, kiểm toán) / unit code.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--id", "subject", help="Mã định danh (mặc định từ tên và đơn vị) / identity id.")
@click.option("--system", is_flag=True, help="Một hệ thống khác, không phải một người / another system.")
@click.option("--days", type=click.FloatRange(0.001, 3650), default=365, show_default=True, help="Hiệu lực (ngày).")
@click.option(
    "--area",
    "areas",
    multiple=True,
    help="Cho hệ thống đọc sự kiện của khu vực này (mã đơn vị) / let the system read this area's events.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Tệp đăng nhập (mặc định <id>.json).")
def issue_cmd(
    name: str,
    unit: str,
    roles: tuple[str, ...],
    subject: str | None,
    system: bool,
    days: float,
    areas: tuple[str, ...],
    out: Path | None,
) -> None:
    inst, by = installation(), operator_login()
    settings = Settings()
    tree = UnitTree.load(settings.units_dataset)
    if unit and unit not in tree:
        raise click.BadParameter(f"không có đơn vị {unit} trong {tree.dataset} / no unit {unit}", param_hint="--unit")
    subject = subject or f"{slug(name)}.{unit or 'vn'}"
    try:
        credential = inst.issue(
            subject=subject, name=name, unit=unit, dataset=tree.dataset, roles=[Role(r) for r in roles],
            system=system, valid_days=days,
        )  # fmt: skip
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    paths = [_area_path(tree, a) for a in areas]
    if set(roles) == {Role.auditor.value}:  # reads every stream, writes nothing
        nats_user = f"au-{slug(subject)}"
        _add_user(inst, nats_user, "auditor", [], requests=False)
    elif paths:  # a system that also reads its area's events
        nats_user = f"sys-{slug(subject)}"
        _add_user(inst, nats_user, "subscriber", paths, requests=True)
    else:  # a NATS user of its own: requests and its own replies only
        nats_user = f"cl-{slug(subject)}"
        _add_user(inst, nats_user, "client", [], requests=False)
    asyncio.run(record_issued(by, _actor(by), credential))
    login_file = out or Path(f"{subject}.json")
    result = inst.login_for(credential, by.nats_url or settings.nats_url, nats_user)
    result = Login(**{**result.__dict__, "areas": tuple(paths)})
    result.save(login_file)
    click.echo(f"Đã cấp / issued {credential.credential_id} cho {name} ({unit or 'toàn quốc'}; {', '.join(roles)})")
    click.echo(f"  hết hạn / expires {credential.expires_at:%Y-%m-%d}; tệp đăng nhập / login file: {login_file}")
    click.echo(f"  người dùng chạy / they run: caunoi login {login_file}")


def _actor(login: Login) -> Actor:
    """Who the login's credential says it is, verified with the installation's public key."""
    if not login.token:
        raise click.ClickException("tệp đăng nhập không có thông tin xác thực / the login has no credential")
    verifier = Verifier(load_public_key(installation().public_key))
    try:
        return verifier.actor(bearer(login.token))
    except CommandError as e:
        raise click.ClickException(e.message_en) from e


async def _history(login: Login) -> list[dict[str, Any]]:
    nc, repo = await identities(login)
    try:
        rows: dict[str, dict[str, Any]] = {}
        seq = 0
        while batch := await repo.store.read(seq + 1, 1000):
            for msg in batch:
                seq = msg.seq
                rec = decode_message(registry, msg)
                ev = rec.event
                if isinstance(ev, IdentityIssued):
                    rows[ev.credential_id] = {
                        "credential_id": ev.credential_id,
                        "id": ev.subject,
                        "name": ev.name,
                        "unit": ev.unit or "-",
                        "roles": ",".join(r.value for r in ev.roles),
                        "issued": rec.envelope.time.strftime("%Y-%m-%d"),
                        "expires": ev.expires_at.strftime("%Y-%m-%d"),
                        "state": "expired" if ev.expires_at < datetime.now(UTC) else "active",
                    }
                elif isinstance(ev, IdentityRevoked) and ev.credential_id in rows:
                    rows[ev.credential_id]["state"] = f"revoked: {ev.reason}"
        return list(rows.values())
    finally:
        await nc.close()


@identities_group.command(name="list", help="Danh sách thông tin xác thực đã cấp / credentials issued.")
def list_cmd() -> None:
    rows = asyncio.run(_history(operator_login()))
    if get_ctx().as_json:
        echo_json(rows)
        return
    cols = [
        ("credential_id", "Mã", "Credential"),
        ("id", "Định danh", "Id"),
        ("name", "Tên", "Name"),
        ("unit", "Đơn vị", "Unit"),
        ("roles", "Vai trò", "Roles"),
        ("expires", "Hết hạn", "Expires"),
        ("state", "Tình trạng", "State"),
    ]
    click.echo(table(rows, cols, get_ctx().lang))


@identities_group.command(name="revoke", help="Thu hồi thông tin xác thực / revoke a credential (services refuse it).")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Lý do / reason.")
def revoke_cmd(credential_id: str, reason: str) -> None:
    by = operator_login()

    async def go() -> None:
        nc, repo = await identities(by)
        try:
            ctx = RequestContext(_actor(by))
            await repo.execute(credential_id, ctx, decide_revoke, Revoke(credential_id, reason), None)
        finally:
            await nc.close()

    try:
        asyncio.run(go())
    except CommandError as e:
        raise click.ClickException(e.message_en if get_ctx().lang == "en" else e.message) from e
    click.echo(f"Đã thu hồi / revoked {credential_id}")


# -- the bus -----------------------------------------------------------------------------------


def _area_path(tree: UnitTree, code: str) -> str:
    try:
        return ".".join(tree.path(code))
    except UnknownUnit as e:
        raise click.BadParameter(f"không có đơn vị {code} / {e}", param_hint="--area") from e


def _add_user(inst: Installation, name: str, kind: str, areas: list[str], requests: bool) -> str:
    """Add a NATS user; when the embedded server runs, reload it and wait until the user is in."""
    bus = inst.bus()
    seed = bus.add(name, kind, areas, requests)
    bus.write(installed_services())
    if reload_server(inst.data_dir / "nats" / "nats-server.pid"):
        url = default_nats_url(get_ctx().login)
        asyncio.run(_wait_admitted(Login(nats_url=url, nats_user=name, nats_seed=seed)))
    return seed


async def _wait_admitted(login: Login, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            nc = await connect(login.nats_url or "", login)
            await nc.close()
            return
        except ServiceUnreachable:
            if time.monotonic() > deadline:
                raise click.ClickException(f"nats-server did not admit the new user {login.nats_user}") from None
            await asyncio.sleep(0.05)


@click.group(name="bus", help="Người dùng NATS và quyền / NATS users and their permissions.")
def bus_group() -> None:
    pass


@bus_group.command(name="init", help="Tạo khóa và cấu hình cho một máy chủ / keys and NATS config for a deployment.")
def bus_init() -> None:
    inst = Installation(Settings().data_dir)
    new = inst.prepare()
    click.echo(("Đã tạo / created" if new else "Đã cập nhật / updated") + f" {inst.data_dir}")
    click.echo(f"  nats-server: {inst.conf_dir}/auth.conf, permissions.conf (include them beside nats-server.conf)")
    click.echo(f"  services: {inst.nats_keys}/<service>.nk, {inst.public_key}")


@bus_group.command(name="permissions", help="In chính sách quyền (permissions.conf) / print the permission policy.")
@click.option("--write", "target", type=click.Path(dir_okay=False, path_type=Path), help="Ghi vào tệp / write it.")
def bus_permissions(target: Path | None) -> None:
    from caunoi.cli.bus import render_permissions

    text = render_permissions(installed_services())
    if target is None:
        click.echo(text, nl=False)
    else:
        target.write_text(text)
        click.echo(f"wrote {target}")


@bus_group.command(name="subscriber", help="Cho một hệ thống đọc sự kiện của một khu vực / let a system read one area.")
@click.argument("name")
@click.option("--area", "areas", multiple=True, required=True, help="Mã đơn vị (tỉnh, huyện, xã) / unit code.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Tệp kết nối (mặc định <name>.json).")
def bus_subscriber(name: str, areas: tuple[str, ...], out: Path | None) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", name):
        raise click.BadParameter("chữ thường, số, gạch ngang / lower-case letters, digits, dashes", param_hint="NAME")
    inst = installation()
    tree = UnitTree.load(Settings().units_dataset)
    paths = [_area_path(tree, a) for a in areas]
    user = f"sub-{name}"
    seed = _add_user(inst, user, "subscriber", paths, requests=False)
    current = get_ctx().login
    url = (current.nats_url if current else None) or Settings().nats_url
    target = out or Path(f"{name}.json")
    Login(nats_url=url, nats_user=user, nats_seed=seed, name=name, areas=tuple(paths)).save(target)
    streams = [s.stream for s in installed_services()]
    click.echo(f"Người dùng / user {user} đọc được / may read:")
    for stream in streams:
        for path in paths:
            click.echo(f"  {stream.name:<12} {'  '.join(area_filters(stream, path))}")
    click.echo(f"Tệp kết nối / connection file: {target} (NATS {url}, nkey seed, inbox prefix _INBOX_{user})")
    click.echo("Example: python examples/follow_an_area.py --login " + str(target))
