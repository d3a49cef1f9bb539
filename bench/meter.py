"""What the benchmark measures with: percentiles, CPU time per process from /proc (robust to a
shared machine: CPU per operation does not depend on how long others kept the cores), steal, the
machine's description."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")
KTHREADD = 2  # parent of every kernel thread


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


def _stat(pid: int) -> list[str]:
    # after "(comm)": state=0, ppid=1, ..., utime=11, stime=12, cutime=13, cstime=14
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _cpu(pid: int, children: bool = False) -> float:
    try:
        f = _stat(pid)
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / _TICK


def _processes() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds with its reaped children), one scan of /proc."""
    out: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                f = _stat(int(entry.name))
                out[int(entry.name)] = (int(f[1]), sum(int(x) for x in f[11:15]) / _TICK)
            except (OSError, IndexError, ValueError):
                continue
    return out


def _machine_cpu() -> tuple[float, float, float]:
    """(busy, steal, wall-equivalent total) CPU seconds of the whole machine (/proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = f[:8]
    busy = user + nice + system + irq + softirq
    return busy / _TICK, steal / _TICK, (busy + idle + iowait + steal) / _TICK


@dataclass
class Meter:
    """CPU time of named groups of processes: ``bench`` (this process), ``nats`` (nats-server
    pids), ``postgres`` (the postmaster and its backends), ``svc:<role>`` (service processes by
    role), ``others`` (everything else on the machine), and ``steal``."""

    nats: list[int] = field(default_factory=list)
    postgres: int | None = None
    services: dict[int, str] = field(default_factory=dict)  # pid -> role

    def snapshot(self) -> dict[str, float]:
        procs = _processes()
        ours: set[int] = {os.getpid(), *self.nats, *self.services}
        if self.postgres:
            ours.add(self.postgres)
        mine = {pid for pid, (ppid, _) in procs.items() if pid in ours or ppid in ours}
        kernel = {pid for pid, (ppid, _) in procs.items() if ppid == KTHREADD or pid == KTHREADD}
        busy, steal, total = _machine_cpu()
        snap: dict[str, float] = {
            "bench": time.process_time(),
            "nats": sum(_cpu(p) for p in self.nats),
            "others": sum(t for pid, (_, t) in procs.items() if pid not in mine and pid not in kernel),
            "machine_busy": busy,
            "steal": steal,
            "machine_total": total,
        }
        if self.postgres:
            backends = [pid for pid, (ppid, _) in procs.items() if ppid == self.postgres]
            snap["postgres"] = _cpu(self.postgres, True) + sum(_cpu(b) for b in backends)
        for pid, role in self.services.items():
            key = f"svc:{role}"
            snap[key] = snap.get(key, 0.0) + _cpu(pid, True)
        return snap


@dataclass
class Usage:
    """CPU seconds each group used during a measured piece, and its wall time."""

    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def per_op_us(self, ops: int) -> dict[str, float]:
        """CPU µs per operation, by group (the machine's load columns excluded)."""
        skip = {"machine_busy", "machine_total"}
        return {k: v * 1e6 / ops for k, v in self.cpu.items() if k not in skip and ops}

    def load(self) -> dict[str, float]:
        """In % of one core over the piece: each group, steal, and the whole machine."""
        if not self.wall:
            return {}
        return {k: v * 100 / self.wall for k, v in self.cpu.items() if k != "machine_total"}

    def to_json(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall, 3), "cpu_s": {k: round(v, 3) for k, v in self.cpu.items()}}


def usage_since(before: dict[str, float], t0: float, meter: Meter) -> Usage:
    """What each group used since the snapshot ``before`` (taken at ``perf_counter`` ``t0``); a
    group of processes started since (absent from ``before``) counts from zero."""
    after = meter.snapshot()
    return Usage(wall=time.perf_counter() - t0, cpu={k: after[k] - before.get(k, 0.0) for k in after})


@contextlib.contextmanager
def measured(meter: Meter, usage: Usage) -> Iterator[None]:
    before = meter.snapshot()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        usage.wall = time.perf_counter() - t0
        after = meter.snapshot()
        usage.cpu = {k: after[k] - before[k] for k in after if k in before}


# ------------------------------------------------------------------------------ the machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def machine(tmp: Path, nats_binary: Path) -> dict[str, str]:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines() if ln.startswith("model name")),
        platform.processor() or "?",
    )
    mem_kb = next((int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines() if ln.startswith("MemTotal:")), 0)
    best: tuple[str, str, str] = ("", "?", "?")
    for ln in _read("/proc/self/mountinfo").splitlines():
        left, _, right = ln.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) < 6 or len(rparts) < 2:
            continue
        mnt = parts[4]
        if (str(tmp) + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best[0]):
            best = (mnt, rparts[0], rparts[1])
    mnt, fstype, source = best
    disk = f"{source} ({fstype} on {mnt})"
    dev = Path(f"/sys/class/block/{Path(source).name}")
    if dev.exists():
        real = dev.resolve()
        if (real / "partition").exists():
            real = real.parent
        rot = {"0": "non-rotational", "1": "rotational"}.get(_read(str(real / "queue" / "rotational")), "?")
        disk += f", {rot}"
    try:
        nats_version = subprocess.run(
            [str(nats_binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        nats_version = "?"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "disk": disk,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "nats_server": nats_version,
        "flushed_before": flush_pending_writes(),
        "load_before": " ".join(_read("/proc/loadavg").split()[:3]),
        "python_loop_ms_before": f"{python_loop_ms():.1f}",
    }


def flush_pending_writes() -> str:
    """Write out what the page cache still holds for the disks before anything is measured, and
    say how much it was: a run started right after other work (``make test`` leaves gigabytes of
    servers' files behind) would otherwise have that writeback land in its first rows, whose
    every command waits for an fsync."""
    dirty_kb = next((int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines() if ln.startswith("Dirty:")), 0)
    began = time.monotonic()
    os.sync()
    return f"{dirty_kb / 1024:,.0f} MB of pending writes, {time.monotonic() - began:.1f} s"


def python_loop_ms(rounds: int = 5) -> float:
    """The best of ``rounds`` timings of a fixed pure-Python loop, in ms: how fast the machine ran
    the interpreter then, to compare runs by (on the 2-core VM the same work took up to twice as
    long in one run as in another minutes apart, with no other process and no steal showing)."""
    best = math.inf
    for _ in range(rounds):
        t = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - t)
    return best * 1000


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MB (VmRSS, VmHWM)."""
    now = peak = math.nan
    for ln in _read(f"/proc/{pid}/status").splitlines():
        if ln.startswith("VmRSS:"):
            now = int(ln.split()[1]) / 1024
        elif ln.startswith("VmHWM:"):
            peak = int(ln.split()[1]) / 1024
    return now, peak
