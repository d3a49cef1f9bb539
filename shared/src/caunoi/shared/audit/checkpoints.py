"""Signed checkpoints: each service seals consecutive sequence ranges of its own stream with its
Ed25519 key, in events of its own (``CheckpointSigned``) on the subject
``caunoi.<service>.audit-checkpoints.vn``, which it alone appends to.

- **What one covers**: every message of the range, chained or not (so the events stored before
  the hash chain existed are covered by the first checkpoints), as leaves hashed into a root, and
  for each sequence the aggregate and a 64-bit prefix of its digest, so a verifier names the
  sequence and the aggregate of a message changed, removed, moved or added
  (:mod:`caunoi.shared.audit.verifier` defines the formats).
- **How often**: a duty (:class:`CheckpointDuty`, run by the service's
  :class:`~caunoi.shared.duties.DutyRunner` every ``CAUNOI_DUTY_INTERVAL``) seals what was
  appended since the last checkpoint, at most ``CAUNOI_AUDIT_CHECKPOINT_EVENTS`` messages per
  checkpoint; ``caunoi audit checkpoint`` (admin ``audit_checkpoint``) seals now. Nothing new, no
  checkpoint (a checkpoint does not seal the previous checkpoint alone).
- **Who signs**: the service, with ``<data dir>/keys/audit/<service>.pem`` (created with the
  installation's other keys; ``CAUNOI_AUDIT_KEY`` overrides); the public half is published as
  ``keys/audit/<service>.pub``, in each checkpoint, and by the admin ``audit_keys`` request.
- **Exactly one line of checkpoints**: the append expects the subject's last sequence, so two
  runners never both extend it; ranges follow each other and each names the previous root.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client as NATS

from caunoi.shared.audit import verifier as v
from caunoi.shared.audit.chain import GENESIS, fast_canonical, seal
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import Due
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import NEW_AGGREGATE, EventStore, StoredMessage, WrongExpectedSequence
from caunoi.shared.identity import load_private_key, new_signing_key
from caunoi.shared.jsapi import direct_get_last

log = structlog.get_logger(__name__)

registry = EventRegistry()
NS: Final = "vn.caunoi.audit"
AGGREGATE: Final = v.CHECKPOINT_AGGREGATE
#: the unit path token of the checkpoints' subject: they concern the whole stream
SCOPE: Final = "vn"
_EVENT_IDS = uuid.UUID("0b3b2a5e-6a52-4f0e-9d0c-61756469742d")


@registry.register
class CheckpointSigned(DomainEvent):
    """A service's signature over a range of its own stream (formats: caunoi.shared.audit.verifier)."""

    NAME = f"{NS}.CheckpointSigned"
    stream: str
    from_seq: int
    to_seq: int
    #: messages in the range (every sequence has one, unless the store lost some before)
    count: int
    root: str
    previous_root: str
    #: per sequence of the range: [aggregate id, first 16 hex digits of the digest], or null
    entries: list[list[str] | None]
    key_id: str
    public_key: str
    signed_at: datetime
    signature: str


assert CheckpointSigned.type_name() == v.CHECKPOINT_TYPE


# -- keys ---------------------------------------------------------------------------------------


def key_paths(keys_dir: Path, service: str) -> tuple[Path, Path]:
    """Where a service's checkpoint key pair is kept: ``keys/audit/<service>.pem`` and ``.pub``."""
    return keys_dir / "audit" / f"{service}.pem", keys_dir / "audit" / f"{service}.pub"


