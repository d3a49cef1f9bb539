"""``caunoi audit replay``: each service replays its log into shadow read models and compares them
with the live ones (the services do the work: admin ``audit_replay``); this drives them, draws the
progress and prints the report."""

from __future__ import annotations

import asyncio
from typing import Any

from caunoi.cli.audit.progress import Progress
from caunoi.shared.client import Client

POLL = 0.25


async def replay_service(
    c: Client, service: str, body: dict[str, Any], lang: str | None, poll: float = POLL
) -> dict[str, Any]:
    """Start the service's replay and follow it to its report."""
    job: dict[str, Any] = await c.admin(service, "audit_replay", body)
    bar = Progress(service, 0, lang) if lang else None
    while job["state"] == "running":
        await asyncio.sleep(poll)
        job = await c.admin(service, "audit_progress")
        if bar:
            bar.update(*_done_total(job))
    if bar:
        bar.update(*_done_total(job))
        bar.close()
    return job


def _done_total(job: dict[str, Any]) -> tuple[int, int]:
    done = sum(max(m["position"] - m["start"], 0) for m in job["models"])
    total = sum(max(m["target"] - m["start"], 0) for m in job["models"])
    return done, max(total, done)


def rows(job: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per table of each read model: the counts and whether it matches."""
    out = []
    for m in job["models"]:
        if not m["tables"]:
            out.append({"model": m["name"], "table": "-", "state": m["state"], "error": m.get("error") or ""})
        for t in m["tables"]:
            out.append(
                {
                    "model": m["name"],
                    "table": t["table"],
                    "position": m["position"],
                    "equal": t["equal"],
                    "differing": t["differing"],
                    "missing": t["missing"],
                    "extra": t["extra"],
                    "state": "OK" if t["clean"] else "KHÁC / DIFFERS",
                }
            )
    return out


def differences(job: dict[str, Any], lang: str) -> list[str]:
    """The first differences, one line each: which row, which columns, live against the log."""
    vi = lang == "vi"
    what_vi = {"differing": "khác", "missing": "thiếu ở read model", "extra": "thừa ở read model"}
    lines = ["  (read model ≠ nhật ký)" if vi else "  (read model ≠ log)"]
    for m in job["models"]:
        for t in m["tables"]:
            for d in t["first"]:
                what = what_vi.get(d["what"], d["what"]) if vi else d["what"]
                key = ", ".join(f"{k}={v}" for k, v in (d.get("key") or {}).items()) or str(d.get("row", ""))[:120]
                cols = "; ".join(f"{c}: {v['live']!r} ≠ {v['log']!r}" for c, v in (d.get("columns") or {}).items())
                lines.append(f"  {m['name']}.{t['table']} [{key}] {what}" + (f": {cols}" if cols else ""))
    return lines if len(lines) > 1 else []
