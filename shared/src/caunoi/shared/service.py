"""One service process: its wiring (endpoints, read models, dependencies) and its life (connect,
provision, serve, stop).

A service's ``bootstrap.py`` describes itself as a :class:`Service` and says how to build its
handlers' dependencies from the :class:`Resources` a started service holds; the kernel does the
rest, the same for every service::

    service = Service(STREAM, registry, ENDPOINTS, make_deps, read_models=[...])
    service.main()   # python -m caunoi.petitions
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import nats
import structlog
import uvloop
from faststream import FastStream
from faststream.nats import NatsBroker
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from pydantic import Field

from caunoi.shared import logging as clog
from caunoi.shared.audit import checkpoints
from caunoi.shared.audit.replay import AUDIT_ENDPOINTS
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import Duty, DutyRunner
from caunoi.shared.endpoints import Edge, Endpoint, Request, admin, dispatch, query
from caunoi.shared.errors import NotFound
from caunoi.shared.events import EventRegistry
from caunoi.shared.eventstore import EventStore, StoreError, StreamSpec
from caunoi.shared.identity import IDENTITIES_STREAM, RevocationWatcher, Verifier, load_public_key
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.partitions import Partitioning
from caunoi.shared.projection import BulkReader, Pool, Projection, ProjectionRunner, read_model_pool
from caunoi.shared.reactor import Reactor
from caunoi.shared.settings import Settings, database_url_with, inbox_prefix
from caunoi.shared.snapshots import PgSnapshots, SnapshotStore, all_written
from caunoi.shared.streamread import read_stream
from caunoi.shared.units import UnitTree
from caunoi.shared.vault import PgVault, Vault

log = structlog.get_logger(__name__)

D = TypeVar("D")


@dataclass(frozen=True)
class ReadModel:
    """A read model this service keeps, from its own stream or (read only) another service's."""

    projection: Projection
    #: another service's stream; None: this service's own
    stream: StreamSpec | None = None
    #: the registry that decodes that stream's events; None: this service's own
    registry: EventRegistry | None = None
    subject_filter: str | None = None


