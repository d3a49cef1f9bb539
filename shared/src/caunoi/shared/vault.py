"""Personal data that can be erased from an immutable log (crypto-shredding).

Events never carry personal data in clear: a service seals it (:meth:`Vault.seal`) with AES-256-GCM
under a key of its own for that person, and the event carries the :class:`Sealed` box (key id,
nonce, ciphertext). The keys live outside the log, in the key store's own PostgreSQL database
``caunoi_vault`` (table ``vault_keys``), each wrapped (AES-256-GCM) by the installation's master key
``<data dir>/keys/vault.key`` (``CAUNOI_VAULT_KEY``). Read models keep the sealed boxes as the
events carry them (so rebuilds, replays and a fresh installation fed the same log make the same
rows, and never touch a key); queries of those who may see personal data open them. Nothing but
an erasure ever changes a key.

**Erasing** a person destroys their key (:meth:`Vault.destroy`): the wrapped key is overwritten
with NULL, the row keeps who erased it, when and why (a tombstone: the key id can never be used
again), and the table is vacuumed. From then on every copy of the ciphertext, in the log, in
exports, in backups of the log, is unreadable, while every hash over it still verifies.

Limits, said plainly (docs/architecture.md, "Erasure"): PostgreSQL's write-ahead log and any
backup of ``caunoi_vault`` keep the wrapped key until they are recycled or expire, so keep the key
store's backups apart and short-lived (or rotate the master key); data written in clear before
this scheme existed stays in clear in the log.

Who may decrypt: the services that open the vault (``Service(..., vault=True)``: petitions and
notify), which are the only ones given the master key (docker-compose mounts it into those two).

:class:`InMemoryVault` keeps the same contract for handler tests (tests/kernel/test_vault.py runs
the same tests on both).
"""

from __future__ import annotations

import abc
import asyncio
import base64
import contextlib
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import asyncpg
import orjson
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from caunoi.shared.identity import write_private
from caunoi.shared.sealed import Sealed

log = structlog.get_logger(__name__)

DATABASE: Final = "caunoi_vault"
_MASTER_AAD: Final = b"caunoi-vault/master/1|"
_DATA_AAD: Final = "caunoi-vault/1|{key_id}|{context}"
#: new keys a process stores ahead, in one transaction (``Vault.seal``)
SPARE_KEYS: Final = 64
#: the share of a batch left spare when the next batch is stored, in the background
LOW_SPARES: Final = 0.25

DDL = """
CREATE TABLE IF NOT EXISTS vault_keys (
    key_id       text        PRIMARY KEY,
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    destroyed_by text,
    reason       text,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
"""


@dataclass(frozen=True)
class Erasure:
    key_id: str
    destroyed_at: datetime
    destroyed_by: str
    reason: str
    #: False when it had been destroyed before (the first erasure is what is returned)
    now: bool


def new_master_key(path: Path) -> bool:
    """Create the installation's master key file (0600) if there is none; True if created."""
    if path.is_file():
        return False
    write_private(path, base64.b64encode(AESGCM.generate_key(bit_length=256)) + b"\n")
    return True


def load_master_key(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as e:
        raise RuntimeError(f"no usable vault master key at {path} (CAUNOI_VAULT_KEY): {e}") from e
    if len(key) != 32:
        raise RuntimeError(f"{path} is not a 256-bit key")
    return key


def _aad(key_id: str, context: str) -> bytes:
    return _DATA_AAD.format(key_id=key_id, context=context).encode()


def encrypt(key: bytes, key_id: str, context: str, data: Mapping[str, Any]) -> Sealed:
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, orjson.dumps(dict(data)), _aad(key_id, context))
    return Sealed(key_id=key_id, nonce=base64.b64encode(nonce).decode(), ciphertext=base64.b64encode(ct).decode())


def decrypt(key: bytes, sealed: Sealed, context: str) -> dict[str, Any] | None:
    """The data, or None if it does not open with this key and context (tampered, misplaced)."""
    try:
        raw = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), _aad(sealed.key_id, context)
        )
    except (InvalidTag, ValueError):
        return None
    out: dict[str, Any] = orjson.loads(raw)
    return out


