"""The system under test, started the way ``caunoi up`` and the tests start it: nats-server with
the deployment config (JetStream, ``sync_interval: always``) and the installation's bus users,
PostgreSQL from the pgserver wheel, and the petitions service as processes of its two roles
(projections; endpoints, one or more in a queue group), all on free loopback ports in one temp dir.
Also the 3-node cluster from ``deploy/cluster/`` (``caunoi.cli.cluster``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NATS

from caunoi.cli.bus import OPERATOR
from caunoi.cli.cluster import Cluster, start_cluster
from caunoi.cli.embedded import EmbeddedNats, EmbeddedPostgres, free_port, start_nats, start_postgres
from caunoi.cli.installation import Installation
from caunoi.shared.audit import checkpoints
from caunoi.shared.client import Client, Login, RequestFailed, ServiceUnreachable

DATASET = "vn-2025"
SERVICE = "petitions"


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def own_sessions() -> Iterator[None]:
    """Children (nats-server, pg_ctl) in sessions of their own, so a Ctrl-C reaches only the
    benchmark, which then stops everything in order: services, then the servers."""
    real = subprocess.Popen

    class Popen(real):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    subprocess.Popen = Popen  # type: ignore[misc]
    try:
        yield
    finally:
        subprocess.Popen = real  # type: ignore[misc]


@dataclass
class ServiceProc:
    """One process of the petitions service."""

    role: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", f"caunoi.{SERVICE}"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as e:
            return f"<{e}>"


@dataclass
class System:
    """Servers and the petitions service; ``nats_url`` may list a cluster's nodes."""

    root: Path
    installation: Installation
    nats_url: str
    pg: EmbeddedPostgres
    nats_pids: list[int]
    monitor_urls: list[str]
    replicas: int = 1
    services: list[ServiceProc] = field(default_factory=list)
    nats_server: EmbeddedNats | None = None
    cluster: Cluster | None = None

    @property
    def operator(self) -> Login:
        return Login.from_file(self.installation.operator_login)

    @property
    def audit_key(self) -> Path:
        """The service's checkpoint key (``keys/audit/petitions.pem``)."""
        return checkpoints.key_paths(self.installation.keys, SERVICE)[0]

    @property
    def operator_seed(self) -> str:
        return self.installation.bus().seed(OPERATOR)

    async def connect(self, name: str) -> NATS:
        return await nats.connect(
            self.nats_url.split(","), name=name, max_reconnect_attempts=-1, **self.operator.nats_options()
        )

    async def client(self, name: str = "bench", timeout: float = 30.0) -> Client:
        return Client(await self.connect(name), self.operator, timeout)

    def service_env(self, role: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "NATS_URL": self.nats_url,
            "DATABASE_URL": self.pg.url,
            "CAUNOI_DATA_DIR": str(self.installation.data_dir),
            "CAUNOI_STREAM_REPLICAS": str(self.replicas),
            "CAUNOI_ROLE": role,
            **self.installation.service_env(SERVICE),
            **extra,
        }

    async def start_services(self, endpoint_processes: int, ready_within: float = 60.0, **extra: str) -> None:
        """The projections process and ``endpoint_processes`` endpoint processes; waits until each
        answers (at most ``ready_within`` seconds: a projections process catching up with a long
        backlog on a busy machine may answer late)."""
        await self.stop_services()
        roles = ["projections"] + ["endpoints"] * endpoint_processes
        self.services = [
            ServiceProc(role, self.service_env(role, **extra), self.root / "logs" / f"{SERVICE}-{role}-{i}.log")
            for i, role in enumerate(roles)
        ]
        for s in self.services:
            s.start()
        c = await self.client("bench-wait", timeout=2.0)
        try:
            deadline = time.monotonic() + ready_within
            # every endpoint process must answer: pings go round the queue group, so count pids
            answered: set[int] = set()
            while True:
                for s in self.services:
                    if s.proc is not None and s.proc.poll() is not None:
                        raise RuntimeError(f"service {s.role} exited with {s.proc.returncode}:\n{s.tail()}")
                try:
                    await c.admin(SERVICE, "status")
                    ping = await c.query(SERVICE, "ping")
                    answered.add(int(ping["pid"]))
                    if len(answered) >= endpoint_processes:
                        return
                except (ServiceUnreachable, RequestFailed):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the service is not ready after {ready_within:.0f} s:\n"
                        + "\n".join(s.tail() for s in self.services)
                    )
                await asyncio.sleep(0.05)
        finally:
            await c.nc.close()

    async def stop_services(self) -> None:
        for s in self.services:
            await asyncio.to_thread(s.stop)
        self.services = []

    def stop(self) -> None:
        for s in self.services:
            s.stop(5.0)
        for what in (self.cluster, self.nats_server, self.pg):
            if what is not None:
                with contextlib.suppress(Exception):
                    what.stop()


def prepare(root: Path) -> Installation:
    inst = Installation(root / "data")
    inst.prepare()
    return inst


def start_single(root: Path) -> System:
    """One nats-server (deploy/nats/nats-server.conf: ``sync_interval: always``) and PostgreSQL."""
    inst = prepare(root)
    with own_sessions():
        monitor = free_port()
        srv = start_nats(
            root, port=free_port(), monitor_port=monitor, config=inst.nats_config, seed=inst.bus().seed(OPERATOR)
        )
        try:
            pg = start_postgres(root, port=free_port())
        except BaseException:
            srv.stop()
            raise
    inst.ensure_operator(srv.url, DATASET)
    assert srv.monitor_url is not None
    return System(root, inst, srv.url, pg, [srv.pid], [srv.monitor_url], nats_server=srv)


def start_clustered(root: Path, sync_always: bool = True) -> System:
    """The 3 nodes of deploy/cluster/ on loopback (``sync_interval: always``, unless told otherwise
    to measure what it costs), PostgreSQL, streams with 3 replicas."""
    inst = prepare(root)
    with own_sessions():
        cluster = start_cluster(root / "cluster", inst, sync_always=sync_always)
        try:
            pg = start_postgres(root, port=free_port())
        except BaseException:
            cluster.stop()
            raise
    inst.ensure_operator(cluster.url(0), DATASET)
    pids = [n.pid for n in cluster.nodes if n is not None]
    monitors = [cluster.monitor_url(i) for i in range(len(cluster.nodes))]
    return System(root, inst, cluster.nats_url, pg, pids, monitors, replicas=3, cluster=cluster)