class Worker(Protocol):
    """Background work a service runs beside its read models (e.g. notify's delivery of notices):
    started by the process that keeps the read models, stopped with it."""

    name: str

    async def run(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> dict[str, Any]: ...


@dataclass
class Resources:
    """What a started service holds. ``make_deps`` builds the handlers' dependencies from it."""

    settings: Settings
    nc: NATS
    store: EventStore
    pool: Pool
    units: UnitTree
    #: the personal-data key store, for a service that may decrypt personal data (``vault=True``)
    vault: Vault | None = None
    #: aggregate snapshots, in the service's database (for kinds with a ``snapshot_version``)
    snapshots: SnapshotStore | None = None


class Service(Generic[D]):
    def __init__(
        self,
        stream: StreamSpec,
        registry: EventRegistry,
        endpoints: Sequence[Endpoint[D]],
        make_deps: Callable[[Resources], D],
        read_models: Sequence[ReadModel] = (),
        settings: Settings | None = None,
        duties: Sequence[Duty[D]] = (),
        workers: Sequence[Callable[[D, Resources], Worker]] = (),
        vault: bool = False,
    ) -> None:
        self.name = stream.service
        self.stream = stream
        self.registry = registry
        self.endpoints: list[Endpoint[Any]] = [*endpoints, *KERNEL_ENDPOINTS]
        self.make_deps = make_deps
        self.read_models = list(read_models)
        self.duties = list(duties)
        #: how to make each background worker from the dependencies and resources
        self.make_workers = list(workers)
        self.workers: list[Worker] = []
        #: whether this service seals and opens personal data (it is given the vault's master key)
        self.uses_vault = vault
        #: signs checkpoints over this service's stream (None without a key)
        self.checkpointer: checkpoints.Checkpointer | None = None
        self.settings = settings or Settings()
        self.runners: dict[str, ProjectionRunner] = {}
        self.duty_runner: DutyRunner[D] | None = None
        self.started_at = time.time()
        self._tasks: list[asyncio.Task[None]] = []
        self._resources: Resources | None = None
        self._deps: D | None = None
        self._edge: Edge | None = None
        self._watcher: RevocationWatcher | None = None
        self._requests: RequestServer | None = None
        self._own_connection = True

    @property
    def resources(self) -> Resources:
        if self._resources is None:
            raise RuntimeError(f"service {self.name} is not started")
        return self._resources

    @property
    def deps(self) -> D:
        if self._deps is None:
            raise RuntimeError(f"service {self.name} is not started")
        return self._deps

    @property
    def edge(self) -> Edge:
        if self._edge is None:
            raise RuntimeError(f"service {self.name} is not started")
        return self._edge

    async def handle(self, ep: Endpoint[Any], raw: bytes, headers: dict[str, str] | None = None) -> bytes:
        """One request to one endpoint, as the NATS subscriber passes it on."""
        deps: Any = self if ep in _KERNEL else self.deps
        return await dispatch(self.edge, ep, deps, raw, headers)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, nc: NATS | None = None) -> None:
        """Connect (unless given a connection), provision, set up read models. Called before
        endpoints are served."""
        s = self.settings
        verifier = Verifier(load_public_key(s.public_key_file()))
        self._own_connection = nc is None
        if nc is None:
            nc = await nats.connect(
                s.nats_servers(), name=f"caunoi-{self.name}", max_reconnect_attempts=-1, **s.nats_options()
            )
        self._watcher = RevocationWatcher(
            nc, JetStreamEventStore(nc, IDENTITIES_STREAM, timeout=s.store_timeout), verifier
        )
        with contextlib.suppress(StoreError):  # no identity revoked yet: the stream may not exist
            await self._watcher.catch_up()
        self._edge = Edge(self.name, verifier, s.max_request_bytes, settle=self.caught_up if s.query_settle else None)
        self.stream = replace(self.stream, replicas=s.stream_replicas)
        await provision_stream(nc, self.stream)
        store = JetStreamEventStore(nc, self.stream, timeout=s.store_timeout, retries=s.store_retries)
        await ensure_database(s.database_url, f"caunoi_{self.name}")
        pool = await read_model_pool(s.database_for(self.name), s.db_pool_size)
        vault = await PgVault.connect(s.database_url, s.vault_key_file()) if self.uses_vault else None
        snapshots = PgSnapshots(pool)
        await snapshots.ensure()
        self._resources = Resources(s, nc, store, pool, UnitTree.load(s.units_dataset), vault, snapshots)
        for rm in self.read_models:
            followed = store if rm.stream is None else JetStreamEventStore(nc, rm.stream, timeout=s.store_timeout)
            runner = ProjectionRunner(
                pool,
                nc,
                followed,
                rm.registry or self.registry,
                rm.projection,
                subject_filter=rm.subject_filter,
                batch=s.projection_batch,
                max_attempts=s.projection_max_attempts,
                base_backoff=s.projection_backoff,
                halted_retry_every=s.projection_halted_retry,
                poll_every=s.projection_poll,
                gather=s.projection_gather,
                bulk_batch=s.projection_bulk_batch,
                bulk_reader=self.bulk_reader(nc),
                partitioning=self.partitioning(),
            )
            await runner.setup()
            self.runners[rm.projection.name] = runner
        self._deps = self.make_deps(self._resources)
        for rm in self.read_models:
            if isinstance(rm.projection, Reactor):
                rm.projection.bind(self._resources)
        self.workers = [make(self._deps, self._resources) for make in self.make_workers]
        self.checkpointer = checkpoints.for_service(nc, store, s.audit_key_file(self.name), s.audit_checkpoint_events)
        duties: list[Duty[Any]] = [*self.duties]
        if self.checkpointer is not None:
            duties.append(checkpoints.CheckpointDuty(self.checkpointer))
        if duties:
            self.duty_runner = DutyRunner(self.name, duties, self._deps, every=s.duty_interval)

    def bulk_reader(self, nc: NATS) -> BulkReader:
        """How this process's projections read a long backlog (a rebuild, a runner far behind):
        :func:`caunoi.shared.streamread.read_stream`, as the service's replay user
        (:func:`caunoi.shared.settings.replay_user`; its own user if that has no seed here), from
        the server the connection is on now (any node of a cluster has the whole stream)."""
        s = self.settings
        replay = s.replay_login()
        seed_file: Path | None
        if replay is not None:  # the service's replay user: cheaper for nats-server to serve
            user, seed_file = replay
        else:
            user, seed_file = s.nats_user, s.nkey_file()
            if user:
                log.warning("service.no_replay_user", note="bulk reads connect as the service's user: slower")
        seed = seed_file.read_text().strip() if user and seed_file is not None else None
        prefix = inbox_prefix(user) if user else "_INBOX"

        def read(stream: str, start: int, subject_filter: str | None, batch: int) -> Any:
            url = nc.connected_url.geturl() if nc.connected_url else s.nats_servers()[0]
            return read_stream(
                url,
                stream,
                start,
                subject_filter=subject_filter,
                batch=batch,
                nkey_seed=seed,
                inbox_prefix=prefix,
                timeout=s.store_timeout,
                name=f"caunoi-{self.name}-replay",
            )

        return read

    def partitioning(self) -> Partitioning:
        """How this service's partitionable read models are rebuilt over several processes."""
        s = self.settings
        return Partitioning(
            processes=s.projection_processes or min(os.cpu_count() or 1, 4),
            database_url=s.database_for(self.name),
            min_events=s.projection_partition_min,
            group=s.projection_bulk_batch,
        )

    def serves(self, ep: Endpoint[Any]) -> bool:
        """Whether this process's role answers ``ep``: the projections role answers the admin
        requests (it holds the runners), the endpoints role commands and queries."""
        role = self.settings.role
        return role == "all" or (ep.kind == "admin") == (role == "projections")

    def start_background(self) -> None:
        """Follow the revoked credentials, and (unless another process does) keep the read models
        and record what falls due."""
        if self._watcher is not None:
            self._tasks.append(asyncio.create_task(self._watcher.run(), name="identities"))
        if self.settings.role == "endpoints":
            return  # the read models' tables exist (start set them up); another process fills them
        for runner in self.runners.values():
            self._tasks.append(asyncio.create_task(runner.run(), name=f"projection:{runner.projection.name}"))
        if self.duty_runner is not None:
            self._tasks.append(asyncio.create_task(self.duty_runner.run(), name="duties"))
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(worker.run(), name=f"worker:{worker.name}"))

    async def stop(self) -> None:
        if self._requests is not None:
            await self._requests.stop()
        for runner in self.runners.values():
            runner.stop()
        if self.duty_runner is not None:
            self.duty_runner.stop()
        for worker in self.workers:
            worker.stop()
        if self._watcher is not None:
            self._watcher.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._resources is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5.0):  # the snapshots the last commands kept
                await all_written()
        with contextlib.suppress(Exception):
            await self._resources.pool.close()
        if self._resources.vault is not None:
            with contextlib.suppress(Exception):
                await self._resources.vault.close()
        if not self._own_connection:
            return  # FastStream's broker closes its connection
        # NATS may already be gone (Ctrl-C reached it first): never hang on the way out.
        try:
            async with asyncio.timeout(5.0):  # (not wait_for: caunoi.shared.aio)
                await self._resources.nc.drain()
        except Exception:  # noqa: BLE001
            with contextlib.suppress(Exception):
                await self._resources.nc.close()

    async def status(self) -> dict[str, Any]:
        own = await self.resources.store.state()
        projections = []
        for r in self.runners.values():
            parked = [p for p in await r.parked() if p["resolved_at"] is None]
            last = own.last_seq if r.store is self.resources.store else await r.store.last_seq()
            projections.append(
                {
                    "name": r.projection.name,
                    "stream": r.store.stream,
                    "position": r.status.position,
                    "lag": max(0, last - r.status.position),
                    "halted_at": r.status.halted_at,
                    "last_error": r.status.last_error,
                    "rebuild": r.status.rebuild.to_json() if r.status.rebuild is not None else None,
                    "parked": len(parked),
                    "junk": len(await r.junk()),
                }
            )
        return {
            "service": self.name,
            "uptime_s": round(time.time() - self.started_at, 1),
            "stream": {
                "name": self.stream.name,
                "messages": own.messages,
                "bytes": own.bytes,
                "last_seq": own.last_seq,
                "subjects": own.subjects,
            },
            "projections": projections,
            "duties": None
            if self.duty_runner is None
            else {
                "names": [d.name for d in self.duties],
                "ticks": self.duty_runner.stats.ticks,
                "recorded": self.duty_runner.stats.recorded,
                "last_tick": self.duty_runner.stats.last_tick.isoformat() if self.duty_runner.stats.last_tick else None,
                "last_error": self.duty_runner.stats.last_error,
            },
            "workers": {w.name: w.status() for w in self.workers} if self.settings.role != "endpoints" else {},
            "audit": None
            if self.checkpointer is None
            else {"key_id": self.checkpointer.signer.key_id, "checkpoints_made": self.checkpointer.made},
        }

    async def caught_up(self) -> None:
        """Until every read model of this service has applied what its stream held when this was
        called, for at most ``CAUNOI_QUERY_SETTLE`` seconds: a query then sees every command
        acknowledged before it arrived (the clerk's list shows the petition just raised), in any
        process of the service. A read model halted on a parked event is not waited for. The
        positions are read from the database, since another process may keep the read models."""
        runners = list(self.runners.values())
        if not runners:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.query_settle
        tips = {store.stream: await store.last_seq() for store in {r.store.stream: r.store for r in runners}.values()}
        positions = " UNION ALL ".join(
            f"SELECT '{r.projection.name}' AS name, position FROM \"{r.schema}\".checkpoint" for r in runners
        )
        pause = 0.002
        while True:
            async with self.resources.pool.acquire() as conn:
                at = {row["name"]: row["position"] for row in await conn.fetch(positions)}
                halted = {
                    row["projection"]
                    for row in await conn.fetch("SELECT projection FROM projection_parked WHERE resolved_at IS NULL")
                }
            behind = [
                r for r in runners if at[r.projection.name] < tips[r.store.stream] and r.projection.name not in halted
            ]
            if not behind or loop.time() >= deadline:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def runner_for(self, name: str | None) -> ProjectionRunner:
        """By name; without one, the service's only read model or the one named after it."""
        if name is None:
            name = next(iter(self.runners)) if len(self.runners) == 1 else self.name
        if name not in self.runners:
            raise NotFound(
                f"Không có read model '{name}'",
                message_en=f"no read model '{name}'",
                field="projection",
                details={"known": list(self.runners)},
            )
        return self.runners[name]

    # -- the process ---------------------------------------------------------------------------

    def app(self) -> FastStream:
        """The FastStream application: it runs the process (startup and shutdown hooks, signals)
        and holds the NATS connection. Requests are served on that connection by
        :class:`RequestServer`, not by FastStream subscribers, whose per-message machinery cost
        about 250 µs of CPU per request here (bench/RESULTS.md)."""
        clog.configure(self.name, self.settings.log_level, self.settings.log_format)
        broker = NatsBroker(
            self.settings.nats_servers(),
            max_reconnect_attempts=-1,
            logger=None,
            apply_types=False,
            name=f"caunoi-{self.name}-{self.settings.role}",
            **self.settings.nats_options(),
        )
        app = FastStream(broker, logger=None)

        @app.after_startup
        async def _start() -> None:
            await self.start(broker.connection)
            await self.serve()

        @app.on_shutdown
        async def _stop() -> None:
            await self.stop()

        return app

    async def serve(self) -> None:
        """Answer this role's requests and start the background work."""
        served = [e for e in self.endpoints if self.serves(e)]
        self._requests = RequestServer(self.resources.nc, self.name, self.handle, self.settings.command_workers)
        await self._requests.start(served)
        self.start_background()
        # What start-up made (modules, the unit tree, the models' schemas: ~80,000 objects) lives
        # as long as the process; frozen, the collector's full passes no longer walk it (a full
        # pass over it alone took 30-40 ms on the bench machine, holding every request meanwhile).
        gc.collect()
        gc.freeze()
        log.info("service.ready", role=self.settings.role, endpoints=[e.subject(self.name) for e in served])

    def main(self) -> None:
        """Run the service until SIGINT/SIGTERM (``python -m caunoi.<service>``), on uvloop."""
        uvloop.run(self.app().run())


