"""The measured pieces: raw JetStream publishes, the ``raise`` command, the read-model lag, one
aggregate's load, the raw read and COPY limits, the rebuild, the cold start."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from meter import Meter, Usage, measured, percentile, rss_mb
from nats.aio.client import Client as NATS
from system import DATASET, SERVICE, System, free_port, progress

from caunoi.cli.demo import demo_area
from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import PetitionRaised, registry
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared.aggregate import Repository
from caunoi.shared.client import Client, Login
from caunoi.shared.envelope import CONTENT_TYPE, TYPE_HEADER
from caunoi.shared.eventstore import StoredMessage, StreamSpec
from caunoi.shared.ids import PETITION_PREFIX
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.jsapi import parse_error
from caunoi.shared.recorded import decode_message
from caunoi.shared.settings import inbox_prefix
from caunoi.shared.snapshots import PgSnapshots
from caunoi.shared.streamread import _SID_DATA, _Connection, read_stream
from caunoi.shared.units import UnitTree

RAW = StreamSpec("BENCHRAW", "benchraw", "benchmark: raw publishes with the service's headers")
CHANNELS = ["hotline", "letter", "reception", "portal"]
OPINIONS = [
    ("land", "Đề nghị xem xét giải quyết tranh chấp ranh giới đất giữa hai hộ ở cuối thôn."),
    ("roads", "Đường liên thôn xuống cấp, mùa mưa lầy lội, đề nghị bê tông hóa."),
    ("drainage", "Mương thoát nước bị bồi lấp, ngập úng khi mưa lớn, đề nghị nạo vét."),
    ("farm_prices", "Giá chè búp tươi giảm mạnh, đề nghị hỗ trợ liên kết tiêu thụ."),
    ("security", "Tình trạng thanh niên tụ tập, đua xe ban đêm, đề nghị tăng cường tuần tra."),
    ("social_policy", "Đề nghị rà soát lại danh sách hộ cận nghèo năm nay."),
]


@dataclass
class Run:
    """One measured piece: latencies (s), errors, CPU usage."""

    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    ops: int = 0

    @property
    def n(self) -> int:
        return self.ops or len(self.latencies)

    def p(self, q: float) -> float:
        return float(percentile(self.latencies, q) * 1000)

    @property
    def rate(self) -> float:
        return self.n / self.usage.wall if self.usage.wall else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "ops": self.n,
            "p50_ms": round(self.p(50), 3),
            "p99_ms": round(self.p(99), 3),
            "per_s": round(self.rate, 1),
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "cpu_us_per_op": {k: round(v, 1) for k, v in self.usage.per_op_us(self.n + len(self.errors)).items()},
            "load_pct": {k: round(v, 1) for k, v in self.usage.load().items()},
            **self.usage.to_json(),
        }


async def closed_loop(run: Run, total: int, op: Callable[[int], Awaitable[None]], meter: Meter, warmup: int = 0) -> Run:
    """``run.concurrency`` tasks doing ``op`` one after another, ``total`` in all (after ``warmup``
    unmeasured ones)."""
    for i in range(warmup):
        await op(-1 - i)
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            t0 = time.perf_counter()
            try:
                await op(i)
            except Exception as e:  # noqa: BLE001 - counted and reported
                run.errors.append(f"{type(e).__name__}: {e}"[:300])
            else:
                run.latencies.append(time.perf_counter() - t0)

    with measured(meter, run.usage):
        await asyncio.gather(*(worker() for _ in range(run.concurrency)))
    return run


# ------------------------------------------------------------------------------ raw JetStream


def raw_subject(msg_id: str) -> str:
    """A raw publish's subject: a new one each time, in the raw publishes' stream (like a new petition's)."""
    return f"caunoi.benchraw.{msg_id}.08.00691"


def header_block(headers: dict[str, str]) -> bytes:
    """Headers as HPUB sends them."""
    return ("NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def raw_headers(msg_id: str) -> dict[str, str]:
    """What the event store sends with an event of a new aggregate (``raise``'s event)."""
    return {
        "Nats-Msg-Id": msg_id,
        "Content-Type": CONTENT_TYPE,
        TYPE_HEADER: PetitionRaised.type_name(),
        "Nats-Expected-Last-Subject-Sequence": "0",
        "Nats-Expected-Last-Subject-Sequence-Subject": f"caunoi.benchraw.{msg_id}.>",
    }


async def raw_publish_one_by_one(nc: NATS, payload: bytes, total: int, meter: Meter, warmup: int) -> Run:
    """c=1 durable publishes, each to a new subject, each waiting for its ack (nats-py, as the
    service publishes)."""

    async def op(_: int) -> None:
        msg_id = str(uuid.uuid4())
        ack = await nc.request(raw_subject(msg_id), payload, timeout=10.0, headers=raw_headers(msg_id))
        if (err := parse_error(json.loads(ack.data))) is not None:
            raise err

    return await closed_loop(Run("raw publish", 1), total, op, meter, warmup)


async def raw_publish_pipelined(system: System, payload: bytes, window: int, total: int, meter: Meter) -> Run:
    """Durable publishes with the same headers, ``window`` in flight on one connection speaking
    the protocol directly (no client library in the way): what JetStream itself sustains."""
    conn = await _Connection.open(
        system.nats_url.split(",")[0],
        user=None,
        password=None,
        token=None,
        nkey_seed=system.operator_seed,
        tls=None,
        timeout=30.0,
        name="caunoi-bench-raw",
    )
    inbox = f"{inbox_prefix('operator')}.{uuid.uuid4().hex}"
    conn.subscribe(f"{inbox}.*", _SID_DATA)
    reply = f"{inbox}.a".encode()
    run = Run("raw pipelined publish", window)
    sent = acked = 0
    try:
        with measured(meter, run.usage):
            while acked < total:
                while sent < total and sent - acked < window:
                    msg_id = str(uuid.uuid4())
                    hb = header_block(raw_headers(msg_id))
                    conn.write(
                        b"HPUB %s %s %d %d\r\n%s%s\r\n"
                        % (raw_subject(msg_id).encode(), reply, len(hb), len(hb) + len(payload), hb, payload)
                    )
                    sent += 1
                for _, _, hdr, data in await conn.take(30.0):
                    acked += 1
                    if hdr or b'"error"' in data:
                        run.errors.append((hdr + data)[:300].decode(errors="replace"))
    finally:
        conn.close()
    run.ops = acked - len(run.errors)
    return run


# ------------------------------------------------------------------------------ commands


class Raiser:
    """Raises new petitions (a new command id, so a new petition, each time)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        _, communes = demo_area(DATASET)
        self.communes = [u.code for u in communes]
        self.n = 0

    def body(self) -> dict[str, Any]:
        self.n += 1
        i = self.n
        category, text = OPINIONS[i % len(OPINIONS)]
        return {
            "command_id": str(uuid.uuid4()),
            "channel": CHANNELS[i % len(CHANNELS)],
            "kind": "petition" if i % 3 else "feedback",
            "category": category,
            "petitioner": {"name": f"Người dân {i}", "confidential": i % 7 == 0},
            "commune_code": self.communes[i % len(self.communes)],
            "text": text,
        }

    async def raise_one(self) -> str:
        return str((await self._raise())["petition_id"])

    async def raise_seq(self) -> int:
        """A raise; the stream sequence of the event it stored."""
        return int((await self._raise())["events"][0]["seq"])

    async def _raise(self) -> dict[str, Any]:
        res: dict[str, Any] = await self.client.command(SERVICE, "raise", self.body())
        if res.get("replayed") or len(res.get("events", [])) != 1:
            raise RuntimeError(f"unexpected result {res}")
        return res

    async def closed_loop(self, concurrency: int, total: int, meter: Meter, warmup: int = 0) -> Run:
        async def op(_: int) -> None:
            await self.raise_one()

        return await closed_loop(Run("raise", concurrency), total, op, meter, warmup)


_SAMPLE_MESSAGE: list[StoredMessage] = []


async def one_stored_event(nc: NATS, raiser: Raiser) -> StoredMessage:
    """What the service stored for a raise: its bytes are the payload of the raw publishes."""
    pid = await raiser.raise_one()
    store = JetStreamEventStore(nc, STREAM)
    msg = (await store.load(pid))[0]
    _SAMPLE_MESSAGE[:] = [msg]
    return msg


def sample_event() -> bytes:
    """The last stored event :func:`one_stored_event` got (the runs without a service use it)."""
    return _SAMPLE_MESSAGE[0].data


async def settle(client: Client, timeout: float = 300.0) -> None:
    """Until the read models have applied the whole stream, then until the machine is calm
    (:func:`calm`): the next run starts from an idle machine."""
    await caught_up(client, timeout)
    await calm()


#: how often :func:`caught_up` asks, and how often while a rebuild is still reading the stream
POLL, POLL_WHILE_READING = 0.05, 0.5


async def caught_up(client: Client, timeout: float = 300.0) -> bool:
    """Until the service's read models have applied the whole stream; False if they had not
    within ``timeout`` seconds. Asked every 50 ms, but every 0.5 s while a rebuild (a catch-up by
    one) is still reading the stream, which it cannot finish within the next half second: a
    status costs the service, nats-server and PostgreSQL some 2 ms of CPU (400 of them took
    0.8 s, 2026-11-30), which at 20 a second a catch-up on a saturated machine paid for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = await client.admin(SERVICE, "status")
        if all(p["lag"] == 0 for p in st["projections"]):
            return True
        rebuilds = [p["rebuild"] for p in st["projections"] if p.get("rebuild")]
        await asyncio.sleep(POLL_WHILE_READING if any(r["at"] < r["to"] for r in rebuilds) else POLL)
    progress("warning: the read model did not catch up")
    return False


async def drop_read_model(system: System) -> None:
    """Drop the petitions read model (its schema, checkpoint included) while the service is
    stopped: it starts again with the whole stream to apply, as after the fill."""
    conn = await asyncpg.connect(system.pg.url_for(f"caunoi_{SERVICE}"))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{PetitionsProjection.name}" CASCADE')
    finally:
        await conn.close()


async def calm(timeout: float = 20.0) -> None:
    """Until the whole machine used less than 10 % of a core in each of two seconds in a row (or
    ``timeout``): what a run leaves behind (PostgreSQL's autovacuum after thousands of inserts,
    its checkpoints, nats-server's index writes) otherwise lands in the next run. Two runs of the
    same code once measured PostgreSQL at 102 and 351 µs of CPU per command in the lag run."""
    await _until_idle(Meter(), "machine_busy", 0.10, 2, timeout)


async def _until_idle(meter: Meter, group: str, share: float, seconds: int, timeout: float) -> None:
    """Until ``group`` of ``meter`` used less than ``share`` of a core in each of ``seconds``
    seconds in a row, or ``timeout``."""
    deadline = time.monotonic() + timeout
    idle = 0
    while time.monotonic() < deadline and idle < seconds:
        before = meter.snapshot()[group]
        await asyncio.sleep(1.0)
        idle = idle + 1 if meter.snapshot()[group] - before < share else 0


async def lag_at_rate(raiser: Raiser, pg_url: str, rate: float, seconds: float, meter: Meter) -> dict[str, Any]:
    """Open loop: a raise every 1/``rate`` s for ``seconds``; the read model's checkpoint polled
    every ~2 ms (its rows are committed with it, so an event is in the read model once the
    checkpoint has reached its sequence); lag = first seen - reply received (an upper bound by up
    to one poll). The poll costs PostgreSQL the same whatever is outstanding: polling the rows
    themselves (``id = ANY(outstanding)``) cost it up to ~0.3 ms per command, which on 2 cores
    competed with what it measured as the lag grew."""
    reply_at: dict[int, float] = {}
    outstanding: list[int] = []  # a heap of sequences not yet seen
    lags: list[float] = []
    when: list[float] = []  # the reply's time of each lag
    replied_at: list[float] = []  # ... and of each command's round trip
    sending = True
    run = Run("lag", 0)
    conn = await asyncpg.connect(pg_url)
    polls = 0
    gaps: list[float] = []  # between two polls: the probe's own stalls add to what it measures

    async def poller() -> int:
        nonlocal polls
        deadline = None
        last = time.perf_counter()
        while True:
            start = time.perf_counter()
            gaps.append(start - last)
            last = start
            if outstanding:
                position = int(await conn.fetchval("SELECT position FROM petitions.checkpoint WHERE id = 1"))
                polls += 1
                while outstanding and outstanding[0] <= position:
                    seq = heapq.heappop(outstanding)
                    replied = reply_at.pop(seq)
                    lags.append(start - replied)
                    when.append(replied)
            elif not sending:
                return 0
            if not sending:
                deadline = deadline or start + 30
                if start > deadline:
                    return len(outstanding)
            await asyncio.sleep(max(0.0, start + 0.002 - time.perf_counter()))

    async def one() -> None:
        t0 = time.perf_counter()
        try:
            seq = await raiser.raise_seq()
        except Exception as e:  # noqa: BLE001
            run.errors.append(f"{type(e).__name__}: {e}"[:300])
            return
        t = time.perf_counter()
        run.latencies.append(t - t0)
        replied_at.append(t)
        reply_at[seq] = t
        heapq.heappush(outstanding, seq)

    # The probe shares this process's event loop with the sender: nothing here may hold the loop
    # for long. A gather over the run's 10,000 tasks at the end held it ~50-100 ms, and the
    # collector's full passes over those tasks as they piled up held it as long, and each such
    # stall counted as lag (probe_gap_max_ms says how long the probe was held up, at most).
    poll = asyncio.create_task(poller())
    pending: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    late = 0
    gc.collect()
    gc.disable()
    try:
        with measured(meter, run.usage):
            start = began = time.perf_counter()
            for i in range(total):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.05:
                    late += 1
                task = asyncio.create_task(one())
                pending.add(task)
                task.add_done_callback(pending.discard)
            while pending:
                await asyncio.wait(pending)
        sent_wall = run.usage.wall
        sending = False
        missing = await poll
    finally:
        gc.enable()
        poll.cancel()
        with contextlib.suppress(BaseException):
            await poll
        await conn.close()
    lags_ms = [x * 1000 for x in lags]
    return {
        "rate_asked": rate,
        "rate_sent": round(len(run.latencies) / sent_wall, 1) if sent_wall else None,
        "sent_late": late,
        "commands": run.to_json(),
        "lag_p50_ms": round(percentile(lags_ms, 50), 2),
        "lag_p99_ms": round(percentile(lags_ms, 99), 2),
        "lag_max_ms": round(max(lags_ms, default=float("nan")), 2),
        "lag_max_ms_by_second": by_second(when, lags_ms, began),
        "command_max_ms_by_second": by_second(replied_at, [x * 1000 for x in run.latencies], began),
        "probe_gap_max_ms": round(1000 * max(gaps, default=0.0), 1),
        "probe_gaps_over_20ms": sum(g > 0.02 for g in gaps),
        "not_seen_in_30s": missing,
        "errors": len(run.errors),
    }


def by_second(when: list[float], values: list[float], began: float) -> list[float]:
    """The largest value (a lag, a round trip) of the commands replied to in each second of the
    run: whether the tail is spread or comes at one moment."""
    worst: dict[int, float] = {}
    for t, v in zip(when, values, strict=True):
        k = int(t - began)
        worst[k] = max(worst.get(k, 0.0), v)
    return [round(worst.get(k, 0.0), 1) for k in range(max(worst, default=-1) + 1)]


# ------------------------------------------------------------------------------ reads


#: nats-server keeps a message block it read for 10 s after the last read of it (filestore's
#: ``defaultCacheBufferExpiration``); the cold loads wait a little longer than that
BLOCK_CACHE_S = 12.0
#: the size of a message block of a stream without limits (nats-server's ``defaultLargeBlockSize``)
BLOCK_BYTES = 8 << 20


def blocks_of(stream_bytes: int) -> int:
    """How many message blocks a stream of ``stream_bytes`` fills (at least one)."""
    return max(1, -(-stream_bytes // BLOCK_BYTES))


def one_per_block(petition_ids: list[str], blocks: int, most: int) -> list[str]:
    """About one of ``petition_ids`` (a sample of the fill, in the order stored) per message block
    of the stream (at least 20 in all, so a short stream has several per block), at most
    ``most``, spread evenly, in random order."""
    step = max(1, len(petition_ids) // min(max(blocks, 20), most))
    picks = petition_ids[::step][:most]
    random.Random(7).shuffle(picks)  # no order nats-server could take for a scan
    return picks


@dataclass
class Loads:
    """One aggregate's load at one stream size: as a command does it (its snapshot), cold and
    warm, and from the stream alone (its messages), cold and warm."""

    snapshot_cold: Run
    snapshot_warm: Run
    stream_cold: Run
    stream_warm: Run


async def snapshot_filled(system: System, pool: asyncpg.Pool, nc: NATS, after: int) -> tuple[int, int, float]:
    """Fold the messages the fill stored after sequence ``after`` into their petitions' snapshots,
    as the service writes one with every command it stores (the fill stores without the service):
    ``Repository.snapshot_stored``, in groups of :data:`SNAPSHOT_GROUP` messages. The last
    sequence read, the events folded, the seconds it took."""
    repo = _snapshotting(nc, pool)
    group: list[Any] = []
    last, folded, t0 = after, 0, time.perf_counter()
    async with contextlib.aclosing(
        read_stream(
            system.nats_url.split(",")[0],
            STREAM.name,
            after + 1,
            batch=5000,
            nkey_seed=system.operator_seed,
            inbox_prefix=inbox_prefix("operator"),
        )
    ) as chunks:
        async for chunk in chunks:
            group += chunk
            last = chunk[-1].seq
            if len(group) >= SNAPSHOT_GROUP:
                folded += await repo.snapshot_stored(group, _is_petition)
                group = []
    folded += await repo.snapshot_stored(group, _is_petition)
    return last, folded, time.perf_counter() - t0


#: messages folded into snapshots at once (one lookup and one write of their petitions' snapshots)
SNAPSHOT_GROUP = 20_000


def _is_petition(aggregate_id: str) -> bool:
    return aggregate_id.startswith(PETITION_PREFIX)


def _snapshotting(nc: NATS, pool: asyncpg.Pool) -> Repository[Any]:
    return Repository(JetStreamEventStore(nc, STREAM), registry, PETITION, UnitTree.load(DATASET), PgSnapshots(pool))


async def load_cold_and_warm(nc: NATS, pool: asyncpg.Pool, picks: list[str], meter: Meter) -> Loads:
    """One aggregate's load, for ``picks`` (about one per message block): as a command handler
    does it (``Repository.latest``: its snapshot and the stream's count of its messages, asked at
    once, then its state read from the snapshot), and from the stream alone (``Repository.load``:
    the subject and count from the stream's subject index, then the messages, decoded and folded).
    First *cold*, after nats-server has let go of every block it read (no read for
    :data:`BLOCK_CACHE_S`): the snapshot loads read no message, so the stream loads after them
    still find every block cold and read it whole from the file (up to 8 MiB); then *warm*, the
    same loads again, their blocks in the server's cache."""
    repo = _snapshotting(nc, pool)

    def op(load: Callable[[str], Awaitable[Any]], from_snapshot: bool) -> Callable[[int], Awaitable[None]]:
        async def one(i: int) -> None:
            loaded = await load(picks[i])
            if not loaded.exists or (loaded.snapshot is not None) != from_snapshot:
                raise RuntimeError(f"{picks[i]}: not loaded from {'its snapshot' if from_snapshot else 'the stream'}")

        return one

    latest = op(lambda pid: repo.latest(pid, "bench-load"), True)
    stream = op(repo.load, False)
    await asyncio.sleep(BLOCK_CACHE_S)
    snapshot_cold = await closed_loop(Run("load from its snapshot (cold)", 1), len(picks), latest, meter)
    stream_cold = await closed_loop(Run("load from the stream (cold)", 1), len(picks), stream, meter)
    snapshot_warm = await closed_loop(Run("load from its snapshot (warm)", 1), len(picks), latest, meter)
    stream_warm = await closed_loop(Run("load from the stream (warm)", 1), len(picks), stream, meter)
    return Loads(snapshot_cold, snapshot_warm, stream_cold, stream_warm)


async def quiet(pids: list[int], timeout: float = 30.0) -> None:
    """Until the processes used less than 5 % of a core in each of three seconds in a row (or
    ``timeout``): after a fill, nats-server goes on writing its indexes for a while."""
    await _until_idle(Meter(nats=pids), "nats", 0.05, 3, timeout)


async def raw_read(system: System, meter: Meter) -> Run:
    """The whole PETITIONS stream read by the kernel's stream reader, nothing else done."""
    run = Run("raw read", 1)
    count = 0
    with measured(meter, run.usage):
        async with contextlib.aclosing(
            read_stream(
                system.nats_url.split(",")[0],
                STREAM.name,
                1,
                batch=5000,
                nkey_seed=system.operator_seed,
                inbox_prefix=inbox_prefix("operator"),
            )
        ) as chunks:
            async for chunk in chunks:
                count += len(chunk)
    run.ops = count
    return run


async def copy_limit(pg_url: str, rows: int, meter: Meter) -> Run:
    """PostgreSQL COPY of ``rows`` rows of the petitions read model (its table, primary key, no
    secondary index: as a rebuild loads it) into a new schema, 10,000 per COPY, one transaction.
    The row is what the projection folds from the stored event of a ``raise``, with its id
    changed."""
    projection = PetitionsProjection()
    raised = decode_message(registry, _SAMPLE_MESSAGE[0])
    row = projection.fold(None, raised)
    assert row is not None
    names = list(projection.columns)
    values = [row[c] for c in names]
    conn = await asyncpg.connect(pg_url)
    run = Run("COPY", 1)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE")
        await conn.execute("CREATE SCHEMA bench_copy")
        await projection.setup_tables(conn, "bench_copy")

        def chunk(start: int, n: int) -> list[tuple[Any, ...]]:
            return [(f"PA-{i:08d}", *values[1:]) for i in range(start, start + n)]

        chunks = [chunk(i, 10_000) for i in range(0, rows, 10_000)]
        with measured(meter, run.usage):
            async with conn.transaction():
                for c in chunks:
                    await conn.copy_records_to_table(
                        projection.table, schema_name="bench_copy", records=c, columns=names
                    )
        run.ops = rows
        await conn.execute("DROP SCHEMA bench_copy CASCADE")
    finally:
        await conn.close()
    return run


async def rebuild(client: Client, events: int, meter: Meter) -> Run:
    """``caunoi.admin.petitions.rebuild`` (what ``caunoi projections rebuild petitions`` sends),
    timed from the request to the reply: replay into a shadow schema, indexes, swap."""
    run = Run("rebuild", 1)
    with measured(meter, run.usage):
        msg = await client.nc.request(
            f"caunoi.admin.{SERVICE}.rebuild",
            orjson.dumps({"projection": "petitions"}),
            timeout=3600,
            headers=client.login.headers(),
        )
    body = json.loads(msg.data)
    if not body.get("ok"):
        run.errors.append(str(body.get("error")))
    elif body["result"]["position"] < events:
        run.errors.append(f"rebuilt to {body['result']['position']}, expected {events}")
    run.ops = events
    return run


def audit_verify(system: System) -> dict[str, Any]:
    """``caunoi audit verify petitions`` as the installation's operator: every hash, chain and
    signed checkpoint of the stream (proves the fill stored what the service would have)."""
    env = {
        **os.environ,
        "CAUNOI_DATA_DIR": str(system.installation.data_dir),
        "CAUNOI_LOGIN": str(system.installation.operator_login),
        "NATS_URL": system.nats_url,
    }
    caunoi = Path(sys.executable).parent / "caunoi"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(caunoi), "--json", "audit", "verify", SERVICE], env=env, capture_output=True, text=True, timeout=3600
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"caunoi audit verify failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    report = json.loads(proc.stdout)[0]
    return {
        "ok": report["ok"],
        "messages": report.get("messages"),
        "chained": report.get("chained"),
        "checkpoints": report.get("checkpoints"),
        "seconds": round(seconds, 1),
    }


# ------------------------------------------------------------------------------ cold start


def cold_up(root: Path, timeout: float = 120.0) -> dict[str, Any]:
    """``caunoi up --no-demo`` (what ``make up`` runs, without loading the demo data) in a new data
    directory: seconds from launch to "caunoi is running" (keys, initdb, servers, every service
    answering), then the resident memory of each service process."""
    data = root / "cold-up"
    env = {
        **os.environ,
        "CAUNOI_DATA_DIR": str(data),
        "CAUNOI_NATS_PORT": str(free_port()),
        "CAUNOI_PG_PORT": str(free_port()),
        "CAUNOI_LOG_LEVEL": "warning",
    }
    env.pop("NATS_URL", None)
    env.pop("DATABASE_URL", None)
    caunoi = Path(sys.executable).parent / "caunoi"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(caunoi), "up", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out: list[str] = []
    ready = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            out.append(line.rstrip())
            if "caunoi is running" in line:
                ready = time.perf_counter() - t0
                break
        rss: dict[str, dict[str, float]] = {}
        if ready is not None:
            time.sleep(2.0)  # the processes settle (imports done, pools open)
            runtime = json.loads((data / "runtime.json").read_text())
            for name, pid in runtime["services"].items():
                now, peak = rss_mb(int(pid))
                rss[name] = {"rss_mb": round(now, 1), "peak_mb": round(peak, 1)}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"ready_s": round(ready, 2) if ready else None, "rss": rss, "log_tail": out[-8:] if ready is None else []}


async def provision_raw(nc: NATS, replicas: int) -> None:
    await provision_stream(nc, StreamSpec(RAW.name, RAW.service, RAW.description, replicas))


def service_rss(system: System) -> dict[str, dict[str, float]]:
    out = {}
    for s in system.services:
        if s.proc is not None and s.proc.poll() is None:
            now, peak = rss_mb(s.pid)
            out[f"{SERVICE} {s.role} (pid {s.pid})"] = {"rss_mb": round(now, 1), "peak_mb": round(peak, 1)}
    return out


def rebuild_worker_rss(system: System) -> dict[str, dict[str, float | None]]:
    """The peak resident memory of each worker of the last partitioned replay, from the
    projections process's log (``projection.partitions_done``: the workers report it as they exit,
    so there is no resident size now)."""
    done: list[dict[str, Any]] = []
    for entry in projections_log(system, "projection.partitions_done"):
        done = [w for w in entry.get("workers") or [] if "max_rss_mb" in w]
    return {
        f"{SERVICE} rebuild worker {i} (pid {w.get('pid')})": {"rss_mb": None, "peak_mb": float(w["max_rss_mb"])}
        for i, w in enumerate(done, 1)
    }


def rebuild_phases(system: System) -> dict[str, float]:
    """How long the last replay into a shadow schema spent loading the events and building the
    indexes, from the projections process's log (``projection.replayed`` of the petitions read
    model); empty if it says nothing."""
    phases: dict[str, float] = {}
    for entry in projections_log(system, "projection.replayed"):
        if entry.get("projection") == "petitions":
            phases = {k: float(entry[k]) for k in ("load_s", "indexes_s") if k in entry}
    return phases


def projections_log(system: System, event: str) -> Iterator[dict[str, Any]]:
    """The entries of the projections process's log (JSON lines) that say ``event``, oldest first."""
    for s in system.services:
        if s.role != "projections":
            continue
        with contextlib.suppress(OSError):
            for line in s.log.read_text(errors="replace").splitlines():
                if f'"{event}"' in line:
                    with contextlib.suppress(ValueError):
                        yield json.loads(line)


def login_headers(login: Login) -> dict[str, str] | None:
    return login.headers()
