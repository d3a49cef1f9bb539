"""Fill the PETITIONS stream fast with real petitions events, exactly as the service stores them,
for the rebuild and load-time rows.

How (stated in bench/RESULTS.md):

1. *Templates*: the petitions service's own handlers (``caunoi.petitions.handlers`` through the
   kernel's request edge, :func:`caunoi.shared.endpoints.dispatch`) run the four lives below on
   the kernel's in-memory event store, for a few communes of the demo area. The messages it stores
   are byte for byte what the service stores on JetStream (envelope, data, headers, subject):
   ``PetitionRaised.v3`` with the petitioner's personal data sealed, every event chained.
2. *Copies*: each petition of the fill is a copy of one template life with fresh ids: the
   petition reference (``PA-`` + 8 base-32 characters, counted up), the command ids (causation and
   correlation) and the event ids (also ``Nats-Msg-Id``), replaced in the bytes. The personal data
   are sealed again under a new key of that petitioner's own (``petitioner:<reference>``, the
   reference as associated data, :func:`caunoi.shared.vault.encrypt`), whose wrapped form goes
   into the installation's key store (``caunoi_vault``), so an official opens them as the service
   would. Each event's hash chain is computed again (``chainprev``, ``chainhash``:
   :func:`caunoi.shared.audit.verifier.digest`), so every copy is a valid event of the service,
   and the stream verifies (``caunoi audit verify``).
3. *Checkpoints*: what the service's checkpoint duty would have sealed meanwhile: a signed
   ``CheckpointSigned`` (the installation's key ``keys/audit/petitions.pem``) after every
   ``CAUNOI_AUDIT_CHECKPOINT_EVENTS`` (1,000) messages, and one at the end, made by the kernel's
   functions (:func:`caunoi.shared.audit.checkpoints.signed_range`, ``checkpoint_event``).
4. *Order*: petitions are filled in blocks of :data:`BLOCK`; a block stores every petition's
   first event, then every second event, and so on, so a projection batch folds events of
   petitions whose rows earlier batches wrote, as in real traffic.
5. *Publishing*: JetStream atomic batches of 1,000 messages (:func:`publish`), over one NATS
   connection speaking the protocol directly (the kernel's stream reader's connection), every ack
   checked against the sequence the checkpoints were signed for (the fill is the stream's only
   writer: the service is stopped). The fill does not carry
   ``Nats-Expected-Last-Subject-Sequence`` (the order is ours); everything else is the service's.

Lives (events per petition): hotline raise (1); reception raise, answer on the spot, written
reply (3); letter raise, forward to the province, committed date, written reply (4); portal raise,
forward, committed date (3). 2.75 events per petition on average.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from work import header_block

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.audit import verifier as v
from caunoi.shared.audit.chain import GENESIS, fast_canonical
from caunoi.shared.audit.checkpoints import AGGREGATE, SCOPE, Checkpointer, Signer, checkpoint_event, signed_range
from caunoi.shared.clock import today_vn
from caunoi.shared.context import RequestContext, Role
from caunoi.shared.duties import system_actor
from caunoi.shared.endpoints import Edge, dispatch
from caunoi.shared.eventstore import message_headers
from caunoi.shared.hamlets import InMemoryHamletDirectory
from caunoi.shared.identity import Verifier, bearer, issue
from caunoi.shared.ids import REFERENCE_ALPHABET
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.jsapi import direct_get_last
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.sealed import Sealed
from caunoi.shared.streamread import _SID_DATA, _Connection
from caunoi.shared.units import UnitTree
from caunoi.shared.vault import InMemoryVault, PgVault, encrypt, load_master_key, new_key_id

#: petitions per block (see the module's docstring)
BLOCK = 2000
#: messages per atomic batch (nats-server's limit is 1,000) and batches in flight
BATCH = 1000
BATCHES_IN_FLIGHT = 4
_ACK_KEYS = {"seq", "batch"}
DATASET = "vn-2025"
#: messages per checkpoint (the service's default, ``CAUNOI_AUDIT_CHECKPOINT_EVENTS``)
CHECKPOINT_EVENTS = 1000
_CHAIN_HASH = b'"chainhash":"'

#: one message to store: (NATS subject, header block as HPUB sends it, body)
Out = tuple[bytes, bytes, bytes]


@dataclass(frozen=True)
class StoredTemplate:
    """One stored message of a template life."""

    subject: bytes
    headers: bytes  # the NATS header block, as HPUB sends it
    data: bytes
    chainhash: bytes


@dataclass(frozen=True)
class Life:
    petition_id: str
    command_ids: tuple[str, ...]
    event_ids: tuple[str, ...]
    messages: tuple[StoredTemplate, ...]
    #: the sealed box of its PetitionRaised (key id, base64 nonce and ciphertext as stored) and what
    #: it seals
    box: tuple[bytes, bytes, bytes]
    personal: dict[str, Any]


def chainhash_of(data: bytes) -> bytes:
    """The ``chainhash`` of a stored event, as its bytes hold it."""
    i = data.index(_CHAIN_HASH) + len(_CHAIN_HASH)
    return data[i : i + 64]


def rechained(data: bytes, old_hash: bytes) -> tuple[bytes, str]:
    """A stored event whose content was changed (its ids), its ``chainhash`` (``old_hash``)
    computed again; and the new digest."""
    digest = v.digest(orjson.loads(data), fast_canonical)  # without chainhash: what it must be
    return data.replace(old_hash, digest.encode()), digest


async def template_lives(communes: list[str]) -> list[Life]:
    """Run the four lives through the service's handlers on the in-memory store."""
    key = Ed25519PrivateKey.generate()
    units = UnitTree.load(DATASET)
    store = InMemoryEventStore(STREAM)
    vault = InMemoryVault()
    deps = Deps(
        petitions=Repository(store, registry, PETITION, units),
        units=units,
        hamlets=InMemoryHamletDirectory(),
        vault=vault,
    )
    edge = Edge("petitions", Verifier(key.public_key()))
    cred = issue(key, subject="clerk.08", name="Cán bộ tỉnh", unit="08", dataset=DATASET, roles=[Role.officer])
    endpoints = {e.name: e for e in ENDPOINTS}
    today = today_vn()

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
                # received today: no deadline of the fill is due or near while the benchmark runs,
                # so the service's deadline duties record nothing over it (they would record a
                # command per petition, and the catch-up and rebuild would time those instead)
                "received_on": today.isoformat(),
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
        first = orjson.loads(msgs[0].data)
        box = Sealed.model_validate(first["data"]["personal"])
        personal = await vault.open(box, pid)
        assert personal is not None
        lives.append(
            Life(
                pid,
                tuple(cids[:used]),
                tuple(m.msg_id or "" for m in msgs),
                tuple(
                    StoredTemplate(m.subject.encode(), header_block(m.headers), m.data, chainhash_of(m.data))
                    for m in msgs
                ),
                (box.key_id.encode(), box.nonce.encode(), box.ciphertext.encode()),
                personal,
            )
        )
    return lives


