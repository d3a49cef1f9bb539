"""The audit replay: every read model of a service replayed from its log into a shadow schema and
compared, row by row, with the live one (the admin requests ``audit_replay`` and
``audit_progress``, for auditors and operators; ``caunoi audit replay`` drives them).

- **Shadow**: ``<read model>__audit``, filled by a projection runner of its own with the fast bulk
  reader (:mod:`caunoi.shared.streamread`), while the live read model keeps serving. A reactor
  (a read model whose effect is new events) only *remembers* in the shadow: an audit never
  appends anything.
- **From where**: from sequence 1 (the shadow is dropped first), or ``from_seq`` / ``since`` a
  time: the shadow an earlier audit kept (``keep``) is continued, which replays only what was
  appended since (refused when no kept shadow has reached that point). A shadow is dropped after
  the comparison unless kept: it is a copy of read models, which an erasure reaches only at the
  next replay.
- **Compared at one position**: the live loop is held between two batches, caught up, and the
  shadow brought to the same stream position; then the tables of both schemas are compared in
  PostgreSQL by primary key (``to_jsonb`` of each row): equal, differing, missing (the log says
  the row exists, the live read model lacks it), extra (the live read model has a row the log
  does not make); the first few differences are shown column by column.
- **Progress**: a job per service; ``audit_progress`` tells how far it is (events done and to do,
  per read model), so the CLI draws a bar with events/s and the time left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from pydantic import Field

from caunoi.shared.context import RequestContext, Role
from caunoi.shared.endpoints import Endpoint, Request
from caunoi.shared.errors import Conflict, InvalidState, NotFound
from caunoi.shared.eventstore import Message
from caunoi.shared.projection import BulkReader, Conn, Pool, Projection, ProjectionRunner
from caunoi.shared.reactor import Reactor
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.settings import Settings, inbox_prefix
from caunoi.shared.streamread import read_stream

if TYPE_CHECKING:
    from caunoi.shared.service import Service

log = structlog.get_logger(__name__)

AUDIT_ROLES = frozenset({Role.auditor, Role.operator})
SUFFIX = "__audit"
#: differences shown per table
SHOWN = 5
#: tries at holding live and shadow at one position while events keep arriving
ALIGN_ATTEMPTS = 20


# -- the shadow's projection -----------------------------------------------------------------------


class Shadow:
    """A read model's projection under the shadow's name; a reactor only remembers."""

    def __init__(self, inner: Projection) -> None:
        self.inner = inner
        self.name = inner.name + SUFFIX

    async def setup(self, conn: Conn, schema: str) -> None:
        await self.inner.setup(conn, schema)

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        if isinstance(self.inner, Reactor):
            for rec in events:
                await self.inner.remember(conn, schema, rec)
            return
        await self.inner.apply(conn, schema, events)

    async def snapshot(self, conn: Conn, schema: str) -> list[dict[str, Any]]:
        return await self.inner.snapshot(conn, schema)


def bulk_reader(settings: Settings) -> BulkReader:
    """The fast reader, connected as this service's NATS user (direct gets: what it may do)."""
    seed_file = settings.nkey_file()
    seed = seed_file.read_text().strip() if seed_file is not None and seed_file.is_file() else None
    url = settings.nats_servers()[0]

    async def read(stream: str, start: int, subject_filter: str | None, batch: int) -> AsyncIterator[Sequence[Message]]:
        chunks = read_stream(
            url,
            stream,
            start,
            subject_filter=subject_filter,
            batch=batch,
            method="direct",
            nkey_seed=seed,
            inbox_prefix=inbox_prefix(settings.nats_user) if settings.nats_user else "_INBOX",
        )
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                yield [Bulk(m.seq, m.subject, m.data, m.type) for m in chunk]

    return read


@dataclass(frozen=True, slots=True)
class Bulk:
    """A message the bulk reader read, as the projection runner takes it."""

    seq: int
    subject: str
    data: bytes
    type_name: str | None


# -- comparing two schemas ------------------------------------------------------------------------


@dataclass
class TableDiff:
    table: str
    key: list[str]
    equal: int = 0
    differing: int = 0
    missing: int = 0
    extra: int = 0
    #: the first differences: key, what (differing | missing | extra), columns that differ, values
    first: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.differing or self.missing or self.extra)