def ensure_key(keys_dir: Path, service: str) -> bool:
    """Create the service's checkpoint key pair if it has none; True if created."""
    private, public = key_paths(keys_dir, service)
    if private.is_file():
        return False
    private.parent.mkdir(parents=True, exist_ok=True)
    private.parent.chmod(0o700)
    new_signing_key(private, public)
    return True


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @classmethod
    def load(cls, path: Path) -> Signer:
        return cls(load_private_key(path))

    @property
    def public_raw(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_pem(self) -> str:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    @property
    def key_id(self) -> str:
        return v.key_id(self.public_raw)

    def sign(self, data: dict[str, Any]) -> str:
        return base64.b64encode(self.key.sign(v.signed_bytes(data))).decode()


# -- making checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Last:
    """The last checkpoint stored: its message's sequence, chain hash and data."""

    seq: int
    chainhash: str
    to_seq: int
    root: str


def digest_of(msg: StoredMessage) -> tuple[str, str]:
    """(aggregate id, digest) of a stored message, as the verifier computes them."""
    try:
        event = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        return v.aggregate_of(msg.subject), v.raw_digest(msg.data)
    return v.aggregate_of(msg.subject), v.digest(event, fast_canonical)


def checkpoint_data(
    stream: str,
    first: int,
    to: int,
    messages: Sequence[StoredMessage],
    previous_root: str,
    signer: Signer,
    signed_at: datetime,
) -> dict[str, Any]:
    """The signed data of the checkpoint over ``messages`` (the range ``first``-``to`` as stored)."""
    digests = [(m.seq, m.subject, *digest_of(m)) for m in messages]
    return signed_range(stream, first, to, digests, previous_root, signer, signed_at)


def signed_range(
    stream: str,
    first: int,
    to: int,
    digests: Sequence[tuple[int, str, str, str]],
    previous_root: str,
    signer: Signer,
    signed_at: datetime,
) -> dict[str, Any]:
    """:func:`checkpoint_data` from each message's ``(seq, NATS subject, aggregate id, digest)``,
    for a writer that has the digests at hand (the chain hash of a chained event is its digest)."""
    leaves: list[bytes] = []
    entries: list[list[str] | None] = [None] * (to - first + 1)
    for seq, subject, aggregate, d in digests:
        leaves.append(v.leaf(seq, subject, d))
        entries[seq - first] = [aggregate, d[: v.SHORT]]
    data: dict[str, Any] = {
        "stream": stream,
        "from_seq": first,
        "to_seq": to,
        "count": len(leaves),
        "root": v.root(leaves),
        "previous_root": previous_root,
        "entries": entries,
        "key_id": signer.key_id,
        "public_key": base64.b64encode(signer.public_raw).decode(),
        "signed_at": signed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    data["signature"] = signer.sign(data)
    return data


def checkpoint_event(
    service: str, stream: str, data: dict[str, Any], ctx: RequestContext, chained_to: str
) -> CloudEvent:
    """The stored form of the checkpoint with signed ``data``: its envelope, chained to the
    previous checkpoint's ``chainhash`` (``GENESIS`` for the first)."""
    event = CheckpointSigned.model_validate(data)
    env = CloudEvent.model_construct(
        id=str(uuid.uuid5(_EVENT_IDS, f"{stream}:{data['from_seq']}-{data['to_seq']}")),
        source=f"/caunoi/{service}",
        type=event.type_name(),
        subject=AGGREGATE,
        time=ctx.received_at,
        data=data,  # as signed (the model checked it)
        datacontenttype="application/json",
        specversion="1.0",
        unitcode=SCOPE,
        correlationid=ctx.correlation_id,
        causationid=ctx.command_id,
        actor=ctx.actor.id,
    )
    return seal([env], chained_to)[0]


class Checkpointer:
    """Seals its service's stream, a range at a time."""

    def __init__(self, nc: NATS, store: EventStore, signer: Signer, max_events: int = 1000) -> None:
        self.nc = nc
        self.store = store
        self.signer = signer
        self.max_events = max_events
        self.source = f"/caunoi/{store.spec.service}"
        self.subject = f"{store.spec.subject_prefix}.{AGGREGATE}.{SCOPE}"
        self.made = 0

    async def last(self) -> Last | None:
        msg = await direct_get_last(self.nc, self.store.stream, self.subject)
        if msg is None:
            return None
        env = orjson.loads(msg.data)
        data = env["data"]
        return Last(msg.seq, env.get(v.CHAIN_HASH) or GENESIS, int(data["to_seq"]), str(data["root"]))

    async def pending(self) -> tuple[Last | None, int, int]:
        """The last checkpoint, and the range the next one covers (empty when nothing is new)."""
        last = await self.last()
        end = await self.store.last_seq()
        first = last.to_seq + 1 if last else 1
        if last is not None and first == last.seq == end:
            return last, first, first - 1  # nothing since, but the last checkpoint itself
        return last, first, min(end, first + self.max_events - 1)

    async def due(self) -> int:
        """How many checkpoints the messages not sealed yet need."""
        _, first, to = await self.pending()
        return 0 if to < first else -(-(to - first + 1) // self.max_events)

    async def make(self, ctx: RequestContext) -> bool:
        """Seal the next range; False when there was nothing to seal, or another runner did."""
        last, first, to = await self.pending()
        if to < first:
            return False
        messages: list[StoredMessage] = []
        seq = first
        while seq <= to:
            page = [m for m in await self.store.read(seq, min(256, to - seq + 1)) if m.seq <= to]
            if not page:
                break
            messages += page
            seq = page[-1].seq + 1
        # hashing a range (some 30 µs a message) runs beside the event loop, not in it: the
        # projections process's read models go on applying events meanwhile (without this, each
        # checkpoint stalled them for tens of milliseconds: the lag's p99)
        data = await asyncio.to_thread(
            checkpoint_data,
            self.store.stream, first, to, messages, last.root if last else GENESIS, self.signer, ctx.received_at,
        )  # fmt: skip
        sealed = [
            checkpoint_event(self.store.spec.service, self.store.stream, data, ctx, last.chainhash if last else GENESIS)
        ]
        try:
            await self.store.append(self.subject, last.seq if last else NEW_AGGREGATE, sealed)
        except WrongExpectedSequence:
            return False  # another runner sealed it meanwhile
        self.made += 1
        log.info("audit.checkpoint", stream=self.store.stream, from_seq=first, to_seq=to, count=data["count"])
        return True

    async def catch_up(self, ctx: RequestContext, limit: int = 10_000) -> list[dict[str, int]]:
        """Seal everything stored now; the ranges sealed."""
        out = []
        for _ in range(limit):
            _, first, to = await self.pending()
            if to < first or not await self.make(ctx):
                break
            out.append({"from_seq": first, "to_seq": to})
        return out


class CheckpointDuty:
    """The kernel's duty of every service with a checkpoint key: seal what is new."""

    name = "audit-checkpoint"

    def __init__(self, checkpointer: Checkpointer, per_tick: int = 50) -> None:
        self.checkpointer = checkpointer
        self.per_tick = per_tick

    async def due(self, deps: Any, now: datetime) -> Sequence[Due]:
        n = min(await self.checkpointer.due(), self.per_tick)
        return [Due(AGGREGATE, f"{now.isoformat()}#{i}") for i in range(n)]

    async def act(self, deps: Any, due: Due, ctx: RequestContext) -> bool:
        started = time.perf_counter()
        made = await self.checkpointer.make(ctx)
        # A tick seals every range stored since the last (30 of them at 1,000 events/s), each some
        # 30 ms of reading and hashing that shares the interpreter with the read models; back to
        # back they held the projections for up to ~100 ms (the lag's worst seconds in the bench).
        # Pausing as long as each took leaves the read models at least half of the time.
        await asyncio.sleep(time.perf_counter() - started)
        return made


def for_service(nc: NATS, store: EventStore, key_file: Path, max_events: int) -> Checkpointer | None:
    """The service's checkpointer, or None (logged) when it has no key."""
    if not key_file.is_file():
        log.warning("audit.no_checkpoint_key", path=str(key_file), stream=store.stream)
        return None
    return Checkpointer(nc, store, Signer.load(key_file), max_events)
