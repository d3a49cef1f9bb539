"""Must show: tampering with a stored log is found and located. A log is written on a nats-server
of this test's own (the petitions service's commands through the real repository, a signed
checkpoint after the first twelve events, four events after it); then

- the server is stopped, its JetStream store directory copied and one byte of a message changed in
  the copy's message block file: JetStream's own checksum then refuses that message, and
  ``caunoi audit verify`` names its sequence and aggregate as changed, inside the checkpointed
  range and after it;
- the messages are re-published into a copy stream with one removed, a pair swapped (of one
  aggregate, after the checkpoint; of two, inside it), one altered: each is named.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nats
import orjson
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client as NATS
from petitions.payloads import COMMUNE, PROVINCE, raise_payload
from support import Harness, credential

from caunoi.cli.audit.reading import Reader
from caunoi.cli.audit.verify import verify_stream
from caunoi.cli.embedded import EmbeddedNats, free_port, start_nats
from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.audit.checkpoints import Checkpointer, Signer
from caunoi.shared.audit.verifier import Finding, Report
from caunoi.shared.context import RequestContext, Role
from caunoi.shared.duties import system_actor
from caunoi.shared.eventstore import StoredMessage
from caunoi.shared.hamlets import HamletAdded, HamletKind, InMemoryHamletDirectory
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream, stream_config
from caunoi.shared.jsapi import api
from caunoi.shared.units import UnitTree

pytestmark = pytest.mark.asyncio
CONFIG = """host: $CAUNOI_NATS_HOST
port: $CAUNOI_NATS_PORT
jetstream { store_dir: $CAUNOI_NATS_STORE_DIR, sync_interval: always }
"""
SIGNER = Signer(Ed25519PrivateKey.generate())
KEYS = {SIGNER.key_id: SIGNER.public_raw}


@dataclass
class Log:
    root: Path
    config: Path
    messages: list[StoredMessage]
    #: the petition of each stored event, by sequence
    aggregate: dict[int, str]


def server(root: Path, config: Path) -> EmbeddedNats:
    return start_nats(root, port=free_port(), monitor_port=None, config=config)


async def write(nc: NATS) -> None:
    """p1..p4 raised (1-4), classified (5-8), accepted (9-12), a checkpoint (13); then p5 raised
    and classified (14, 15), p6 likewise (16, 17)."""
    await provision_stream(nc, STREAM)
    store = JetStreamEventStore(nc, STREAM)
    units = UnitTree.load("vn-2025")
    hamlets = InMemoryHamletDirectory()
    hamlets.apply(HamletAdded(hamlet_id=f"{COMMUNE}-thon-dong-tam", commune_code=COMMUNE, name="Thôn Đồng Tâm",
                              kind=HamletKind.thon, unit_path=[PROVINCE, COMMUNE], dataset="vn-2025"))  # fmt: skip
    h = Harness("petitions", ENDPOINTS, Deps(Repository(store, registry, PETITION, units), units, hamlets), store)
    clerk = credential(COMMUNE, Role.clerk)
    ids = [(await h.ok("raise", raise_payload(), clerk))["petition_id"] for _ in range(4)]
    for step in ("classify", "accept"):
        for pid in ids:
            extra = {"kind": "petition", "category": "roads"} if step == "classify" else {}
            await h.ok(step, {"petition_id": pid, **extra}, clerk)
    assert await Checkpointer(nc, store, SIGNER).make(RequestContext(system_actor("petitions")))
    for _ in range(2):
        pid = (await h.ok("raise", raise_payload(), clerk))["petition_id"]
        await h.ok("classify", {"petition_id": pid, "kind": "petition", "category": "roads"}, clerk)


@pytest_asyncio.fixture(scope="module")
async def log(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Log]:
    root = tmp_path_factory.mktemp("tamper")
    config = root / "nats.conf"
    config.write_text(CONFIG)
    original = server(root / "original", config)
    try:
        nc = await nats.connect(original.url)
        try:
            await write(nc)
            messages = await JetStreamEventStore(nc, STREAM).read(1, 1000)
        finally:
            await nc.close()
    finally:
        original.stop()  # a stopped server: its store directory can be copied
    assert len(messages) == 17
    aggregate = {m.seq: orjson.loads(m.data)["subject"] for m in messages}
    yield Log(root, config, messages, aggregate)


async def verify(url: str) -> Report:
    nc = await nats.connect(url)
    try:
        return await verify_stream(Reader(nc, url, None), STREAM, KEYS, progress_lang=None)
    finally:
        await nc.close()


def first(report: Report) -> Finding:
    assert report.first_break is not None, report
    return report.first_break


# -- a changed byte in a copy of the store files -------------------------------------------------------


def corrupt_copy(log: Log, name: str, seq: int) -> Path:
    """A copy of the stopped server's store with one byte changed in the body of message ``seq``."""
    target = log.root / name
    shutil.copytree(log.root / "original" / "nats" / "jetstream", target / "nats" / "jetstream")
    body = log.messages[seq - 1].data
    event_id = orjson.loads(body)["id"]
    marker = b'"id":"' + event_id.encode()
    [block] = (target / "nats" / "jetstream").rglob("PETITIONS/msgs/*.blk")
    raw = bytearray(block.read_bytes())
    at = raw.find(marker)
    assert at > 0 and raw.find(marker, at + 1) < 0, "the message body is found once in the block file"
    raw[at + len(marker) - 1] ^= 0x01  # one bit of one byte of the event's id
    block.write_bytes(bytes(raw))
    return target


