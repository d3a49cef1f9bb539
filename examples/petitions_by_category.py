"""A new read model in a dozen lines: petitions raised, one row each, counted by category.

The read model is the class below; the kernel's projection runner reads the PETITIONS stream from
its checkpoint, gives it batches of events and writes them with COPY, the checkpoint moving in the
same transaction. Run it again later and it carries on where it stopped.

    python examples/petitions_by_category.py   # against the system `make up` started, as its operator

It reads the stream directly, so it runs as a user that may: the local operator here; a service
of its own in a deployment (see deploy/README.md, "Bus permissions").
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import ClassVar

import asyncpg
import nats

from caunoi.cli.identities import current_login
from caunoi.cli.runtime import read_runtime
from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.events import PetitionRaised, registry
from caunoi.shared.client import Login
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.projection import ProjectionRunner
from caunoi.shared.readmodel import Row, RowPerEvent
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.service import ensure_database
from caunoi.shared.settings import database_url_with


class RaisedPetitions(RowPerEvent):
    name = "example_raised"
    table = "raised"
    columns: ClassVar[dict[str, str]] = {"petition_id": "text PRIMARY KEY", "category": "text", "commune": "text"}

    def row(self, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if not isinstance(ev, PetitionRaised):
            return None
        return {"petition_id": ev.petition_id, "category": ev.category.value, "commune": ev.commune_code}


async def main(nats_url: str, server_url: str, login: Login | None) -> None:
    await ensure_database(server_url, "caunoi_examples")
    pool = await asyncpg.create_pool(database_url_with(server_url, "caunoi_examples"), min_size=1, max_size=2)
    nc = await nats.connect(nats_url, **(login.nats_options() if login else {}))
    try:
        runner = ProjectionRunner(pool, nc, JetStreamEventStore(nc, STREAM), registry, RaisedPetitions())
        await runner.setup()
        applied = await runner.catch_up()
        rows = await pool.fetch("SELECT category, count(*) AS n FROM example_raised.raised GROUP BY 1 ORDER BY 2 DESC")
        print(f"{applied} new events read; petitions raised by category:")
        for r in rows:
            print(f"  {r['category']:<16} {r['n']:>5}")
    finally:
        await nc.close()
        await pool.close()


if __name__ == "__main__":
    running = read_runtime() or {}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--nats", default=os.environ.get("NATS_URL") or running.get("nats_url", "nats://127.0.0.1:4222")
    )
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL") or running.get("database_url"))
    args = parser.parse_args()
    if not args.database:
        raise SystemExit("no PostgreSQL: start the system with `make up`, or pass --database / DATABASE_URL")
    asyncio.run(main(args.nats, args.database, current_login()))