async def _tables(conn: Conn, schema: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' "
        "AND table_name <> 'checkpoint' ORDER BY table_name",
        schema,
    )
    return [r["table_name"] for r in rows]


async def _primary_key(conn: Conn, schema: str, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
        f'"{schema}"."{table}"',
    )
    return [r["attname"] for r in rows]


def _changed_columns(live: dict[str, Any] | None, log_row: dict[str, Any] | None) -> dict[str, Any]:
    if live is None or log_row is None:
        return {}
    return {
        c: {"live": live.get(c), "log": log_row.get(c)}
        for c in sorted({*live, *log_row})
        if live.get(c) != log_row.get(c)
    }


async def compare(conn: Conn, live: str, shadow: str) -> list[TableDiff]:
    """Every table of ``live`` against the same table in ``shadow`` (the replay of the log)."""
    out = []
    tables = await _tables(conn, live)
    for t in sorted({*tables, *await _tables(conn, shadow)}):
        L, S = f'"{live}"."{t}"', f'"{shadow}"."{t}"'
        if t not in tables:
            n = await conn.fetchval(f"SELECT count(*) FROM {S}")
            out.append(TableDiff(t, [], missing=n, first=[{"what": "missing", "detail": "table absent from live"}]))
            continue
        key = await _primary_key(conn, live, t)
        diff = TableDiff(t, key)
        if key:
            on = " AND ".join(f'l."{k}" = s."{k}"' for k in key)
            lnull, snull = f'l."{key[0]}" IS NULL', f's."{key[0]}" IS NULL'
            base = f"FROM {L} l FULL JOIN {S} s ON {on}"
            row = await conn.fetchrow(
                f"SELECT count(*) FILTER (WHERE NOT {lnull} AND NOT {snull} AND to_jsonb(l) = to_jsonb(s)) AS equal,"
                f" count(*) FILTER (WHERE NOT {lnull} AND NOT {snull} AND to_jsonb(l) <> to_jsonb(s)) AS differing,"
                f" count(*) FILTER (WHERE {lnull}) AS missing, count(*) FILTER (WHERE {snull}) AS extra {base}"
            )
            assert row is not None
            diff.equal, diff.differing, diff.missing, diff.extra = (
                int(row[k]) for k in ("equal", "differing", "missing", "extra")
            )
            if not diff.clean:
                order = ", ".join(f'coalesce(l."{k}", s."{k}")' for k in key)
                rows = await conn.fetch(
                    f"SELECT to_jsonb(l) AS live, to_jsonb(s) AS log {base} "
                    f"WHERE {lnull} OR {snull} OR to_jsonb(l) <> to_jsonb(s) ORDER BY {order} LIMIT {SHOWN}"
                )
                for r in rows:
                    lv = orjson.loads(r["live"]) if r["live"] is not None else None
                    sv = orjson.loads(r["log"]) if r["log"] is not None else None
                    what = "missing" if lv is None else "extra" if sv is None else "differing"
                    one = lv or sv
                    assert one is not None
                    diff.first.append(
                        {"what": what, "key": {k: one.get(k) for k in key}, "columns": _changed_columns(lv, sv)}
                    )
        else:  # no key: compare as multisets of rows
            extra = await conn.fetch(f"SELECT to_jsonb(t) AS r FROM {L} t EXCEPT ALL SELECT to_jsonb(t) FROM {S} t")
            missing = await conn.fetch(f"SELECT to_jsonb(t) AS r FROM {S} t EXCEPT ALL SELECT to_jsonb(t) FROM {L} t")
            total = await conn.fetchval(f"SELECT count(*) FROM {L}")
            diff.extra, diff.missing, diff.equal = len(extra), len(missing), int(total) - len(extra)
            for what, rows in (("missing", missing), ("extra", extra)):
                for r in rows[:SHOWN]:
                    diff.first.append({"what": what, "row": orjson.loads(r["r"])})
        out.append(diff)
    return out


# -- the job --------------------------------------------------------------------------------------


@dataclass
class ModelProgress:
    name: str
    stream: str
    #: the shadow's position when this run started, and the stream position it must reach
    start: int = 0
    target: int = 0
    position: int = 0
    state: str = "waiting"  # waiting | replaying | comparing | done | failed
    seconds: float = 0.0
    tables: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def clean(self) -> bool:
        return self.state == "done" and all(not (t["differing"] or t["missing"] or t["extra"]) for t in self.tables)


