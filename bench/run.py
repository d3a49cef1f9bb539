#!/usr/bin/env python
"""caunoi benchmark: the command path of the petitions service against its two floors.

One command (see bench/README.md)::

    .venv/bin/python bench/run.py [--quick] [--profile] [--out bench/RESULTS.md]

It starts, in a temporary directory and on free ports, nats-server with THE deployment config
(JetStream, ``sync_interval: always``, file storage, single node) and PostgreSQL from the
pgserver wheel, then the petitions service as its own process, and measures:

1. raw JetStream publish of a real PetitionRaised CloudEvent (stream ``BENCHRAW``, file storage,
   the real stream's settings, one distinct subject per message, expected subject sequence 0);
2. raw PostgreSQL single-row autocommit INSERT of a row of the same size;
3. the ``raise`` command round trip through the service at 1, 10 and 100 concurrent clients;
4. the lag from a command's reply to its row being visible in the read model.

Progress goes to stderr; the Markdown report goes to stdout and to ``--out``.
Everything it started is stopped on exit, including Ctrl-C and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import asyncpg
import nats
import structlog
from nats.aio.client import Client as NATS

from caunoi.shared.client import Client, RequestFailed, ServiceUnreachable, request
from caunoi.shared.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    free_port,
    start_nats,
    start_postgres,
)
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.jsapi import ReplyMux, api, direct_get_batch, parse_error
from caunoi.shared.settings import Settings
from caunoi.shared.units import demo_area

LEVELS = (1, 10, 100)
RAW_STREAM = "BENCHRAW"
SERVICE_STREAM = "PETITIONS"
SERVICE = "petitions"
READ_DB = "caunoi_petitions"
BENCH_DB = "caunoi_bench"
POLL_PERIOD = 0.002  # read-model poll period, seconds
T0 = time.monotonic()

OPINIONS: list[tuple[str, str]] = [
    ("land", "Đề nghị xem xét giải quyết tranh chấp ranh giới đất giữa hai hộ ở cuối thôn."),
    ("roads", "Đường liên thôn xuống cấp, mùa mưa lầy lội, đề nghị bê tông hóa."),
    ("drainage", "Mương thoát nước bị bồi lấp, ngập úng khi mưa lớn, đề nghị nạo vét."),
    ("farm_prices", "Giá chè búp tươi giảm mạnh, đề nghị hỗ trợ liên kết tiêu thụ."),
    ("security", "Tình trạng thanh niên tụ tập, đua xe ban đêm, đề nghị tăng cường tuần tra."),
    ("social_policy", "Đề nghị rà soát lại danh sách hộ cận nghèo năm nay."),
]
HAMLETS = ["Thôn Đồng Tâm", "Thôn Tân Lập", "Tổ dân phố 3"]


def progress(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ statistics


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


@dataclass
class Run:
    """One measured level: latencies in seconds, wall time, errors."""

    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds used

    @property
    def n(self) -> int:
        return len(self.latencies)

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def p50(self) -> float:
        return self.p(50)

    @property
    def p99(self) -> float:
        return self.p(99)

    @property
    def throughput(self) -> float:
        return self.n / self.wall if self.wall > 0 else float("nan")

    def cpu_ms_per_op(self, proc: str) -> float:
        ops = self.n + len(self.errors)
        return self.cpu.get(proc, float("nan")) * 1000 / ops if ops else float("nan")

    def cpu_pct(self, proc: str) -> float:
        """CPU use of ``proc`` during the run, in % of one core."""
        return self.cpu.get(proc, float("nan")) * 100 / self.wall if self.wall else float("nan")


# ---------------------------------------------------------------------------- CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    # Fields after "(comm)": state=0, ppid=1, ..., utime=11, stime=12, cutime=13, cstime=14.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _cpu_of(pid: int, with_reaped_children: bool = False) -> float:
    try:
        f = _stat_fields(pid)
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12])
    if with_reaped_children:
        ticks += int(f[13]) + int(f[14])
    return ticks / _TICK


def _children(ppid: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == ppid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


@dataclass
class Procs:
    nats_pid: int
    pg_pid: int | None
    service_pid: int | None = None

    def snapshot(self) -> dict[str, float]:
        snap = {"bench": time.process_time(), "nats": _cpu_of(self.nats_pid)}
        if self.pg_pid:
            snap["postgres"] = _cpu_of(self.pg_pid, True) + sum(
                _cpu_of(c) for c in _children(self.pg_pid)
            )
        if self.service_pid:
            snap["service"] = _cpu_of(self.service_pid, True)
        return snap


@contextlib.contextmanager
def measured(run: Run, procs: Procs) -> Iterator[None]:
    before = procs.snapshot()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        run.wall = time.perf_counter() - t0
        after = procs.snapshot()
        run.cpu = {k: after[k] - before[k] for k in after if k in before}


# ------------------------------------------------------------------------------ load drivers


async def closed_loop(
    run: Run, total: int, op: Callable[[int], Awaitable[None]], procs: Procs
) -> Run:
    """``run.concurrency`` tasks, each doing ``op`` sequentially, ``total`` ops in all."""
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

    with measured(run, procs):
        await asyncio.gather(*(worker() for _ in range(run.concurrency)))
    return run


# ------------------------------------------------------------------------------ the pieces


def raise_payload(i: int, communes: list[str]) -> dict[str, Any]:
    category, text = OPINIONS[i % len(OPINIONS)]
    commune = communes[i % len(communes)]
    return {
        "command_id": str(uuid.uuid4()),
        "actor": "bench",
        "channel": "meeting",
        "kind": "petition" if i % 3 else "feedback",
        "category": category,
        "petitioner": {"name": f"Người dân {i}", "confidential": i % 7 == 0},
        "commune_code": commune,
        "hamlet": f"{HAMLETS[i % len(HAMLETS)]}, xã {commune}",
        "text": text,
    }


@dataclass
class Bench:
    args: argparse.Namespace
    nats_srv: EmbeddedNats
    pg: EmbeddedPostgres
    procs: Procs
    communes: list[str]
    nc: NATS = field(init=False)
    client: Client = field(init=False)
    results: dict[str, Any] = field(default_factory=dict)
    event_bytes: bytes = b""
    event_headers: dict[str, str] = field(default_factory=dict)
    seq: int = 0

    @property
    def per_level(self) -> int:
        return 300 if self.args.quick else 2000

    # -- raw JetStream -------------------------------------------------------------------------

    async def raw_publish(self, concurrency: int, total: int, name: str = "raw") -> Run:
        payload = self.event_bytes

        async def op(_: int) -> None:
            msg_id = str(uuid.uuid4())
            subject = f"caunoi.benchraw.{msg_id}.08.00691"
            headers = {
                "Nats-Msg-Id": msg_id,
                "Content-Type": self.event_headers.get("Content-Type", "application/cloudevents+json"),
                "ce-type": self.event_headers.get("ce-type", "vn.caunoi.petitions.PetitionRaised"),
                "Nats-Expected-Last-Subject-Sequence": "0",
            }
            ack = await self.nc.request(subject, payload, timeout=10.0, headers=headers)
            err = parse_error(json.loads(ack.data))
            if err is not None:
                raise err

        return await closed_loop(Run(name, concurrency), total, op, self.procs)

    # -- raw PostgreSQL ------------------------------------------------------------------------

    async def raw_insert(self, concurrency: int, total: int) -> Run:
        pool = await asyncpg.create_pool(
            self.pg.url_for(BENCH_DB),
            min_size=concurrency,
            max_size=concurrency,
            server_settings={"synchronous_commit": "on"},
        )
        assert pool is not None
        text = self.event_bytes.decode()
        try:

            async def op(_: int) -> None:
                async with pool.acquire() as conn:
                    await conn.execute(
                        "INSERT INTO bench_events (id, subject, data) VALUES ($1, $2, $3::jsonb)",
                        str(uuid.uuid4()),
                        "caunoi.benchraw.x.08.00691",
                        text,
                    )

            return await closed_loop(Run("pg", concurrency), total, op, self.procs)
        finally:
            await pool.close()

    # -- commands ------------------------------------------------------------------------------

    async def raise_one(self, i: int) -> dict[str, Any]:
        res: dict[str, Any] = await self.client.command(
            SERVICE, "raise", raise_payload(i, self.communes)
        )
        if res.get("replayed") or len(res.get("events", [])) != 1:
            raise RuntimeError(f"unexpected result {res}")
        return res

    async def commands(
        self,
        concurrency: int,
        total: int,
        on_reply: Callable[[str, float], None] | None = None,
        name: str = "cmd",
    ) -> Run:
        async def op(_: int) -> None:
            self.seq += 1
            res = await self.raise_one(self.seq)
            if on_reply is not None:
                on_reply(str(res["petition_id"]), time.perf_counter())

        return await closed_loop(Run(name, concurrency), total, op, self.procs)

    # -- read-model lag ------------------------------------------------------------------------

    async def lag(self, total: int, *, rate: float | None, concurrency: int | None) -> dict[str, Any]:
        """Raise ``total`` petitions either open-loop at ``rate``/s or closed-loop at
        ``concurrency``; poll the read model every ~2 ms; lag = first seen - reply received."""
        reply_at: dict[str, float] = {}
        outstanding: set[str] = set()
        lags: list[float] = []
        polls: list[float] = []
        poll_starts: list[float] = []
        sending_done = asyncio.Event()

        def on_reply(pid: str, t: float) -> None:
            reply_at[pid] = t
            outstanding.add(pid)

        conn = await asyncpg.connect(self.pg.url_for(READ_DB))

        async def poller() -> int:
            deadline: float | None = None
            while True:
                start = time.perf_counter()
                if outstanding:
                    ids = list(outstanding)
                    rows = await conn.fetch(
                        "SELECT id FROM petitions.petitions WHERE id = ANY($1)", ids
                    )
                    polls.append(time.perf_counter() - start)
                    poll_starts.append(start)
                    for r in rows:
                        pid = r["id"]
                        lags.append(start - reply_at[pid])
                        outstanding.discard(pid)
                elif sending_done.is_set():
                    return 0
                if sending_done.is_set():
                    deadline = deadline or start + 30.0
                    if start > deadline:
                        return len(outstanding)
                await asyncio.sleep(max(0.0, start + POLL_PERIOD - time.perf_counter()))

        poll_task = asyncio.create_task(poller())
        try:
            if concurrency is not None:
                run = await self.commands(concurrency, total, on_reply, name="lag-closed")
            else:
                assert rate is not None
                run = Run("lag-steady", 0)

                async def one() -> None:
                    t0 = time.perf_counter()
                    try:
                        self.seq += 1
                        res = await self.raise_one(self.seq)
                    except Exception as e:  # noqa: BLE001
                        run.errors.append(f"{type(e).__name__}: {e}"[:300])
                        return
                    t = time.perf_counter()
                    run.latencies.append(t - t0)
                    on_reply(str(res["petition_id"]), t)

                tasks = []
                with measured(run, self.procs):
                    start = time.perf_counter()
                    for i in range(total):
                        delay = start + i / rate - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        tasks.append(asyncio.create_task(one()))
                    await asyncio.gather(*tasks)
            sending_done.set()
            missing = await poll_task
        finally:
            poll_task.cancel()
            with contextlib.suppress(BaseException):
                await poll_task
            await conn.close()
        gaps = [b - a for a, b in zip(poll_starts, poll_starts[1:], strict=False)]
        return {
            "run": run,
            "rate": rate,
            "concurrency": concurrency,
            "lags_ms": [x * 1000 for x in lags],
            "missing": missing,
            "poll_query_ms": percentile(polls, 50) * 1000,
            "poll_gap_ms": percentile(gaps, 50) * 1000,
        }

    # -- profile probes (client side only) -----------------------------------------------------

    async def probes(self, n: int, label: str) -> dict[str, Any]:
        """Time, from the client, pieces of the command path one at a time (c=1)."""
        mux = ReplyMux(self.nc)
        out: dict[str, Any] = {"label": label}
        stream = await api(self.nc, f"$JS.API.STREAM.INFO.{SERVICE_STREAM}")
        out["stream_msgs"] = stream["state"]["messages"]

        async def rejected(i: int) -> None:
            p = raise_payload(i, self.communes)
            p["commune_code"] = "99999"
            try:
                await self.client.command(SERVICE, "raise", p)
            except RequestFailed as e:
                if e.code != "unknown_unit":
                    raise
            else:
                raise RuntimeError("commune 99999 was accepted")

        async def load_new(_: int) -> None:
            pid = f"PA-{uuid.uuid4().hex[:8].upper()}"
            msgs = await direct_get_batch(
                self.nc, mux, SERVICE_STREAM, seq=1, subject=f"caunoi.petitions.{pid}.>", batch=256
            )
            if msgs:
                raise RuntimeError("unexpected messages")

        async def load_raw(_: int) -> None:
            msgs = await direct_get_batch(
                self.nc, mux, RAW_STREAM, seq=1,
                subject=f"caunoi.benchraw.{uuid.uuid4()}.>", batch=256,
            )  # fmt: skip
            if msgs:
                raise RuntimeError("unexpected messages")

        async def core_rtt(_: int) -> None:
            await self.nc.request("$JS.API.INFO", b"", timeout=5.0)

        for key, op in (
            ("nats_api_rtt", core_rtt),
            ("rejected_cmd", rejected),
            ("load_new_aggregate", load_new),
            ("load_new_in_benchraw", load_raw),
        ):
            out[key] = await closed_loop(Run(key, 1), n, op, self.procs)
        raw = await api(self.nc, f"$JS.API.STREAM.INFO.{RAW_STREAM}")
        out["raw_stream_msgs"] = raw["state"]["messages"]
        return out


# ------------------------------------------------------------------------------ setup


def configure_logging() -> None:
    import logging

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def start_service(
    data: Path, nats_url: str, pg_url: str
) -> tuple[subprocess.Popen[bytes], IO[bytes], Path]:
    log_path = data / "service.log"
    log_file = log_path.open("ab")
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "DATABASE_URL": pg_url,
        "CAUNOI_DATA_DIR": str(data / "service"),
        "CAUNOI_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "caunoi.petitions"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop it with SIGTERM
    )
    return proc, log_file, log_path


def stop_service(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            progress("service did not stop on SIGTERM; killing it")
            proc.kill()
            proc.wait()
    return proc.returncode


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"<{e}>"


async def wait_service(nc: NATS, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"service exited with {proc.returncode}; {log_path}:\n{tail(log_path)}"
            )
        try:
            await request(nc, f"caunoi.admin.{SERVICE}.status", {}, timeout=2.0)
            return
        except (ServiceUnreachable, RequestFailed):
            if time.monotonic() > deadline:
                raise RuntimeError(f"service not ready after 90s; {log_path}:\n{tail(log_path)}") from None
            await asyncio.sleep(0.2)


def fsync_floor(directory: Path, n: int, size: int) -> list[float]:
    """Latency of appending ``size`` bytes to a file and fdatasync-ing it, ``n`` times."""
    path = directory / "fsync-probe"
    block = os.urandom(size)
    out = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            out.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return out


# ------------------------------------------------------------------------------ machine info


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def machine_info(tmp: Path) -> dict[str, str]:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines() if ln.startswith("model name")),
        platform.processor() or "?",
    )
    mem_kb = next(
        (int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines() if ln.startswith("MemTotal:")), 0
    )
    # The mount holding the temp dir (longest matching mount point).
    best: tuple[str, str, str, str] = ("", "?", "?", "")
    for ln in _read("/proc/self/mountinfo").splitlines():
        left, _, right = ln.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) < 6 or len(rparts) < 2:
            continue
        mnt = parts[4]
        if (str(tmp) + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best[0]):
            best = (mnt, rparts[0], rparts[1], parts[5])
    mnt, fstype, source, opts = best
    disk = f"{source} ({fstype}, mounted on {mnt}, {opts})"
    dev = Path(source).name
    sys_dev = Path(f"/sys/class/block/{dev}")
    if sys_dev.exists():
        real = sys_dev.resolve()
        if (real / "partition").exists():
            real = real.parent
        rot = _read(str(real / "queue" / "rotational"))
        driver = ""
        with contextlib.suppress(OSError):
            driver = Path(os.path.realpath(real / "device" / "driver")).name
        kind = {"0": "non-rotational", "1": "rotational"}.get(rot, "unknown type")
        disk += f"; block device {real.name}: {kind}" + (f", driver {driver}" if driver else "")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "disk": disk,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def nats_jetstream_config(monitor_url: str | None) -> dict[str, Any]:
    if not monitor_url:
        return {}
    try:
        with urllib.request.urlopen(f"{monitor_url}/varz", timeout=5) as r:
            varz: dict[str, Any] = json.loads(r.read())
    except (OSError, ValueError):
        return {}
    cfg: dict[str, Any] = varz.get("jetstream", {}).get("config", {})
    return cfg


# ------------------------------------------------------------------------------ the run


async def run_all(b: Bench, tmp: Path, service_proc: subprocess.Popen[bytes], service_log: Path) -> None:
    args = b.args
    n = b.per_level
    b.nc = await nats.connect(b.nats_srv.url, name="caunoi-bench", max_reconnect_attempts=1)
    b.client = Client(b.nc, timeout=30.0)
    R = b.results
    try:
        progress("waiting for the petitions service to answer caunoi.admin.petitions.status")
        await wait_service(b.nc, service_proc, service_log)
        progress("service ready")
        R["nats_version"] = str(b.nc.connected_server_version)
        R["js_config"] = nats_jetstream_config(b.nats_srv.monitor_url)
        conn = await asyncpg.connect(b.pg.url)
        try:
            R["pg_version"] = await conn.fetchval("SHOW server_version")
            R["pg_settings"] = {
                k: await conn.fetchval(f"SHOW {k}")
                for k in ("fsync", "synchronous_commit", "wal_sync_method", "shared_buffers", "commit_delay")
            }
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DB):
                await conn.execute(f"CREATE DATABASE {BENCH_DB}")
        finally:
            await conn.close()
        conn = await asyncpg.connect(b.pg.url_for(BENCH_DB))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_events (id text PRIMARY KEY, subject text NOT NULL,"
                " data jsonb NOT NULL, stored_at timestamptz NOT NULL DEFAULT now())"
            )
        finally:
            await conn.close()

        # Warm-up raise: the stored event gives the raw payload (real bytes, real size).
        progress("warm-up raise; reading the stored event back")
        await b.raise_one(0)
        msg = await b.nc.request(f"$JS.API.DIRECT.GET.{SERVICE_STREAM}", b'{"seq":1}', timeout=5.0)
        b.event_bytes = msg.data
        b.event_headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
        R["event_size"] = len(msg.data)
        R["event_subject"] = b.event_headers.get("Nats-Subject", "?")
        info = await api(b.nc, f"$JS.API.STREAM.INFO.{SERVICE_STREAM}")
        real_cfg: dict[str, Any] = info["config"]
        R["stream_config"] = real_cfg

        # The raw stream: the real stream's configuration, other name and subjects.
        raw_cfg = {
            **StreamSpec(RAW_STREAM, "benchraw").config(),
            "description": "caunoi bench: raw publish floor",
        }
        for k in ("storage", "retention", "discard", "duplicate_window", "allow_direct", "allow_atomic", "num_replicas"):
            if k in real_cfg:
                raw_cfg[k] = real_cfg[k]
        created = await api(b.nc, f"$JS.API.STREAM.CREATE.{RAW_STREAM}", raw_cfg)
        R["raw_stream_config"] = created["config"]

        progress(f"disk floor: write+fdatasync of {len(b.event_bytes)} B x 200")
        R["fsync"] = await asyncio.to_thread(fsync_floor, tmp, 200, len(b.event_bytes))

        # Warm-ups (not measured).
        progress("warm-up: 50 raw publishes, 50 inserts, 50 raises")
        await b.raw_publish(10, 50, name="warm")
        await b.raw_insert(10, 50)
        await b.commands(10, 50, name="warm")

        if args.profile:
            progress("profile probes (stream still small)")
            R["probes_before"] = await b.probes(200 if not args.quick else 50, "before the command runs")

        R["raw"] = {}
        for c in LEVELS:
            progress(f"raw publish c={c} ({n} msgs) ...")
            r = await b.raw_publish(c, n)
            R["raw"][c] = r
            progress(f"raw publish c={c} done: p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, {r.throughput:.0f}/s")

        R["pg"] = {}
        for c in LEVELS:
            progress(f"raw PG insert c={c} ({n} rows) ...")
            r = await b.raw_insert(c, n)
            R["pg"][c] = r
            progress(f"raw PG insert c={c} done: p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, {r.throughput:.0f}/s")

        R["cmd"] = {}
        for c in LEVELS:
            progress(f"command round trip c={c} ({n} raises) ...")
            r = await b.commands(c, n)
            R["cmd"][c] = r
            progress(f"command c={c} done: p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, {r.throughput:.0f}/s, errors {len(r.errors)}")
            for e in r.errors[:5]:
                progress(f"  error: {e}")

        lag_n = 150 if args.quick else 500
        tp10 = R["cmd"][10].throughput
        rate = float(max(10, min(200, int(tp10 * 0.5)))) if tp10 == tp10 else 50.0
        progress(f"read-model lag: {lag_n} raises at a steady {rate:.0f}/s ...")
        R["lag_steady"] = await b.lag(lag_n, rate=rate, concurrency=None)
        progress("read-model lag: done")
        progress(f"read-model lag: {lag_n} raises closed-loop at c=10 ...")
        R["lag_c10"] = await b.lag(lag_n, rate=None, concurrency=10)
        progress("read-model lag under load: done")

        if args.profile:
            progress("profile probes (stream now large)")
            R["probes_after"] = await b.probes(200 if not args.quick else 50, "after the command runs")

        status = await request(b.nc, f"caunoi.admin.{SERVICE}.status", {}, timeout=10.0)
        R["status"] = status
        conn = await asyncpg.connect(b.pg.url_for(READ_DB))
        try:
            R["read_rows"] = await conn.fetchval("SELECT count(*) FROM petitions.petitions")
        finally:
            await conn.close()
        raw_info = await api(b.nc, f"$JS.API.STREAM.INFO.{RAW_STREAM}")
        R["raw_state"] = raw_info["state"]
    finally:
        with contextlib.suppress(Exception):
            await b.nc.drain()


# ------------------------------------------------------------------------------ report


def f1(x: float) -> str:
    return "n/a" if x != x else f"{x:.1f}"


def f2(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def f0(x: float) -> str:
    return "n/a" if x != x else f"{x:,.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b and b == b and a == a else float("nan")


def report(R: dict[str, Any], m: dict[str, str], args: argparse.Namespace, started: dt.datetime, elapsed: float) -> str:
    raw: dict[int, Run] = R["raw"]
    pg: dict[int, Run] = R["pg"]
    cmd: dict[int, Run] = R["cmd"]
    ls: dict[str, Any] = R["lag_steady"]
    lc: dict[str, Any] = R["lag_c10"]
    fs_ms = [x * 1000 for x in R["fsync"]]
    js = R.get("js_config", {})
    cfg = R["stream_config"]
    workers = Settings().command_workers
    L: list[str] = []
    w = L.append
    w("# caunoi benchmark results")
    w("")
    w(f"Run: {started:%Y-%m-%d %H:%M:%S %Z} ({'--quick' if args.quick else 'full run'}"
      f"{', --profile' if args.profile else ''}), took {elapsed:.0f} s. "
      "Produced by `.venv/bin/python bench/run.py`; see bench/README.md.")
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {m['cpu']} |")
    w(f"| Cores | {m['cores']} |")
    w(f"| RAM | {m['ram']} |")
    w(f"| Disk of the temp dir | {m['disk']} |")
    w(f"| OS | {m['kernel']} |")
    w(f"| Python | {m['python']} |")
    w(f"| nats-server | {R['nats_version']} |")
    w(f"| PostgreSQL | {R['pg_version']} (pgserver wheel) |")
    w("")
    w("## Settings")
    w("")
    sync = js.get("sync_always")
    w(f"- nats-server: single node, deploy/nats/nats-server.conf, JetStream `sync_interval: always`"
      f" (server reports sync_always={sync!s}: every write is fsynced before the ack).")
    w(f"- Stream {SERVICE_STREAM} (as provisioned by the service): storage `{cfg.get('storage')}`,"
      f" replicas {cfg.get('num_replicas')}, duplicate_window {cfg.get('duplicate_window', 0) / 1e9:.0f} s,"
      f" allow_direct {cfg.get('allow_direct')}, allow_atomic {cfg.get('allow_atomic')}.")
    rc = R["raw_stream_config"]
    w(f"- Stream {RAW_STREAM} (the floor): the same settings (storage `{rc.get('storage')}`,"
      f" duplicate_window {rc.get('duplicate_window', 0) / 1e9:.0f} s), subjects `{rc.get('subjects')}`.")
    ps = R["pg_settings"]
    w(f"- PostgreSQL {R['pg_version']}: fsync={ps['fsync']}, synchronous_commit={ps['synchronous_commit']},"
      f" wal_sync_method={ps['wal_sync_method']}, shared_buffers={ps['shared_buffers']},"
      f" commit_delay={ps['commit_delay']}.")
    w(f"- Event: a real PetitionRaised CloudEvent as stored by the service, {R['event_size']} bytes"
      f" (subject shape `{R['event_subject']}`). Raw publishes send these exact bytes with the same"
      " headers (Nats-Msg-Id, Content-Type, ce-type, Nats-Expected-Last-Subject-Sequence: 0), each to"
      " a distinct subject.")
    w(f"- Each level: {raw[1].n + len(raw[1].errors)} operations; concurrency c = c asyncio tasks doing"
      " sequential requests. All NATS load comes from ONE client connection (nats-py, one event loop),"
      " the service uses one connection too; the client, nats-server, PostgreSQL and the service share"
      f" the {m['cores']} cores. The service handles at most {workers} requests at once"
      " (CAUNOI_COMMAND_WORKERS), so at c=100 some requests queue in the service.")
    w("- Latency is measured by the client from sending the request to receiving the reply;"
      " throughput = completed operations / wall time of the level. Warm-ups are not counted.")
    w("")
    w("## JetStream publish (floor) vs command round trip")
    w("")
    w("| c | raw publish p50 ms | raw p99 ms | raw msg/s | `raise` p50 ms | `raise` p99 ms | `raise`/s"
      " | p50 ratio (cmd/raw) | throughput ratio (raw/cmd) | cmd errors |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in LEVELS:
        r, k = raw[c], cmd[c]
        w(f"| {c} | {f2(r.p50)} | {f2(r.p99)} | {f0(r.throughput)} | {f2(k.p50)} | {f2(k.p99)}"
          f" | {f0(k.throughput)} | {f1(ratio(k.p50, r.p50))}x | {f1(ratio(r.throughput, k.throughput))}x"
          f" | {len(k.errors)} |")
    w("")
    w(f"Raw publish errors: {sum(len(raw[c].errors) for c in LEVELS)}.")
    w("")
    w("## PostgreSQL single-row INSERT (the other floor)")
    w("")
    w("Autocommit (one transaction per row), synchronous_commit on, pool sized to c;"
      f" row = uuid PK + subject + the {R['event_size']}-byte event as jsonb.")
    w("")
    w("| c | p50 ms | p99 ms | rows/s | errors |")
    w("|---:|---:|---:|---:|---:|")
    for c in LEVELS:
        r = pg[c]
        w(f"| {c} | {f2(r.p50)} | {f2(r.p99)} | {f0(r.throughput)} | {len(r.errors)} |")
    w("")
    w("Disk floor: append + fdatasync of the same number of bytes to a file in the temp dir,"
      f" sequentially ×{len(fs_ms)}: p50 {f2(percentile(fs_ms, 50))} ms, p99 {f2(percentile(fs_ms, 99))} ms.")
    w("")
    w("## Event → read-model lag")
    w("")
    w("Time from the command's reply (event durably stored) to the petition's row being visible in"
      f" `petitions.petitions`, polled with one query about every {POLL_PERIOD * 1000:.0f} ms (a lag is an"
      " upper bound, by up to one poll interval). Separate runs from the table above.")
    w("")
    w("| load | raises | lag p50 ms | lag p99 ms | lag max ms | not seen in 30 s | cmd p50 ms | cmd p99 ms"
      " | poll interval p50 ms |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, d in ((f"steady {d_rate(ls)}/s", ls), ("closed loop c=10 (saturating)", lc)):
        run: Run = d["run"]
        lg = d["lags_ms"]
        w(f"| {label} | {run.n} | {f2(percentile(lg, 50))} | {f2(percentile(lg, 99))} | {f2(max(lg, default=float('nan')))}"
          f" | {d['missing']} | {f2(run.p50)} | {f2(run.p99)} | {f2(d['poll_gap_ms'])} |")
    w("")
    w("## CPU used per operation")
    w("")
    w("CPU time (user+system, from /proc) each process used during a level, divided by its"
      " operations; in brackets the average CPU use during the level in % of one core"
      f" ({m['cores']} cores = {int(m['cores'] or 1) * 100}%). `postgres` includes all its backends (the"
      " service's read-model projection writes there during command runs).")
    w("")
    w("| run | c | bench client | nats-server | postgres | service |")
    w("|---|---:|---:|---:|---:|---:|")

    def cell(r: Run, p: str) -> str:
        if p not in r.cpu:
            return "-"
        return f"{f2(r.cpu_ms_per_op(p))} ms ({r.cpu_pct(p):.0f}%)"

    for label, runs in (("raw publish", raw), ("raw insert", pg), ("raise", cmd)):
        for c in LEVELS:
            r = runs[c]
            w(f"| {label} | {c} | {cell(r, 'bench')} | {cell(r, 'nats')} | {cell(r, 'postgres')} | {cell(r, 'service')} |")
    w("")
    if "probes_before" in R:
        w("## Profile: pieces of the command path, timed from the client (c=1)")
        w("")
        w("| probe | what it covers | stream msgs | p50 ms | p99 ms |")
        w("|---|---|---:|---:|---:|")
        what = {
            "nats_api_rtt": "core NATS request/reply to the JetStream API ($JS.API.INFO)",
            "rejected_cmd": "`raise` with unknown commune: NATS + FastStream + JSON + pydantic + unit lookup + error reply",
            "load_new_aggregate": f"batched direct get `next_by_subj caunoi.petitions.<new id>.>` on {SERVICE_STREAM}",
            "load_new_in_benchraw": f"the same on {RAW_STREAM}",
        }
        for key in ("probes_before", "probes_after"):
            pr = R.get(key)
            if not pr:
                continue
            for probe, desc in what.items():
                r = pr[probe]
                msgs = pr["raw_stream_msgs"] if probe == "load_new_in_benchraw" else pr["stream_msgs"]
                w(f"| {probe} ({pr['label']}) | {desc} | {msgs:,} | {f2(r.p50)} | {f2(r.p99)} |")
        w("")
        w(profile_paragraph(R))
        w("")
    w("## What this means")
    w("")
    w(meaning(R, m))
    w("")
    st = R["status"]
    w(f"End state: stream {SERVICE_STREAM} {st['stream']['messages']:,} messages"
      f" ({st['stream']['bytes']:,} bytes), {RAW_STREAM} {R['raw_state']['messages']:,} messages;"
      f" read model {R['read_rows']:,} rows; projection lag {[p['lag'] for p in st['projections']]},"
      f" parked {[p['parked'] for p in st['projections']]}.")
    errors = [e for c in LEVELS for e in cmd[c].errors] + ls["run"].errors + lc["run"].errors
    if errors:
        w("")
        w(f"### Command errors ({len(errors)})")
        w("")
        for e in errors[:20]:
            w(f"- `{e}`")
    return "\n".join(L) + "\n"


def d_rate(d: dict[str, Any]) -> str:
    return f"{d['rate']:.0f}"


def profile_paragraph(R: dict[str, Any]) -> str:
    pa = R.get("probes_after") or R["probes_before"]
    pb = R["probes_before"]
    raw1: Run = R["raw"][1]
    cmd1: Run = R["cmd"][1]
    rej = pa["rejected_cmd"].p50
    load = pa["load_new_aggregate"].p50
    rest = cmd1.p50 - rej - load - raw1.p50
    s = (
        f"Rough split of the c=1 `raise` median ({f2(cmd1.p50)} ms), from client-side probes: request/reply"
        f" through the service with validation and unit lookup ≈ {f2(rej)} ms, loading the (new) aggregate ≈"
        f" {f2(load)} ms, the durable append ≈ {f2(raw1.p50)} ms (raw publish c=1), leaving ≈ {f2(rest)} ms"
        " for the rest (building and serialising the event, the Python work around each call, the second"
        " hop inside the service) - these are separate measurements, so the split is approximate."
    )
    lb, la = pb["load_new_aggregate"].p50, pa["load_new_aggregate"].p50
    if "probes_after" in R:
        grow = ratio(la, lb)
        s += (
            f" The load of a new aggregate took {f2(lb)} ms with {pb['stream_msgs']:,} messages in the stream"
            f" and {f2(la)} ms with {pa['stream_msgs']:,} ({f1(grow)}x)"
        )
        s += (
            ": it grows with the stream, a scaling problem for `raise` (every raise loads a subject that has"
            " no messages yet)." if grow > 1.5 else ": no visible dependence on stream size at this scale."
        )
    return s


def meaning(R: dict[str, Any], m: dict[str, str]) -> str:
    raw: dict[int, Run] = R["raw"]
    pg: dict[int, Run] = R["pg"]
    cmd: dict[int, Run] = R["cmd"]
    fs50 = percentile([x * 1000 for x in R["fsync"]], 50)
    r1, k1, r100, k100 = raw[1], cmd[1], raw[100], cmd[100]
    out: list[str] = []
    over = k1.p50 - r1.p50
    out.append(
        f"One at a time, a `raise` takes {f2(k1.p50)} ms at the median (p99 {f2(k1.p99)} ms) against"
        f" {f2(r1.p50)} ms for a bare durable JetStream publish of the same event: the kernel (request/reply to"
        f" the service, validation, the aggregate load by batched direct get, building the event, the append,"
        f" the reply) adds {f2(over)} ms, {f1(ratio(k1.p50, r1.p50))}x the floor."
    )
    best_raw = max(raw.values(), key=lambda r: r.throughput)
    best_cmd = max(cmd.values(), key=lambda r: r.throughput)
    tr = ratio(best_raw.throughput, best_cmd.throughput)
    verdict = (
        "close to" if tr < 1.5 else "well below" if tr < 4 else "far below"
    )
    out.append(
        f"Under load the command path peaks at {f0(best_cmd.throughput)} raises/s (c={best_cmd.concurrency})"
        f" while raw publishing peaks at {f0(best_raw.throughput)} msg/s (c={best_raw.concurrency}): {verdict}"
        f" the floor, {f1(tr)}x fewer operations per second. At c=100 the p50 is {f2(k100.p50)} ms for a raise"
        f" against {f2(r100.p50)} ms for a raw publish ({f1(ratio(k100.p50, r100.p50))}x)."
    )
    # Where the CPU goes at the highest command load.
    procs = ["service", "nats", "postgres", "bench"]
    usage = {p: best_cmd.cpu_pct(p) for p in procs if p in best_cmd.cpu}
    total = sum(v for v in usage.values() if v == v)
    top = max(usage, key=lambda p: usage[p] if usage[p] == usage[p] else -1)
    cores = int(m["cores"] or 1)
    out.append(
        f"During the c={best_cmd.concurrency} command run the machine's CPU use was {total:.0f}% of"
        f" {cores * 100}% (service {usage.get('service', 0):.0f}%, nats-server {usage.get('nats', 0):.0f}%,"
        f" PostgreSQL {usage.get('postgres', 0):.0f}%, benchmark client {usage.get('bench', 0):.0f}%);"
        f" the service spent {f2(best_cmd.cpu_ms_per_op('service'))} ms of CPU per command."
    )
    if usage.get("service", 0) >= 85:
        out.append(
            "The service process is a single Python event loop, so near 100% of one core it is CPU-bound:"
            " its per-command Python work, not the disk, limits throughput."
        )
    elif total >= cores * 100 * 0.85:
        out.append(
            f"The cores are nearly saturated ({top} uses the most), so throughput here is limited by CPU shared"
            " between the client, the service, nats-server and PostgreSQL on one small machine, not by the disk."
        )
    else:
        out.append("Neither the cores nor the service's event loop are saturated, so waiting (fsync, round trips) dominates.")
    per_fsync = r100.throughput * fs50 / 1000 if fs50 == fs50 else float("nan")
    out.append(
        f"A bare append + fdatasync on this disk takes {f2(fs50)} ms (p50); raw publish at c=1 is"
        f" {f2(r1.p50)} ms, and at c=100 JetStream stores {f0(r100.throughput)} msg/s, i.e. {f1(per_fsync)}"
        " messages per sequential-fsync time"
        + (" (so concurrent writes share fsyncs or the disk absorbs them in parallel)." if per_fsync > 1.5 else
           " (roughly one fsync per message: sync_interval always caps throughput at the disk's fsync rate).")
    )
    p1, p100 = pg[1], pg[100]
    out.append(
        f"PostgreSQL single-row commits take {f2(p1.p50)} ms at c=1 and reach {f0(p100.throughput)} rows/s at"
        f" c=100 (group commit), against {f0(r100.throughput)} msg/s for JetStream with sync always"
        f" ({f1(ratio(p100.throughput, r100.throughput))}x)."
    )
    ls, lc = R["lag_steady"], R["lag_c10"]
    out.append(
        f"A raised petition shows up in the read model {f2(percentile(ls['lags_ms'], 50))} ms after its reply at"
        f" the median (p99 {f2(percentile(ls['lags_ms'], 99))} ms) at a steady {d_rate(ls)} raises/s, and"
        f" {f2(percentile(lc['lags_ms'], 50))} ms (p99 {f2(percentile(lc['lags_ms'], 99))} ms) while 10 clients"
        " raise as fast as they can; these include up to one poll interval."
    )
    errs = sum(len(cmd[c].errors) for c in LEVELS) + len(ls["run"].errors) + len(lc["run"].errors)
    total_cmds = sum(cmd[c].n + len(cmd[c].errors) for c in LEVELS) + ls["run"].n + lc["run"].n + errs
    missing = ls["missing"] + lc["missing"]
    out.append(
        f"{'All' if not errs else 'Not all'} {total_cmds:,} measured commands succeeded"
        f" ({errs} errors); {missing} petitions were not seen in the read model within 30 s."
    )
    return " ".join(out)


# ------------------------------------------------------------------------------ main


class Interrupted(Exception):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 operations per level instead of 2,000 (~1 min)")
    ap.add_argument("--profile", action="store_true", help="also time pieces of the command path (client side)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md",
                    help="Markdown report file (default bench/RESULTS.md)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data) for inspection")
    args = ap.parse_args()
    configure_logging()

    def on_term(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    started = dt.datetime.now(dt.UTC)
    tmp = Path(tempfile.mkdtemp(prefix="caunoi-bench-"))
    os.chmod(tmp, 0o755)  # PostgreSQL runs as an unprivileged user under root
    progress(f"temp dir {tmp}")
    nats_srv: EmbeddedNats | None = None
    pg: EmbeddedPostgres | None = None
    service: subprocess.Popen[bytes] | None = None
    service_log_file: IO[bytes] | None = None
    rc = 1
    try:
        machine = machine_info(tmp)
        progress("starting nats-server (deploy config, sync_interval always)")
        nats_srv = start_nats(tmp, "127.0.0.1", free_port(), free_port())
        progress(f"nats-server at {nats_srv.url}; starting PostgreSQL")
        pg = start_postgres(tmp, "127.0.0.1", free_port())
        progress(f"PostgreSQL at {pg.url}; starting the petitions service")
        service, service_log_file, service_log = start_service(tmp, nats_srv.url, pg.url)
        _, communes = demo_area(Settings().units_dataset)
        procs = Procs(nats_srv.pid, pg.pid, service.pid)
        bench = Bench(args, nats_srv, pg, procs, [u.code for u in communes])
        asyncio.run(run_all(bench, tmp, service, service_log))
        progress("measurements done")
        text = report(bench.results, machine, args, started, time.monotonic() - T0)
        sys.stdout.write(text)
        sys.stdout.flush()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        progress(f"wrote {args.out}")
        errors = sum(len(bench.results["cmd"][c].errors) for c in LEVELS)
        rc = 0 if errors == 0 else 2
    except (KeyboardInterrupt, Interrupted):
        progress("interrupted; shutting down")
        rc = 130
    finally:
        if service is not None:
            progress("stopping the service (SIGTERM)")
            try:
                code = stop_service(service)
                if code not in (0, -signal.SIGTERM):
                    progress(f"service exited with {code}; log tail:\n{tail(tmp / 'service.log')}")
            except Exception as e:  # noqa: BLE001
                progress(f"could not stop the service: {e!r}")
        if service_log_file is not None:
            service_log_file.close()
        for name, srv in (("nats-server", nats_srv), ("PostgreSQL", pg)):
            if srv is None:
                continue
            progress(f"stopping {name}")
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001
                progress(f"could not stop {name}: {e!r}")
        if args.keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        progress("all stopped")
    return rc


if __name__ == "__main__":
    sys.exit(main())
