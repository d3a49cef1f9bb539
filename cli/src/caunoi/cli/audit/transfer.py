"""Export and import of the logs, for outside auditors and for moving an installation.

**Export** (``caunoi audit export``): JSON lines, one stored CloudEvent per line, exactly as stored
(chain attributes and checkpoint events included), with ``streamseq`` and ``streamsubject`` added;
a message that is not a JSON object is a ``junk`` line (base64). A period is widened to whole
checkpoints: it starts where the checkpoint covering its first event starts and ends with the
checkpoint covering its last one, so every checkpoint in the file can be recomputed. The services
are asked to seal what they hold first. ``caunoi audit verifier`` writes the verifier an auditor
runs on the file alone (:mod:`caunoi.shared.audit.verifier`).

**Import** (``caunoi audit import``): into a fresh installation whose streams are empty and whose
services are not running (they would act on the events as they arrive): the file is verified
first, then each message is published on its subject with its id and type headers, expecting the
stream's last sequence to be the one before it (``Nats-Expected-Last-Sequence``), so each lands
at its original sequence and the chains and checkpoints verify there too. The keys the
checkpoints were signed with are trusted from then on (``keys/audit/<service>.<key id>.pub``).
When the services start, their read models fill from sequence 1.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import orjson
from nats.aio.client import Client as NATS

from caunoi.cli.audit.progress import Progress
from caunoi.cli.audit.reading import Reader, stream_info
from caunoi.shared.audit import verifier as v
from caunoi.shared.audit.checkpoints import AGGREGATE, SCOPE
from caunoi.shared.envelope import CONTENT_TYPE, TYPE_HEADER
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.jetstream import stream_config
from caunoi.shared.jsapi import api, parse_error


@dataclass
class Exported:
    stream: str
    first: int
    last: int
    lines: int


def line(seq: int, subject: str, data: bytes) -> str:
    """One export line."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        return json.dumps({v.STREAM_SEQ: seq, v.STREAM_SUBJECT: subject, "junk": base64.b64encode(data).decode()})
    event[v.STREAM_SEQ] = seq
    event[v.STREAM_SUBJECT] = subject
    return orjson.dumps(event).decode()


async def checkpoint_ranges(reader: Reader, spec: StreamSpec) -> list[tuple[int, int, int]]:
    """(from_seq, to_seq, sequence of the checkpoint message) of each checkpoint of the stream."""
    out = []
    for it in await reader.subject(spec.name, f"{spec.subject_prefix}.{AGGREGATE}.{SCOPE}"):
        ev = it.event or {}
        data = ev.get("data") or {}
        if ev.get("type") == v.CHECKPOINT_TYPE and "from_seq" in data:
            out.append((int(data["from_seq"]), int(data["to_seq"]), it.seq))
    return out


def widen(first: int, last: int, ranges: list[tuple[int, int, int]]) -> tuple[int, int]:
    """A period widened to whole checkpoints (see the module doc)."""
    start = next((a for a, b, _ in ranges if a <= first <= b), first)
    end = next((seq for a, b, seq in ranges if a <= last <= b), last)
    return start, max(end, last)


async def export_stream(
    reader: Reader,
    spec: StreamSpec,
    out: TextIO,
    since: datetime | None = None,
    until: datetime | None = None,
    lang: str | None = "vi",
) -> Exported:
    info = await stream_info(reader.nc, spec.name)
    if info is None or info.last_seq == 0:
        return Exported(spec.name, 0, 0, 0)
    first, last = 1, info.last_seq
    if since is not None:
        first = await reader.seq_at(spec.name, since) or info.last_seq + 1
    if until is not None:
        after = await reader.seq_at(spec.name, until)
        last = info.last_seq if after is None else after - 1
    if first > last:
        return Exported(spec.name, first, last, 0)
    first, last = widen(first, last, await checkpoint_ranges(reader, spec))
    bar = Progress(spec.name, last - first + 1, lang) if lang else None
    n = 0
    async for items in reader.items(spec.name, first, last):
        for it in items:
            if it.data is not None:  # an absent message stays absent: the verifier names it
                out.write(line(it.seq, it.subject, it.data) + "\n")
                n += 1
        if bar:
            bar.update(items[-1].seq - first + 1)
    if bar:
        bar.close()
    return Exported(spec.name, first, last, n)