def reference(n: int) -> bytes:
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


class FillVault(PgVault):
    """The installation's key store, as the fill writes it: new data keys wrapped by the master
    key exactly as :class:`PgVault` wraps them, stored with COPY (a key per petitioner)."""

    def wrap(self, key_id: str, key: bytes) -> bytes:
        return self._wrap(key_id, key)

    async def store(self, keys: list[tuple[str, bytes]]) -> None:
        async with self.pool.acquire() as conn:
            await conn.copy_records_to_table("vault_keys", records=keys, columns=["key_id", "wrapped"])


@dataclass(frozen=True)
class Made:
    """One message of the fill and its digest (its ``chainhash``: what its checkpoint leaf covers)."""

    subject: bytes
    headers: bytes
    data: bytes
    digest: str


class Filler:
    """Makes the messages of the fill, petition by petition, in the block order."""

    def __init__(self, lives: list[Life], seed: int, wrap: Callable[[str, bytes], bytes]) -> None:
        self.lives = lives
        self.next_petition = seed << 20  # references from a random start: several fills never collide
        self.made = 0
        self.wrap = wrap
        #: the key store's rows (key id, wrapped key) made since the last :meth:`take_keys`
        self.keys: list[tuple[str, bytes]] = []
        self._ids = itertools.count(1)
        self._run = seed & 0xFFFF
        self._sample: list[str] = []

    def sample(self) -> list[str]:
        """Every 100th petition made since the last call (for load-time probes)."""
        out, self._sample = self._sample, []
        return out

    def take_keys(self) -> list[tuple[str, bytes]]:
        out, self.keys = self.keys, []
        return out

    def petition(self, life: Life) -> list[Made]:
        """One petition's messages: its ids replaced, its personal data sealed under a key of its
        own, its chain computed again."""
        self.next_petition += 1
        ref = reference(self.next_petition)
        if self.next_petition % 100 == 0:
            self._sample.append(ref.decode())
        old_ref = life.petition_id.encode()
        swaps = [(old_ref, ref)]
        swaps += [(c.encode(), _uuid(next(self._ids), self._run)) for c in life.command_ids]
        swaps += [(e.encode(), _uuid(next(self._ids), 0x10000 | self._run)) for e in life.event_ids]
        key_id, context = new_key_id(), ref.decode()
        key = AESGCM.generate_key(bit_length=256)
        box = encrypt(key, key_id, context, life.personal)
        swaps += [(old, new.encode()) for old, new in zip(life.box, (key_id, box.nonce, box.ciphertext), strict=True)]
        self.keys.append((key_id, self.wrap(key_id, key)))
        out = []
        for m in life.messages:
            subject, headers, data = m.subject, m.headers, m.data
            for a, b in swaps:
                data = data.replace(a, b)
                headers = headers.replace(a, b)
            data, digest = rechained(data, m.chainhash)
            swaps.append((m.chainhash, digest.encode()))  # the next event's chainprev
            out.append(Made(subject.replace(old_ref, ref), headers, data, digest))
        return out

    @staticmethod
    def _block_refs(per: list[list[Made]]) -> set[str]:
        return {p[0].subject.split(b".")[2].decode() for p in per}

    def blocks(self, events: int) -> Iterator[list[Made]]:
        """Exactly ``events`` messages, a block at a time (a block's last petitions may be cut)."""
        lives = itertools.cycle(self.lives)
        left = events
        while left > 0:
            per = [self.petition(next(lives)) for _ in range(BLOCK)]
            block: list[Made] = []
            for i in range(4):
                block += [p[i] for p in per if len(p) > i]
            if len(block) > left:  # the last block is cut: sample only petitions that have events
                block = block[:left]
                kept = {m.subject.split(b".")[2].decode() for m in block}
                self._sample = [p for p in self._sample if p in kept or p not in self._block_refs(per)]
            left -= len(block)
            self.made += len(block)
            yield block


