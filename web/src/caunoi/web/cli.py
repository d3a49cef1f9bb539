"""``caunoi web ...``: the web application's operator commands. ``open311-key issue`` gives a
client system (a city portal, a hotline) its Open311 API key: a kernel identity of role
``service`` issued for the system (recorded in the IDENTITIES stream like any other), and a key
that stands for it in the web application's key file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import click

from caunoi.cli.identities import installation, operator_login, revoke_cmd, slug
from caunoi.cli.installation import record_issued
from caunoi.shared.clitools import echo_json, get_ctx, table
from caunoi.shared.context import Role
from caunoi.shared.identity import Verifier, load_public_key
from caunoi.shared.settings import Settings
from caunoi.shared.units import UnitTree
from caunoi.web.open311.keys import ApiKey, KeyStore, digest, new_key
from caunoi.web.settings import WebSettings


def key_store() -> KeyStore:
    return KeyStore(WebSettings().open311_keys_path(Settings().data_dir))


@click.group(name="web", help="Ứng dụng web / the web application: Open311 keys, its OpenAPI document.")
def group() -> None:
    pass


@group.group(name="open311-key", help="Khóa Open311 của các hệ thống khác / other systems' Open311 API keys.")
def keys_group() -> None:
    pass


@keys_group.command(name="issue", help="Cấp khóa Open311 cho một hệ thống / issue a system's Open311 API key.")
@click.option("--name", required=True, help="Tên hệ thống / the system's name.")
@click.option("--unit", required=True, help="Đơn vị hệ thống thay mặt (tỉnh hoặc xã) / the unit it acts for.")
@click.option("--days", type=click.FloatRange(1, 3650), default=365, show_default=True, help="Hiệu lực (ngày).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Ghi khóa vào tệp (0600) / write the key.")
def issue_key(name: str, unit: str, days: float, out: Path | None) -> None:
    inst, by = installation(), operator_login()
    tree = UnitTree.load(Settings().units_dataset)
    if unit not in tree:
        raise click.BadParameter(f"không có đơn vị {unit} trong {tree.dataset} / no unit {unit}", param_hint="--unit")
    key_id, api_key = new_key()
    credential = inst.issue(
        subject=f"open311-{slug(name)}-{key_id}.{unit}", name=name, unit=unit, dataset=tree.dataset,
        roles=[Role.service], system=True, valid_days=days,
    )  # fmt: skip
    operator = Verifier(load_public_key(inst.public_key)).actor(by.headers())
    asyncio.run(record_issued(by, operator, credential))
    now = datetime.now(UTC)
    key_store().add(
        ApiKey(key_id, digest(api_key), name, unit, credential.credential_id, credential.token,
               now.strftime("%Y-%m-%d"), credential.expires_at.strftime("%Y-%m-%d"))
    )  # fmt: skip
    if out is not None:
        from caunoi.shared.identity import write_private

        write_private(out, (api_key + "\n").encode())
    if get_ctx().as_json:
        echo_json({"key_id": key_id, "api_key": api_key, "credential_id": credential.credential_id, "unit": unit})
        return
    click.echo(f"Đã cấp khóa Open311 / issued Open311 key {key_id} cho {name} ({unit}; vai trò service)")
    click.echo(f"  api_key: {api_key}")
    click.echo("  (chỉ hiển thị một lần / shown once" + (f"; also written to {out})" if out else ")"))


@keys_group.command(name="list", help="Các khóa Open311 đã cấp / Open311 keys issued.")
def list_keys() -> None:
    rows = [
        {"key_id": k.key_id, "name": k.name, "unit": k.unit, "credential_id": k.credential_id,
         "issued": k.issued, "expires": k.expires}
        for k in key_store().all()
    ]  # fmt: skip
    if get_ctx().as_json:
        echo_json(rows)
        return
    cols = [("key_id", "Mã khóa", "Key"), ("name", "Hệ thống", "System"), ("unit", "Đơn vị", "Unit"),
            ("issued", "Cấp ngày", "Issued"), ("expires", "Hết hạn", "Expires")]  # fmt: skip
    click.echo(table(rows, cols, get_ctx().lang))


@keys_group.command(name="revoke", help="Thu hồi khóa Open311 / revoke a key (and the identity it stands for).")
@click.argument("key_id")
@click.option("--reason", required=True, help="Lý do / reason.")
@click.pass_context
def revoke_key(ctx: click.Context, key_id: str, reason: str) -> None:
    store = key_store()
    found = next((k for k in store.all() if k.key_id == key_id), None)
    if found is None:
        raise click.ClickException(f"không có khóa {key_id} / no key {key_id}")
    ctx.invoke(revoke_cmd, credential_id=found.credential_id, reason=reason)
    store.remove(key_id)
    click.echo(f"Đã thu hồi khóa / revoked key {key_id}")


@group.command(name="openapi", help="In tài liệu OpenAPI của Open311 / print the Open311 OpenAPI document.")
def openapi_cmd() -> None:
    from caunoi.web.open311.openapi import render

    click.echo(render(), nl=False)