# -- import ------------------------------------------------------------------------------------------


@dataclass
class Parsed:
    """An export, grouped by stream, in sequence order."""

    streams: dict[str, list[tuple[int, str, dict[str, Any] | bytes]]] = field(default_factory=dict)

    @classmethod
    def read(cls, lines: Iterable[str]) -> Parsed:
        p = cls()
        for seq, subject, body in v.read_export(lines):
            service = subject.split(".")[1]
            p.streams.setdefault(service, []).append((seq, subject, body))
        for msgs in p.streams.values():
            msgs.sort(key=lambda m: m[0])
        return p

    def keys(self) -> dict[str, dict[str, bytes]]:
        """The checkpoint keys in the export, per service."""
        out: dict[str, dict[str, bytes]] = {}
        for service, msgs in self.streams.items():
            for _, _, body in msgs:
                if isinstance(body, dict) and body.get("type") == v.CHECKPOINT_TYPE:
                    raw = base64.b64decode((body.get("data") or {}).get("public_key", ""))
                    out.setdefault(service, {})[v.key_id(raw)] = raw
        return out


def stored_body(body: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
    """What to publish for an export line: the body as stored, and its headers."""
    if isinstance(body, bytes):
        return body, {}
    event = {k: x for k, x in body.items() if k not in (v.STREAM_SEQ, v.STREAM_SUBJECT)}
    headers = {"Nats-Msg-Id": str(event.get("id", "")), "Content-Type": CONTENT_TYPE}
    if event.get("type"):
        headers[TYPE_HEADER] = str(event["type"])
    return orjson.dumps(event), headers


async def import_stream(
    nc: NATS, spec: StreamSpec, msgs: list[tuple[int, str, dict[str, Any] | bytes]], lang: str | None = "vi"
) -> int:
    """Publish one stream's messages at their original sequences into its empty stream (created
    with the fixed configuration if absent)."""
    info = await stream_info(nc, spec.name)
    if info is None:
        await api(nc, f"$JS.API.STREAM.CREATE.{spec.name}", stream_config(spec))
    if info is not None and info.messages:
        raise ValueError(f"stream {spec.name} is not empty ({info.messages} messages): import into a fresh one")
    if msgs and msgs[0][0] != 1:
        raise ValueError(f"{spec.name}: the export starts at {msgs[0][0]}; only a whole stream can be imported")
    bar = Progress(spec.name, len(msgs), lang) if lang else None
    for i, (seq, subject, body) in enumerate(msgs, start=1):
        if seq != i:
            raise ValueError(f"{spec.name}: sequence {i} is missing from the export; it cannot be imported as is")
        data, headers = stored_body(body)
        headers["Nats-Expected-Last-Sequence"] = str(seq - 1)
        reply = await nc.request(subject, data, timeout=10.0, headers=headers)
        err = parse_error(orjson.loads(reply.data))
        if err is not None:
            raise ValueError(f"{spec.name}: sequence {seq} was refused: {err}")
        if bar:
            bar.update(i)
    if bar:
        bar.close()
    return len(msgs)


def trust(keys_dir: Path, keys: dict[str, dict[str, bytes]]) -> list[Path]:
    """Keep the export's checkpoint keys as trusted (``keys/audit/<service>.<key id>.pub``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    written = []
    for service, found in keys.items():
        for kid, raw in found.items():
            path = keys_dir / f"{service}.{kid}.pub"
            pem = Ed25519PublicKey.from_public_bytes(raw).public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pem)
            written.append(path)
    return written


def read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as f:
        yield from f