Handle = Callable[[Endpoint[Any], bytes, dict[str, str]], Awaitable[bytes]]


class RequestServer:
    """Core NATS request/reply for a set of endpoints: one subscription per subject in the
    service's queue group (so several processes share the requests), each request handled in its
    own task, at most ``workers`` at once. A service may publish to any reply subject a request
    names (``allow_responses``), so a request naming a stream subject could make it store its
    reply as an event: only inboxes get replies."""

    def __init__(
        self,
        nc: NATS,
        queue: str,
        handle: Callable[[Endpoint[Any], bytes, dict[str, str]], Awaitable[bytes]],
        workers: int,
    ) -> None:
        self.nc = nc
        self.queue = queue
        self.handle = handle
        self._slots = asyncio.Semaphore(workers)
        self._subs: list[Any] = []
        self._running: set[asyncio.Task[None]] = set()

    async def start(self, endpoints: Sequence[Endpoint[Any]]) -> None:
        for ep in endpoints:
            self._subs.append(await self.nc.subscribe(ep.subject(self.queue), queue=self.queue, cb=self._receiver(ep)))

    def _receiver(self, ep: Endpoint[Any]) -> Callable[[Msg], Awaitable[None]]:
        async def receive(msg: Msg) -> None:
            await self._slots.acquire()  # a full house holds the subscription back: backpressure
            task = asyncio.get_running_loop().create_task(self._answer(ep, msg))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

        return receive

    async def _answer(self, ep: Endpoint[Any], msg: Msg) -> None:
        try:
            reply = await self.handle(ep, msg.data, msg.headers or {})
            if msg.reply.startswith("_INBOX"):
                await self.nc.publish(msg.reply, reply)
        finally:
            self._slots.release()

    async def stop(self, timeout: float = 10.0) -> None:
        """No new requests; let those under way finish (for at most ``timeout`` seconds)."""
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)