class Vault(abc.ABC):
    """The key store: one data key per person, new when their data are first sealed, destroyed on
    erasure. Key ids are random and handed out once, so a destroyed key never seals again."""

    @abc.abstractmethod
    async def _new_key(self) -> tuple[str, bytes]:
        """A data key never used before, already stored, and its id."""

    @abc.abstractmethod
    async def _keys(self, key_ids: Sequence[str]) -> dict[str, bytes]:
        """The live data keys among ``key_ids`` (destroyed and unknown ones left out)."""

    @abc.abstractmethod
    async def destroy(self, key_id: str, by: str, reason: str) -> Erasure:
        """Destroy the key for good (idempotent: a second call returns the first erasure)."""

    @abc.abstractmethod
    async def erasure(self, key_id: str) -> Erasure | None:
        """How the key was destroyed, if it was."""

    async def seal(self, context: str, data: Mapping[str, Any]) -> Sealed:
        """Encrypt ``data`` under a new key of their own, for ``context`` (what the data belong to:
        opening needs the same context); the box names the key."""
        key_id, key = await self._new_key()
        return encrypt(key, key_id, context, data)

    async def open(self, sealed: Sealed, context: str) -> dict[str, Any] | None:
        """The data, or None: the key was destroyed (erased) or is unknown, or the box is not
        this context's."""
        return (await self.open_many([(sealed, context)]))[0]

    async def open_many(self, boxes: Sequence[tuple[Sealed, str]]) -> list[dict[str, Any] | None]:
        """Several at once (one read of the key store): a projection's batch."""
        if not boxes:
            return []
        keys = await self._keys(sorted({s.key_id for s, _ in boxes}))
        return [decrypt(keys[s.key_id], s, ctx) if s.key_id in keys else None for s, ctx in boxes]

    async def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release connections."""


class InMemoryVault(Vault):
    """The key store in memory (handler tests): the same contract as :class:`PgVault`."""

    def __init__(self) -> None:
        self._live: dict[str, bytes] = {}
        self._erased: dict[str, Erasure] = {}

    async def _new_key(self) -> tuple[str, bytes]:
        key_id, key = new_key_id(), AESGCM.generate_key(bit_length=256)
        self._live[key_id] = key
        return key_id, key

    async def _keys(self, key_ids: Sequence[str]) -> dict[str, bytes]:
        return {k: self._live[k] for k in key_ids if k in self._live}

    async def destroy(self, key_id: str, by: str, reason: str) -> Erasure:
        if key_id in self._erased:
            return _again(self._erased[key_id])
        self._live.pop(key_id, None)
        self._erased[key_id] = Erasure(key_id, datetime.now(UTC), by, reason, True)
        return self._erased[key_id]

    async def erasure(self, key_id: str) -> Erasure | None:
        return self._erased.get(key_id)


def new_key_id() -> str:
    """A fresh key's id: random, so it says nothing about whose data it seals."""
    return f"key:{uuid.uuid4()}"


def _again(e: Erasure) -> Erasure:
    return Erasure(e.key_id, e.destroyed_at, e.destroyed_by, e.reason, False)


