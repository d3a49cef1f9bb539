"""The scheduling service's events as the reporting service reads them: a tolerant reader of the
published contract (docs/events/scheduling/*.json), without importing the scheduling package.

Only a meeting's life as a report counts it is declared: where and when it is planned (proposed
by the rotation, planned, moved, postponed), called off, and held (``MeetingHeld`` carries the
whole record: programme, commune and unit path, host, date, attendees). The hamlet list is read
with the kernel's shared contract (:mod:`caunoi.shared.hamlets`). Fields and types not declared
here are ignored (``ConsumedEvent``); tests/kernel/test_consumed_contracts.py checks them against
the producer.
"""

from __future__ import annotations

import datetime as dt

from caunoi.shared.events import ConsumedEvent, EventRegistry

NS = "vn.caunoi.scheduling"

registry = EventRegistry()


@registry.register
class MeetingProposed(ConsumedEvent):
    NAME = f"{NS}.MeetingProposed"
    meeting_id: str
    programme: str = "p1"
    commune_code: str
    unit_path: list[str]
    dataset: str
    host_id: str | None = None
    host_name: str | None = None
    date: dt.date


@registry.register
class MeetingPlanned(ConsumedEvent):
    NAME = f"{NS}.MeetingPlanned"
    meeting_id: str
    programme: str
    commune_code: str
    unit_path: list[str]
    dataset: str
    host_id: str | None = None
    host_name: str | None = None
    date: dt.date


@registry.register
class MeetingMoved(ConsumedEvent):
    NAME = f"{NS}.MeetingMoved"
    meeting_id: str
    date: dt.date
    host_id: str | None = None
    host_name: str | None = None


@registry.register
class MeetingPostponed(ConsumedEvent):
    NAME = f"{NS}.MeetingPostponed"
    meeting_id: str
    date: dt.date


@registry.register
class MeetingCancelled(ConsumedEvent):
    NAME = f"{NS}.MeetingCancelled"
    meeting_id: str
    cancelled_on: dt.date


@registry.register
class MeetingHeld(ConsumedEvent):
    NAME = f"{NS}.MeetingHeld"
    meeting_id: str
    programme: str
    commune_code: str
    unit_path: list[str]
    dataset: str
    host_id: str | None = None
    host_name: str | None = None
    held_on: dt.date
    attendees_total: int
