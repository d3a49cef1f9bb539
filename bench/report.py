"""The benchmark's report: issue 7's table (goal, raw limit, peer, caunoi, whether the goal is met),
the details behind it, the machine, and a chart. Every number comes from the run's results."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

Row = dict[str, str]


#: the issue's goal for a rebuild and a catch-up, events per second
REPLAY_GOAL = 50_000


def _f(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


def _get(d: dict[str, Any] | None, *keys: Any) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "**not met**")


#: what the floor with the read model is, where the table first names it
_STREAM_FLOOR = "with the read model following (the same, storing new petitions in the service's stream)"


def _floor_c1(raw1: dict[str, Any], fl: dict[str, Any] | None, sfl: dict[str, Any] | None) -> str:
    """The floors beside the raw limit at c=1: their p50 / p99 and how many times the raw p50."""
    out = ""
    if fl:
        out += (
            f"; floor, the same request and reply through a bare responder (no caunoi code): {_f(fl['p50_ms'], 2)} /"
            f" {_f(fl['p99_ms'], 2)} ms ({_f(fl['p50_ms'] / raw1['p50_ms'], 2)} × raw)"
        )
    if sfl:
        out += (
            f"; {_STREAM_FLOOR}: {_f(sfl['p50_ms'], 2)} / {_f(sfl['p99_ms'], 2)} ms"
            f" ({_f(sfl['p50_ms'] / raw1['p50_ms'], 2)} × raw)"
        )
    return out


def _floor_rate(raw: dict[str, Any], fl: dict[str, Any] | None, sfl: dict[str, Any] | None) -> str:
    out = ""
    if fl:
        out += (
            f"; floor, through a bare responder: {_f(fl['per_s'])}/s ({_f(100 * fl['per_s'] / raw['per_s'])} % of raw)"
        )
    if sfl:
        out += f"; with the read model: {_f(sfl['per_s'])}/s ({_f(100 * sfl['per_s'] / raw['per_s'])} % of raw)"
    return out


def _out_of_reach(ok: bool, floor_ok: bool | None, stream_floor_ok: bool | None = None) -> str:
    """The verdict, saying when not even a bare responder reached the goal in this run."""
    if not ok and floor_ok is False:
        return "**not met**; out of reach in this run: the floor misses it too"
    if not ok and stream_floor_ok is False:
        return "**not met**; out of reach in this run: the floor with the read model misses it too"
    return _verdict(ok)


def _flat(smallest: float, largest: float) -> bool:
    """Whether a time stayed flat: the largest within 1.5 × the smallest or 1 ms of it (sub-ms
    differences are noise)."""
    return largest <= max(1.5 * smallest, smallest + 1.0)


def _peer_cmd(peer: dict[str, Any] | None, c: int) -> dict[str, Any] | None:
    for r in _get(peer, "commands") or []:
        if r.get("concurrency") == c:
            return dict(r)
    return None


def _runs(rb: dict[str, Any], what: str = "rebuilds") -> str:
    """What else a row measured as the median of several runs saw."""
    runs = rb.get("runs_per_s") or []
    if len(runs) < 2:
        return ""
    return f"; the median of {len(runs)} {what} in this run: {', '.join(_f(x) for x in runs)} events/s"


def _catch_up_starts(cu: dict[str, Any]) -> str:
    """How the service came to be behind in the catch-ups of the row."""
    if len(cu.get("runs_per_s") or []) < 2:
        return "the service started after the fill"
    return (
        "the service started after the fill, then again each time with its read model dropped: the whole stream behind"
    )


def rows(R: dict[str, Any]) -> list[Row]:
    s, peer, cl = R.get("single") or {}, R.get("peer"), R.get("cluster")
    out: list[Row] = []

    rb, events = s.get("rebuild"), s.get("events")
    peer_cu = _get(peer, "catchup", "no_write", "events_per_s")
    peer_w = _get(peer, "catchup", "write_one_row_per_event", "events_per_s")

    def replay_row(what: str, rate: float, raw: str, peer_text: str, took: str) -> Row:
        """A rebuild or catch-up row: the same goal for both."""
        return {
            "what": what,
            "goal": f"≥ {_f(REPLAY_GOAL)} events/s, and faster than the peer's catch-up",
            "raw": raw,
            "peer": peer_text,
            "caunoi": f"**{_f(rate)} events/s** ({took})",
            "met": _verdict(rate >= REPLAY_GOAL and (peer_cu is None or rate > peer_cu)),
        }

    if rb:
        out.append(
            replay_row(
                f"rebuild of the petitions read model over {_f(events)} events",
                rb["per_s"],
                f"JetStream read {_f(_get(s, 'raw_read', 'per_s'))} msg/s; PostgreSQL COPY {_f(_get(s, 'copy', 'per_s'))} rows/s",
                f"catch-up {_f(peer_cu)} events/s without writing; {_f(peer_w)} events/s writing a row per event",
                f"{_f(rb['wall_s'], 1)} s{_phases(rb)}{_runs(rb)}",
            )
        )
    cu = s.get("catch_up")
    if cu:
        out.append(
            replay_row(
                f"catch-up of the petitions read model, {_f(cu['events'])} events behind ({_catch_up_starts(cu)})",
                cu["per_s"],
                "as above",
                f"catch-up {_f(peer_cu)} events/s without writing",
                f"{_f(cu['seconds'], 1)} s from the service's start, its start included{_phases(cu)}{_runs(cu, 'catch-ups')}",
            )
        )
    p1 = _peer_cmd(peer, 1)
    out += command_rows(s, "", "durable publish, Msg-Id + expected-last-subject-sequence", p1, peer)
    lag = s.get("lag")
    if lag:
        sent = lag.get("rate_sent") or 0
        ok = lag["lag_p99_ms"] <= 50 and sent >= 0.95 * lag["rate_asked"] and not lag["errors"]
        out.append(
            {
                "what": f"event → read-model lag at a steady {_f(lag['rate_asked'])} commands/s",
                "goal": "p99 ≤ 50 ms",
                "raw": "–",
                "peer": "–",
                "caunoi": f"**p99 {_f(lag['lag_p99_ms'], 1)} ms** (p50 {_f(lag['lag_p50_ms'], 1)} ms; {_f(sent)} commands/s sent, {lag['errors']} errors)",
                "met": _verdict(ok),
            }
        )
    loads = s.get("load") or []
    if loads:
        last = loads[-1]
        colds = [_get(x, "cold", "p50_ms") for x in loads]
        warm = [x["p50_ms"] for x in loads]
        known = [c for c in colds if c is not None]
        ok = _flat(min(warm), max(warm)) and (len(known) < 2 or _flat(min(known), max(known)))

        def stream(which: str) -> str:
            return " → ".join(f"{_f(_get(x, 'stream', which, 'p50_ms'), 2)}" for x in loads)

        out.append(
            {
                "what": "one aggregate's load as the stream grows",
                "goal": "flat (to 10M): the largest within 1.5 × or 1 ms of the smallest",
                "raw": "–",
                "peer": "–",
                "caunoi": "**as a command loads it (its snapshot): warm "
                + " → ".join(f"{_f(x['p50_ms'], 2)}" for x in loads)
                + " ms; cold "
                + " → ".join(f"{_f(c, 2)}" for c in colds)
                + " ms** p50 at "
                + " → ".join(f"{_f(x['stream_messages'] / 1000)}k" for x in loads)
                + f" messages; from its messages in the stream: warm {stream('warm')} ms, cold {stream('cold')} ms"
                + " (cold: nats-server had read nothing for 12 s)",
                "met": _verdict(ok) + (" (to 1M)" if 900_000 <= last["stream_messages"] < 9_000_000 else ""),
            }
        )
    up = R.get("cold_up")
    if up:
        ready = up.get("ready_s")
        out.append(
            {
                "what": "cold `make up` to ready (after install, new data dir, no demo data)",
                "goal": "≤ 10 s",
                "raw": "–",
                "peer": "–",
                "caunoi": f"**{_f(ready, 1)} s**",
                "met": _verdict(ready is not None and ready <= 10),
            }
        )
        rss = {k: v["rss_mb"] for k, v in (up.get("rss") or {}).items()}
        if rss:
            worst = max(rss.values())
            out.append(
                {
                    "what": "resident memory per service process (after `up`)",
                    "goal": "≤ 80 MB",
                    "raw": "–",
                    "peer": "–",
                    # (a tenth of a MB: at the goal's edge a rounded 80 can be 80.4)
                    "caunoi": "**" + ", ".join(f"{k} {_f(v, 1)} MB" for k, v in sorted(rss.items())) + "**",
                    "met": _verdict(worst <= 80),
                }
            )
    peaks = {**(s.get("rss_after_rebuild") or {})}
    if peaks:
        worst = max(v["peak_mb"] for v in peaks.values())
        out.append(
            {
                "what": "peak resident memory per service process (after the commands and the 1M rebuild; its"
                " workers too)",
                "goal": "≤ 80 MB",
                "raw": "–",
                "peer": "–",
                "caunoi": "**"
                + ", ".join(f"{k.split(' (')[0]} {_f(v['peak_mb'], 1)} MB" for k, v in sorted(peaks.items()))
                + "**",
                "met": _verdict(worst <= 80),
            }
        )
    if cl:
        out += command_rows(cl, "cluster (3 nodes, R3): ", "durable publish, same headers", None, None)
    ns = R.get("cluster_no_sync")
    if cl and ns:
        parts = []
        for key, label in (
            ("raw_c1", "1 client"),
            ("raw_pipelined_20", "20 in flight"),
            ("raw_pipelined_100", "100 in flight"),
        ):
            a, b = cl.get(key), ns.get(key)
            if a and b:
                parts.append(
                    f"{label}: {_f(a['per_s'])}/s with, {_f(b['per_s'])}/s without"
                    + (f" (p50 {_f(a['p50_ms'], 2)} vs {_f(b['p50_ms'], 2)} ms)" if key == "raw_c1" else "")
                )
        out.append(
            {
                "what": "cluster: what `sync_interval: always` costs (raw durable publishes, R3)",
                "goal": "measured",
                "raw": "; ".join(parts),
                "peer": "–",
                "caunoi": "the durable setting is the default in deploy/cluster/",
                "met": "–",
            }
        )
    return out


def command_rows(
    s: dict[str, Any], tag: str, raw_label: str, p1: dict[str, Any] | None, peer: dict[str, Any] | None
) -> list[Row]:
    """The round trip at c=1 and the throughput rows of one system (single node or cluster)."""
    out: list[Row] = []
    raw1, cmd1, fl1, sfl1 = s.get("raw_c1"), s.get("raise_c1"), s.get("floor_c1"), s.get("stream_floor_c1")

    if raw1 and cmd1:

        def within(x: dict[str, Any]) -> bool:
            return bool(x["p50_ms"] <= 1.5 * raw1["p50_ms"] and x["p99_ms"] <= 5.0)

        out.append(
            {
                "what": f"{tag}`raise` round trip, 1 client (p50 / p99)",
                "goal": f"p50 ≤ 1.5 × raw = {_f(1.5 * raw1['p50_ms'], 2)} ms; p99 ≤ 5 ms",
                "raw": f"{raw_label}: {_f(raw1['p50_ms'], 2)} / {_f(raw1['p99_ms'], 2)} ms"
                + _floor_c1(raw1, fl1, sfl1),
                "peer": f"{_f(_get(p1, 'p50_ms'), 2)} / {_f(_get(p1, 'p99_ms'), 2)} ms (in-process)" if p1 else "–",
                "caunoi": f"**{_f(cmd1['p50_ms'], 2)} / {_f(cmd1['p99_ms'], 2)} ms** ({_f(cmd1['p50_ms'] / raw1['p50_ms'], 2)} × raw"
                + (f", {_f(cmd1['p50_ms'] / fl1['p50_ms'], 2)} × floor)" if fl1 else ")"),
                "met": _out_of_reach(within(cmd1), within(fl1) if fl1 else None, within(sfl1) if sfl1 else None),
            }
        )
    for c in (20, 100):
        raw, cmd, fl = s.get(f"raw_pipelined_{c}"), s.get(f"raise_c{c}"), s.get(f"floor_c{c}")
        sfl = s.get(f"stream_floor_c{c}")
        if raw and cmd and raw["per_s"]:
            pc = _peer_cmd(peer, c)
            share = cmd["per_s"] / raw["per_s"]
            out.append(
                {
                    "what": f"{tag}`raise` throughput, {c} clients" + ("" if tag else ", distinct petitions"),
                    "goal": f"≥ 70 % of raw = {_f(0.7 * raw['per_s'])}/s",
                    "raw": f"pipelined durable publish, same headers, {c} in flight: {_f(raw['per_s'])} msg/s"
                    + _floor_rate(raw, fl, sfl),
                    "peer": f"{_f(_get(pc, 'throughput_per_s'))}/s" if pc else "–",
                    "caunoi": f"**{_f(cmd['per_s'])}/s** ({_f(100 * share)} % of raw"
                    + (f", {_f(100 * cmd['per_s'] / fl['per_s'])} % of the floor" if fl else "")
                    + (f", {_f(100 * cmd['per_s'] / sfl['per_s'])} % of the floor with the read model" if sfl else "")
                    + f"; p50 {_f(cmd['p50_ms'], 1)} ms)",
                    "met": _out_of_reach(
                        share >= 0.7,
                        fl["per_s"] >= 0.7 * raw["per_s"] if fl else None,
                        sfl["per_s"] >= 0.7 * raw["per_s"] if sfl else None,
                    ),
                }
            )
    return out


def table(R: dict[str, Any]) -> str:
    head = "| what | goal | raw limit, same run | peer: `eventsourcing` on PostgreSQL, same run | caunoi | goal |"
    lines = [head, "| --- | --- | --- | --- | --- | --- |"]
    for r in rows(R):
        lines.append(f"| {r['what']} | {r['goal']} | {r['raw']} | {r['peer']} | {r['caunoi']} | {r['met']} |")
    return "\n".join(lines)


CPU_KEYS = [
    ("bench", "bench client"),
    ("svc:endpoints", "service endpoints"),
    ("svc:projections", "service projections"),
    ("svc:floor", "bare responder"),
    ("nats", "nats-server"),
    ("postgres", "PostgreSQL"),
    ("others", "other processes"),
    ("steal", "steal"),
]


def cpu_table(R: dict[str, Any]) -> str:
    lines = [
        "| run | ops | wall s | " + " | ".join(label for _, label in CPU_KEYS) + " | machine busy |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in CPU_KEYS) + " | ---: |",
    ]

    def add(label: str, run: dict[str, Any] | None) -> None:
        if not run:
            return
        per = run.get("cpu_us_per_op", {})
        load = run.get("load_pct", {})
        cells = [f"{_f(per.get(k), 0)} µs ({_f(load.get(k), 0)} %)" if k in per else "–" for k, _ in CPU_KEYS]
        lines.append(
            f"| {label} | {_f(run.get('ops'))} | {_f(run.get('wall_s'), 1)} | "
            + " | ".join(cells)
            + f" | {_f(load.get('machine_busy'), 0)} % |"
        )

    for where in ("single", "cluster"):
        s = R.get(where) or {}
        tag = "" if where == "single" else "cluster: "
        add(f"{tag}raw publish c=1", s.get("raw_c1"))
        add(f"{tag}floor c=1", s.get("floor_c1"))
        add(f"{tag}floor with the read model c=1", s.get("stream_floor_c1"))
        add(f"{tag}raise c=1", s.get("raise_c1"))
        for c in (20, 100):
            add(f"{tag}raw pipelined {c}", s.get(f"raw_pipelined_{c}"))
            add(f"{tag}floor c={c}", s.get(f"floor_c{c}"))
            add(f"{tag}floor with the read model c={c}", s.get(f"stream_floor_c{c}"))
            add(f"{tag}raise c={c}", s.get(f"raise_c{c}"))
        if where == "single":
            add("lag run (commands)", _get(s, "lag", "commands"))
            add("raw read", s.get("raw_read"))
            add("COPY", s.get("copy"))
            cu = s.get("catch_up")
            if cu:
                add("catch-up after the fill (per event)", {**cu, "ops": cu["events"], **_per_op(cu)})
            add("rebuild (per event)", s.get("rebuild"))
    return "\n".join(lines)


def _per_op(run: dict[str, Any]) -> dict[str, Any]:
    ops, wall = run["events"], run["wall_s"]
    cpu = run.get("cpu_s", {})
    return {
        "cpu_us_per_op": {k: v * 1e6 / ops for k, v in cpu.items() if ops},
        "load_pct": {k: v * 100 / wall for k, v in cpu.items() if wall and k != "machine_total"},
    }


def markdown(R: dict[str, Any], png: str, json_name: str) -> str:
    m = R["machine"]
    s = R.get("single") or {}
    peer = R.get("peer") or {}
    pd = peer.get("describe") or {}
    fl = s.get("fill") or {}
    settings = R.get("settings") or {}
    js = settings.get("nats_jetstream") or {}
    pg = settings.get("postgres") or {}
    out = [
        "# caunoi benchmark results",
        "",
        f"`{R['command']}` on {R['started']}, {_f(R['duration_s'])} s in all; every number below comes from this one"
        f" run ([{json_name}]({json_name}) has them all; how to read them: [README.md](README.md)).",
        "",
        table(R),
        "",
        sharing(R),
        "",
        f"![results]({png})",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in m.items()),
        f"| load average after the run | {R.get('load_after', '?')} |",
        f"| python_loop_ms_after | {_f(R.get('python_loop_ms_after'), 1)} |",
        "",
        "## How it ran",
        "",
        f"- nats-server with the deployment's config (`deploy/nats/nats-server.conf`): JetStream"
        f" `sync_interval: always` (the server reports `sync_always: {js.get('sync_always')}`), file storage;"
        f" PostgreSQL {pg.get('server_version')} from the pgserver wheel (fsync {pg.get('fsync')}, synchronous_commit"
        f" {pg.get('synchronous_commit')}, wal_sync_method {pg.get('wal_sync_method')}). Free loopback ports, one temp dir.",
        f"- The petitions service as `caunoi up` runs it: one projections process and {R['endpoint_processes']} endpoint"
        " process(es) in a queue group, each with its own NATS user; the benchmark client is one nats-py connection.",
        f"- Commands: `raise` on a new petition each (channels hotline, letter, reception, portal; the event is"
        f" {_f(s.get('event_bytes'))} bytes). Raw publishes send those bytes with the service's headers (`Nats-Msg-Id`,"
        " `Content-Type`, `Caunoi-Type`, `Nats-Expected-Last-Subject-Sequence: 0` over the new aggregate's subjects,"
        " named by `Nats-Expected-Last-Subject-Sequence-Subject`), each to a new subject of a stream with the same settings; 1 client waits for each ack (nats-py, like the service), the pipelined ones keep"
        " 20 or 100 in flight on one connection speaking the protocol directly.",
        f"- The stream filled to {_f(s.get('events'))} events: {_f(fl.get('events'))} real petitions events"
        f" ({_f(fl.get('rate'))} events/s; `bench/fill.py`): the service's own handlers made four petition lives"
        " (raise; raise, answer, reply; raise, forward, commit, reply; raise, forward, commit) on the kernel's in-memory"
        " store, and each petition of the fill is a copy of one with fresh references and event and command ids,"
        " published in JetStream atomic batches of 1,000, in blocks of"
        f" {_f(fl.get('block'))} petitions (a block stores every petition's first event, then every second one, and so"
        " on: a petition's events lie within about 2.75 times that many events of the stream). The rebuild decodes"
        " and folds every one of them.",
        "- Rebuild: `caunoi.admin.petitions.rebuild` (what `caunoi projections rebuild petitions` sends), timed from"
        " request to reply: replay into a shadow schema, secondary indexes, swap (renames; the replaced schema is"
        " dropped by the live loop after the reply), three times in a row on a calm machine: the row is the median"
        " (the machine's speed moved by tens of % within minutes). The catch-up row: the service started with the"
        " whole fill still to apply, then stopped, its read model dropped and started again twice (the whole stream"
        " to apply), each timed from before the service's start until its status first showed it caught up (asked"
        " every 0.5 s while the catch-up still read the stream, else every 50 ms): the row is the median.",
        f"- The peer: `eventsourcing` {pd.get('eventsourcing_version')} with `eventsourcing.postgres` (psycopg"
        f" {pd.get('psycopg_version')}, implementation `{pd.get('psycopg_impl')}`: what `pip install"
        ' "eventsourcing[postgres]"` gives), on the same PostgreSQL server, library defaults. Commands: one new'
        " `Petition` aggregate saved per command, c threads sharing one application. Catch-up: its `ProjectionRunner`"
        f" over {_f(_get(peer, 'catchup', 'no_write', 'events'))} events of petition lives, counting them (no write),"
        " and writing a row per event with its tracking record over the first 20,000. See bench/PEER.md.",
        "",
        "## CPU per operation, by process",
        "",
        "CPU time (user + system, from /proc) each group of processes used during a run, per operation, and in"
        " brackets its average use in % of one core (2 cores = 200 %). `other processes` is everything else on the"
        " machine, `steal` the time the hypervisor took: when they are high the machine was shared and the wall-clock"
        " numbers are pessimistic; CPU per operation is the robust measure.",
        "",
        cpu_table(R),
        "",
    ]
    loads = s.get("load") or []
    if loads:
        out += [
            "## One aggregate's load",
            "",
            "Petitions about one per 8 MiB message block of the stream, each loaded as a command loads it"
            " (`Repository.latest`: its snapshot, with the stream's count of its messages) and from its messages"
            " in the stream alone (`Repository.load`); cold: nats-server had read nothing for 12 s, so every block"
            " it read had left its cache and a read of a message loads its block whole (the snapshot loads read"
            " no message: the stream loads after them still find their blocks cold); then warm, the same loads"
            " again. p50 / p99 ms. Before the loads, the events the fill stored (without the service, which writes"
            " a snapshot with every command it stores) were folded into their petitions' snapshots.",
            "",
            "| stream messages | petitions | snapshot, cold | snapshot, warm | stream, cold | stream, warm"
            " | events folded into snapshots |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]

        def pair(x: dict[str, Any] | None) -> str:
            return f"{_f(_get(x, 'p50_ms'), 2)} / {_f(_get(x, 'p99_ms'), 2)}"

        out += [
            f"| {_f(x['stream_messages'])} | {_f(x.get('ops'))} | {pair(x.get('cold'))} | {pair(x)} |"
            f" {pair(_get(x, 'stream', 'cold'))} | {pair(_get(x, 'stream', 'warm'))} |"
            f" {_f(_get(x, 'snapshots', 'events'))} in {_f(_get(x, 'snapshots', 'seconds'), 1)} s |"
            for x in loads
        ]
        out.append("")
    cl = R.get("cluster")
    if cl:
        out += [
            "## The 3-node cluster",
            "",
            "Nodes from `deploy/cluster/` (`sync_interval: always` in"
            " `nats-cluster-common.conf`) started by `caunoi.cli.cluster`, streams with 3 replicas, the service"
            " connected to all three nodes.",
            "",
        ]
    rss = {**(s.get("rss_after_commands") or {}), **(s.get("rss_after_rebuild") or {})}
    if rss:
        out += [
            "## Memory of the service processes",
            "",
            "| process | resident MB | peak MB |",
            "| --- | ---: | ---: |",
        ]
        out += [f"| {k} | {_f(v['rss_mb'])} | {_f(v['peak_mb'])} |" for k, v in rss.items()]
        out.append("")
    out += ["## What falls short, and why", "", *notes(R), ""]
    return "\n".join(out)


def notes(R: dict[str, Any]) -> list[str]:
    """One paragraph per goal not met, from the numbers."""
    out: list[str] = []
    for r in rows(R):
        if "not met" in r["met"]:
            why = _why(r, R)
            out.append(
                f"- **{r['what']}**: {r['caunoi'].replace('**', '')}; goal {r['goal']}." + (f" {why}" if why else "")
            )
    if not out:
        out.append("Every goal was met in this run.")
    return out


def sharing(R: dict[str, Any]) -> str:
    """How busy the rest of the machine was during the measured runs."""
    wall = others = steal = 0.0
    for where in ("single", "cluster"):
        for run in (R.get(where) or {}).values():
            if isinstance(run, dict) and "cpu_s" in run and "wall_s" in run:
                wall += run["wall_s"]
                others += run["cpu_s"].get("others", 0.0)
                steal += run["cpu_s"].get("steal", 0.0)
    if not wall:
        return ""
    busy = others * 100 / wall
    return (
        f"During the measured runs other processes used {busy:.0f} % of a core on average (steal {steal * 100 / wall:.0f} %)"
        + (
            ": the machine was shared, so wall-clock rates and latencies are pessimistic; the CPU per operation is the"
            " measure to compare."
            if busy > 20
            else ": the machine was otherwise quiet."
        )
    )


def _total_cpu(run: dict[str, Any]) -> float:
    per = run.get("cpu_us_per_op", {})
    return float(sum(v for k, v in per.items() if k not in ("others", "steal", "machine_busy", "machine_total")))


def _phases(run: dict[str, Any]) -> str:
    """``: loading 18.9 s, indexes 1.9 s`` from what the service logged of the replay, if it did."""
    ph = run.get("phases") or {}
    if "load_s" not in ph:
        return ""
    return f": loading {_f(ph['load_s'], 1)} s, indexes {_f(ph.get('indexes_s'), 1)} s, then the swap"


def _code_alone(code: float) -> str:
    return (
        "command code alone (bench/incode.py: the request edge and the handler in one process, on in-memory"
        f" stores) cost {_f(code)} µs of CPU per raise"
    )


def _code_budget(R: dict[str, Any], cmd: dict[str, Any], goal: float | None, cores: int) -> str:
    """What the endpoint process may spend per `raise` at the goal's rate, beside what the command
    code alone costs (bench/incode.py)."""
    code = _get(R, "single", "incode", "cpu_us_per_raise")
    per, busy = cmd.get("cpu_us_per_op", {}), (cmd.get("load_pct") or {}).get("machine_busy")
    endpoint = per.get("svc:endpoints")
    if not (code and goal and endpoint and busy):
        return ""
    others, whole, as_run = _total_cpu(cmd) - endpoint, cores * 1e6 / goal, busy * 1e4 / goal
    out = (
        f" caunoi's {_code_alone(code)}; the endpoint process spent {_f(endpoint)}."
        f" At the goal's {_f(goal)}/s, {cores} cores give {_f(whole)} µs per raise"
    )
    if whole <= others:
        return out + (
            f", and the other processes took {_f(others)} µs per raise here: with no endpoint code at all,"
            " the goal would still be out of reach on these cores."
        )
    return out + (
        f"; with the other processes' {_f(others)} µs as here, the endpoint could spend at most"
        f" {_f(whole - others)} µs with every core busy all the time"
        + (f", {_f(as_run - others)} µs" if as_run > others else ", none")
        + f" with the machine {_f(busy)} % busy as in this run."
    )


def _why(r: Row, R: dict[str, Any]) -> str:
    what = r["what"]
    s = R.get("cluster" if what.startswith("cluster") else "single") or {}
    cores = int(R["machine"].get("cores") or 2)
    if what.startswith("rebuild"):
        rb = s.get("rebuild") or {}
        per, load = rb.get("cpu_us_per_op", {}), rb.get("load_pct", {})
        total = _total_cpu(rb)
        return (
            f"Per event the projections process and its rebuild workers (reading and handing over; in the workers"
            f" decoding to lean events, folding, COPY encoding) spent {_f(per.get('svc:projections'), 1)} µs of CPU"
            f" ({_f(load.get('svc:projections'))} % of a core), PostgreSQL {_f(per.get('postgres'), 1)} µs, nats-server"
            f" {_f(per.get('nats'), 1)} µs: {_f(total, 1)} µs in all, with the machine {_f(load.get('machine_busy'))} %"
            f" busy. On {cores} cores that caps the rebuild near {_f(cores * 1e6 / total if total else None)} events/s;"
            f" {_f(REPLAY_GOAL)}/s needs under {_f(cores * 1e6 / REPLAY_GOAL)} µs per event in all (bench/README.md,"
            ' "The partitioned rebuild on 2 cores").'
        )
    if what.startswith("catch-up"):
        return (
            'Far behind, the service catches up by the partitioned rebuild (docs/architecture.md, "Far behind, a read'
            " model is rebuilt instead of caught up\"), so the rebuild's limits above hold here too, with the"
            " service's start on top."
        )
    if "round trip" in what:
        cmd, raw, fl = s.get("raise_c1") or {}, s.get("raw_c1") or {}, s.get("floor_c1")
        per = cmd.get("cpu_us_per_op", {})
        out = (
            f"A `raise` adds a request/reply hop to the service process and back to the append ({_f(cmd.get('p50_ms', 0) - raw.get('p50_ms', 0), 2)}"
            f" ms more at the median), and per command the endpoint process spent {_f(per.get('svc:endpoints'))} µs of CPU"
            " (request parsing, credential and role checks, pydantic validation, the decision, the envelope, the"
            " append through nats-py, the reply, the log line)."
        )
        if fl:
            out += (
                f" The hop alone, with no caunoi code (bench/floor.py), took {_f(fl['p50_ms'] - raw.get('p50_ms', 0), 2)} ms"
                f" more than the raw publish at the median: the floor is {_f(fl['p50_ms'] / raw['p50_ms'], 2)} × raw"
                f" where the goal allows 1.5 ×; caunoi's own work is the other {_f(cmd.get('p50_ms', 0) - fl['p50_ms'], 2)} ms."
            )
        code = _get(R, "single", "incode", "cpu_us_per_raise")
        if code:
            out += f" Of that work, the {_code_alone(code)}, all of it on the round trip's path."
        return out
    if "throughput" in what:
        c = 20 if "20 clients" in what else 100
        cmd, raw, fl = s.get(f"raise_c{c}") or {}, s.get(f"raw_pipelined_{c}") or {}, s.get(f"floor_c{c}")
        total, raw_total = _total_cpu(cmd), _total_cpu(raw)
        out = (
            f"A `raise` cost {_f(total)} µs of CPU across the processes (service endpoints"
            f" {_f(cmd.get('cpu_us_per_op', {}).get('svc:endpoints'))}, its projection"
            f" {_f(cmd.get('cpu_us_per_op', {}).get('svc:projections'))}, nats-server {_f(cmd.get('cpu_us_per_op', {}).get('nats'))},"
            f" PostgreSQL {_f(cmd.get('cpu_us_per_op', {}).get('postgres'))}, the client {_f(cmd.get('cpu_us_per_op', {}).get('bench'))})"
            f" against {_f(raw_total)} µs for a raw publish: on {cores} cores that caps it near"
            f" {_f(cores * 1e6 / total if total else None)}/s even with the machine to itself."
        )
        if fl:
            fper = fl.get("cpu_us_per_op", {})
            out += (
                f" The same round trip through a bare responder cost {_f(_total_cpu(fl))} µs (the responder"
                f" {_f(fper.get('svc:floor'))}, nats-server {_f(fper.get('nats'))}, the client {_f(fper.get('bench'))}):"
                f" the request and the reply cost nats-server and the client more than the raw publish does."
            )
        sfl = s.get(f"stream_floor_c{c}")
        if fl and sfl and fl.get("per_s"):
            sper = sfl.get("cpu_us_per_op", {})
            out += (
                f" Storing new petitions in the service's stream instead, which its projection follows (bench/floor.py),"
                f" the bare responder made {_f(sfl['per_s'])}/s, {_f(100 - 100 * sfl['per_s'] / fl['per_s'])} % fewer:"
                f" the projection ({_f(sper.get('svc:projections'))} µs of CPU per event, PostgreSQL"
                f" {_f(sper.get('postgres'))}) reads the stream as it is written and shares the cores and the disk with"
                f" it. What separates `raise` from that floor is caunoi's command path."
            )
        return out + _code_budget(R, cmd, 0.7 * raw["per_s"] if raw.get("per_s") else None, cores)
    if "lag" in what:
        lag = s.get("lag") or {}
        cmd = lag.get("commands") or {}
        total = _total_cpu(cmd)
        asked, sent = lag.get("rate_asked") or 0, lag.get("rate_sent") or 0
        gather = _get(R, "settings", "projection", "gather_s")
        by_second = lag.get("lag_max_ms_by_second") or []
        busy = (cmd.get("load_pct") or {}).get("machine_busy")
        out = (
            f"Each command with its projection cost {_f(total)} µs of CPU here (commands arriving one by one cost more"
            f" than many in flight), so {_f(asked)}/s needs {_f(total * asked / 1e4)} % of a core of the"
            f" {cores * 100} %; the machine was {_f(busy)} % busy meanwhile."
        )
        if sent < 0.95 * asked:
            out += f" Only {_f(sent)}/s could be sent."
        return (
            out + f" After a partial batch the projection waits {_f(gather * 1000 if gather is not None else None)} ms"
            " (CAUNOI_PROJECTION_GATHER) for more events; when the cores are short, batches wait."
            + (
                f" The largest lag in each second of the run (ms): {', '.join(_f(x) for x in by_second)}; the largest"
                f" command round trip in each (ms): {', '.join(_f(x) for x in lag.get('command_max_ms_by_second') or [])};"
                f" the probe itself was held up at most {_f(lag.get('probe_gap_max_ms'))} ms between two looks."
                if by_second
                else ""
            )
        )
    if "load" in what:
        loads = s.get("load") or []
        return (
            "A command loads a petition from its snapshot (caunoi.shared.snapshots): the row with its state, asked"
            " of PostgreSQL while the stream's subject index is asked how many messages the petition has (they"
            " must be as many as the snapshot folded); no message is read. From the stream alone, a load reads the"
            " petition's messages, and nats-server reads a stream's file in blocks of up to 8 MiB: a message in a"
            " block not in its cache (cold) costs the whole block. nats-server's CPU per load from the stream,"
            " cold / warm: "
            + ", ".join(
                f"{_f(_get(x, 'stream', 'cold', 'cpu_us_per_op', 'nats'))}"
                f" / {_f(_get(x, 'stream', 'warm', 'cpu_us_per_op', 'nats'))} µs at {_f(x['stream_messages'] / 1000)}k"
                for x in loads
            )
            + "; from the snapshot: "
            + ", ".join(
                f"{_f(_get(x, 'cold', 'cpu_us_per_op', 'nats'))} / {_f(x['cpu_us_per_op'].get('nats'))} µs"
                f" at {_f(x['stream_messages'] / 1000)}k"
                for x in loads
            )
            + "."
        )
    if "peak resident" in what:
        p = _get(R, "settings", "projection") or {}
        return (
            "In a partitioned rebuild (and a catch-up that far behind) the projections process reads the stream"
            f" {_f(p.get('bulk_pull'))} messages at a time (projection.BULK_PULL) and holds what it has read for each"
            f" worker until the worker takes it (up to {_f(p.get('buffered_mib'))} MiB each, partitions.BUFFERED);"
            " the workers, children of it for the rebuild's length, hold two groups of CAUNOI_PROJECTION_BULK_BATCH"
            f" ({_f(p.get('bulk_batch'))}) decoded events each (one being written, the next being decoded) and read"
            f" their pipe up to {_f(2 * p['read_ahead_mib'] if p.get('read_ahead_mib') else None)} MiB ahead"
            " (partitions.READ_AHEAD). Between rebuilds the processes stay near their size after start."
        )
    if "resident memory" in what:
        return (
            "Most of a service process is its libraries, loaded at start: asyncio with ssl and OpenSSL, FastStream,"
            " pydantic, cryptography's Rust module (its own OpenSSL), asyncpg, nats-py, holidays; caunoi's own"
            ' modules and unit tree are some 12 MB of it (bench/README.md, "Resident memory after `up`").'
        )
    return ""


def chart(R: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, peer, cl = R.get("single") or {}, R.get("peer") or {}, R.get("cluster") or {}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0][0]
    bars = {
        "caunoi rebuild": _get(s, "rebuild", "per_s"),
        "caunoi catch-up": _get(s, "catch_up", "per_s"),
        "peer catch-up\n(no write)": _get(peer, "catchup", "no_write", "events_per_s"),
        "peer catch-up\n(row per event)": _get(peer, "catchup", "write_one_row_per_event", "events_per_s"),
        "raw JetStream\nread": _get(s, "raw_read", "per_s"),
    }
    _bars(ax, bars, "events/s", f"Rebuild over {_f(s.get('events'))} events", goal=REPLAY_GOAL)
    ax = axes[0][1]
    p1 = _peer_cmd(peer, 1) or {}
    lat = {
        "raw\npublish": (_get(s, "raw_c1", "p50_ms"), _get(s, "raw_c1", "p99_ms")),
        "floor": (_get(s, "floor_c1", "p50_ms"), _get(s, "floor_c1", "p99_ms")),
        "floor with\nread model": (_get(s, "stream_floor_c1", "p50_ms"), _get(s, "stream_floor_c1", "p99_ms")),
        "caunoi\nraise": (_get(s, "raise_c1", "p50_ms"), _get(s, "raise_c1", "p99_ms")),
        "peer\ncommand": (p1.get("p50_ms"), p1.get("p99_ms")),
        "cluster\nraw": (_get(cl, "raw_c1", "p50_ms"), _get(cl, "raw_c1", "p99_ms")),
        "cluster\nfloor": (_get(cl, "floor_c1", "p50_ms"), _get(cl, "floor_c1", "p99_ms")),
        "cluster\nraise": (_get(cl, "raise_c1", "p50_ms"), _get(cl, "raise_c1", "p99_ms")),
    }
    names = [k for k, v in lat.items() if v[0] is not None]
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [lat[k][0] for k in names], 0.4, label="p50")
    ax.bar([i + 0.2 for i in x], [lat[k][1] for k in names], 0.4, label="p99")
    ax.set_xticks(list(x), names, fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title("Round trip, 1 client")
    ax.legend()
    ax = axes[1][0]
    groups = [
        "raw\n(pipelined)",
        "floor",
        "floor with\nread model",
        "caunoi\nraise",
        "peer",
        "cluster\nraw",
        "cluster\nfloor",
        "cluster\nraise",
    ]
    for j, c in enumerate((20, 100)):
        vals = [
            _get(s, f"raw_pipelined_{c}", "per_s"),
            _get(s, f"floor_c{c}", "per_s"),
            _get(s, f"stream_floor_c{c}", "per_s"),
            _get(s, f"raise_c{c}", "per_s"),
            (_peer_cmd(peer, c) or {}).get("throughput_per_s"),
            _get(cl, f"raw_pipelined_{c}", "per_s"),
            _get(cl, f"floor_c{c}", "per_s"),
            _get(cl, f"raise_c{c}", "per_s"),
        ]
        ax.bar([i + (j - 0.5) * 0.4 for i in range(len(groups))], [v or 0 for v in vals], 0.4, label=f"{c} clients")
    ax.set_xticks(list(range(len(groups))), groups, fontsize=8)
    ax.set_ylabel("per second")
    ax.set_title("Throughput")
    ax.legend()
    ax = axes[1][1]
    loads = s.get("load") or []
    if loads:
        sizes = [x["stream_messages"] for x in loads]
        ax.plot(sizes, [x["p50_ms"] for x in loads], "o-", label="snapshot, warm p50")
        ax.plot(sizes, [_get(x, "cold", "p50_ms") or 0 for x in loads], "o:", label="snapshot, cold p50")
        ax.plot(sizes, [_get(x, "stream", "warm", "p50_ms") or 0 for x in loads], "s--", label="stream, warm p50")
        ax.plot(sizes, [_get(x, "stream", "cold", "p50_ms") or 0 for x in loads], "s-.", label="stream, cold p50")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("messages in the stream")
        ax.set_ylabel("ms")
        ax.legend()
    ax.set_title("One aggregate's load")
    fig.suptitle(f"caunoi benchmark, {R['started']} ({R['machine']['cores']} cores, {R['machine']['cpu']})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _bars(ax: Any, values: dict[str, Any], unit: str, title: str, goal: float | None = None) -> None:
    names = [k for k, v in values.items() if v is not None]
    ax.bar(names, [values[k] for k in names])
    for i, k in enumerate(names):
        ax.text(i, values[k], _f(values[k]), ha="center", va="bottom", fontsize=8)
    if goal:
        ax.axhline(goal, color="red", linestyle="--", label=f"goal {_f(goal)}")
        ax.legend()
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
