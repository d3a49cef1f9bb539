"""Reading one's own writes: a service answers a command once its event is stored, and its read
model follows the log a moment later. A page shown right after a command asks again, briefly,
until the read model has caught up with what the log (the aggregate) says."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

#: how long a page waits for a read model to show a command just done (seconds), and how often it looks
CATCH_UP: Final = 3.0
STEP: Final = 0.05


async def show_petition(ask: Callable[[dict[str, Any]], Awaitable[Any]], petition_id: str) -> dict[str, Any]:
    """The petitions service's ``show``, once its row (read model) agrees with its status (the
    log); after ``CATCH_UP`` seconds, whatever it has (``petition`` may then be None)."""
    waited = 0.0
    while True:
        shown: dict[str, Any] = await ask({"petition_id": petition_id})
        row = shown.get("petition")
        if (row is not None and row.get("status") == shown.get("status")) or waited >= CATCH_UP:
            return shown
        await asyncio.sleep(STEP)
        waited += STEP
