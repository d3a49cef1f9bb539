"""``caunoi up``: the whole system on one machine.

Starts a real nats-server (JetStream, ``sync_interval: always``, the config in deploy/nats/) and a
real PostgreSQL (the ``pgserver`` wheel's binaries) unless ``NATS_URL`` / ``DATABASE_URL`` name
servers to use instead; starts every installed service as its own process; loads the demo data
set on first start; stops everything cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Any

import click

from caunoi.cli import demo
from caunoi.cli.bus import OPERATOR
from caunoi.cli.embedded import start_nats, start_postgres
from caunoi.cli.installation import Installation
from caunoi.cli.runtime import clear_runtime, write_runtime
from caunoi.shared.client import Client, Login, RequestFailed, ServiceUnreachable
from caunoi.shared.settings import Settings


@dataclass
class ServiceProcess:
    name: str  # the service
    module: str
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log_file:
            self.log_file.close()


#: the web application's module: a client of the services (no events, no tables), started after them
WEB_MODULE = "caunoi.web"


def web_installed() -> bool:
    return importlib.util.find_spec(WEB_MODULE) is not None


def wait_http(url: str, proc: ServiceProcess, timeout: float = 60.0) -> None:
    """Until ``url`` answers 200 (the web application is up and connected to NATS)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, ValueError):
            pass
        if proc.proc is not None and proc.proc.poll() is not None:
            raise click.ClickException(f"the web application exited with {proc.proc.returncode}; see {proc.log_path}")
        if time.monotonic() > deadline:
            raise click.ClickException(f"the web application did not answer on {url} within {timeout:.0f}s")
        time.sleep(0.2)


def installed_services() -> list[tuple[str, str]]:
    """(name, module) of every installed service, from the ``caunoi.services`` entry points."""
    out = []
    for ep in entry_points(group="caunoi.services"):
        out.append((ep.name, ep.value.split(":")[0].rsplit(".", 1)[0]))
    return sorted(out)


async def wait_ready(nats_url: str, login: Login, names: list[str], timeout: float = 60.0) -> None:
    """Until every service's processes answer: its projections (the admin status) and its
    endpoints (a ping query)."""
    deadline = time.monotonic() + timeout
    c = await Client.connect(nats_url, login)
    try:
        pending = {(name, kind) for name in names for kind in ("admin", "query")}
        while pending:
            for name, kind in list(pending):
                try:
                    await (c.admin(name, "status") if kind == "admin" else c.query(name, "ping"))
                    pending.discard((name, kind))
                except (ServiceUnreachable, RequestFailed):
                    pass
            if pending:
                if time.monotonic() > deadline:
                    raise click.ClickException(f"services not ready after {timeout:.0f}s: {sorted(pending)}")
                await asyncio.sleep(0.3)
    finally:
        await c.close()


