"""Must show: export → import into a fresh installation → identical read models and a passing
verify. The source is the session's running system after a load of its own; the export is
verified by the standalone verifier (a separate Python process, standard library and
``cryptography`` only) with the services' published keys, and a changed line is named; the fresh
installation has servers, keys and bus users of its own, receives the import with no service
running, and its services then fill their read models from the log (their own runners, as at a
first start), which equal the source's table by table, row by row; ``caunoi audit verify`` passes
there, with the source's checkpoint keys trusted at import."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from audit.live import auditor_login, caunoi, caunoi_json, load_run
from conftest import SERVICES
from support import Servers, start_servers, wait_projected

from caunoi.shared.client import Client
from caunoi.shared.service import Service
from caunoi.shared.settings import Settings, database_url_with

pytestmark = pytest.mark.asyncio


async def last_seqs(c: Client) -> dict[str, int]:
    return {s: (await c.admin(s, "status"))["stream"]["last_seq"] for s in SERVICES}


async def quiet(c: Client, still: float = 2.0, timeout: float = 60.0) -> dict[str, int]:
    """Until no stream moves for ``still`` seconds (notify's courier is done) and every read model
    has caught up; the streams' last sequences then."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen = await last_seqs(c)
    while True:
        await asyncio.sleep(still)
        now = await last_seqs(c)
        if now == seen:
            for s in SERVICES:
                await wait_projected(c, s, timeout=30)
            if await last_seqs(c) == now:
                return now
        assert asyncio.get_running_loop().time() < deadline, "the source system never went quiet"
        seen = now


def schemas(svc: Service[Any]) -> list[str]:
    return [r.projection.name for r in svc.runners.values()]


async def snapshot(database_url: str, service: str, names: list[str]) -> dict[str, list[str]]:
    """Every row of every table of the service's read models (and their positions)."""
    conn = await asyncpg.connect(database_url_with(database_url, f"caunoi_{service}"))
    try:
        out = {}
        for schema in names:
            tables = await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
                " AND table_type = 'BASE TABLE'",
                schema,
            )
            for t in tables:
                rows = await conn.fetch(f'SELECT to_jsonb(t)::text AS r FROM "{schema}"."{t[0]}" t ORDER BY 1')
                out[f"{schema}.{t[0]}"] = [r["r"] for r in rows]
        return out
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def started(name: str, fresh: Servers) -> AsyncIterator[Service[Any]]:
    """A service of the fresh installation in this process, with its read models set up but no
    request served, no duty and no worker run."""
    [ep] = [e for e in entry_points(group="caunoi.runtimes") if e.name == name]
    svc: Service[Any] = ep.load()()
    svc.settings = Settings(
        nats_url=fresh.nats_url, database_url=fresh.database_url, data_dir=fresh.data_dir, nats_user=name,
        log_level="warning",
    )  # fmt: skip
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


async def test_an_export_imported_into_a_fresh_installation_rebuilds_identical_read_models(
    servers: Servers, client: Client, tmp_path: Path
) -> None:
    await load_run(client, n=30)
    hamlet = f"Thôn Kiểm Toán {uuid.uuid4().hex[:6]}"  # and the scheduling service's log has something too
    await client.command("scheduling", "hamlet_add", {"commune_code": "00691", "name": hamlet, "kind": "thon"})
    auditor = await auditor_login(servers)
    export = tmp_path / "nhat-ky.jsonl"
    for _ in range(5):  # the source quiet, read at the position the export ends at
        await caunoi_json(servers, "audit", "checkpoint", login=auditor)
        ends = await quiet(client)
        names = {s: [r["name"] for r in (await client.admin(s, "status"))["projections"]] for s in SERVICES}
        source = {s: await snapshot(servers.database_url, s, names[s]) for s in SERVICES}
        done = await caunoi_json(servers, "audit", "export", "--out", str(export), login=auditor)
        exported = {d["stream"]: d["to_seq"] for d in done["streams"]}
        if exported == {s.upper(): ends[s] for s in SERVICES} and await last_seqs(client) == ends:
            break
    else:
        raise AssertionError("the source kept changing while it was exported")

    # an outside auditor's check: the export alone, the verifier alone, the published keys pinned
    keys = tmp_path / "keys"
    await caunoi_json(servers, "audit", "keys", "--out", str(keys), login=auditor)
    script = tmp_path / "caunoi_verify.py"
    assert (await caunoi(servers, "audit", "verifier", "--out", str(script))).exit_code == 0
    assert standalone(script)
    pins = [f"--key={s}={keys / f'{s}.pub'}" for s in SERVICES]
    run = await outside(script, export, *pins, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    reports = orjson.loads(run.stdout)
    assert {r["stream"] for r in reports} == {s for s in SERVICES if ends[s]} and all(r["ok"] for r in reports)
    assert all(all(r["keys"].values()) for r in reports)  # every checkpoint signed with a pinned key
    lines = export.read_text().splitlines()
    bad = orjson.loads(lines[20])
    bad["data"]["x"] = 1
    tampered = tmp_path / "sua.jsonl"
    tampered.write_text("\n".join([*lines[:20], orjson.dumps(bad).decode(), *lines[21:]]) + "\n")
    run = await outside(script, tampered, *pins, "--lang", "en")
    assert run.returncode == 1 and f"sequence {bad['streamseq']}" in run.stdout, run.stdout

    # a fresh installation: its own servers and keys, nothing running
    fresh, handles = start_servers(tmp_path / "fresh")
    try:
        res = await caunoi(fresh, "--json", "audit", "import", str(export))
        assert res.exit_code == 0, res.output
        imported = orjson.loads(res.stdout)
        assert imported["imported"] == {s.upper(): ends[s] for s in SERVICES if ends[s]}
        assert len(imported["trusted_keys"]) == len([s for s in SERVICES if ends[s]])
        # importing again is refused (the streams are no longer empty) and stores nothing
        again = await caunoi(fresh, "audit", "import", str(export))
        assert again.exit_code != 0 and "not empty" in again.output
        # producers first: notify follows every other service's stream, which must exist to be read
        for s in sorted(SERVICES, key=lambda name: name == "notify"):
            async with started(s, fresh) as svc:
                for runner in svc.runners.values():
                    await runner.catch_up()
                assert await svc.resources.store.last_seq() == ends[s]  # its reactions were all there already
                rebuilt = await snapshot(fresh.database_url, s, schemas(svc))
            assert rebuilt == source[s], s
        # and the log verifies there, with the source's keys trusted by the import
        reports = await caunoi_json(fresh, "audit", "verify")
        assert all(r["ok"] for r in reports) and all(all(r["keys"].values()) for r in reports), reports
    finally:
        for h in handles:
            h.stop()


async def outside(script: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The verifier as an outside auditor runs it: its own Python process, isolated (``-I``)."""
    cmd = [sys.executable, "-I", str(script), *map(str, args)]
    return await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, timeout=120)


def standalone(script: Path) -> bool:
    """The verifier imports only the standard library and ``cryptography``."""
    tree = ast.parse(script.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return names - {"__future__", "cryptography"} <= set(sys.stdlib_module_names)
