"""A 3-node NATS JetStream cluster on one machine, on loopback, from the repository's own cluster
configs (``deploy/cluster/``): for the tests and the benchmark, and to try failover locally.

The node files are the ones ``docker-compose.cluster.yml`` runs; only the per-run values differ,
passed as the environment variables ``nats-cluster-common.conf`` references (free ports, a store
directory per node, loopback routes). Each node's config directory holds what a node's
``/etc/nats`` holds in Docker: ``nats-N.conf``, ``nats-cluster-common.conf``, and the
installation's ``permissions.conf`` and ``auth.conf``, so the bus permissions are the real ones::

    with start_cluster(tmp / "cluster", installation) as cluster:
        nc = await nats.connect(servers=cluster.urls, **login.nats_options())
        cluster.kill(0)      # SIGKILL node 1
        cluster.restart(0)   # back, and caught up (its /healthz is ok)

Layout under ``data_dir``::

    conf/                    the node configs (copies), permissions.conf, auth.conf
    nats-N/nats/nats.log     node N's log (appended across runs)
    nats-N/nats/jetstream/   node N's JetStream storage
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import structlog

from caunoi.cli.bus import AUTH_FILE, OPERATOR, PERMISSIONS_FILE
from caunoi.cli.embedded import (
    EmbeddedNats,
    EmbeddedServerError,
    PortTaken,
    accepts_connections,
    free_port,
    spawn_nats,
    wait_nats_ready,
)
from caunoi.cli.installation import Installation

log = structlog.get_logger(__name__)

__all__ = ["NODES", "Cluster", "NodePorts", "cluster_env", "find_cluster_configs", "start_cluster"]

#: nodes of the cluster; every stream has a replica on each (``CAUNOI_STREAM_REPLICAS=3``)
NODES: Final = 3
COMMON_CONF: Final = "nats-cluster-common.conf"
_CLUSTER_RELPATH: Final = Path("deploy") / "cluster"
_SYNC_ALWAYS: Final = re.compile(r"^\s*sync_interval:\s*always\s*\n", re.M)
#: times :func:`start_cluster` starts the nodes, on new ports each time, while one of them exits
#: because a port it was given was taken between :func:`free_port` and its start (another
#: process, a test running beside it, bound it meanwhile)
PORT_ATTEMPTS: Final = 3


def find_cluster_configs() -> Path:
    """``deploy/cluster/`` of the checkout this module runs from."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / _CLUSTER_RELPATH
        if (candidate / COMMON_CONF).is_file():
            return candidate
    raise EmbeddedServerError(f"no {_CLUSTER_RELPATH / COMMON_CONF} above {Path(__file__).parent}")


def server_name(index: int) -> str:
    """The ``server_name`` of node ``index`` (0-based), as its ``nats-N.conf`` sets it."""
    return f"caunoi-nats-{index + 1}"


@dataclass(frozen=True)
class NodePorts:
    client: int
    cluster: int
    monitor: int

    @classmethod
    def free(cls, host: str) -> NodePorts:
        return cls(free_port(host), free_port(host), free_port(host))


def cluster_env(ports: NodePorts, routes: list[str]) -> dict[str, str]:
    """The variables ``nats-cluster-common.conf`` adds to those of ``nats_config_env``."""
    return {"CAUNOI_NATS_CLUSTER_PORT": str(ports.cluster), "CAUNOI_NATS_ROUTES": json.dumps(routes)}


