"""The personal-data key store: one contract, run on the in-memory one (handler tests use it) and
on the real one (its own PostgreSQL database, keys wrapped by the installation's master key)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from support import Servers

from caunoi.shared.settings import database_url_with
from caunoi.shared.vault import DATABASE, SPARE_KEYS, InMemoryVault, KeyDestroyed, PgVault, Sealed, Vault

pytestmark = pytest.mark.asyncio
PERSON = {"name": "Nguyễn Văn An", "phone": "0912345678", "address": None}


@pytest_asyncio.fixture(params=["memory", "postgres"])
async def vault(request: pytest.FixtureRequest) -> AsyncIterator[Vault]:
    if request.param == "memory":
        yield InMemoryVault()
        return
    servers: Servers = request.getfixturevalue("servers")
    found = await PgVault.connect(servers.database_url, servers.installation.vault_key)
    try:
        yield found
    finally:
        await found.close()


def key() -> str:
    import uuid

    return f"petitioner:T-{uuid.uuid4().hex[:10]}"


async def test_sealed_data_open_with_their_key_and_context_only(vault: Vault) -> None:
    k = key()
    box = await vault.seal(k, "PA-1", PERSON)
    assert box.key_id == k and "Nguyễn" not in box.model_dump_json() and "0912345678" not in box.model_dump_json()
    assert await vault.open(box, "PA-1") == PERSON
    assert await vault.open(box, "PA-2") is None  # bound to what it belongs to
    again = await vault.seal(k, "PA-1", {"name": "x"})  # the same person's key, used again
    assert again.nonce != box.nonce and await vault.open(again, "PA-1") == {"name": "x"}
    tampered = Sealed(key_id=k, nonce=box.nonce, ciphertext=box.ciphertext[:-4] + "AAAA")
    assert await vault.open(tampered, "PA-1") is None
    assert await vault.open_many([(box, "PA-1"), (again, "PA-1"), (box, "PA-9")]) == [PERSON, {"name": "x"}, None]


async def test_a_destroyed_key_opens_nothing_and_never_seals_again(vault: Vault) -> None:
    k, other = key(), key()
    box = await vault.seal(k, "PA-1", PERSON)
    kept = await vault.seal(other, "PA-2", PERSON)
    first = await vault.destroy(k, by="operator", reason="yêu cầu của chủ thể dữ liệu")
    assert first.now and first.destroyed_by == "operator"
    assert await vault.open(box, "PA-1") is None
    assert await vault.open_many([(box, "PA-1"), (kept, "PA-2")]) == [None, PERSON]
    with pytest.raises(KeyDestroyed):
        await vault.seal(k, "PA-1", PERSON)
    second = await vault.destroy(k, by="someone else", reason="again")
    assert not second.now and (second.destroyed_by, second.reason) == ("operator", "yêu cầu của chủ thể dữ liệu")
    erasure = await vault.erasure(k)
    assert erasure is not None and erasure.reason == "yêu cầu của chủ thể dữ liệu"
    assert await vault.erasure(other) is None


async def test_a_new_key_per_box_sealed_new_and_erased_alone(vault: Vault) -> None:
    boxes = [await vault.seal_new(f"PA-{i}", PERSON) for i in range(70)]  # more than one batch of spares
    assert len({b.key_id for b in boxes}) == 70 and all(b.key_id.startswith("key:") for b in boxes)
    assert await vault.open_many([(b, f"PA-{i}") for i, b in enumerate(boxes)]) == [PERSON] * 70
    assert await vault.open(boxes[0], "PA-1") is None  # bound to what it belongs to
    await vault.destroy(boxes[3].key_id, by="operator", reason="yêu cầu")
    opened = await vault.open_many([(b, f"PA-{i}") for i, b in enumerate(boxes)])
    assert opened[3] is None and opened[:3] + opened[4:] == [PERSON] * 69
    with pytest.raises(KeyDestroyed):
        await vault.seal(boxes[3].key_id, "PA-3", PERSON)


async def test_new_keys_are_stored_before_any_box_uses_them(servers: Servers) -> None:
    """A box sealed under a spare key opens in another process at once (the key was stored, in a
    batch, before it was handed out); a process that stopped leaves its unused spares wrapped."""
    vault = await PgVault.connect(servers.database_url, servers.installation.vault_key)
    other = await PgVault.connect(servers.database_url, servers.installation.vault_key)
    conn = await asyncpg.connect(database_url_with(servers.database_url, DATABASE))
    try:
        box = await vault.seal_new("PA-1", PERSON)
        assert await other.open(box, "PA-1") == PERSON
        spares = await conn.fetch("SELECT wrapped FROM vault_keys WHERE key_id = ANY($1::text[])",
                                  [k for k, _ in vault._spares])  # fmt: skip
        assert len(spares) == SPARE_KEYS - 1 and all(len(r["wrapped"]) == 12 + 32 + 16 for r in spares)
    finally:
        await conn.close()
        await vault.close()
        await other.close()


async def test_the_store_keeps_keys_wrapped_and_nothing_of_a_destroyed_one(servers: Servers) -> None:
    vault = await PgVault.connect(servers.database_url, servers.installation.vault_key)
    conn = await asyncpg.connect(database_url_with(servers.database_url, DATABASE))
    try:
        k = key()
        box = await vault.seal(k, "PA-1", PERSON)
        wrapped = await conn.fetchval("SELECT wrapped FROM vault_keys WHERE key_id = $1", k)
        assert wrapped is not None and len(wrapped) == 12 + 32 + 16  # nonce, key, tag: never the bare key
        await vault.destroy(k, by="operator", reason="test")
        row = await conn.fetchrow("SELECT wrapped, destroyed_at FROM vault_keys WHERE key_id = $1", k)
        assert row["wrapped"] is None and row["destroyed_at"] is not None
        assert await vault.open(box, "PA-1") is None
        # another process's store (a second service) sees the same
        other = await PgVault.connect(servers.database_url, servers.installation.vault_key)
        try:
            assert await other.open(box, "PA-1") is None
        finally:
            await other.close()
    finally:
        await conn.close()
        await vault.close()
