"""`caunoi up` as a user runs it: start, query with the CLI, stop with SIGTERM, start again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from caunoi.shared.embedded import free_port

CAUNOI = [sys.executable, "-m", "caunoi.cli.main"]


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env["CAUNOI_DATA_DIR"] = str(data)
    env["CAUNOI_LOG_LEVEL"] = "warning"
    return env


def start_up(data: Path, nats_port: int, pg_port: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*CAUNOI, "up", "--nats-port", str(nats_port), "--pg-port", str(pg_port)],
        env=env_for(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    out = []
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        out.append(line)
        if "caunoi is running" in line:
            break
        assert time.monotonic() < deadline, "".join(out)
    else:
        raise AssertionError("caunoi up exited early:\n" + "".join(out))
    return proc, "".join(out)


def stop_up(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    assert "Stopped cleanly" in rest
    return rest


def cli_json(data: Path, *args: str) -> Any:
    res = subprocess.run([*CAUNOI, "--json", *args], env=env_for(data), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr + res.stdout
    return json.loads(res.stdout)


def snapshot(data: Path) -> tuple[int, list[dict[str, Any]]]:
    status = cli_json(data, "status")
    petitions = status["services"]["petitions"]
    deadline = time.monotonic() + 20
    while petitions["projections"][0]["lag"] and time.monotonic() < deadline:
        time.sleep(0.1)
        petitions = cli_json(data, "status")["services"]["petitions"]
    items = cli_json(data, "petitions", "list", "--limit", "1000")["items"]
    return petitions["stream"]["messages"], sorted(items, key=lambda r: r["id"])


def test_up_loads_demo_and_restarts_without_losing_or_doubling(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ports = (free_port(), free_port())
    proc, out = start_up(data, *ports)
    try:
        assert "Demo data: 30 petitions (30 new)" in out
        events, items = snapshot(data)
        assert len(items) == 30
        assert {r["status"] for r in items} >= {"received", "answered", "forwarded", "in_progress", "replied"}
        table = subprocess.run([*CAUNOI, "petitions", "list"], env=env_for(data), capture_output=True, text=True)
        assert "Đã có văn bản trả lời" in table.stdout
    finally:
        stop_up(proc)
    assert not (data / "runtime.json").exists()

    # again, and even with the demo marker gone the fixed command ids store nothing twice
    (data / "demo-loaded").unlink()
    proc, out = start_up(data, *ports)
    try:
        assert "Demo data: 30 petitions (0 new)" in out
        assert snapshot(data) == (events, items)
    finally:
        stop_up(proc)

    # a hard kill of everything, then a start: still the same
    proc, out = start_up(data, *ports)
    runtime = json.loads((data / "runtime.json").read_text())
    for pid in runtime["services"].values():
        os.kill(pid, signal.SIGKILL)
    proc.kill()
    proc.wait()
    for name in ("nats/nats-server.pid", "postgres/data/postmaster.pid"):
        pidfile = data / name
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    time.sleep(0.5)
    proc, out = start_up(data, *ports)
    try:
        assert snapshot(data) == (events, items)
    finally:
        stop_up(proc)
    shutil.rmtree(data, ignore_errors=True)