class PgVault(Vault):
    """The key store in its own PostgreSQL database, keys wrapped by the master key."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], master: bytes, spares: int = SPARE_KEYS) -> None:
        self.pool = pool
        self._master = AESGCM(master)
        self._batch = spares
        #: keys stored ahead (one transaction for ``spares`` of them) that no box uses yet: a new
        #: person's key costs no write to the key store. Spares a process held when it stopped
        #: stay in the table, wrapped, sealing nothing.
        self._spares: list[tuple[str, bytes]] = []
        #: the next batch being stored: started when the spares run low (:data:`LOW_SPARES` of a
        #: batch), so a command seldom waits for the key store's commit (with the batch stored
        #: only when the spares ran out, every 64th ``raise`` waited for it: most of the slowest
        #: 1.5 % of one client's commands)
        self._storing: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, database_url: str, master_key_file: Path) -> PgVault:
        """Open (and on first use create) the key store; the master key must exist."""
        from caunoi.shared.settings import database_url_with

        master = load_master_key(master_key_file)
        admin = await asyncpg.connect(database_url_with(database_url, "postgres"))
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
                try:
                    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
                except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                    pass  # another service created it meanwhile
        finally:
            await admin.close()
        pool = await asyncpg.create_pool(database_url_with(database_url, DATABASE), min_size=1, max_size=4)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('caunoi.vault.setup'))")
            await conn.execute(DDL)
        return cls(pool, master)

    def _wrap(self, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._master.encrypt(nonce, key, _MASTER_AAD + key_id.encode())

    def _unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        return self._master.decrypt(wrapped[:12], wrapped[12:], _MASTER_AAD + key_id.encode())

    async def _new_key(self) -> tuple[str, bytes]:
        while not self._spares:
            await asyncio.shield(self._store_ahead())  # a command given up on lets the batch finish
        found = self._spares.pop()
        if len(self._spares) <= self._batch * LOW_SPARES:
            self._store_ahead()
        return found

    def _store_ahead(self) -> asyncio.Task[None]:
        """The batch being stored, or a new one. A batch that fails is logged and leaves no task:
        the next key asked for when none is spare starts another and gets its error."""
        if self._storing is None:
            self._storing = asyncio.get_running_loop().create_task(self._store_batch())
            self._storing.add_done_callback(self._stored)
        return self._storing

    async def _store_batch(self) -> None:
        try:
            fresh = [(new_key_id(), AESGCM.generate_key(bit_length=256)) for _ in range(self._batch)]
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO vault_keys (key_id, wrapped) SELECT * FROM unnest($1::text[], $2::bytea[])",
                    [k for k, _ in fresh],
                    [self._wrap(k, key) for k, key in fresh],
                )
            self._spares[:0] = fresh  # under the spares left: those are handed out first
        finally:
            # Let go of this batch as it ends, not in a done callback: the callbacks run a turn
            # of the loop later, and a seal that ran before them and found no spare awaited the
            # finished task again and again (awaiting a done task does not yield): the process
            # spun and answered nothing more.
            self._storing = None

    def _stored(self, task: asyncio.Task[None]) -> None:
        if self._storing is task:  # a batch cancelled before it began: its ``finally`` never ran
            self._storing = None
        if not task.cancelled() and (e := task.exception()) is not None:
            log.warning("vault.keys_not_stored", error=repr(e))

    async def _keys(self, key_ids: Sequence[str]) -> dict[str, bytes]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT key_id, wrapped FROM vault_keys WHERE key_id = ANY($1::text[]) AND wrapped IS NOT NULL",
                list(key_ids),
            )
        return {r["key_id"]: self._unwrap(r["key_id"], r["wrapped"]) for r in rows}

    async def destroy(self, key_id: str, by: str, reason: str) -> Erasure:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO vault_keys AS k (key_id, wrapped, destroyed_at, destroyed_by, reason) "
                "VALUES ($1, NULL, now(), $2, $3) ON CONFLICT (key_id) DO UPDATE "
                "SET wrapped = NULL, destroyed_at = now(), destroyed_by = $2, reason = $3 "
                "WHERE k.destroyed_at IS NULL RETURNING destroyed_at, destroyed_by, reason",
                key_id,
                by,
                reason,
            )
            if row is None:  # destroyed before
                first = await self.erasure(key_id)
                assert first is not None
                return _again(first)
            # the old row version (with the wrapped key) is dead now: let PostgreSQL reclaim it
            await conn.execute("VACUUM vault_keys")
        return Erasure(key_id, row["destroyed_at"], row["destroyed_by"], row["reason"], True)

    async def erasure(self, key_id: str) -> Erasure | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT destroyed_at, destroyed_by, reason FROM vault_keys WHERE key_id = $1 AND wrapped IS NULL",
                key_id,
            )
        return None if row is None else Erasure(key_id, row["destroyed_at"], row["destroyed_by"], row["reason"], True)

    async def close(self) -> None:
        if self._storing is not None:
            with contextlib.suppress(Exception):
                await self._storing
        await self.pool.close()
