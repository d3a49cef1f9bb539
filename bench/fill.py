"""Fill the PETITIONS stream fast with real petitions events, for the rebuild and load-time rows.

How (stated in bench/RESULTS.md):

1. *Templates*: the petitions service's own handlers (``caunoi.petitions.handlers`` through the
   kernel's request edge, :func:`caunoi.shared.endpoints.dispatch`) run the four lives below on
   the kernel's in-memory event store, for a few communes of the demo area. The messages it stores
   are byte for byte what the service stores on JetStream (envelope, data, headers, subject).
2. *Copies*: each petition of the fill is a copy of one template life with fresh ids: the
   petition reference (``PA-`` + 8 base-32 characters, counted up), the command ids (causation and
   correlation) and the event ids (also ``Nats-Msg-Id``), replaced in the bytes. Every copy is a
   valid event of the service (the rebuild decodes and folds each one).
3. *Order*: petitions are filled in blocks of :data:`BLOCK`; a block stores every petition's
   first event, then every second event, and so on, so a projection batch folds events of
   petitions whose rows earlier batches wrote, as in real traffic.
4. *Publishing*: JetStream atomic batches of 1,000 messages (:func:`publish`), over one NATS
   connection speaking the protocol directly (the kernel's stream reader's connection), every ack
   checked. The fill does not carry
   ``Nats-Expected-Last-Subject-Sequence`` (the order is ours); everything else is the service's.

Lives (events per petition): hotline raise (1); reception raise, answer on the spot, written
reply (3); letter raise, forward to the province, committed date, written reply (4); portal raise,
forward, committed date (3). 2.75 events per petition on average.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.context import Role
from caunoi.shared.endpoints import Edge, dispatch
from caunoi.shared.hamlets import InMemoryHamletDirectory
from caunoi.shared.identity import Verifier, bearer, issue
from caunoi.shared.ids import REFERENCE_ALPHABET
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.streamread import _SID_DATA, _Connection
from caunoi.shared.units import UnitTree

#: petitions per block (see the module's docstring)
BLOCK = 2000
#: messages per atomic batch (nats-server's limit is 1,000) and batches in flight
BATCH = 1000
BATCHES_IN_FLIGHT = 4
_ACK_KEYS = {"seq", "batch"}
DATASET = "vn-2025"


@dataclass(frozen=True)
class StoredTemplate:
    """One stored message of a template life."""

    subject: bytes
    headers: bytes  # the NATS header block, as HPUB sends it
    data: bytes


@dataclass(frozen=True)
class Life:
    petition_id: str
    command_ids: tuple[str, ...]
    event_ids: tuple[str, ...]
    messages: tuple[StoredTemplate, ...]


def _headers_block(h: dict[str, str]) -> bytes:
    return ("NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode()


async def template_lives(communes: list[str]) -> list[Life]:
    """Run the four lives through the service's handlers on the in-memory store."""
    key = Ed25519PrivateKey.generate()
    units = UnitTree.load(DATASET)
    store = InMemoryEventStore(STREAM)
    deps = Deps(petitions=Repository(store, registry, PETITION, units), units=units, hamlets=InMemoryHamletDirectory())
    edge = Edge("petitions", Verifier(key.public_key()))
    cred = issue(key, subject="clerk.08", name="Cán bộ tỉnh", unit="08", dataset=DATASET, roles=[Role.officer])
    endpoints = {e.name: e for e in ENDPOINTS}
    today = date.today()

    async def call(name: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = orjson.loads(await dispatch(edge, endpoints[name], deps, orjson.dumps(body), bearer(cred.token)))
        if not reply["ok"]:
            raise RuntimeError(f"template {name} refused: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    lives: list[Life] = []
    for n, (commune, channel) in enumerate(itertools.product(communes, ("hotline", "reception", "letter", "portal"))):
        cids = [str(uuid.uuid4()) for _ in range(4)]
        raised = await call(
            "raise",
            {
                "command_id": cids[0],
                "channel": channel,
                "kind": "petition" if n % 3 else "feedback",
                "category": ("roads", "land", "drainage", "farm_prices", "security", "social_policy")[n % 6],
                "petitioner": {"name": f"Người dân số {n}", "phone": f"09{n:08d}", "confidential": n % 7 == 0},
                "commune_code": commune,
                "text": "Đường liên thôn xuống cấp, mùa mưa lầy lội, đề nghị bê tông hóa tuyến đường vào thôn.",
                "received_on": (today - timedelta(days=30)).isoformat(),
            },
        )
        pid = raised["petition_id"]
        used = 1
        if channel == "reception":
            await call(
                "answer",
                {
                    "command_id": cids[1],
                    "petition_id": pid,
                    "answer": "Đã giải đáp tại buổi tiếp công dân.",
                    "answered_by": "Chủ tịch UBND xã",
                },
            )
            await call(
                "reply",
                {
                    "command_id": cids[2],
                    "petition_id": pid,
                    "document_no": f"{n}/UBND-VP",
                    "summary": "Đã trả lời bằng văn bản.",
                },
            )
            used = 3
        elif channel in ("letter", "portal"):
            await call(
                "forward", {"command_id": cids[1], "petition_id": pid, "to_unit": "08", "to_agency": "Sở Xây dựng"}
            )
            await call(
                "commit",
                {"command_id": cids[2], "petition_id": pid, "committed_date": (today + timedelta(days=30)).isoformat()},
            )
            used = 3
            if channel == "letter":
                await call(
                    "reply",
                    {
                        "command_id": cids[3],
                        "petition_id": pid,
                        "document_no": f"{n}/SXD-QLHT",
                        "summary": "Đã sửa chữa tuyến đường.",
                    },
                )
                used = 4
        msgs = await store.load(pid)
        assert len(msgs) == used, (pid, len(msgs))
        lives.append(
            Life(
                pid,
                tuple(cids[:used]),
                tuple(m.msg_id or "" for m in msgs),
                tuple(StoredTemplate(m.subject.encode(), _headers_block(m.headers), m.data) for m in msgs),
            )
        )
    return lives


def _reference(n: int) -> bytes:
    chars = [REFERENCE_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(8))]
    return ("PA-" + "".join(chars)).encode()


def _uuid(n: int, kind: int) -> bytes:
    """A unique UUID-shaped id (version 4 layout), from a counter: cheaper than uuid4()."""
    return b"%08x-%04x-4%03x-8%03x-%012x" % (
        kind,
        (n >> 48) & 0xFFFF,
        (n >> 36) & 0xFFF,
        (n >> 24) & 0xFFF,
        n & 0xFFFFFFFFFFFF,
    )


class Filler:
    """Makes the messages of the fill, petition by petition, in the block order."""

    def __init__(self, lives: list[Life], seed: int) -> None:
        self.lives = lives
        self.next_petition = seed << 20  # references from a random start: several fills never collide
        self.made = 0
        self._ids = itertools.count(1)
        self._run = seed & 0xFFFF
        self._sample: list[str] = []

    def sample(self) -> list[str]:
        """Every 100th petition made since the last call (for load-time probes)."""
        out, self._sample = self._sample, []
        return out

    def petition(self, life: Life) -> list[tuple[bytes, bytes, bytes]]:
        """One petition's messages: (subject, headers, data)."""
        self.next_petition += 1
        ref = _reference(self.next_petition)
        if self.next_petition % 100 == 0:
            self._sample.append(ref.decode())
        old_ref = life.petition_id.encode()
        swaps = [(old_ref, ref)]
        swaps += [(c.encode(), _uuid(next(self._ids), self._run)) for c in life.command_ids]
        swaps += [(e.encode(), _uuid(next(self._ids), 0x10000 | self._run)) for e in life.event_ids]
        out = []
        for m in life.messages:
            subject, headers, data = m.subject, m.headers, m.data
            for a, b in swaps:
                data = data.replace(a, b)
                headers = headers.replace(a, b)
            out.append((subject.replace(old_ref, ref), headers, data))
        return out

    @staticmethod
    def _block_refs(per: list[list[tuple[bytes, bytes, bytes]]]) -> set[str]:
        return {p[0][0].split(b".")[2].decode() for p in per}

    def blocks(self, events: int) -> Iterator[list[tuple[bytes, bytes, bytes]]]:
        """Exactly ``events`` messages, a block at a time (a block's last petitions may be cut)."""
        lives = itertools.cycle(self.lives)
        left = events
        while left > 0:
            per = [self.petition(next(lives)) for _ in range(BLOCK)]
            block: list[tuple[bytes, bytes, bytes]] = []
            for i in range(4):
                block += [p[i] for p in per if len(p) > i]
            if len(block) > left:  # the last block is cut: sample only petitions that have events
                block = block[:left]
                kept = {m[0].split(b".")[2].decode() for m in block}
                self._sample = [p for p in self._sample if p in kept or p not in self._block_refs(per)]
            left -= len(block)
            self.made += len(block)
            yield block


async def publish(
    url: str,
    seed: str | None,
    inbox_prefix: str,
    blocks: Iterator[list[tuple[bytes, bytes, bytes]]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Publish every message in JetStream atomic batches of :data:`BATCH` (ADR-50: the same
    ``Nats-Batch-Id``, ``Nats-Batch-Sequence`` from 1, ``Nats-Batch-Commit`` on the last, which
    alone asks for the ack), :data:`BATCHES_IN_FLIGHT` batches in flight; every ack is checked.
    With ``sync_interval: always`` a batch is stored with far fewer fsyncs than as many single
    publishes (bench/RESULTS.md gives the fill's rate beside the pipelined single publishes')."""
    conn = await _Connection.open(
        url, user=None, password=None, token=None, nkey_seed=seed, tls=None, timeout=30.0, name="caunoi-bench-fill"
    )
    inbox = f"{inbox_prefix}.{uuid.uuid4().hex}"
    conn.subscribe(f"{inbox}.*", _SID_DATA)
    reply = f"{inbox}.a".encode()
    stored = in_flight = 0
    last_report = time.monotonic()
    pending: list[tuple[bytes, bytes, bytes]] = []

    async def wait_acks(most: int) -> None:
        nonlocal in_flight, stored
        while in_flight > most:
            frames = await conn.take(60.0)
            for _, _, hdr, data in frames:
                if hdr or b'"error"' in data:
                    raise RuntimeError(f"fill publish failed: {hdr!r} {data[:300]!r}")
                ack = orjson.loads(data)
                if not _ACK_KEYS & ack.keys():
                    raise RuntimeError(f"fill: unexpected ack {data[:300]!r}")
                stored += int(ack.get("count") or 0)
            in_flight -= len(frames)

    def send(batch: list[tuple[bytes, bytes, bytes]]) -> None:
        bid = uuid.uuid4().hex.encode()
        last = len(batch)
        for j, (subject, headers, data) in enumerate(batch, 1):
            h = headers[:-2] + b"Nats-Batch-Id: %s\r\nNats-Batch-Sequence: %d\r\n" % (bid, j)
            if j == last:
                h += b"Nats-Batch-Commit: 1\r\n\r\n"
                conn.write(b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject, reply, len(h), len(h) + len(data), h, data))
            else:
                h += b"\r\n"
                conn.write(b"HPUB %s %d %d\r\n%s%s\r\n" % (subject, len(h), len(h) + len(data), h, data))

    try:
        for block in blocks:
            pending += block
            while len(pending) >= BATCH:
                batch, pending = pending[:BATCH], pending[BATCH:]
                await wait_acks(BATCHES_IN_FLIGHT - 1)
                send(batch)
                in_flight += 1
            if progress is not None and time.monotonic() - last_report > 5:
                progress(stored)
                last_report = time.monotonic()
        if pending:
            await wait_acks(BATCHES_IN_FLIGHT - 1)
            send(pending)
            in_flight += 1
        await wait_acks(0)
    finally:
        conn.close()
    return stored