class Checkpoints:
    """The checkpoints the service's duty would have made over the fill: one after every
    :data:`CHECKPOINT_EVENTS` messages (a range starts with the previous checkpoint's message, as
    the duty's do), signed with the service's key, chained to the previous one."""

    def __init__(
        self, signer: Signer, next_seq: int, first: int, head: list[tuple[int, str, str, str]], root: str, chain: str
    ) -> None:
        self.signer = signer
        self.next_seq = next_seq
        self.first = first
        self.digests = head
        self.previous_root = root
        self.chained_to = chain
        self.subject = f"{STREAM.subject_prefix}.{AGGREGATE}.{SCOPE}"
        self.made = 0

    @classmethod
    async def resume(cls, nc: Any, key_file: Path) -> Checkpoints:
        """After what the stream holds: whatever the service left unsealed is sealed first (the
        kernel's checkpointer), so the next range starts with the last checkpoint's message."""
        store = JetStreamEventStore(nc, STREAM)
        signer = Signer.load(key_file)
        cp = Checkpointer(nc, store, signer, CHECKPOINT_EVENTS)
        await cp.catch_up(RequestContext(system_actor(STREAM.service)))
        last, end = await cp.last(), await store.last_seq()
        if last is None:
            if end:
                raise RuntimeError(f"{STREAM.name} holds {end} messages and no checkpoint")
            return cls(signer, 1, 1, [], GENESIS, GENESIS)
        msg = await direct_get_last(nc, STREAM.name, cp.subject)
        assert msg is not None and msg.seq == last.seq == end == last.to_seq + 1, (last, end)
        head = [(msg.seq, msg.subject, AGGREGATE, last.chainhash)]
        return cls(signer, end + 1, last.seq, head, last.root, last.chainhash)

    def feed(self, made: Iterable[Made]) -> list[Out]:
        """The messages, in order, with a checkpoint after every range that is full."""
        out: list[Out] = []
        for m in made:
            seq = self.next_seq
            self.next_seq += 1
            subject = m.subject.decode()
            self.digests.append((seq, subject, v.aggregate_of(subject), m.digest))
            out.append((m.subject, m.headers, m.data))
            if seq - self.first + 1 >= CHECKPOINT_EVENTS:
                out.append(self._checkpoint())
        return out

    def close(self) -> list[Out]:
        """The last range's checkpoint (none when nothing follows the last checkpoint)."""
        return [self._checkpoint()] if self.digests and self.digests[-1][0] > self.first else []

    def _checkpoint(self) -> Out:
        now = datetime.now(UTC)
        data = signed_range(
            STREAM.name, self.first, self.next_seq - 1, self.digests, self.previous_root, self.signer, now
        )
        ctx = RequestContext(system_actor(STREAM.service), received_at=now)
        env = checkpoint_event(STREAM.service, STREAM.name, data, ctx, self.chained_to)
        assert env.chainhash is not None
        seq = self.next_seq
        self.next_seq += 1
        self.previous_root, self.chained_to = data["root"], env.chainhash
        self.first, self.digests = seq, [(seq, self.subject, AGGREGATE, env.chainhash)]
        self.made += 1
        return self.subject.encode(), header_block(message_headers(env)), env.to_json_bytes()


