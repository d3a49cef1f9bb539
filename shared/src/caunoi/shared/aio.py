"""Waiting with a time limit, without losing a cancellation.

Python 3.11's ``asyncio.wait_for`` may swallow a cancellation that arrives just as the awaited
thing completes: the cancelled task then goes on as if nothing happened (a cancelled rebuild once
ran to its end that way). ``asyncio.timeout`` does not, so everything that waits with a limit
uses it, through these helpers or directly.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> bool:
    """Until ``event`` is set or ``seconds`` have passed; whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
