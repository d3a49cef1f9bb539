"""``caunoi projections rebuild`` waits as long as the rebuild takes and shows how far it has got.

The service's side (``status.rebuild`` counting up while a rebuild runs, gone after the swap) is
tested on real servers in tests/kernel/test_partitions.py, and the command end to end against the
running services in test_commands_cli.py (a rebuild there is over before the first look). Here the
command's own logic, against a service whose answers are scripted: what it shows, in order, and
when it gives up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from caunoi.cli.ops import RebuildBar, rebuild_watched, rebuilding
from caunoi.shared.client import ServiceUnreachable


class ScriptedService:
    """Answers ``status`` with the next of ``progress`` (None: no rebuild under way) and
    ``rebuild`` after ``replies_after`` seconds (never when None)."""

    def __init__(self, progress: Sequence[dict[str, int] | None], replies_after: float | None) -> None:
        self.progress, self.replies_after = list(progress), replies_after
        self.rebuild_timeout: float | None = None

    async def admin(self, service: str, name: str, payload: Any = None, timeout: float | None = None) -> Any:
        if name == "rebuild":
            self.rebuild_timeout = timeout
            if self.replies_after is None:
                await asyncio.Event().wait()
            await asyncio.sleep(self.replies_after or 0)
            return {"projection": "petitions", "position": 1000}
        rebuild = self.progress.pop(0) if self.progress else None
        return {"projections": [{"name": "hamlets", "rebuild": None}, {"name": "petitions", "rebuild": rebuild}]}


@pytest.mark.asyncio
async def test_it_shows_the_progress_until_the_reply_and_waits_past_the_usual_timeout() -> None:
    steps = [{"to": 1000, "at": at, "seconds": 1} for at in (0, 250, 600, 1000)]
    service = ScriptedService(steps, replies_after=0.5)
    shown: list[int] = []
    result = await rebuild_watched(service, "petitions", None, lambda p: shown.append(p["rebuild"]["at"]), every=0.1)  # type: ignore[arg-type]
    assert result == {"projection": "petitions", "position": 1000}
    assert shown == [0, 250, 600, 1000]
    assert service.rebuild_timeout is not None and service.rebuild_timeout > 3600


@pytest.mark.asyncio
async def test_it_gives_up_once_the_rebuild_is_gone_without_a_reply() -> None:
    service = ScriptedService([{"to": 1000, "at": 10}, None, None, None, None], replies_after=None)
    shown: list[int] = []
    with pytest.raises(ServiceUnreachable, match="no longer under way"):
        await rebuild_watched(service, "petitions", "petitions", lambda p: shown.append(p["rebuild"]["at"]), every=0.05)  # type: ignore[arg-type]
    assert shown == [10]


@pytest.mark.asyncio
async def test_a_quick_rebuild_shows_nothing_and_an_early_miss_is_not_a_failure() -> None:
    service = ScriptedService([None, None, None, None], replies_after=0.3)
    shown: list[Any] = []
    assert (await rebuild_watched(service, "petitions", None, shown.append, every=0.05))["position"] == 1000  # type: ignore[arg-type]
    assert shown == []


def test_the_progress_lines_and_the_status_column(capsys: pytest.CaptureFixture[str]) -> None:
    """Not on a terminal (a log): a line at each tenth of the way, with the rate."""
    bar = RebuildBar()
    for at in (0, 40, 90, 400, 410, 1000):
        bar.show({"name": "petitions", "rebuild": {"to": 1000, "at": at, "seconds": 2}})
    bar.end()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "Đang dựng lại / rebuilding petitions: 0 / 1,000 (0 %)",
        "Đang dựng lại / rebuilding petitions: 400 / 1,000 (40 %), 200/s",
        "Đang dựng lại / rebuilding petitions: 1,000 / 1,000 (100 %), 500/s",
    ]
    assert rebuilding({"to": 1000, "at": 420, "seconds": 3}) == "REBUILDING 42%"
    assert rebuilding(None) == ""