@click.command(help="Chạy toàn bộ hệ thống / run the whole system (embedded servers, all services, demo data).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Thư mục dữ liệu (default .caunoi).")
@click.option(
    "--nats-port", type=int, default=lambda: int(os.environ.get("CAUNOI_NATS_PORT", "4222")), show_default="4222"
)
@click.option(
    "--pg-port", type=int, default=lambda: int(os.environ.get("CAUNOI_PG_PORT", "55432")), show_default="55432"
)
@click.option(
    "--web-port", type=int, default=lambda: int(os.environ.get("CAUNOI_WEB_PORT", "8080")), show_default="8080"
)
@click.option("--no-demo", is_flag=True, help="Không nạp dữ liệu mẫu / skip the demo data set.")
@click.option("--exit-after-start", is_flag=True, hidden=True, help="Start, load demo, print, then stop (for tests).")
def up(
    data_dir: Path | None, nats_port: int, pg_port: int, web_port: int, no_demo: bool, exit_after_start: bool
) -> None:
    if data_dir is not None:
        os.environ["CAUNOI_DATA_DIR"] = str(data_dir)
    settings = Settings()
    endpoint_processes = int(os.environ.get("CAUNOI_ENDPOINT_PROCESSES", "1"))
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    stopping = {"flag": False}

    def on_signal(signum: int, _frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    inst = Installation(data)
    if inst.prepare():
        click.echo(f"• First start: keys, NATS users and the local operator's login under {data}")
    embedded_nats = not os.environ.get("NATS_URL")
    with ExitStack() as stack:
        if not embedded_nats:
            nats_url = settings.nats_url
            click.echo(f"• NATS: external {nats_url}")
        else:
            click.echo(f"• Starting nats-server (JetStream, sync always, bus permissions) on 127.0.0.1:{nats_port} …")
            nats = stack.enter_context(
                start_nats(
                    data,
                    port=nats_port,
                    monitor_port=nats_port + 4000,
                    config=inst.nats_config,
                    seed=inst.bus().seed(OPERATOR),
                )
            )
            nats_url = nats.url
        login = inst.ensure_operator(nats_url, settings.units_dataset, OPERATOR if embedded_nats else None)
        if os.environ.get("DATABASE_URL"):
            db_url = settings.database_url
            click.echo(f"• PostgreSQL: external {db_url}")
        else:
            click.echo(f"• Starting PostgreSQL on 127.0.0.1:{pg_port} …")
            pg = stack.enter_context(start_postgres(data, port=pg_port))
            db_url = pg.url

        env = {**os.environ, "NATS_URL": nats_url, "DATABASE_URL": db_url, "CAUNOI_DATA_DIR": str(data)}
        # each service as two kinds of process: its read models (and admin requests), and the
        # requests (CAUNOI_ENDPOINT_PROCESSES of them in a queue group), so neither waits on the other
        procs = [
            ServiceProcess(
                n,
                m,
                {**env, **inst.service_env(n, embedded_nats), "CAUNOI_ROLE": role},
                data / "logs" / f"{n}{suffix}.log",
            )
            for n, m in installed_services()
            for role, suffix in [("projections", ""), *(("endpoints", f".{i}") for i in range(endpoint_processes))]
        ]
        for p in procs:
            p.start()
        for p in procs:
            stack.callback(p.stop)
        click.echo(f"• Starting services: {', '.join(sorted({p.name for p in procs}))} …")
        asyncio.run(wait_ready(nats_url, login, sorted({p.name for p in procs})))

        # the web application: a client of the services, as the installation's `clients` bus user
        web_url = None
        if web_installed():
            web = ServiceProcess(
                "web",
                WEB_MODULE,
                {**env, **inst.client_env(embedded_nats), "CAUNOI_WEB_PORT": str(web_port)},
                data / "logs" / "web.log",
            )
            web.start()
            stack.callback(web.stop)
            web_url = f"http://127.0.0.1:{web_port}"
            click.echo(f"• Starting the web application on {web_url} …")
            wait_http(f"{web_url}/healthz", web)
            procs.append(web)

        write_runtime(
            {
                "nats_url": nats_url,
                "database_url": db_url,
                "data_dir": str(data),
                "pid": os.getpid(),
                "web_url": web_url,
                "services": {p.log_path.stem: p.proc.pid if p.proc else None for p in procs},
            }
        )
        stack.callback(clear_runtime)

        if not no_demo:
            asyncio.run(demo.load(nats_url, data, login, echo=click.echo))

        click.echo("")
        click.echo("caunoi is running / đang chạy:")
        click.echo(f"  NATS        {nats_url}")
        click.echo(f"  PostgreSQL  {db_url}  (one database per service: caunoi_<service>)")
        click.echo(f"  Data        {data}")
        click.echo(f"  Logs        {data / 'logs'}")
        for p in procs:
            role = p.env.get("CAUNOI_ROLE", "http")
            click.echo(f"  {p.name:<11} {role:<12} pid {p.proc.pid if p.proc else '-'}  log {p.log_path}")
        if web_url:
            click.echo(f"  Web         {web_url}  (log in with a login file, e.g. {inst.operator_login})")
            click.echo(f"  Open311     {web_url}/open311/v2/services.json")
        click.echo("")
        click.echo("Try, in another terminal (after `. .venv/bin/activate`):")
        click.echo("  caunoi status")
        click.echo("  caunoi petitions list")
        click.echo("  caunoi petitions show <ref>")
        click.echo("Ctrl-C stops everything; `make up` again resumes with the same data.")

        while not stopping["flag"] and not exit_after_start:
            time.sleep(0.5)
            for p in procs:
                if p.proc and p.proc.poll() is not None and not stopping["flag"]:
                    p.restarts += 1
                    click.echo(
                        f"! service {p.name} exited with {p.proc.returncode}; restarting ({p.restarts})", err=True
                    )
                    time.sleep(min(10, p.restarts))
                    p.start()
        click.echo("Stopping / đang dừng …")
    click.echo("Stopped cleanly.")