async def fill(
    url: str,
    seed: str | None,
    inbox_prefix: str,
    filler: Filler,
    events: int,
    checkpoints: Checkpoints,
    vault: FillVault,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``events`` petitions events (and the checkpoints over them) stored, their keys in the key
    store; returns how many messages were stored."""

    def messages() -> Iterator[list[Out]]:
        for block in filler.blocks(events):
            yield checkpoints.feed(block)
        yield checkpoints.close()

    async def keys() -> None:
        if len(filler.keys) >= 10 * BLOCK:
            await vault.store(filler.take_keys())

    first = checkpoints.next_seq
    stored = await publish(url, seed, inbox_prefix, messages(), first, progress, keys)
    await vault.store(filler.take_keys())
    if stored != checkpoints.next_seq - first:
        raise RuntimeError(f"fill: {stored} stored, {checkpoints.next_seq - first} made")
    return stored


async def publish(
    url: str,
    seed: str | None,
    inbox_prefix: str,
    blocks: Iterator[list[Out]],
    first_seq: int,
    progress: Callable[[int], None] | None = None,
    after_block: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Publish every message in JetStream atomic batches of :data:`BATCH` (ADR-50: the same
    ``Nats-Batch-Id``, ``Nats-Batch-Sequence`` from 1, ``Nats-Batch-Commit`` on the last, which
    alone asks for the ack), :data:`BATCHES_IN_FLIGHT` batches in flight; every ack is checked,
    and must name the sequence the message was made for (the first is ``first_seq``).
    With ``sync_interval: always`` a batch is stored with far fewer fsyncs than as many single
    publishes (bench/RESULTS.md gives the fill's rate beside the pipelined single publishes')."""
    conn = await _Connection.open(
        url, user=None, password=None, token=None, nkey_seed=seed, tls=None, timeout=30.0, name="caunoi-bench-fill"
    )
    inbox = f"{inbox_prefix}.{uuid.uuid4().hex}"
    conn.subscribe(f"{inbox}.*", _SID_DATA)
    reply = f"{inbox}.a".encode()
    stored = 0
    last_report = time.monotonic()
    pending: list[Out] = []
    expected: list[int] = []  # the last sequence of each batch in flight, in order
    sent = 0

    async def wait_acks(most: int) -> None:
        nonlocal stored
        while len(expected) > most:
            frames = await conn.take(60.0)
            for _, _, hdr, data in frames:
                if hdr or b'"error"' in data:
                    raise RuntimeError(f"fill publish failed: {hdr!r} {data[:300]!r}")
                ack = orjson.loads(data)
                if not _ACK_KEYS & ack.keys():
                    raise RuntimeError(f"fill: unexpected ack {data[:300]!r}")
                want = expected.pop(0)
                if int(ack["seq"]) != want:
                    raise RuntimeError(f"fill: batch stored up to {ack['seq']}, expected {want}: another writer?")
                stored += int(ack.get("count") or 0)

    def send(batch: list[Out]) -> None:
        nonlocal sent
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
        sent += last
        expected.append(first_seq + sent - 1)

    try:
        for block in blocks:
            pending += block
            while len(pending) >= BATCH:
                batch, pending = pending[:BATCH], pending[BATCH:]
                await wait_acks(BATCHES_IN_FLIGHT - 1)
                send(batch)
            if after_block is not None:
                await after_block()
            if progress is not None and time.monotonic() - last_report > 5:
                progress(stored)
                last_report = time.monotonic()
        if pending:
            await wait_acks(BATCHES_IN_FLIGHT - 1)
            send(pending)
        await wait_acks(0)
    finally:
        conn.close()
    return stored


async def check_sample(nc: Any, vault: PgVault, petition_ids: list[str], lives: list[Life]) -> int:
    """Open the personal data of sampled petitions of the fill as the service does (the event as
    stored, the installation's key store): each must give what its template sealed."""
    store = JetStreamEventStore(nc, STREAM)
    expected = [life.personal for life in lives]
    opened = 0
    for pid in petition_ids:
        msgs = await store.load(pid)
        box = Sealed.model_validate(orjson.loads(msgs[0].data)["data"]["personal"])
        got = await vault.open(box, pid)
        if got not in expected:
            raise RuntimeError(f"fill: the personal data of {pid} do not open ({got!r})")
        opened += 1
    return opened


async def open_vault(database_url: str, master_key: Path) -> FillVault:
    base = await PgVault.connect(database_url, master_key)
    return FillVault(base.pool, load_master_key(master_key))