# -- admin endpoints (every service has them) ------------------------------------------------------


class ProjectionArg(Request):
    projection: str | None = Field(default=None, max_length=100)


class SkipArg(Request):
    projection: str | None = Field(default=None, max_length=100)
    seq: int = Field(ge=1)
    operator: str = Field(min_length=1, max_length=200)


async def admin_status(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    return await service.status()


async def admin_rebuild(a: ProjectionArg, ctx: RequestContext, service: Service[Any]) -> Any:
    """The read model rebuilt and swapped in: its position, and how long it took (in all, and
    loading the events and building the indexes)."""
    r = service.runner_for(a.projection)
    started = time.monotonic()
    position = await r.rebuild()
    done: dict[str, Any] = {
        "projection": r.projection.name,
        "position": position,
        "seconds": round(time.monotonic() - started, 2),
    }
    if r.last_replay is not None:
        done |= {"load_seconds": r.last_replay.load, "index_seconds": r.last_replay.indexes}
    return done


async def admin_parked(a: ProjectionArg, ctx: RequestContext, service: Service[Any]) -> Any:
    out = []
    for r in service.runners.values() if a.projection is None else [service.runner_for(a.projection)]:
        out.extend(await r.parked())
    return out


async def admin_skip(a: SkipArg, ctx: RequestContext, service: Service[Any]) -> Any:
    return {"skipped": await service.runner_for(a.projection).skip(a.seq, a.operator)}


async def admin_duties(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    """Record what is due now instead of at the next tick."""
    if service.duty_runner is None:
        return {"recorded": []}
    return {"recorded": await service.duty_runner.tick()}


async def ping(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    """Which process answers (``caunoi up`` waits for every role to answer)."""
    return {"service": service.name, "role": service.settings.role, "pid": os.getpid()}


async def whoami(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    """Who the request's credential proves, as this service verified it (revocations included):
    how a client that holds a credential for someone (the web application) learns who that is."""
    actor = ctx.actor
    return {
        "id": actor.id,
        "name": actor.name,
        "unit": actor.unit,
        "dataset": actor.dataset,
        "roles": sorted(actor.roles),
        "credential": actor.credential,
    }


ADMIN_ENDPOINTS: list[Endpoint[Any]] = [
    admin("status", Request, admin_status, "Service, stream and projection status"),
    admin("rebuild", ProjectionArg, admin_rebuild, "Rebuild a read model from sequence 1 (shadow, then swap)"),
    admin("parked", ProjectionArg, admin_parked, "Events a projection could not apply"),
    admin("skip", SkipArg, admin_skip, "Skip a parked event (recorded)"),
    admin("duties", Request, admin_duties, "Record what fell due now (deadlines, reminders) without waiting"),
]
#: every service has them: the admin and audit requests, a ping and who the credential proves
KERNEL_ENDPOINTS: list[Endpoint[Any]] = [
    *ADMIN_ENDPOINTS,
    *AUDIT_ENDPOINTS,
    # (neither reads a read model: they answer at once, also while the read models catch up)
    query("ping", Request, ping, "Which process answers", reads_models=False),
    query("whoami", Request, whoami, "Who the request's credential proves (verified, not revoked)", reads_models=False),
]
_KERNEL = frozenset(KERNEL_ENDPOINTS)


async def ensure_database(server_url: str, dbname: str) -> None:
    """Create the service's database on first start (concurrent starters are fine)."""
    conn = await asyncpg.connect(database_url_with(server_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await conn.close()
