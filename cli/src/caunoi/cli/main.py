"""``caunoi``: one command-line tool. Services contribute their own sub-command groups through the
``caunoi.cli`` entry-point group, so installing a service adds its commands."""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from caunoi.cli import identities, ops, up
from caunoi.cli.audit import audit
from caunoi.cli.identities import current_login
from caunoi.cli.runtime import default_nats_url
from caunoi.shared.clitools import Ctx


@click.group(
    help="caunoi (cầu nối): đối thoại với nhân dân / citizen dialogue, petitions and reports.\n\n"
    "Start everything with `caunoi up`; in another terminal try `caunoi petitions list`."
)
@click.option("--nats-url", envvar="NATS_URL", default=None, help="NATS server (default: the one `caunoi up` started).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--lang", type=click.Choice(["vi", "en"]), envvar="CAUNOI_LANG", default="vi", show_default=True)
@click.pass_context
def cli(ctx: click.Context, nats_url: str | None, as_json: bool, lang: str) -> None:
    login = current_login()
    ctx.obj = Ctx(nats_url or default_nats_url(login), as_json, lang, login)


cli.add_command(up.up)
cli.add_command(ops.status)
cli.add_command(ops.projections)
cli.add_command(ops.units)
cli.add_command(identities.login)
cli.add_command(identities.logout)
cli.add_command(identities.whoami)
cli.add_command(identities.identities_group)
cli.add_command(identities.bus_group)
cli.add_command(audit)

for ep in entry_points(group="caunoi.cli"):
    cli.add_command(ep.load(), name=ep.name)


def main() -> None:
    cli(prog_name="caunoi")


if __name__ == "__main__":
    main()
