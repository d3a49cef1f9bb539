"""Programme 1's rotation: which pilot site hosts a pilot commune's next monthly meeting.

A **cycle** is one round through the commune's pilot sites. Every programme 1 meeting carries the
cycle it was proposed in. In the current cycle (the highest of the meetings not cancelled), a site
is *taken* when a meeting not cancelled is at it: *hosted* once held, *pending* before (proposed,
planned, postponed, announced). The next meeting goes to the first site, in the commune's
rotation order, not taken in the cycle; when every site is taken, a new cycle begins. So each site
hosts once before any hosts twice; a cancelled meeting frees its site; a postponed one keeps it,
and keeps its month's place: one meeting a month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from caunoi.scheduling.events import MeetingStatus

DONE = frozenset({MeetingStatus.held, MeetingStatus.minutes_closed})


@dataclass(frozen=True)
class RotationMeeting:
    """A programme 1 meeting of the commune, as the read model lists it."""

    meeting_id: str
    host_id: str
    cycle: int
    status: MeetingStatus
    date: date

    @property
    def live(self) -> bool:
        return self.status is not MeetingStatus.cancelled


@dataclass(frozen=True)
class Rotation:
    cycle: int
    #: the sites, in rotation order
    sites: tuple[str, ...]
    hosted: tuple[str, ...]
    pending: tuple[str, ...]
    remaining: tuple[str, ...]

    def next_host(self) -> tuple[str, int] | None:
        """The site and cycle of the next meeting; None without sites."""
        if self.remaining:
            return self.remaining[0], self.cycle
        if self.sites:
            return self.sites[0], self.cycle + 1
        return None


def rotation(sites: Sequence[str], meetings: Sequence[RotationMeeting]) -> Rotation:
    live = [m for m in meetings if m.live]
    cycle = max((m.cycle for m in live), default=1)
    now = sorted((m for m in live if m.cycle == cycle), key=lambda m: (m.date, m.meeting_id))
    hosted = [m.host_id for m in now if m.status in DONE]
    pending = [m.host_id for m in now if m.status not in DONE]
    taken = {*hosted, *pending}
    return Rotation(
        cycle,
        tuple(sites),
        tuple(h for h in hosted if h in sites),
        tuple(h for h in pending if h in sites),
        tuple(s for s in sites if s not in taken),
    )


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def in_month(meetings: Sequence[RotationMeeting], month: str, but: str | None = None) -> RotationMeeting | None:
    """The live meeting of ``month`` (other than ``but``), if any."""
    return next((m for m in meetings if m.live and month_of(m.date) == month and m.meeting_id != but), None)
