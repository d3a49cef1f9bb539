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
import math
import os
import platform
import random
import shutil
import signal
import socket
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
from nats.aio.msg import Msg

from caunoi.cli.demo import demo_area
from caunoi.cli.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    find_nats_server,
    free_port,
    start_nats,
    start_postgres,
)
from caunoi.shared.client import Client, RequestFailed, ServiceUnreachable, request
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.jetstream import stream_config
from caunoi.shared.jsapi import ReplyMux, api, direct_get_batch, parse_error
from caunoi.shared.settings import Settings

LEVELS = (1, 10, 100)
RAW_STREAM = "BENCHRAW"
SERVICE_STREAM = "PETITIONS"
SERVICE = "petitions"
READ_DB = "caunoi_petitions"
BENCH_DB = "caunoi_bench"
POLL_PERIOD = 0.002  # read-model poll period, seconds
LOW_RATE = 50.0  # raises/s of the low steady-rate lag run
NAN = float("nan")
KTHREADD = 2  # parent of every kernel thread
T0 = time.monotonic()

OPINIONS: list[tuple[str, str]] = [
    ("land", "Đề nghị xem xét giải quyết tranh chấp ranh giới đất giữa hai hộ ở cuối thôn."),
    ("roads", "Đường liên thôn xuống cấp, mùa mưa lầy lội, đề nghị bê tông hóa."),
    ("drainage", "Mương thoát nước bị bồi lấp, ngập úng khi mưa lớn, đề nghị nạo vét."),
    ("farm_prices", "Giá chè búp tươi giảm mạnh, đề nghị hỗ trợ liên kết tiêu thụ."),
    ("security", "Tình trạng thanh niên tụ tập, đua xe ban đêm, đề nghị tăng cường tuần tra."),
    ("social_policy", "Đề nghị rà soát lại danh sách hộ cận nghèo năm nay."),
]
# Channels that need no hamlet: a meeting-channel raise must name a hamlet from the service's copy
# of the SCHEDULING service's hamlet list, which would need that service too (see README).
CHANNELS = ["hotline", "letter", "reception", "portal"]


