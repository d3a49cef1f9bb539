#!/usr/bin/env python
"""caunoi benchmark (``make bench``): every row of issue 7's table, measured in ONE run on
embedded servers, beside the raw limits measured in the same run and the peer (the Python
``eventsourcing`` library on the same PostgreSQL) doing the same work.

    .venv/bin/python bench/run.py [--quick] [--out bench/RESULTS.md] [--keep]

Writes bench/RESULTS.md, bench/results.json and bench/results.png (see bench/README.md for what
each row measures and how to read it). Progress goes to stderr. Everything started is stopped on
exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fill
import floor
import incode
import report
import work
from meter import Meter, machine, python_loop_ms, usage_since
from system import SERVICE, System, progress, start_clustered, start_single

from caunoi.cli.demo import demo_area
from caunoi.cli.embedded import find_nats_server
from caunoi.petitions.bootstrap import STREAM
from caunoi.shared.client import Client
from caunoi.shared.jsapi import api
from caunoi.shared.partitions import BUFFERED, READ_AHEAD
from caunoi.shared.projection import BULK_PULL
from caunoi.shared.settings import Settings, database_url_with, inbox_prefix
from caunoi.shared.snapshots import PgSnapshots

HERE = Path(__file__).resolve().parent
#: rebuilds of the report's rebuild row, in one run: its median is reported, the others beside it
REBUILDS = 3
#: catch-ups measured, the report's row their median (the first one alone with --quick)
CATCH_UPS = 3


class Interrupted(Exception):
    pass


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "c1": 200,
            "levels": 400,
            "lag_rate": 1000.0,
            "lag_seconds": 3.0,
            "load_points": [31_000, 100_000],
            "loads": 30,
            "peer_commands": 200,
            "cluster_c1": 100,
            "cluster_levels": 300,
            "incode": 2000,
        }
    return {
        "c1": 2000,
        "levels": 3000,
        "lag_rate": 1000.0,
        "lag_seconds": 10.0,
        "load_points": [31_000, 331_000, 1_000_000],
        "loads": 150,
        "peer_commands": 2000,
        "cluster_c1": 1000,
        "cluster_levels": 2000,
        "incode": 10_000,
    }


def meter_for(system: System) -> Meter:
    return Meter(nats=list(system.nats_pids), postgres=system.pg.pid, services={s.pid: s.role for s in system.services})


async def command_rows(
    system: System, n: dict[str, Any], levels: tuple[int, ...], c1: int, total: int
) -> dict[str, Any]:
    """At c=1, then at each level, back to back so each group runs under the same conditions: raw
    durable publishes (one by one, then pipelined), the same round trip through a bare responder
    (the floor: bench/floor.py), then through one storing new petitions in the service's stream,
    which its projection follows (the floor with the read model), and ``raise``."""
    out: dict[str, Any] = {}
    client = await system.client("bench")
    raiser = work.Raiser(client)
    try:
        await work.provision_raw(client.nc, system.replicas)
        stored = await work.one_stored_event(client.nc, raiser)
        payload = stored.data
        out["event_bytes"] = len(payload)
        url, seed, prefix = system.nats_url.split(",")[0], system.operator_seed, inbox_prefix("operator")
        copies = floor.copies(stored, STREAM, c1 + 50 + sum(total + c for c in levels))
        async with (
            floor.responder(url, seed, payload, prefix, system.root) as floor_pid,
            floor.responder(url, seed, payload, prefix, system.root, copies) as stream_floor_pid,
        ):
            meter = meter_for(system)
            meter.services[floor_pid] = "floor"
            meter.services[stream_floor_pid] = "floor"
            headers = client.login.headers()
            floor_op = floor.round_trip(client.nc, raiser.body, headers)
            stream_floor_op = floor.round_trip(client.nc, raiser.body, headers, floor.STREAM_SUBJECT)
            progress(f"c=1: {c1:,} raw durable publishes, {c1:,} through each bare responder, {c1:,} raises")
            out["raw_c1"] = (await work.raw_publish_one_by_one(client.nc, payload, c1, meter, warmup=50)).to_json()
            out["floor_c1"] = (await work.closed_loop(work.Run("floor", 1), c1, floor_op, meter, 50)).to_json()
            await work.settle(client)
            out["stream_floor_c1"] = (
                await work.closed_loop(work.Run("floor", 1), c1, stream_floor_op, meter, 50)
            ).to_json()
            await work.settle(client)
            out["raise_c1"] = (await raiser.closed_loop(1, c1, meter, warmup=50)).to_json()
            progress(
                f"raise c=1: p50 {out['raise_c1']['p50_ms']} ms (raw {out['raw_c1']['p50_ms']} ms,"
                f" floor {out['floor_c1']['p50_ms']} ms, with the read model {out['stream_floor_c1']['p50_ms']} ms)"
            )
            for c in levels:
                await work.settle(client)
                progress(f"c={c}: {total:,} pipelined raw publishes, through each bare responder, then raises")
                out[f"raw_pipelined_{c}"] = (
                    await work.raw_publish_pipelined(system, payload, c, total, meter)
                ).to_json()
                out[f"floor_c{c}"] = (await work.closed_loop(work.Run("floor", c), total, floor_op, meter, c)).to_json()
                await work.settle(client)
                out[f"stream_floor_c{c}"] = (
                    await work.closed_loop(work.Run("floor", c), total, stream_floor_op, meter, c)
                ).to_json()
                await work.settle(client)
                out[f"raise_c{c}"] = (await raiser.closed_loop(c, total, meter, warmup=c)).to_json()
                progress(
                    f"raise c={c}: {out[f'raise_c{c}']['per_s']:,}/s (raw {out[f'raw_pipelined_{c}']['per_s']:,}/s,"
                    f" floor {out[f'floor_c{c}']['per_s']:,}/s, with the read model"
                    f" {out[f'stream_floor_c{c}']['per_s']:,}/s)"
                )
        await work.settle(client)
    finally:
        await client.nc.close()
    return out


async def single_node(root: Path, args: argparse.Namespace, n: dict[str, Any], results: dict[str, Any]) -> None:
    system = start_single(root / "single")
    try:
        info = await system_settings(system)
        results["settings"] = info
        await system.start_services(args.endpoint_processes)
        if args.only:
            r = results["single"] = {}
            client = await system.client("bench")
            try:
                await work.one_stored_event(client.nc, work.Raiser(client))  # the COPY limit's row
            finally:
                await client.nc.close()
        else:
            r = results["single"] = await command_rows(system, n, (20, 100), n["c1"], n["levels"])
            progress(f"the command code alone: {n['incode']:,} raises in one process, in memory (bench/incode.py)")
            r["incode"] = await asyncio.to_thread(incode.run, n["incode"])
            progress(f"{r['incode']['cpu_us_per_raise']} µs of CPU per raise")
            client = await system.client("bench-lag")
            try:
                meter = meter_for(system)
                progress(f"lag: {n['lag_rate']:.0f} raises/s for {n['lag_seconds']:.0f} s")
                r["lag"] = await work.lag_at_rate(
                    work.Raiser(client), system.pg.url_for(f"caunoi_{SERVICE}"), n["lag_rate"], n["lag_seconds"], meter
                )
                progress(f"lag p99 {r['lag']['lag_p99_ms']} ms at {r['lag']['rate_sent']}/s")
                await work.settle(client)
                r["rss_after_commands"] = work.service_rss(system)
            finally:
                await client.nc.close()
        await system.stop_services()

        # -- the stream grows to the rebuild's size; one aggregate's load at each size
        nc = await system.connect("bench-fill")
        vault = await fill.open_vault(system.pg.url, system.installation.vault_key)
        # the service's database, where it keeps its petitions' snapshots
        pool = await asyncpg.create_pool(system.pg.url_for(f"caunoi_{SERVICE}"), min_size=1, max_size=2)
        await PgSnapshots(pool).ensure()
        snapped = 0
        try:
            _, communes = demo_area("vn-2025")
            lives = await fill.template_lives([u.code for u in communes[:6]])
            filler = fill.Filler(lives, int.from_bytes(os.urandom(2), "big"), vault.wrap)
            sample: list[str] = []
            r["load"] = []
            r["fill"] = {"events": 0, "messages": 0, "checkpoints": 0, "seconds": 0.0, "block": fill.BLOCK}
            for point in n["load_points"]:
                have = int((await api(nc, "$JS.API.STREAM.INFO.PETITIONS"))["state"]["messages"])
                # the checkpoints the service's duty would add: one per CHECKPOINT_EVENTS messages
                want = max(0, point - have) * (fill.CHECKPOINT_EVENTS - 1) // fill.CHECKPOINT_EVENTS
                if want:
                    progress(f"filling {want:,} events and their checkpoints (stream at {have:,}, to {point:,})")
                    t0 = time.perf_counter()
                    checkpoints = await fill.Checkpoints.resume(nc, system.audit_key)
                    made = checkpoints.made
                    stored = await fill.fill(
                        system.nats_url.split(",")[0],
                        system.operator_seed,
                        inbox_prefix("operator"),
                        filler,
                        want,
                        checkpoints,
                        vault,
                        lambda k: progress(f"  {k:,} stored"),
                    )
                    r["fill"]["events"] += want
                    r["fill"]["messages"] += stored
                    r["fill"]["checkpoints"] += checkpoints.made - made
                    r["fill"]["seconds"] += time.perf_counter() - t0
                    sample += filler.sample()
                    await fill.check_sample(nc, vault, sample[-5:], lives)
                have = int((await api(nc, "$JS.API.STREAM.INFO.PETITIONS"))["state"]["messages"])
                progress(f"snapshots of the petitions filled after #{snapped:,}")
                snapped, folded, took = await work.snapshot_filled(system, pool, nc, snapped)
                progress(f"  {folded:,} events folded into snapshots in {took:.1f} s")
                # the fill's writes on disk, and the server's own work after it, are not the load's
                await asyncio.to_thread(os.sync)
                await work.quiet(system.nats_pids)
                blocks = work.blocks_of(int((await api(nc, "$JS.API.STREAM.INFO.PETITIONS"))["state"]["bytes"]))
                picks = work.one_per_block(sample, blocks, n["loads"])
                loads = await work.load_cold_and_warm(
                    nc, pool, picks, Meter(nats=list(system.nats_pids), postgres=system.pg.pid)
                )
                r["load"].append(
                    {
                        "stream_messages": have,
                        "blocks": blocks,
                        **loads.snapshot_warm.to_json(),
                        "cold": loads.snapshot_cold.to_json(),
                        "stream": {"warm": loads.stream_warm.to_json(), "cold": loads.stream_cold.to_json()},
                        "snapshots": {"events": folded, "seconds": took},
                    }
                )
                progress(
                    f"load at {have:,} messages, {len(picks)} petitions, p50 / p99 ms: from snapshots cold"
                    f" {loads.snapshot_cold.p(50):.2f} / {loads.snapshot_cold.p(99):.2f}, warm"
                    f" {loads.snapshot_warm.p(50):.2f} / {loads.snapshot_warm.p(99):.2f}; from the stream cold"
                    f" {loads.stream_cold.p(50):.2f} / {loads.stream_cold.p(99):.2f}, warm"
                    f" {loads.stream_warm.p(50):.2f} / {loads.stream_warm.p(99):.2f}"
                )
            if args.quick:
                progress(
                    f"`caunoi audit verify {SERVICE}` over the {have:,} messages (the fill is what the service stores)"
                )
                r["verify"] = await asyncio.to_thread(work.audit_verify, system)
                progress(f"verified: {r['verify']}")
            if args.only == "load":
                return
            events = have
            r["events"] = events
            r["fill"]["rate"] = r["fill"]["messages"] / r["fill"]["seconds"] if r["fill"]["seconds"] else None
            meter = Meter(nats=list(system.nats_pids), postgres=system.pg.pid)
            progress(f"raw read of the {events:,} messages")
            r["raw_read"] = (await work.raw_read(system, meter)).to_json()
            progress(f"raw read {r['raw_read']['per_s']:,.0f} msg/s; COPY of {events:,} read-model rows")
            r["copy"] = (await work.copy_limit(system.pg.url_for("postgres"), events, meter)).to_json()
            progress(f"COPY {r['copy']['per_s']:,.0f} rows/s")
        finally:
            await pool.close()
            await vault.close()
            await nc.close()

        # -- the service starts 1M events behind (catch-up), then rebuilds its read model (with
        # each number of rebuild processes asked for; the first is the report's row)
        r["rebuilds"] = {}
        for i, processes in enumerate(args.rebuild_processes or [None]):
            extra = {} if processes is None else {"CAUNOI_PROJECTION_PROCESSES": str(processes)}
            if i == 0:
                client = await catch_ups(system, args, r, events, extra)
            else:
                await system.start_services(args.endpoint_processes, ready_within=1800, **extra)
                client = await system.client("bench-rebuild", timeout=60)
            try:
                if i:
                    await work.settle(client)  # (what the last run left: the replaced schema's drop)
                label = "the service's setting" if processes is None else f"{processes} process(es)"
                # the report's row is the median of REBUILDS rebuilds (the machine's speed moves by
                # tens of % within minutes: one rebuild is a draw); the others with their rates
                runs: list[dict[str, Any]] = []
                workers: dict[str, tuple[str, dict[str, float | None]]] = {}
                for k in range(REBUILDS if i == 0 and not args.quick else 1):
                    if k:
                        await work.settle(client)
                    progress(f"rebuild of the petitions read model over {events:,} events, {label} ({k + 1})")
                    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    rb = await work.rebuild(client, events, meter_for(system))
                    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    runs.append(
                        rb.to_json()
                        | {"phases": work.rebuild_phases(system), "load_before": load_before, "load_after": load_after}
                    )
                    for name, peak in work.rebuild_worker_rss(system).items():  # each worker's highest peak
                        worker = name.split(" (pid")[0]
                        if worker not in workers or (peak["peak_mb"] or 0) > (workers[worker][1]["peak_mb"] or 0):
                            workers[worker] = (name, peak)
                    progress(f"rebuild {rb.rate:,.0f} events/s ({rb.usage.wall:.1f} s); load average {load_after}")
                median = sorted(runs, key=lambda run: run["per_s"])[len(runs) // 2]
                r["rebuilds"][str(processes or "default")] = median | {"runs_per_s": [run["per_s"] for run in runs]}
                if i == 0:
                    r["rebuild"] = median | {"runs_per_s": [run["per_s"] for run in runs]}
                    r["rss_after_rebuild"] = work.service_rss(system) | dict(workers.values())
            finally:
                await client.nc.close()
            await system.stop_services()

        # -- the peer, on the same PostgreSQL server, nothing of caunoi running but the servers
        if not args.no_peer and not args.only:
            results["peer"] = peer(system, root, n, events)
    finally:
        system.stop()


async def catch_ups(
    system: System, args: argparse.Namespace, r: dict[str, Any], events: int, extra: dict[str, str]
) -> Client:
    """The service started far behind its stream, :data:`CATCH_UPS` times: first with the fill not
    yet applied, then each time with its read model dropped (the whole stream behind). Each is
    timed from before the service starts (its projection begins as soon as the process is up, so
    its CPU counts from the processes' start) until its status first shows it caught up, on a
    calm machine (the COPY limit's million rows just before leave PostgreSQL flushing and
    vacuuming for seconds). ``r["catch_up"]`` is the median, as for the rebuilds. A client of the
    running service."""
    runs: list[dict[str, Any]] = []
    behind = r["fill"]["messages"]
    client: Client | None = None
    for k in range(1 if args.quick else CATCH_UPS):
        if client is not None:
            await client.nc.close()
            await system.stop_services()
            await work.drop_read_model(system)
            behind = events
        await work.calm()
        progress(f"the service starts {behind:,} events behind; its projection catches up ({k + 1})")
        t0 = time.perf_counter()
        before = Meter(nats=list(system.nats_pids), postgres=system.pg.pid).snapshot()
        await system.start_services(args.endpoint_processes, ready_within=1800, **extra)
        client = await system.client("bench-rebuild", timeout=60)
        await work.caught_up(client, timeout=1800)
        usage = usage_since(before, t0, meter_for(system))  # (not the calm after it)
        runs.append(
            {
                "events": behind,
                "seconds": round(usage.wall, 2),
                "per_s": round(behind / usage.wall, 1),
                "phases": work.rebuild_phases(system),
                **usage.to_json(),
            }
        )
        progress(f"caught up: {runs[-1]['per_s']:,.0f} events/s (from the service's start)")
    await work.calm()
    median = sorted(runs, key=lambda run: run["per_s"])[len(runs) // 2]
    r["catch_up"] = median | {"runs_per_s": [run["per_s"] for run in runs]}
    assert client is not None
    return client


def peer(system: System, root: Path, n: dict[str, Any], events: int) -> dict[str, Any]:
    system.pg.ensure_database("peer")
    url = database_url_with(system.pg.url, "peer")
    out = root / "peer.json"
    cmd = [
        sys.executable,
        str(HERE / "peer_eventsourcing.py"),
        "--pg-url",
        url,
        "--commands",
        str(n["peer_commands"]),
        "--concurrency",
        "1,20,100",
        "--events",
        str(events),
        "--write-events",
        "20000",
        "--breakdown-events",
        "0",
        "--json",
        str(out),
    ]
    progress(f"peer: eventsourcing library, {n['peer_commands']:,} commands per level, catch-up over {events:,} events")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("[peer"):
                print(line, end="", file=sys.stderr, flush=True)
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc not in (0, 2) or not out.is_file():
        tail = "".join(lines[-40:])
        progress(f"peer failed ({rc}):\n{tail}")
        return {"error": tail}
    result: dict[str, Any] = json.loads(out.read_text())
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


async def cluster(root: Path, args: argparse.Namespace, n: dict[str, Any], results: dict[str, Any]) -> None:
    progress("3-node cluster (deploy/cluster/, sync_interval: always), streams with 3 replicas")
    system = start_clustered(root / "cluster")
    try:
        await system.start_services(args.endpoint_processes)
        results["cluster"] = await command_rows(system, n, (20, 100), n["cluster_c1"], n["cluster_levels"])
        results["cluster"]["rss"] = work.service_rss(system)
        await system.stop_services()
    finally:
        system.stop()
    progress("the same cluster without sync_interval: always (what durability costs): raw publishes")
    system = start_clustered(root / "cluster-nosync", sync_always=False)
    try:
        results["cluster_no_sync"] = await raw_rows(system, (20, 100), n["cluster_c1"], n["cluster_levels"])
    finally:
        system.stop()


async def raw_rows(system: System, levels: tuple[int, ...], c1: int, total: int) -> dict[str, Any]:
    """Raw durable publishes alone (c=1, then pipelined at each level) of a real event's bytes."""
    out: dict[str, Any] = {}
    nc = await system.connect("bench-raw")
    try:
        await work.provision_raw(nc, system.replicas)
        payload = work.sample_event()
        meter = Meter(nats=list(system.nats_pids))
        out["raw_c1"] = (await work.raw_publish_one_by_one(nc, payload, c1, meter, warmup=50)).to_json()
        for c in levels:
            out[f"raw_pipelined_{c}"] = (await work.raw_publish_pipelined(system, payload, c, total, meter)).to_json()
    finally:
        await nc.close()
    return out


async def system_settings(system: System) -> dict[str, Any]:
    import urllib.request

    def varz() -> dict[str, Any]:
        with urllib.request.urlopen(f"{system.monitor_urls[0]}/varz", timeout=5) as resp:
            body: dict[str, Any] = json.loads(resp.read())
        return body

    v = await asyncio.to_thread(varz)
    conn_settings = {}
    import asyncpg

    conn = await asyncpg.connect(system.pg.url)
    try:
        for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers"):
            conn_settings[name] = await conn.fetchval(f"SHOW {name}")
    finally:
        await conn.close()
    service = Settings()  # what the services read: the defaults, and the environment they inherit
    return {
        "nats_jetstream": v.get("jetstream", {}).get("config", {}),
        "postgres": conn_settings,
        "projection": {
            "batch": service.projection_batch,
            "gather_s": service.projection_gather,
            "bulk_batch": service.projection_bulk_batch,
            "bulk_pull": BULK_PULL,
            "buffered_mib": BUFFERED >> 20,
            "read_ahead_mib": READ_AHEAD >> 20,
        },
    }


async def run_all(root: Path, args: argparse.Namespace, results: dict[str, Any]) -> None:
    n = sizes(args.quick)
    if args.load_points:
        n["load_points"] = args.load_points
    results["sizes"] = n
    await single_node(root, args, n, results)
    if args.only:
        return
    if not args.no_up:
        progress("cold `caunoi up --no-demo` in a new data directory")
        results["cold_up"] = await asyncio.to_thread(work.cold_up, root)
        progress(f"ready in {results['cold_up']['ready_s']} s")
    if not args.no_cluster:
        await cluster(root, args, n, results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="small sizes (100k-event stream), ~3 minutes: to check the script"
    )
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="the report (and .json/.png beside it)")
    ap.add_argument("--endpoint-processes", type=int, default=int(os.environ.get("CAUNOI_ENDPOINT_PROCESSES", "1")))
    ap.add_argument("--no-peer", action="store_true", help="skip the eventsourcing library")
    ap.add_argument("--no-cluster", action="store_true", help="skip the 3-node cluster")
    ap.add_argument("--no-up", action="store_true", help="skip the cold `caunoi up`")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    ap.add_argument(
        "--only",
        choices=["rebuild", "load"],
        help="rebuild: only the fill, the raw read limits, the catch-up and the rebuild; load: only the fill and"
        " one aggregate's load at each size; prints their JSON, writes no report",
    )
    ap.add_argument(
        "--load-points",
        type=lambda v: [int(float(x)) for x in v.split(",")],
        default=None,
        metavar="N[,N...]",
        help="stream sizes at which one aggregate's load is timed (default 31000,331000,1000000), e.g. with"
        " --only load: 31e3,331e3,1e6,3.3e6,10e6",
    )
    ap.add_argument(
        "--rebuild-processes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=None,
        metavar="N[,N...]",
        help="rebuild once per value with CAUNOI_PROJECTION_PROCESSES=N (default: once, the service's setting)",
    )
    ap.add_argument(
        "--fill-block",
        type=int,
        default=fill.BLOCK,
        metavar="N",
        help=f"petitions per block of the fill (default {fill.BLOCK:,}): a petition's events are spread over about"
        " 2.75 × N events of the stream, and the rebuild re-reads the rows of petitions whose events cross its"
        " groups (bench/README.md, 'How far apart a petition's events are')",
    )
    args = ap.parse_args()
    if args.fill_block < 1:
        ap.error("--fill-block must be at least 1")
    fill.BLOCK = args.fill_block
    # the kernel's and the servers' info logs (every template command, every server start) would
    # drown the progress lines
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    def on_term(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    root = Path(tempfile.mkdtemp(prefix="caunoi-bench-"))
    os.chmod(root, 0o755)  # PostgreSQL may run as an unprivileged user
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": "make bench" + (" (--quick)" if args.quick else ""),
        "endpoint_processes": args.endpoint_processes,
        "machine": machine(root, find_nats_server()),
    }
    progress(f"temp dir {root}; machine {results['machine']}")
    rc = 1
    try:
        asyncio.run(run_all(root, args, results))
        rc = 0
    except (KeyboardInterrupt, Interrupted):
        progress("interrupted; everything started is being stopped")
        rc = 130
    finally:
        results["duration_s"] = round(time.monotonic() - t0, 1)
        results["load_after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        results["python_loop_ms_after"] = round(python_loop_ms(), 1)
        if rc == 0 and args.only:
            sys.stdout.write(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
        elif rc == 0:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            json_path = args.out.with_name("results.json")
            json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
            png = args.out.with_name("results.png")
            report.chart(results, png)
            text = report.markdown(results, png.name, json_path.name)
            args.out.write_text(text)
            sys.stdout.write(report.table(results) + "\n")
            progress(f"wrote {args.out}, {json_path.name}, {png.name} ({results['duration_s']} s in all)")
        if args.keep:
            progress(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
