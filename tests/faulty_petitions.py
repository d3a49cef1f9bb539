"""The petitions read model, failing on chosen events: for the partitioned rebuild's tests.

Its own module (on the tests' path) because a partitioned rebuild's workers get the read model
pickled and import its class again in their own processes."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterable, Sequence

from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared.projection import Conn
from caunoi.shared.recorded import RecordedEvent


class FaultyPetitions(PetitionsProjection):
    """``poison``: events whose batch raises, wherever it is applied; ``crash_at``: an event that
    kills (SIGKILL) any process applying it but the one that made this read model (a rebuild's
    worker, never the test); ``drop``: events passed over (what an operator's skip leaves);
    ``slow``: seconds each batch waits first."""

    def __init__(
        self,
        name: str,
        *,
        poison: Iterable[int] = (),
        crash_at: int | None = None,
        drop: Iterable[int] = (),
        slow: float = 0.0,
    ) -> None:
        self.name = name
        self.poison = frozenset(poison)
        self.crash_at = crash_at
        self.drop = frozenset(drop)
        self.slow = slow
        self.home = os.getpid()

    async def apply(self, conn: Conn, schema: str, events: Sequence[RecordedEvent]) -> None:
        if self.slow:
            await asyncio.sleep(self.slow)
        for rec in events:
            if rec.seq in self.poison:
                raise RuntimeError(f"poisoned event {rec.seq}")
            if rec.seq == self.crash_at and os.getpid() != self.home:
                os.kill(os.getpid(), signal.SIGKILL)
        await super().apply(conn, schema, [rec for rec in events if rec.seq not in self.drop])