@pytest.mark.parametrize("seq", [6, 14], ids=["inside-the-checkpoint", "after-it"])
async def test_a_changed_byte_in_the_store_files_is_named(log: Log, seq: int) -> None:
    copy = corrupt_copy(log, f"byte-{seq}", seq)
    s = server(copy, log.config)
    try:
        report = await verify(s.url)
    finally:
        s.stop()
    found = first(report)
    assert (found.seq, found.kind, found.aggregate) == (seq, "changed", log.aggregate[seq]), report.findings
    assert len({f.seq for f in report.findings}) == 1, report.findings  # nothing else is blamed
    assert "refuses to return it" in found.detail  # JetStream's own checksum failed: it flags the message


async def test_the_untouched_copy_verifies(log: Log) -> None:
    target = log.root / "untouched"
    shutil.copytree(log.root / "original" / "nats" / "jetstream", target / "nats" / "jetstream")
    s = server(target, log.config)
    try:
        report = await verify(s.url)
    finally:
        s.stop()
    assert report.ok and report.messages == 17 and report.checkpointed_to == 12, report.findings


# -- messages re-published into a copy stream ---------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def copies(log: Log) -> AsyncIterator[str]:
    """A nats-server for copy streams (they may be deleted and made again, unlike a caunoi stream)."""
    s = server(log.root / "copies", log.config)
    yield s.url
    s.stop()


async def republish(url: str, messages: Sequence[StoredMessage | None]) -> None:
    """A PETITIONS stream made anew with ``messages`` at sequences 1, 2, …; ``None`` leaves a
    sequence deleted, as a removed message does."""
    nc = await nats.connect(url)
    try:
        try:
            await api(nc, f"$JS.API.STREAM.DELETE.{STREAM.name}")
        except Exception:  # noqa: BLE001 - the first copy: nothing to delete
            pass
        await api(nc, f"$JS.API.STREAM.CREATE.{STREAM.name}", {**stream_config(STREAM), "deny_delete": False})
        for seq, m in enumerate(messages, start=1):
            if m is None:
                # stored (acknowledged) before it is deleted: a plain publish raced the delete
                placed = orjson.loads((await nc.request("caunoi.petitions.placeholder.x", b"removed", timeout=5)).data)
                assert placed.get("seq") == seq, placed
                await api(nc, f"$JS.API.STREAM.MSG.DELETE.{STREAM.name}", {"seq": seq, "no_erase": True})
                continue
            headers = {k: x for k, x in m.headers.items() if k in ("Nats-Msg-Id", "Content-Type", "Caunoi-Type")}
            ack = orjson.loads((await nc.request(m.subject, m.data, headers=headers, timeout=5)).data)
            assert ack.get("seq") == seq, ack
    finally:
        await nc.close()


async def test_a_removed_message_is_named(log: Log, copies: str) -> None:
    msgs: list[StoredMessage | None] = list(log.messages)
    msgs[5] = None
    await republish(copies, msgs)
    found = first(await verify(copies))
    assert (found.seq, found.kind, found.aggregate) == (6, "missing", log.aggregate[6])


async def test_a_swapped_pair_is_named(log: Log, copies: str) -> None:
    m = log.messages
    assert log.aggregate[14] == log.aggregate[15]  # raised, then classified: one aggregate
    await republish(copies, [*m[:13], m[14], m[13], *m[15:]])
    found = first(await verify(copies))
    assert (found.seq, found.kind, found.aggregate) == (14, "reordered", log.aggregate[14])
    # two aggregates' events swapped inside the checkpointed range: each chain holds, the checkpoint does not
    assert log.aggregate[5] != log.aggregate[6]
    await republish(copies, [*m[:4], m[5], m[4], *m[6:]])
    found = first(await verify(copies))
    assert (found.seq, found.kind, found.aggregate) == (5, "reordered", log.aggregate[6])


async def test_an_altered_message_re_published_is_named(log: Log, copies: str) -> None:
    m = list(log.messages)
    ev = orjson.loads(m[10].data)
    ev["data"]["complexity"] = "complex"
    m[10] = StoredMessage(11, m[10].subject, orjson.dumps(ev), m[10].headers, m[10].time)
    await republish(copies, m)
    found = first(await verify(copies))
    assert (found.seq, found.kind, found.aggregate) == (11, "changed", log.aggregate[11])


async def test_checkpoints_seal_everything_in_ranges_that_follow_each_other(log: Log, copies: str) -> None:
    """With ranges of at most three messages, catching up seals the whole stream (each checkpoint
    message sealed by a later one, but for the last); a second catch-up seals nothing."""
    await republish(copies, log.messages)
    nc = await nats.connect(copies)
    try:
        store = JetStreamEventStore(nc, STREAM)
        cp = Checkpointer(nc, store, SIGNER, max_events=3)
        ctx = RequestContext(system_actor("petitions"))
        sealed = await cp.catch_up(ctx)
        # from the one the log was written with (at 13) on: 13-15 (sealed at 18), 16-18 (at 19)
        assert sealed == [{"from_seq": 13, "to_seq": 15}, {"from_seq": 16, "to_seq": 18}]
        last = await store.last_seq()
        assert sealed[-1]["to_seq"] == last - 1  # everything but the last checkpoint itself
        assert await cp.catch_up(ctx) == [] and await store.last_seq() == last
    finally:
        await nc.close()
    report = await verify(copies)
    assert report.ok and report.checkpoints == len(sealed) + 1 and report.checkpointed_to == last - 1, report