class Cluster:
    """Three nats-server processes forming the JetStream cluster ``caunoi``. Node ``i`` is 0-based
    (``server_name(i)`` is ``caunoi-nats-<i+1>``)."""

    def __init__(self, data_dir: Path, installation: Installation, host: str, timeout: float) -> None:
        self.data_dir, self.installation, self.host = data_dir, installation, host
        self.conf_dir = data_dir / "conf"
        self.ports = [NodePorts.free(host) for _ in range(NODES)]
        self.routes = [f"nats-route://{host}:{p.cluster}" for p in self.ports]
        self.nodes: list[EmbeddedNats | None] = [None] * NODES
        self._starting: set[int] = set()  # nodes started and not yet seen ready
        self._seed = installation.bus().seed(OPERATOR)  # the readiness check connects as the operator
        self._timeout = timeout

    def configure(self, sync_always: bool) -> None:
        """Write the node configs into ``conf_dir``: the repository's files, the installation's
        ``auth.conf`` and ``permissions.conf``."""
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        source = find_cluster_configs()
        for i in range(NODES):
            shutil.copyfile(source / f"nats-{i + 1}.conf", self.conf_dir / f"nats-{i + 1}.conf")
        common = (source / COMMON_CONF).read_text()
        if not sync_always:
            common, n = _SYNC_ALWAYS.subn("", common)
            if n != 1:
                raise EmbeddedServerError(f"{source / COMMON_CONF}: expected one `sync_interval: always`, found {n}")
        (self.conf_dir / COMMON_CONF).write_text(common)
        self._copy_auth()

    def _copy_auth(self) -> None:
        for name in (AUTH_FILE, PERMISSIONS_FILE):
            shutil.copyfile(self.installation.conf_dir / name, self.conf_dir / name)

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (nats-py: ``nats.connect(servers=cluster.urls)``)."""
        return [self.url(i) for i in range(NODES)]

    @property
    def nats_url(self) -> str:
        """The same, comma-separated (the usual form of a server list in one setting)."""
        return ",".join(self.urls)

    def url(self, index: int) -> str:
        return f"nats://{self.host}:{self.ports[index].client}"

    def monitor_url(self, index: int) -> str:
        return f"http://{self.host}:{self.ports[index].monitor}"

    def running(self, index: int) -> bool:
        node = self.nodes[index]
        return node is not None and node.running

    def index_of(self, name: str) -> int:
        """The node whose ``server_name`` is ``name``."""
        return [server_name(i) for i in range(NODES)].index(name)

    def start(self, index: int) -> EmbeddedNats:
        """Start node ``index`` (with its ports of the first start) without waiting for it."""
        if self.running(index):
            raise EmbeddedServerError(f"node {server_name(index)} is already running")
        ports = self.ports[index]
        node = spawn_nats(
            self.data_dir / f"nats-{index + 1}",
            self.conf_dir / f"nats-{index + 1}.conf",
            host=self.host,
            port=ports.client,
            monitor_port=ports.monitor,
            extra_env=cluster_env(ports, self.routes),
        )
        self.nodes[index] = node
        self._starting.add(index)
        return node

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until every running node is healthy (joined, JetStream current) and a meta leader is known.
        A node started since that exits meanwhile raises at once (:class:`PortTaken` when a port
        it was given was taken): the others would wait for it in vain."""
        timeout = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._until_listening(deadline)
        for node in self.nodes:
            if node is not None and node.running:
                wait_nats_ready(node, timeout=max(0.1, deadline - time.monotonic()), seed=self._seed)
        while not self.meta_leader():
            if time.monotonic() > deadline:
                raise EmbeddedServerError(f"no JetStream meta leader after {timeout:g}s")
            time.sleep(0.05)
        self._starting.clear()

    def _until_listening(self, deadline: float) -> None:
        """Until every node started since the last wait takes client connections (a node that
        cannot bind a port exits before); past ``deadline`` the health checks say what is wrong."""
        waiting = sorted(self._starting)
        while waiting:
            for i in waiting:
                node = self.nodes[i]
                if node is not None and not node.running:
                    tail = node.log_tail()
                    error = PortTaken if "address already in use" in tail else EmbeddedServerError
                    raise error(f"node {server_name(i)} exited at its start; {node.log_path}:\n{tail}")
            waiting = [i for i in waiting if not accepts_connections(self.host, self.ports[i].client)]
            if waiting and time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def kill(self, index: int) -> None:
        """SIGKILL node ``index``: no shutdown, no flush (a crash or a power cut of that node)."""
        node = self.nodes[index]
        if node is None or not node.running:
            raise EmbeddedServerError(f"node {server_name(index)} is not running")
        log.info("cluster.kill", node=server_name(index), pid=node.pid)
        self._starting.discard(index)
        os.kill(node.pid, signal.SIGKILL)
        node.stop()  # reaps it, removes its pid file, closes its log

    def restart(self, index: int, timeout: float | None = None) -> None:
        """Start node ``index`` again and wait until it is healthy: its replicas have caught up."""
        node = self.start(index)
        wait_nats_ready(node, timeout=self._timeout if timeout is None else timeout, seed=self._seed)
        self._starting.discard(index)
        log.info("cluster.restarted", node=server_name(index))

    def reload(self) -> None:
        """After NATS users were added to the installation: copy its ``auth.conf`` (and
        ``permissions.conf``) again and make every node reload its configuration (SIGHUP)."""
        self._copy_auth()
        for node in self.nodes:
            if node is not None and node.running:
                os.kill(node.pid, signal.SIGHUP)

    def jsz(self, index: int | None = None) -> dict[str, Any]:
        """``/jsz`` of node ``index``, or of the first running node."""
        i = next(i for i in range(NODES) if self.running(i)) if index is None else index
        with urllib.request.urlopen(f"{self.monitor_url(i)}/jsz", timeout=2.0) as resp:
            body: dict[str, Any] = json.loads(resp.read())
        return body

    def meta_leader(self) -> str | None:
        """The JetStream meta leader's ``server_name``, as a running node sees it (None: none yet)."""
        try:
            leader = self.jsz().get("meta_cluster", {}).get("leader")
        except (OSError, ValueError, StopIteration):
            return None
        return str(leader) if leader else None

    def stop(self) -> None:
        """SIGTERM every node (JetStream flushes), then wait. Idempotent."""
        for node in self.nodes:
            if node is not None:
                node.stop()

    def log_tails(self, lines: int = 20) -> str:
        return "\n".join(
            f"--- {server_name(i)}\n{node.log_tail(lines)}" for i, node in enumerate(self.nodes) if node is not None
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = ["up" if self.running(i) else "down" for i in range(NODES)]
        return f"Cluster(urls={self.urls!r}, nodes={state})"


def start_cluster(
    data_dir: Path,
    installation: Installation,
    *,
    sync_always: bool = True,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
) -> Cluster:
    """Start the three nodes from ``deploy/cluster/`` on ``host`` (free ports) with the bus
    permissions and users of ``installation`` (``prepare()`` it first), and wait until every node
    is healthy and JetStream has a meta leader. Use it as a context manager (stops the nodes).

    ``sync_always=False`` removes ``sync_interval: always`` from this run's copy of the common
    config (JetStream's default, fsync every 2 minutes): only to measure what durability costs.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    for attempt in range(1, PORT_ATTEMPTS):
        try:
            return _start(data_dir, installation, sync_always, host, timeout)
        except PortTaken as e:
            log.warning("cluster.port_taken", attempt=attempt, error=str(e).splitlines()[0], note="new ports")
    return _start(data_dir, installation, sync_always, host, timeout)


def _start(data_dir: Path, installation: Installation, sync_always: bool, host: str, timeout: float) -> Cluster:
    """One try of :func:`start_cluster`, on new free ports."""
    cluster = Cluster(data_dir, installation, host, timeout)
    cluster.configure(sync_always)
    log.info("cluster.start", urls=cluster.urls, sync_always=sync_always)
    try:
        for i in range(NODES):
            cluster.start(i)
        cluster.wait_ready()
    except BaseException:  # including KeyboardInterrupt: leave no process behind
        cluster.stop()
        raise
    log.info("cluster.ready", urls=cluster.urls, meta_leader=cluster.meta_leader())
    return cluster
