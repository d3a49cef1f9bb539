"""What caunoi's command code costs alone: ``raise`` through the request edge in one process.

The endpoint process's CPU per ``raise`` (the report's CPU table) holds the client library
(nats-py: the request, the append's request and ack, the reply), the event loop's I/O, and the
writes to PostgreSQL besides the command code. This measures the command code alone: the same
bodies the benchmark sends, each handled by :func:`caunoi.shared.endpoints.dispatch` (the
credential and role checks, the body's JSON and its validation, the handler's decision, the
sealing of the personal data, the envelope, its hash chain, the append, the reply and the log
line) on the kernel's in-memory event store and key store, in a process of its own with nothing
else to do, its log lines rendered as the service renders them and written to ``/dev/null``.
The in-memory store's append stands in for the JetStream one (a few microseconds of Python
either way); the service also makes each petition's snapshot JSON, which this does not.

    python bench/incode.py <commands>     prints {"commands": N, "cpu_us_per_raise": ...}
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import orjson
import work
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.shared import logging as clog
from caunoi.shared.aggregate import Repository
from caunoi.shared.context import Role
from caunoi.shared.endpoints import Edge, dispatch
from caunoi.shared.hamlets import InMemoryHamletDirectory
from caunoi.shared.identity import Verifier, bearer, issue
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.units import UnitTree

#: unmeasured commands first (imports, caches, the allocator's first pages)
WARMUP = 500


async def measure(commands: int) -> dict[str, Any]:
    key = Ed25519PrivateKey.generate()
    credential = issue(key, subject="operator.vn", name="bench", unit="", dataset=work.DATASET, roles=[Role.operator])
    headers = bearer(credential.token)
    units = UnitTree.load(work.DATASET)
    deps = Deps(Repository(InMemoryEventStore(STREAM), registry, PETITION, units), units, InMemoryHamletDirectory())
    edge = Edge(STREAM.service, Verifier(key.public_key()))
    [endpoint] = [e for e in ENDPOINTS if e.name == "raise"]
    raiser = work.Raiser(None)  # type: ignore[arg-type]  # its bodies only: no connection
    bodies = [orjson.dumps(raiser.body()) for _ in range(WARMUP + commands)]
    for body in bodies[:WARMUP]:
        reply = orjson.loads(await dispatch(edge, endpoint, deps, body, headers))
        if not reply["ok"]:
            raise RuntimeError(f"raise refused: {reply}")
    start = time.process_time()
    for body in bodies[WARMUP:]:
        await dispatch(edge, endpoint, deps, body, headers)
        await asyncio.sleep(0)  # a turn of the event loop between commands, as in the service
    cpu = time.process_time() - start
    return {"commands": commands, "cpu_us_per_raise": round(cpu * 1e6 / commands, 1)}


def run(commands: int) -> dict[str, Any]:
    """:func:`measure` in a process of its own (the benchmark's own loop and logging kept out)."""
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, str(commands)], capture_output=True, text=True, check=True, timeout=600
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    # the service's log lines, rendered as it renders them, to nowhere
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    clog.configure(STREAM.service)
    print(json.dumps(asyncio.run(measure(int(sys.argv[1])))), flush=True)