@dataclass
class Job:
    id: str
    service: str
    started_at: str
    from_seq: int | None
    models: list[ModelProgress]
    #: continue from the first event stored at or after this time, in each read model's stream
    since: str | None = None
    state: str = "running"  # running | done | failed
    error: str | None = None
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for m, d in zip(self.models, out["models"], strict=True):
            d["clean"] = m.clean
        out["clean"] = self.state == "done" and all(m.clean for m in self.models)
        return out


class Auditor:
    """The replay jobs of one service process (one at a time)."""

    def __init__(self, service: Service[Any]) -> None:
        self.service = service
        self.job: Job | None = None
        self._task: asyncio.Task[None] | None = None
        self._runners: dict[str, ProjectionRunner] = {}

    def start(
        self, projection: str | None, from_seq: int | None, keep: bool = False, since: datetime | None = None
    ) -> Job:
        if self.job is not None and self.job.state == "running":
            return self.job
        runners = list(self.service.runners.values()) if projection is None else [self.service.runner_for(projection)]
        self.job = Job(
            uuid.uuid4().hex[:12],
            self.service.name,
            _now(),
            from_seq,
            [ModelProgress(r.projection.name, r.store.stream) for r in runners],
            since.isoformat() if since else None,
        )
        self._task = asyncio.create_task(self._run(self.job, runners, keep), name=f"audit:{self.job.id}")
        return self.job

    def progress(self) -> Job:
        if self.job is None:
            raise NotFound("Chưa có lần đối chiếu nào", message_en="no audit replay has run in this process")
        for m in self.job.models:
            r = self._runners.get(m.name)
            if r is not None and m.state == "replaying":
                m.position = max(m.position, r.status.position)
        return self.job

    async def _run(self, job: Job, runners: list[ProjectionRunner], keep: bool) -> None:
        try:
            for live, progress in zip(runners, job.models, strict=True):  # the work ahead, for the progress
                progress.target = await live.store.last_seq()
            for live, progress in zip(runners, job.models, strict=True):
                from_seq = job.from_seq
                if job.since is not None:  # a time: a sequence of this read model's own stream
                    from_seq = await first_seq_at(self.service, live.store.stream, datetime.fromisoformat(job.since))
                await self._one(live, progress, from_seq, keep)
            job.state = "done"
        except Exception as e:  # reported to whoever polls
            log.exception("audit.replay_failed", job=job.id)
            job.state, job.error = "failed", f"{type(e).__name__}: {e}"
            for m in job.models:
                if m.state not in ("done", "waiting"):
                    m.state, m.error = "failed", job.error
        job.finished_at = _now()

    async def _one(self, live: ProjectionRunner, progress: ModelProgress, from_seq: int | None, keep: bool) -> None:
        started = time.monotonic()
        service = self.service
        shadow = Shadow(live.projection)
        pool: Pool = live.pool
        runner = ProjectionRunner(
            pool,
            None,
            live.store,
            live.registry,
            shadow,
            subject_filter=live.subject_filter,
            batch=1000,
            max_attempts=3,
            bulk_reader=bulk_reader(service.settings),
            bulk_batch=2000,
            bulk_threshold=1,
        )
        self._runners[progress.name] = runner
        async with pool.acquire() as conn:
            exists = await conn.fetchval(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", shadow.name
            )
            kept = await ProjectionRunner.position(conn, shadow.name) if exists else 0
            if from_seq is None:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{shadow.name}" CASCADE')
                kept = 0
            elif not exists or kept < from_seq - 1:
                raise InvalidState(
                    f"Bản đối chiếu lưu lại của {progress.name} mới đến số {kept}: hãy đối chiếu từ đầu"
                    f" hoặc từ số {kept + 1}",
                    message_en=f"the kept audit shadow of {progress.name} is at {kept}: replay from the start,"
                    f" or from {kept + 1}",
                    field="from_seq",
                )
        await runner.setup()
        progress.start = progress.position = kept
        progress.target = await live.store.last_seq()
        progress.state = "replaying"
        await runner.catch_up()
        progress.state = "comparing"
        async with live.held() as step_live:
            for _ in range(ALIGN_ATTEMPTS):
                await runner.catch_up()
                if runner.status.position == live.status.position:
                    break
                await step_live()  # the shadow read what arrived meanwhile: so does the live one
            else:
                raise Conflict(
                    "Không giữ được read model và bản đối chiếu ở cùng một vị trí (sự kiện mới liên tục đến)",
                    message_en="could not hold the read model and its shadow at one position (events keep arriving)",
                )
            progress.position = progress.target = runner.status.position
            async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
                diffs = await compare(conn, live.schema, shadow.name)
        if not keep:
            async with pool.acquire() as conn:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{shadow.name}" CASCADE')
        progress.tables = [{**asdict(d), "clean": d.clean} for d in diffs]
        progress.seconds = round(time.monotonic() - started, 3)
        progress.state = "done"
        log.info(
            "audit.replayed",
            projection=progress.name,
            position=progress.position,
            clean=progress.clean,
            seconds=progress.seconds,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def first_seq_at(service: Service[Any], stream: str, when: datetime) -> int:
    """The first sequence of ``stream`` stored at or after ``when`` (past the end: the next one)."""
    nc = service.resources.nc
    req = {"start_time": when.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    msg = await nc.request(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(req), timeout=5.0)
    headers = msg.headers or {}
    if "Nats-Sequence" in headers:
        return int(headers["Nats-Sequence"])
    runner = next(r for r in service.runners.values() if r.store.stream == stream)
    return await runner.store.last_seq() + 1


# -- the admin requests ---------------------------------------------------------------------------


class ReplayArg(Request):
    #: one read model (default: every read model of the service)
    projection: str | None = Field(default=None, max_length=100)
    #: continue the kept shadows from this sequence of each read model's stream (default: from the start)
    from_seq: int | None = Field(default=None, ge=1)
    #: or from the first event stored at or after this time
    since: datetime | None = None
    #: keep the shadows after the comparison (for a later replay ``from_seq``)
    keep: bool = False


#: the replay jobs of each service of this process
_AUDITORS: weakref.WeakKeyDictionary[Service[Any], Auditor] = weakref.WeakKeyDictionary()


def auditor_of(service: Service[Any]) -> Auditor:
    found = _AUDITORS.get(service)
    if found is None:
        found = _AUDITORS[service] = Auditor(service)
    return found


async def audit_replay(a: ReplayArg, ctx: RequestContext, service: Service[Any]) -> Any:
    log.info("audit.replay_started", actor=ctx.actor.id, projection=a.projection, from_seq=a.from_seq, since=a.since)
    return auditor_of(service).start(a.projection, a.from_seq, a.keep, a.since).to_dict()


async def audit_progress(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    return auditor_of(service).progress().to_dict()


async def audit_checkpoint(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    """Seal what the stream holds now (the duty does it on its own every few seconds)."""
    cp = service.checkpointer
    if cp is None:
        raise InvalidState(
            f"Dịch vụ {service.name} không có khóa ký checkpoint",
            message_en=f"the {service.name} service has no checkpoint key (keys/audit/{service.name}.pem)",
        )
    from caunoi.shared.duties import system_actor

    sealed = await cp.catch_up(RequestContext(system_actor(service.name), correlation_id=ctx.correlation_id))
    return {"stream": service.stream.name, "sealed": sealed}


async def audit_keys(_: Request, ctx: RequestContext, service: Service[Any]) -> Any:
    """The public key this service signs its checkpoints with (to pin it when verifying)."""
    cp = service.checkpointer
    if cp is None:
        return {"service": service.name, "key_id": None, "public_key": None}
    return {"service": service.name, "key_id": cp.signer.key_id, "public_key": cp.signer.public_pem}


AUDIT_ENDPOINTS: list[Endpoint[Any]] = [
    Endpoint(
        "admin", "audit_replay", ReplayArg, audit_replay, "Replay read models into shadows and compare", AUDIT_ROLES
    ),
    Endpoint(
        "admin", "audit_progress", Request, audit_progress, "How far the audit replay is; its report", AUDIT_ROLES
    ),
    Endpoint(
        "admin", "audit_checkpoint", Request, audit_checkpoint, "Sign a checkpoint over what is stored now", AUDIT_ROLES
    ),
    Endpoint("admin", "audit_keys", Request, audit_keys, "The public key checkpoints are signed with", AUDIT_ROLES),
]
