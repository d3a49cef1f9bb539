"""Waiting with a limit (caunoi.shared.aio): set, timed out, or cancelled, and the cancellation
always reaches the waiter's task."""

from __future__ import annotations

import asyncio

import pytest

from caunoi.shared.aio import wait_at_most

pytestmark = pytest.mark.asyncio


async def test_a_set_event_a_limit_and_a_cancellation() -> None:
    event = asyncio.Event()
    assert await wait_at_most(event, 0.01) is False  # nothing set it
    event.set()
    assert await wait_at_most(event, 3600) is True
    never = asyncio.Event()
    waiter = asyncio.create_task(wait_at_most(never, 3600))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
