"""``caunoi audit timeline``: histories read from the logs, across services.

- one petition: its own events, its meeting's (from the scheduling log) and the notices it caused
  with what became of them (from the notify log), in time order;
- everything one unit (and the units below it) or one actor did in a period, in every log.

An auditor never reads personal data here: the petitioner's contact (sealed, or in clear in events
written before it was sealed) and office-internal notes are shown as hidden, or as erased once the
petitioner's data were erased.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caunoi.cli.audit.reading import Item, Reader, stream_info, streams
from caunoi.shared.clock import VN
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.units import UnitTree

#: event data an audit log reader never prints: personal data (sealed or, in old events, in clear)
#: and what stays in the office
HIDDEN = ("petitioner", "personal", "internal_note", "answer")
ERASED_TYPE = "PetitionerDataErased"
NOTICE_QUEUED = "NoticeQueued"


@dataclass
class Entry:
    time: datetime
    stream: str
    seq: int
    type: str
    aggregate: str
    actor: str | None
    #: the unit the actor acted for (None: a national actor, or the service itself)
    actor_unit: str | None
    #: the unit the event concerns
    unit: str | None
    data: dict[str, Any]

    def row(self, erased: bool, lang: str) -> dict[str, Any]:
        return {
            "time": self.time.astimezone(VN).isoformat(timespec="seconds"),
            "stream": self.stream,
            "seq": self.seq,
            "type": self.type,
            "aggregate": self.aggregate,
            "actor": self.actor,
            "actor_unit": self.actor_unit,
            "unit": self.unit,
            "data": shown(self.data, erased, lang),
        }


def shown(data: dict[str, Any], erased: bool, lang: str) -> dict[str, Any]:
    """The data without what an auditor may not read."""
    vi = lang == "vi"
    hidden = ("[đã xóa]" if vi else "[erased]") if erased else ("[ẩn]" if vi else "[hidden]")
    return {k: (hidden if k in HIDDEN and v is not None else v) for k, v in data.items()}


def short_type(t: str) -> str:
    """``vn.caunoi.petitions.PetitionRaised.v3`` -> ``PetitionRaised.v3``."""
    parts = t.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else t


def entry(spec: StreamSpec, it: Item) -> Entry | None:
    ev = it.event
    if ev is None or "type" not in ev:
        return None
    time = datetime.fromisoformat(str(ev.get("time", "")).replace("Z", "+00:00")) if ev.get("time") else it.time
    data = ev.get("data")
    return Entry(
        time,
        spec.name,
        it.seq,
        short_type(str(ev["type"])),
        str(ev.get("subject", "")),
        ev.get("actor"),
        ev.get("actorunit"),
        ev.get("unitcode"),
        data if isinstance(data, dict) else {},
    )


def _spec(service: str) -> StreamSpec | None:
    found = [s for s in streams() if s.service == service]
    return found[0] if found else None


async def petition(reader: Reader, petition_id: str) -> tuple[list[Entry], bool]:
    """A petition's history across the services, and whether its petitioner was erased."""
    out: list[Entry] = []
    petitions, scheduling, notify = _spec("petitions"), _spec("scheduling"), _spec("notify")
    if petitions is None:
        raise LookupError("the petitions service is not installed")
    own = [e for it in await reader.subject(petitions.name, f"{petitions.subject_prefix}.{petition_id}.>")
           if (e := entry(petitions, it))]  # fmt: skip
    if not own:
        raise LookupError(f"no petition {petition_id} in the log")
    out += own
    meeting = next((e.data.get("meeting_id") for e in own if e.type.startswith("PetitionRaised")), None)
    if meeting and scheduling is not None:
        items = await reader.subject(scheduling.name, f"{scheduling.subject_prefix}.{meeting}.>")
        out += [e for it in items if (e := entry(scheduling, it))]
    if notify is not None:
        out += await _notices(reader, notify, {petition_id})
    erased = any(e.type.startswith(ERASED_TYPE) for e in own)
    return sorted(out, key=lambda e: (e.time, e.stream, e.seq)), erased


async def _notices(reader: Reader, notify: StreamSpec, about: set[str]) -> list[Entry]:
    """The notices the aggregates ``about`` caused, and what became of them (the notify log, read
    through once)."""
    info = await stream_info(reader.nc, notify.name)
    if info is None or info.last_seq == 0:
        return []
    by_notice: dict[str, list[Entry]] = {}
    ours: set[str] = set()
    async for items in reader.scan(notify.name, 1, info.last_seq):
        for it in items:
            e = entry(notify, it)
            if e is None:
                continue
            by_notice.setdefault(e.aggregate, []).append(e)
            trigger = e.data.get("trigger") or {}
            if e.type.startswith(NOTICE_QUEUED) and trigger.get("subject") in about:
                ours.add(e.aggregate)
    return [e for n in sorted(ours) for e in by_notice[n]]


async def activity(reader: Reader, since: datetime, until: datetime, keep: Callable[[Entry], bool]) -> list[Entry]:
    """What every log holds between ``since`` and ``until`` that ``keep`` selects."""
    out: list[Entry] = []
    for spec in streams(identities=True):
        info = await stream_info(reader.nc, spec.name)
        if info is None or info.last_seq == 0:
            continue
        start = await reader.seq_at(spec.name, since)
        if start is None:
            continue
        after = await reader.seq_at(spec.name, until)
        end = info.last_seq if after is None else after - 1
        async for items in reader.scan(spec.name, start, end):
            out += [e for it in items if (e := entry(spec, it)) and since <= e.time < until and keep(e)]
    return sorted(out, key=lambda e: (e.time, e.stream, e.seq))


def by_unit(unit: str, tree: UnitTree) -> Callable[[Entry], bool]:
    """What the unit or a unit below it did (its people are the actors), and what national actors
    and the services did about its matters (the event concerns it)."""

    def within(code: str | None) -> bool:
        return code is not None and (code == unit or (code in tree and unit in tree.path(code)))

    return lambda e: within(e.actor_unit) or (e.actor_unit is None and within(e.unit))


def by_actor(actor: str) -> Callable[[Entry], bool]:
    return lambda e: e.actor == actor