def progress(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ statistics


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
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
    nats_msgs: int | None = None  # messages into + out of nats-server during the run (all clients)

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


def _sched_cpu(pid: int) -> float:
    """On-CPU time of a single-threaded process in ns precision (/proc/<pid>/schedstat); utime+stime
    are in 10 ms ticks, which truncates to 0 for a backend that ran a few ms."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return _cpu_of(pid)


def _steal() -> float:
    """CPU seconds the hypervisor did not give this VM although it was runnable (/proc/stat)."""
    try:
        f = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(f[8]) / _TICK  # cpu user nice system idle iowait irq softirq steal ...
    except (OSError, ValueError, IndexError):
        return NAN


def _processes() -> dict[int, tuple[int, float]]:
    """Every process: pid -> (ppid, CPU seconds including its exited children), one scan of /proc."""
    out: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                f = _stat_fields(int(entry.name))
                out[int(entry.name)] = (int(f[1]), sum(int(x) for x in f[11:15]) / _TICK)
            except (OSError, IndexError, ValueError):
                continue
    return out


@dataclass
class Procs:
    nats_pid: int
    pg_pid: int | None
    service_pid: int | None = None
    monitor_url: str | None = None

    def nats_msgs(self) -> int | None:
        """in_msgs + out_msgs of nats-server (monitoring endpoint /varz)."""
        if not self.monitor_url:
            return None
        try:
            with urllib.request.urlopen(f"{self.monitor_url}/varz", timeout=5) as r:
                varz = json.loads(r.read())
            return int(varz["in_msgs"]) + int(varz["out_msgs"])
        except (OSError, ValueError, KeyError):
            return None

    def snapshot(self) -> dict[str, float]:
        procs = _processes()
        ours = {os.getpid(), self.nats_pid, self.service_pid, self.pg_pid}
        mine = {pid for pid, (ppid, _) in procs.items() if pid in ours or ppid in ours}
        kthreads = [pid for pid, (ppid, _) in procs.items() if ppid == KTHREADD or pid == KTHREADD]
        snap = {
            "steal": _steal(),
            # kernel threads: journal commits, block I/O completion... (partly work for our fsyncs)
            "kernel": sum(_sched_cpu(k) for k in kthreads),
            # Everything else, each with its exited children: summed over all such processes, the
            # difference between two snapshots is what they used in between (a process that exited
            # moves its time into its parent's).
            "others": sum(t for pid, (_, t) in procs.items() if pid not in mine and pid not in kthreads),
            "bench": time.process_time(),
            "nats": _cpu_of(self.nats_pid),
        }
        if self.pg_pid:
            # the postmaster with its exited (reaped) children + every live backend
            backends = [pid for pid, (ppid, _) in procs.items() if ppid == self.pg_pid]
            snap["postgres"] = _cpu_of(self.pg_pid, True) + sum(_sched_cpu(c) for c in backends)
        if self.service_pid:
            snap["service"] = _cpu_of(self.service_pid, True)
        return snap


@contextlib.contextmanager
def measured(run: Run, procs: Procs) -> Iterator[None]:
    msgs0 = procs.nats_msgs()
    before = procs.snapshot()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        run.wall = time.perf_counter() - t0
        after = procs.snapshot()
        run.cpu = {k: after[k] - before[k] for k in after if k in before}
        msgs1 = procs.nats_msgs()
        if msgs0 is not None and msgs1 is not None:
            run.nats_msgs = msgs1 - msgs0


# ------------------------------------------------------------------------------ load drivers


async def closed_loop(run: Run, total: int, op: Callable[[int], Awaitable[None]], procs: Procs) -> Run:
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
    return {
        "command_id": str(uuid.uuid4()),
        "actor": "bench",
        "channel": CHANNELS[i % len(CHANNELS)],
        "kind": "petition" if i % 3 else "feedback",
        "category": category,
        "petitioner": {"name": f"Người dân {i}", "confidential": i % 7 == 0},
        "commune_code": communes[i % len(communes)],
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
        if self.args.ops:
            return int(self.args.ops)
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
        sql = "INSERT INTO bench_events (id, subject, data) VALUES ($1, $2, $3::jsonb)"
        try:

            async def op(_: int) -> None:
                async with pool.acquire() as conn:
                    await conn.execute(sql, str(uuid.uuid4()), "caunoi.benchraw.x.08.00691", text)

            # Warm every connection of the pool (statement preparation), not measured.
            await asyncio.gather(*(op(i) for i in range(concurrency)))
            return await closed_loop(Run("pg", concurrency), total, op, self.procs)
        finally:
            await pool.close()

    # -- commands ------------------------------------------------------------------------------

    async def raise_one(self, i: int) -> dict[str, Any]:
        res: dict[str, Any] = await self.client.command(SERVICE, "raise", raise_payload(i, self.communes))
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

    async def settle(self) -> None:
        """Wait until the read model has applied every event, so no projection backlog competes with
        the next run."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            st = await request(self.nc, f"caunoi.admin.{SERVICE}.status", {}, timeout=10.0)
            if all(p["lag"] == 0 for p in st["projections"] if p["name"] == "petitions"):
                return
            await asyncio.sleep(0.05)
        progress("warning: the read model did not catch up within 120 s")

    # -- read-model lag ------------------------------------------------------------------------

    async def lag(
        self, total: int, *, rate: float | None = None, concurrency: int | None = None, pairs: bool = False
    ) -> dict[str, Any]:
        """Raise ``total`` petitions open-loop at ``rate``/s, or closed-loop at ``concurrency``, or
        (``pairs``) two at a time, 0-6 ms apart, waiting until both are visible before the next pair;
        poll the read model every ~2 ms; lag = first seen - reply received."""
        reply_at: dict[str, float] = {}
        outstanding: set[str] = set()
        lags: list[float] = []
        seen: list[tuple[float, float]] = []  # (reply time, first seen)
        polls: list[float] = []
        gaps: list[float] = []  # between two polls in a row (something outstanding both times)
        sending_done = asyncio.Event()
        all_seen = asyncio.Event()  # set by the poller whenever nothing is outstanding

        def on_reply(pid: str, t: float) -> None:
            reply_at[pid] = t
            outstanding.add(pid)

        conn = await asyncpg.connect(self.pg.url_for(READ_DB))

        async def poller() -> int:
            deadline: float | None = None
            last_poll: float | None = None
            while True:
                start = time.perf_counter()
                if outstanding:
                    if last_poll is not None:
                        gaps.append(start - last_poll)
                    last_poll = start
                    ids = list(outstanding)
                    rows = await conn.fetch("SELECT id FROM petitions.petitions WHERE id = ANY($1)", ids)
                    polls.append(time.perf_counter() - start)
                    for r in rows:
                        pid = r["id"]
                        lags.append(start - reply_at[pid])
                        seen.append((reply_at[pid], start))
                        outstanding.discard(pid)
                    if not outstanding:
                        all_seen.set()
                else:
                    last_poll = None
                    if sending_done.is_set():
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
                run = Run("lag-steady" if rate else "lag-pairs", 0)

                async def one(delay: float = 0.0) -> None:
                    if delay:
                        await asyncio.sleep(delay)
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
                    if rate:
                        start = time.perf_counter()
                        for i in range(total):
                            delay = start + i / rate - time.perf_counter()
                            if delay > 0:
                                await asyncio.sleep(delay)
                            tasks.append(asyncio.create_task(one()))
                        await asyncio.gather(*tasks)
                    else:
                        rnd = random.Random(1)
                        for _ in range(total // 2):
                            await asyncio.gather(one(), one(rnd.uniform(0.0, 0.006)))
                            deadline = time.perf_counter() + 5.0
                            while outstanding and time.perf_counter() < deadline:
                                all_seen.clear()
                                with contextlib.suppress(TimeoutError):
                                    await asyncio.wait_for(all_seen.wait(), deadline - time.perf_counter())
                            await asyncio.sleep(0.02)
            sending_done.set()
            missing = await poll_task
        finally:
            poll_task.cancel()
            with contextlib.suppress(BaseException):
                await poll_task
            await conn.close()
        seen.sort()
        tenth = max(1, len(seen) // 10)
        span = (max(t for _, t in seen) - seen[0][0]) if seen else float("nan")
        return {
            "run": run,
            "rate": rate,
            "concurrency": concurrency,
            "pairs": pairs,
            "lags_ms": [x * 1000 for x in lags],
            "first_tenth_ms": percentile([(t - r) * 1000 for r, t in seen[:tenth]], 50),
            "last_tenth_ms": percentile([(t - r) * 1000 for r, t in seen[-tenth:]], 50),
            # rows that became visible per second, from the first reply to the last row seen
            "apply_rate": len(seen) / span if span and span == span else float("nan"),
            "missing": missing,
            "poll_query_ms": percentile(polls, 50) * 1000,
            "poll_gap_ms": percentile(gaps, 50) * 1000,
        }

    # -- profile probes (client side only) -----------------------------------------------------

    async def rebuild(self) -> dict[str, Any]:
        """Replay the whole stream into a fresh read model (``caunoi.admin.petitions.rebuild``),
        timed from the client: the projection's apply rate when no commands compete with it."""
        status = await request(self.nc, f"caunoi.admin.{SERVICE}.status", {}, timeout=10.0)
        events = int(status["stream"]["last_seq"])
        t0 = time.perf_counter()
        await request(self.nc, f"caunoi.admin.{SERVICE}.rebuild", {"projection": "petitions"}, timeout=600.0)
        wall = time.perf_counter() - t0
        return {"events": events, "seconds": wall, "rate": events / wall if wall else float("nan")}

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

        async def invalid(i: int) -> None:
            p = raise_payload(i, self.communes)
            del p["category"]
            try:
                await self.client.command(SERVICE, "raise", p)
            except RequestFailed as e:
                if e.code != "invalid":
                    raise
            else:
                raise RuntimeError("a raise without category was accepted")

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

        echo_subject = self.nc.new_inbox()

        async def echo(msg: Msg) -> None:
            await self.nc.publish(msg.reply, msg.data)

        echo_sub = await self.nc.subscribe(echo_subject, cb=echo)

        async def core_rtt(_: int) -> None:
            await self.nc.request(echo_subject, b"x" * 100, timeout=5.0)

        async def js_info(_: int) -> None:
            await self.nc.request("$JS.API.INFO", b"", timeout=5.0)

        for key, op in (
            ("core_rtt", core_rtt),
            ("js_api_rtt", js_info),
            ("invalid_cmd", invalid),
            ("rejected_cmd", rejected),
            ("load_new_aggregate", load_new),
            ("load_new_in_benchraw", load_raw),
        ):
            out[key] = await closed_loop(Run(key, 1), n, op, self.procs)
        await echo_sub.unsubscribe()
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


@contextlib.contextmanager
def own_sessions() -> Iterator[None]:
    """Start child processes (nats-server, pg_ctl and so the postmaster) in sessions of their own.

    A Ctrl-C at the terminal then reaches only this script, which stops everything in order: the
    service first while NATS is still up, then the servers. (Otherwise nats-server dies of the
    SIGINT at once and the service, unable to drain its connection, needs a SIGKILL.)
    """
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


def start_service(data: Path, nats_url: str, pg_url: str) -> tuple[subprocess.Popen[bytes], IO[bytes], Path]:
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
            raise RuntimeError(f"service exited with {proc.returncode}; {log_path}:\n{tail(log_path)}")
        try:
            await request(nc, f"caunoi.admin.{SERVICE}.status", {}, timeout=2.0)
            return
        except (ServiceUnreachable, RequestFailed):
            if time.monotonic() > deadline:
                raise RuntimeError(f"service not ready after 90s; {log_path}:\n{tail(log_path)}") from None
            await asyncio.sleep(0.2)


def fsync_floor(directory: Path, n: int, size: int) -> tuple[list[float], float]:
    """Latency of appending ``size`` bytes to a file and fsync-ing it (what Go's File.Sync does), ``n`` times."""
    path = directory / "fsync-probe"
    block = os.urandom(size)
    out = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    cpu0 = time.process_time()
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            out.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0) / n
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return out, cpu


# ------------------------------------------------------------------------------ machine info


def pingpong_probe(seconds: float = 1.0) -> tuple[float, float]:
    """A loopback TCP ping-pong with a child process for ``seconds``: round-trip p50 in µs, and the
    steal the kernel reports meanwhile (% of one core). On some VMs steal rises with wake-ups between
    CPUs alone; this tells how to read the steal column."""
    srv = socket.create_server(("127.0.0.1", 0))
    a = socket.create_connection(srv.getsockname())
    b, _ = srv.accept()
    srv.close()
    pid = os.fork()
    if pid == 0:  # the echo side
        a.close()
        try:
            while data := b.recv(1024):
                b.sendall(data)
        finally:
            os._exit(0)
    b.close()
    rtts: list[float] = []
    steal0, t0 = _steal(), time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            a.sendall(b"x" * 100)
            a.recv(1024)
            rtts.append(time.perf_counter() - t)
        wall = time.perf_counter() - t0
        stolen = (_steal() - steal0) * 100 / wall
    finally:
        a.close()
        os.waitpid(pid, 0)
    return percentile(rtts, 50) * 1e6, stolen


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
    mem_kb = next((int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines() if ln.startswith("MemTotal:")), 0)
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
        "load": " ".join(_read("/proc/loadavg").split()[:3]),
    }


def nats_server_version() -> str:
    try:
        out = subprocess.run(
            [str(find_nats_server()), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError as e:
        return f"? ({e})"
    return out.stdout.strip() or out.stderr.strip()


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

    async def on_error(e: Exception) -> None:
        progress(f"NATS client error: {e!r}")

    b.nc = await nats.connect(b.nats_srv.url, name="caunoi-bench", max_reconnect_attempts=1, error_cb=on_error)
    b.client = Client(b.nc, timeout=30.0)
    R = b.results
    try:
        progress("waiting for the petitions service to answer caunoi.admin.petitions.status")
        await wait_service(b.nc, service_proc, service_log)
        progress("service ready")
        R["nats_version"] = nats_server_version()
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
            **stream_config(StreamSpec(RAW_STREAM, "benchraw")),
            "description": "caunoi bench: raw publish floor",
        }
        for k in (
            "storage",
            "retention",
            "discard",
            "duplicate_window",
            "allow_direct",
            "allow_atomic",
            "num_replicas",
        ):
            if k in real_cfg:
                raw_cfg[k] = real_cfg[k]
        created = await api(b.nc, f"$JS.API.STREAM.CREATE.{RAW_STREAM}", raw_cfg)
        R["raw_stream_config"] = created["config"]

        progress(f"disk floor: append {len(b.event_bytes)} B + fsync x 500")
        R["fsync"], R["fsync_cpu"] = fsync_floor(tmp, 500, len(b.event_bytes))  # blocks the loop ~0.3 s: fine

        # Warm-ups (not measured).
        progress("warm-up: 50 raw publishes, 50 inserts, 50 raises")
        await b.raw_publish(10, 50, name="warm")
        await b.raw_insert(10, 50)
        await b.commands(10, 50, name="warm")
        await b.settle()

        if args.profile:
            progress("profile probes (stream still small)")
            R["probes_before"] = await b.probes(200 if not args.quick else 50, "before the command runs")

        # One concurrency level at a time, the three measurements back to back, so that the raw floors
        # and the command path at the same c are measured under the same conditions (a VM's speed
        # drifts over minutes).
        R["raw"], R["pg"], R["cmd"] = {}, {}, {}
        for c in LEVELS:
            await b.settle()
            progress(f"raw publish c={c} ({n} msgs) ...")
            r = await b.raw_publish(c, n)
            R["raw"][c] = r
            progress(f"raw publish c={c} done: p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, {r.throughput:.0f}/s")

            progress(f"raw PG insert c={c} ({n} rows) ...")
            r = await b.raw_insert(c, n)
            R["pg"][c] = r
            progress(f"raw PG insert c={c} done: p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, {r.throughput:.0f}/s")

            progress(f"command round trip c={c} ({n} raises) ...")
            r = await b.commands(c, n)
            R["cmd"][c] = r
            progress(
                f"command c={c} done: p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, {r.throughput:.0f}/s,"
                f" errors {len(r.errors)}"
            )
            for e in r.errors[:5]:
                progress(f"  error: {e}")

        lag_n = 150 if args.quick else 500
        tp10 = R["cmd"][10].throughput
        high = float(max(20, int(tp10 * 0.5))) if tp10 == tp10 else 100.0
        R["lag"] = []
        for label, rate, conc, pairs in (
            ("steady", LOW_RATE, None, False),
            ("steady, half of c=10 capacity", high, None, False),
            ("closed loop c=10", None, 10, False),
            ("sparse pairs", None, None, True),
        ):
            what = (
                f"at a steady {rate:.0f}/s"
                if rate
                else f"closed-loop at c={conc}"
                if conc
                else "in pairs 0-6 ms apart, each pair once the previous one is visible"
            )
            await b.settle()
            progress(f"read-model lag: {lag_n} raises {what} ...")
            d = await b.lag(lag_n, rate=rate, concurrency=conc, pairs=pairs)
            d["label"] = label
            R["lag"].append(d)
            progress(
                f"read-model lag {what} done: p50 {percentile(d['lags_ms'], 50):.1f} ms,"
                f" p99 {percentile(d['lags_ms'], 99):.1f} ms"
            )

        if args.profile:
            await b.settle()
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
        if args.profile:
            progress(f"profile: rebuilding the read model from {status['stream']['last_seq']:,} events ...")
            R["rebuild"] = await b.rebuild()
            progress(f"rebuild done: {R['rebuild']['rate']:.0f} events/s")
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
    return a / b if b and b == b and a == a else NAN


def lag_label(d: dict[str, Any]) -> str:
    if d["rate"]:
        return f"{d['label']}: {d['rate']:.0f} raises/s"
    if d.get("pairs"):
        return f"{d['label']} (2 raises 0-6 ms apart, next pair once both are visible)"
    return f"{d['label']} (as fast as possible)"


def slow(d: dict[str, Any], ms: float = 500.0) -> int:
    return sum(1 for x in d["lags_ms"] if x >= ms)


def report(R: dict[str, Any], m: dict[str, str], args: argparse.Namespace, started: dt.datetime, elapsed: float) -> str:
    raw: dict[int, Run] = R["raw"]
    pg: dict[int, Run] = R["pg"]
    cmd: dict[int, Run] = R["cmd"]
    lags: list[dict[str, Any]] = R["lag"]
    fs_ms = [x * 1000 for x in R["fsync"]]
    js = R.get("js_config", {})
    cfg = R["stream_config"]
    rc = R["raw_stream_config"]
    ps = R["pg_settings"]
    workers = Settings().command_workers
    mode = "--quick" if args.quick else "full run"
    L: list[str] = []
    w = L.append
    w("# caunoi benchmark results")
    w("")
    w(
        f"Run {started:%Y-%m-%d %H:%M} UTC ({mode}{', --profile' if args.profile else ''}), {elapsed:.0f} s"
        " in all. Produced by `.venv/bin/python bench/run.py`; how to read it: bench/README.md."
    )
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    for key, val in (
        ("CPU", m["cpu"]),
        ("Cores", m["cores"]),
        ("RAM", m["ram"]),
        ("Disk of the temp dir", m["disk"]),
        ("OS", m["kernel"]),
        ("Python", m["python"]),
        ("Load average (1/5/15 min) before the run", m["load"]),
        (
            "Loopback TCP ping-pong between two processes (1 s)",
            f"round trip p50 {m['pingpong']} µs; steal reported meanwhile {m['pingpong_steal']}% of a core",
        ),
        ("nats-server", R["nats_version"]),
        ("PostgreSQL", f"{R['pg_version']} (pgserver wheel)"),
    ):
        w(f"| {key} | {val} |")
    w("")
    w("## Settings")
    w("")
    w(
        "- nats-server: single node, `deploy/nats/nats-server.conf`, JetStream `sync_interval: always`"
        f" (the server reports `sync_always: {str(js.get('sync_always', '?')).lower()}`: every write is"
        " fsynced before it is acknowledged)."
    )
    w(
        f"- Stream {SERVICE_STREAM} (provisioned by the service): storage `{cfg.get('storage')}`,"
        f" replicas {cfg.get('num_replicas')}, duplicate_window {cfg.get('duplicate_window', 0) / 1e9:.0f} s,"
        f" allow_direct {cfg.get('allow_direct')}, allow_atomic {cfg.get('allow_atomic')}."
        f" Stream {RAW_STREAM} (the floor) has the same settings (storage `{rc.get('storage')}`,"
        f" duplicate_window {rc.get('duplicate_window', 0) / 1e9:.0f} s) on subjects `{rc.get('subjects')}`."
    )
    w(
        f"- PostgreSQL {R['pg_version']}: fsync={ps['fsync']}, synchronous_commit={ps['synchronous_commit']},"
        f" wal_sync_method={ps['wal_sync_method']}, shared_buffers={ps['shared_buffers']},"
        f" commit_delay={ps['commit_delay']}."
    )
    w(
        f"- The event: a real PetitionRaised CloudEvent as the service stored it, {R['event_size']} bytes"
        f" (subject `{R['event_subject']}`). Raw publishes send these exact bytes with the same headers"
        " (Nats-Msg-Id, Content-Type, ce-type, Nats-Expected-Last-Subject-Sequence: 0), each to a new subject."
    )
    w(
        f"- Commands: `raise` with a new command id each (a new petition), channels {', '.join(CHANNELS)}"
        " (not `meeting`: that one needs a hamlet from the scheduling service's list, which would take a"
        " second service; it adds one PostgreSQL read to the command)."
    )
    w(
        f"- {raw[1].n + len(raw[1].errors):,} operations per level; c = c asyncio tasks doing sequential"
        " requests. All NATS load comes from ONE client connection (nats-py, one event loop); the service"
        f" has one connection too. Client, nats-server, PostgreSQL and service share the {m['cores']} cores."
        f" The service runs at most {workers} requests at once (CAUNOI_COMMAND_WORKERS), so at c=100 some"
        " wait inside the service."
    )
    w(
        "- Latency: from sending the request to receiving the reply, measured by the client. Throughput:"
        " completed operations / wall time of the level. Warm-ups are not counted. The three measurements of"
        " one concurrency level run back to back (raw publish, raw insert, raise), then the next level."
    )
    w("")
    w("## JetStream publish (the floor) vs the `raise` command round trip")
    w("")
    w(
        "| c | raw publish p50 ms | raw p99 ms | raw msg/s | `raise` p50 ms | `raise` p99 ms | `raise`/s"
        " | p50 ratio cmd/raw | throughput ratio raw/cmd | cmd errors |"
    )
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in LEVELS:
        r, k = raw[c], cmd[c]
        w(
            f"| {c} | {f2(r.p50)} | {f2(r.p99)} | {f0(r.throughput)} | {f2(k.p50)} | {f2(k.p99)}"
            f" | {f0(k.throughput)} | {f1(ratio(k.p50, r.p50))}x | {f1(ratio(r.throughput, k.throughput))}x"
            f" | {len(k.errors)} |"
        )
    w("")
    w(f"Raw publish errors: {sum(len(raw[c].errors) for c in LEVELS)}.")
    w("")
    w("## PostgreSQL single-row INSERT (the other floor)")
    w("")
    w(
        "Autocommit (one transaction per row), synchronous_commit on, an asyncpg pool of c connections;"
        f" row = uuid primary key + subject + the {R['event_size']}-byte event as jsonb."
    )
    w("")
    w("| c | p50 ms | p99 ms | rows/s | errors |")
    w("|---:|---:|---:|---:|---:|")
    for c in LEVELS:
        r = pg[c]
        w(f"| {c} | {f2(r.p50)} | {f2(r.p99)} | {f0(r.throughput)} | {len(r.errors)} |")
    w("")
    w(
        f"Disk: append {R['event_size']} bytes to a file in the temp dir + fsync, sequentially"
        f" x{len(fs_ms)}: p50 {f2(percentile(fs_ms, 50))} ms, p99 {f2(percentile(fs_ms, 99))} ms, and"
        f" {f2(R['fsync_cpu'] * 1000)} ms of CPU per append + fsync in the calling process."
    )
    w("")
    w("## Event -> read-model lag")
    w("")
    w(
        "From the command's reply (the event is durably stored) to the petition's row being visible in"
        f" `petitions.petitions`, polled with one query about every {POLL_PERIOD * 1000:.0f} ms (each lag is"
        " an upper bound, by up to one poll interval). Separate runs after the table above; each lag run"
        ' waits until every row is visible. "rows/s visible": rows that appeared per second from the first'
        " reply to the last row seen."
    )
    w("")
    w(
        "| load | raises | lag p50 ms | lag p99 ms | lag max ms | lags >= 0.5 s | first 10%: lag p50"
        " | last 10%: lag p50 | `raise`/s sent | rows/s visible | cmd p50 ms | cmd p99 ms | not seen in 30 s"
        " | poll interval ms | other processes |"
    )
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d in lags:
        run: Run = d["run"]
        lg = d["lags_ms"]
        w(
            f"| {lag_label(d)} | {run.n} | {f2(percentile(lg, 50))} | {f2(percentile(lg, 99))}"
            f" | {f2(max(lg, default=NAN))} | {slow(d)} | {f2(d['first_tenth_ms'])} | {f2(d['last_tenth_ms'])}"
            f" | {f0(run.throughput)} | {f0(d['apply_rate'])} | {f2(run.p50)} | {f2(run.p99)} | {d['missing']}"
            f" | {f2(d['poll_gap_ms'])} | {pct(run, run.cpu.get('others', NAN))} |"
        )
    w("")
    w("## CPU used per operation")
    w("")
    w(
        "CPU time (user + system, from /proc) each process used during a level, per operation; in brackets"
        f" its average CPU use during the level in % of one core ({m['cores']} cores = {cores(m) * 100}%)."
        " `postgres` counts all its processes; during `raise` runs it is the service's read-model projection"
        " writing (and the service's hamlet/read queries, if any). `kernel threads`: the kernel's own threads"
        " (ext4 journal commits and block I/O completion for the fsyncs, among others). `other processes`:"
        " everything else running on the machine meanwhile; when it is high, something disturbed the level."
        " `steal`: time the kernel reports as taken by the hypervisor (other VMs, its device emulation...);"
        " per-process times may include part of it. See the ping-pong line under Machine: on some VMs steal"
        " rises with wake-ups between CPUs alone, so it is not always a sign of outside interference."
    )
    w("")
    w(
        "| run | c | bench client | nats-server | postgres | service | kernel threads | other processes | steal"
        " | NATS msgs in+out per op |"
    )
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def cell(r: Run, p: str) -> str:
        if p not in r.cpu:
            return "-"
        return f"{f2(r.cpu_ms_per_op(p))} ms ({r.cpu_pct(p):.0f}%)"

    for label, runs in (("raw publish", raw), ("raw insert", pg), ("raise", cmd)):
        for c in LEVELS:
            r = runs[c]
            w(
                f"| {label} | {c} | {cell(r, 'bench')} | {cell(r, 'nats')} | {cell(r, 'postgres')}"
                f" | {cell(r, 'service')} | {pct(r, r.cpu.get('kernel', NAN))} | {pct(r, r.cpu.get('others', NAN))}"
                f" | {pct(r, r.cpu.get('steal', NAN))} | {msgs_per_op(r)} |"
            )
    w("")
    w(
        "NATS messages per operation count every message into and out of nats-server during the level"
        " (requests, replies, JetStream API calls and acks, direct-get results and their end-of-batch"
        " status, the projection's wake-up copies; the monitoring endpoint's `in_msgs + out_msgs`)."
    )
    w("")
    if "probes_before" in R:
        w("## Profile: pieces of the command path, timed from the client (c=1)")
        w("")
        w("| probe | what it covers | stream msgs | p50 ms | p99 ms |")
        w("|---|---|---:|---:|---:|")
        what = {
            "core_rtt": "core NATS request/reply, 100 bytes, to a responder in the bench process",
            "js_api_rtt": "request/reply to the JetStream API (`$JS.API.INFO`)",
            "invalid_cmd": "`raise` without its `category`, refused by pydantic before the handler runs:"
            " the service's fixed cost per request (FastStream, JSON, validation, error reply)",
            "rejected_cmd": "`raise` for an unknown commune, refused by the service: the path of a raise up to"
            " the commune check (request/reply, JSON, pydantic, whatever the handler does before the check:"
            " today that includes loading the aggregate), then the error reply; no event, no append",
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
        if "rebuild" in R:
            rb = R["rebuild"]
            w(
                f"Read-model rebuild (`caunoi.admin.petitions.rebuild`, no command load): {rb['events']:,} events"
                f" replayed in {rb['seconds']:.1f} s = {f0(rb['rate'])} events/s."
            )
            w("")
        w(profile_paragraph(R))
        w("")
    w("## What this means")
    w("")
    w(meaning(R, m))
    w("")
    st = R["status"]
    proj = ", ".join(f"{p['name']}: lag {p['lag']}, parked {p['parked']}" for p in st["projections"])
    w(
        f"End state: stream {SERVICE_STREAM} {st['stream']['messages']:,} messages"
        f" ({st['stream']['bytes']:,} bytes), {RAW_STREAM} {R['raw_state']['messages']:,} messages;"
        f" read model {R['read_rows']:,} rows; projections: {proj}."
    )
    errors = [e for c in LEVELS for e in cmd[c].errors] + [e for d in lags for e in d["run"].errors]
    if errors:
        w("")
        w(f"### Command errors ({len(errors)})")
        w("")
        for e in errors[:20]:
            w(f"- `{e}`")
    return "\n".join(L) + "\n"


def pct(r: Run, cpu_seconds: float) -> str:
    """CPU seconds during ``r`` as % of one core."""
    return "-" if cpu_seconds != cpu_seconds or not r.wall else f"{cpu_seconds * 100 / r.wall:.0f}%"


def msgs_per_op(r: Run) -> str:
    ops = r.n + len(r.errors)
    return f"{r.nats_msgs / ops:.1f}" if r.nats_msgs is not None and ops else "-"


def cores(m: dict[str, str]) -> int:
    return int(m["cores"]) if m["cores"].isdigit() else 1


def profile_paragraph(R: dict[str, Any]) -> str:
    pb: dict[str, Any] = R["probes_before"]
    pa: dict[str, Any] = R.get("probes_after") or pb
    raw1: Run = R["raw"][1]
    cmd1: Run = R["cmd"][1]

    def best(key: str) -> float:  # the lower of the medians before and after the runs
        before: Run = pb[key]
        after: Run = pa[key]
        return min(before.p50, after.p50)

    core, inv, rej, load = best("core_rtt"), best("invalid_cmd"), best("rejected_cmd"), best("load_new_aggregate")
    rest = cmd1.p50 - rej - raw1.p50
    s = (
        f"Rough split of the c=1 `raise` median ({f2(cmd1.p50)} ms), from client-side probes (for each, the"
        " lower of its medians before and after the runs; separate measurements, so approximate): a core"
        f" NATS round trip is {f2(core)} ms; a request the service"
        f" refuses at validation takes {f2(inv)} ms, so the service's fixed cost per request is about"
        f" {f2(inv - core)} ms; refused at the commune check, after the handler's first steps (the aggregate"
        f" load is {f2(load)} ms on its own), {f2(rej)} ms, {f2(rej - inv)} ms more; the durable append alone"
        f" is {f2(raw1.p50)} ms (raw publish c=1)"
    )
    s += (
        f"; the remaining {f2(rest)} ms is building and serialising the event, the append's overhead inside"
        " the service beyond a bare publish, and the success reply."
        if rest >= 0
        else f"; these add up to more than the accepted raise ({f2(-rest)} ms over), so this run's probes were"
        " disturbed and give no split."
    )
    if "probes_after" in R:
        lb, la = pb["load_new_aggregate"].p50, pa["load_new_aggregate"].p50
        grow = ratio(la, lb)
        s += (
            f" Loading a new aggregate took {f2(lb)} ms with {pb['stream_msgs']:,} messages in the stream and"
            f" {f2(la)} ms with {pa['stream_msgs']:,} ({f1(grow)}x)"
        )
        s += (
            ": it grows with the stream, a scaling problem for `raise` (every raise loads a subject that has"
            " no messages yet)."
            if grow > 1.5
            else ": no visible dependence on the stream's size at this scale."
        )
    if "rebuild" in R:
        rb = R["rebuild"]
        loaded = max(R["lag"], key=lambda d: d["run"].throughput)
        s += (
            f" With no commands competing the projection applies {f0(rb['rate'])} events/s (rebuild); while"
            f" commands arrived at {f0(loaded['run'].throughput)}/s ({lag_label(loaded)}) rows became visible at"
            f" {f0(loaded['apply_rate'])}/s."
        )
    return s


def meaning(R: dict[str, Any], m: dict[str, str]) -> str:
    raw: dict[int, Run] = R["raw"]
    pg: dict[int, Run] = R["pg"]
    cmd: dict[int, Run] = R["cmd"]
    lags: list[dict[str, Any]] = R["lag"]
    fs50 = percentile([x * 1000 for x in R["fsync"]], 50)
    r1, k1, r100, k100 = raw[1], cmd[1], raw[100], cmd[100]
    out: list[str] = []
    out.append(
        f"One at a time, a `raise` takes {f2(k1.p50)} ms at the median (p99 {f2(k1.p99)} ms) against"
        f" {f2(r1.p50)} ms for a bare durable JetStream publish of the same event: the command path (request"
        " to the service, validation, loading the aggregate by batched direct get, building the event, the"
        f" append, the reply) adds {f2(k1.p50 - r1.p50)} ms, {f1(ratio(k1.p50, r1.p50))}x the floor."
    )
    best_raw = max(raw.values(), key=lambda r: r.throughput)
    best_cmd = max(cmd.values(), key=lambda r: r.throughput)
    tr = ratio(best_raw.throughput, best_cmd.throughput)
    verdict = "close to" if tr < 1.5 else "well below" if tr < 4 else "far below"
    out.append(
        f"Under load the command path peaks at {f0(best_cmd.throughput)} raises/s (c={best_cmd.concurrency})"
        f" while raw publishing peaks at {f0(best_raw.throughput)} msg/s (c={best_raw.concurrency}): {verdict}"
        f" the floor, {f1(tr)}x fewer operations per second. At c=100 a raise takes {f2(k100.p50)} ms at the"
        f" median against {f2(r100.p50)} ms for a raw publish ({f1(ratio(k100.p50, r100.p50))}x)."
    )
    usage = {p: best_cmd.cpu_pct(p) for p in ("service", "nats", "postgres", "bench", "kernel", "others", "steal")}
    n_cores = cores(m)
    total = sum(v for k, v in usage.items() if k != "steal" and v == v)
    out.append(
        f"During the c={best_cmd.concurrency} command run, in % of one core (of {n_cores * 100}%): service"
        f" {usage['service']:.0f}%, nats-server {usage['nats']:.0f}%, PostgreSQL {usage['postgres']:.0f}%,"
        f" benchmark client {usage['bench']:.0f}%, kernel threads {usage['kernel']:.0f}%, other processes"
        f" {usage['others']:.0f}%, steal {usage['steal']:.0f}%;"
        f" the service spent {f2(best_cmd.cpu_ms_per_op('service'))} ms of CPU"
        f" per command (including its projection), nats-server {f2(best_cmd.cpu_ms_per_op('nats'))} ms, against"
        f" {f2(best_raw.cpu_ms_per_op('nats'))} ms of nats-server CPU per raw publish."
    )
    if k1.nats_msgs is not None and r1.nats_msgs is not None:
        out.append(
            f"At c=1 each raise moved {msgs_per_op(k1)} messages through nats-server (request, the aggregate"
            " load, the append and its ack, the reply, the projection's wake-up and reads) against"
            f" {msgs_per_op(r1)} for a raw publish."
        )
    svc, stolen = usage["service"], usage["steal"]
    if svc >= 80:
        out.append(
            "The service is one Python process with one event loop; near 100% of a core it is CPU-bound:"
            " its per-command Python work, not the disk or JetStream, limits command throughput."
        )
    elif svc >= 60 and stolen >= 20:
        out.append(
            f"The service is one Python process with one event loop; it used {svc:.0f}% of a core, with"
            f" {stolen:.0f}% of a core of steal reported on top across the machine, so its event loop was mostly"
            " busy: its per-command Python work, more than the disk or JetStream, limits command throughput."
        )
    elif total >= n_cores * 100 * 0.85:
        out.append(
            "The cores are nearly saturated, so throughput is limited by CPU shared between the client, the"
            " service, nats-server and PostgreSQL on this small machine, not by the disk."
        )
    else:
        out.append(
            "Neither the cores nor the service's event loop are saturated, so waiting (fsync, round trips) dominates."
        )
    fsync_rate = 1000 / fs50 if fs50 == fs50 and fs50 > 0 else NAN
    share = ratio(best_raw.throughput, fsync_rate)
    out.append(
        f"The disk alone does about {f0(fsync_rate)} sequential appends + fsync per second ({f2(fs50)} ms p50,"
        f" {f2(R['fsync_cpu'] * 1000)} ms of CPU each); JetStream's best raw rate, {f0(best_raw.throughput)}"
        f" msg/s, is {share * 100:.0f}% of that"
        + (
            ", consistent with one fsync per stored message (`sync_interval: always`): the fsync rate, and the"
            " CPU each fsync costs on this VM, cap a stream's write rate."
            if share <= 1.25
            else ": more messages than sequential fsyncs, so concurrent writes share fsyncs."
        )
    )
    p1, p_best = pg[1], max(pg.values(), key=lambda r: r.throughput)
    out.append(
        f"A PostgreSQL single-row commit takes {f2(p1.p50)} ms at c=1 and peaks at {f0(p_best.throughput)} rows/s"
        f" (c={p_best.concurrency}), {f1(ratio(p_best.throughput, best_raw.throughput))}x JetStream's peak with"
        " sync always."
    )
    low = lags[0]
    out.append(
        f"At a steady {low['rate']:.0f} raises/s a petition is visible in the read model"
        f" {f2(percentile(low['lags_ms'], 50))} ms after its reply at the median (p99"
        f" {f2(percentile(low['lags_ms'], 99))} ms; these include up to one poll interval)."
    )
    for d in lags[1:]:
        if d.get("pairs"):
            n_slow, n = slow(d, 900.0), len(d["lags_ms"])
            out.append(
                f"With {lag_label(d)} the lag is {f2(percentile(d['lags_ms'], 50))} ms p50, max"
                f" {f2(max(d['lags_ms'], default=NAN))} ms"
                + (
                    f"; {n_slow} of {n} rows ({n_slow * 100 / n:.1f}%) took 0.9 s or more: the read model's"
                    " runner polls once a second as a fallback, so these rows waited for that poll - their"
                    " wake-up was lost (bursts right after a quiet spell trigger it; under steady traffic the"
                    " next event's wake-up hides it)."
                    if n_slow
                    else "; no row waited for the projection's 1-second fallback poll."
                )
            )
            continue
        first, last = d["first_tenth_ms"], d["last_tenth_ms"]
        behind = d["apply_rate"] < 0.95 * d["run"].throughput
        out.append(
            f"At {lag_label(d)} the lag is {f2(percentile(d['lags_ms'], 50))} ms p50 /"
            f" {f2(percentile(d['lags_ms'], 99))} ms p99 (first tenth of the raises {f2(first)} ms, last tenth"
            f" {f2(last)} ms; rows appeared at {f0(d['apply_rate'])}/s while commands completed at"
            f" {f0(d['run'].throughput)}/s)"
            + (
                ": rows appear more slowly than commands complete, so the projection falls behind while the load lasts."
                if behind
                else ": rows keep pace with the commands."
            )
        )
    runs = [*raw.values(), *pg.values(), *cmd.values(), *(d["run"] for d in lags)]
    wall = sum(r.wall for r in runs)
    steal = sum(r.cpu.get("steal", 0.0) for r in runs)
    other = sum(r.cpu.get("others", 0.0) for r in runs)
    if wall:
        out.append(
            f"Over all measured runs other processes used {other * 100 / wall:.0f}% of a core on average"
            + (
                " (the machine was not quiet: absolute numbers are pessimistic, the ratios matter more)"
                if other * 100 / wall > 10
                else " (the machine was otherwise quiet)"
            )
            + f" and the kernel reported {steal * 100 / wall:.0f}% of a core of steal; a bare loopback ping-pong"
            f" between two processes showed {m['pingpong_steal']}% steal at {m['pingpong']} µs round trips"
            + (
                ", so on this VM steal mostly comes with wake-ups between CPUs (which every request here does)"
                " rather than from other VMs: expect run-to-run variation and compare ratios, not absolutes."
                if float(m["pingpong_steal"] or 0) >= 20
                else "."
            )
        )
    errs = sum(len(cmd[c].errors) for c in LEVELS) + sum(len(d["run"].errors) for d in lags)
    total_cmds = sum(cmd[c].n for c in LEVELS) + sum(d["run"].n for d in lags) + errs
    missing = sum(d["missing"] for d in lags)
    out.append(
        f"{'All' if not errs else 'Not all'} {total_cmds:,} measured commands succeeded ({errs} errors);"
        f" {missing} petitions were not visible in the read model within 30 s."
    )
    return " ".join(out)


# ------------------------------------------------------------------------------ main


class Interrupted(Exception):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 operations per level instead of 2,000 (~20 s)")
    ap.add_argument("--profile", action="store_true", help="also time pieces of the command path (client side)")
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "RESULTS.md",
        help="Markdown report file (default bench/RESULTS.md)",
    )
    ap.add_argument("--ops", type=int, default=None, help="operations per level (default 2,000; --quick 300)")
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
        progress("loopback ping-pong probe (1 s)")
        rtt_us, pp_steal = pingpong_probe()
        machine["pingpong"] = f"{rtt_us:.0f}"
        machine["pingpong_steal"] = f"{pp_steal:.0f}"
        progress("starting nats-server (deploy config, sync_interval always)")
        with own_sessions():
            nats_srv = start_nats(tmp, "127.0.0.1", free_port(), free_port())
        progress(f"nats-server at {nats_srv.url}; starting PostgreSQL")
        with own_sessions():
            pg = start_postgres(tmp, "127.0.0.1", free_port())
        progress(f"PostgreSQL at {pg.url}; starting the petitions service")
        service, service_log_file, service_log = start_service(tmp, nats_srv.url, pg.url)
        _, communes = demo_area(Settings().units_dataset)
        procs = Procs(nats_srv.pid, pg.pid, service.pid, nats_srv.monitor_url)
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
        errors += sum(len(d["run"].errors) for d in bench.results["lag"])
        rc = 0 if errors == 0 else 2
    except (KeyboardInterrupt, Interrupted):
        progress("interrupted; shutting down")
        rc = 130
    finally:
        if service is not None:
            progress("stopping the service (SIGTERM)")
            try:
                # If NATS is gone the service cannot drain its connection: do not wait long for it.
                code = stop_service(service, 15.0 if nats_srv is not None and nats_srv.running else 3.0)
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
