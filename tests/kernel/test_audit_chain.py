"""The tamper evidence, without servers: the canonical form is RFC 8785 (checked against the
``rfc8785`` library), the repository chains every event it appends, signed checkpoints cover
every message, and the verifier names the first broken link of a changed, removed, swapped or
inserted message (or checkpoint) with its sequence and its aggregate."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from petitions.payloads import raise_payload
from support import Harness, credential

from caunoi.petitions.bootstrap import STREAM
from caunoi.petitions.domain import PETITION
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.audit import verifier as v
from caunoi.shared.audit.chain import GENESIS, fast_canonical
from caunoi.shared.audit.checkpoints import AGGREGATE, SCOPE, Signer, checkpoint_data
from caunoi.shared.context import Role
from caunoi.shared.eventstore import StoredMessage
from caunoi.shared.hamlets import HamletAdded, HamletKind, InMemoryHamletDirectory
from caunoi.shared.memstore import InMemoryEventStore
from caunoi.shared.units import UnitTree

UNITS = UnitTree.load("vn-2025")

# -- the canonical form -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_the_canonical_form_is_rfc_8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError):
        with pytest.raises((v.CanonicalError, UnicodeEncodeError, ValueError)):
            v.canonical(value)
        return
    assert v.canonical(value) == expected
    assert fast_canonical(value) == expected  # what the command path uses writes the same bytes


@pytest.mark.parametrize(
    ("number", "text"),
    [(0.0, "0"), (-0.0, "0"), (1.0, "1"), (0.1, "0.1"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
     (1e-7, "1e-7"), (0.000001, "0.000001"), (-1.5e-9, "-1.5e-9"), (123456789.125, "123456789.125"),
     (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308")],
)  # fmt: skip
def test_numbers_as_ecmascript_prints_them(number: float, text: str) -> None:
    assert v.es6_number(number) == text
    assert rfc8785.dumps(number).decode() == text


def test_what_the_canonical_form_cannot_hold_is_refused() -> None:
    for bad in (math.nan, math.inf, 2**53, {"a": {1: 2}}):
        with pytest.raises(v.CanonicalError):
            v.canonical(bad)


# -- a log written by the real repository ------------------------------------------------------------


def hamlets() -> InMemoryHamletDirectory:
    d = InMemoryHamletDirectory()
    d.apply(HamletAdded(hamlet_id="00691-thon-dong-tam", commune_code="00691", name="Thôn Đồng Tâm",
                        kind=HamletKind.thon, unit_path=["08", "00691"], dataset="vn-2025"))  # fmt: skip
    return d


async def written_log(petitions: int = 4) -> tuple[InMemoryEventStore, list[str]]:
    """Petitions raised and handled through the request edge: several events per aggregate,
    interleaved in the stream."""
    store = InMemoryEventStore(STREAM)
    h = Harness("petitions", ENDPOINTS, Deps(Repository(store, registry, PETITION, UNITS), UNITS, hamlets()), store)
    clerk = credential("00691", Role.clerk)
    ids = [(await h.ok("raise", raise_payload(), clerk))["petition_id"] for _ in range(petitions)]
    for pid in ids:
        await h.ok("classify", {"petition_id": pid, "kind": "petition", "category": "roads"}, clerk)
    for pid in ids:
        await h.ok("accept", {"petition_id": pid}, clerk)
    return store, ids


async def messages(store: InMemoryEventStore) -> list[StoredMessage]:
    return await store.read(1, 10_000)


def verify(msgs: list[StoredMessage | None], keys: dict[str, bytes] | None = None, start: int = 1) -> v.Report:
    """Verify a stream as stored: ``None`` where the store has no message."""
    verifier = v.StreamVerifier("petitions", keys, start=start)
    for seq, m in enumerate(msgs, start=start):
        if m is None:
            verifier.absent(seq)
        else:
            verifier.add(seq, m.subject, m.data)
    return verifier.finish(last_seq=start + len(msgs) - 1)


def at(m: StoredMessage, seq: int) -> StoredMessage:
    """The same message stored at another sequence."""
    return StoredMessage(seq, m.subject, m.data, m.headers, m.time)


def changed(m: StoredMessage, **data: Any) -> StoredMessage:
    ev = orjson.loads(m.data)
    ev["data"] = {**ev["data"], **data}
    return StoredMessage(m.seq, m.subject, orjson.dumps(ev), m.headers, m.time)


@pytest.mark.asyncio
async def test_every_event_the_repository_appends_is_chained_to_the_one_before() -> None:
    store, _ids = await written_log()
    msgs = await messages(store)
    assert len(msgs) == 12
    last: dict[str, str] = {}
    for m in msgs:
        ev = orjson.loads(m.data)
        assert ev["chainhash"] == v.digest(ev)
        assert ev["chainprev"] == last.get(m.subject, GENESIS)
        last[m.subject] = ev["chainhash"]
    report = verify(list(msgs))
    assert report.ok and report.chained == 12, report.findings


@pytest.mark.asyncio
async def test_an_id_stored_under_two_subjects_is_noted_not_named_a_break() -> None:
    """Two aggregates that took one id (possible before an append checked the id under every unit
    path): each chain is whole, so nothing is broken, and the report says which id and where."""
    store, ids = await written_log()
    msgs = list(await messages(store))
    ev = orjson.loads(msgs[0].data)  # the first petition's raise, as a second aggregate would store it
    ev["id"], ev["chainprev"] = "another-raise", GENESIS
    ev["chainhash"] = v.digest(ev)
    elsewhere = msgs[0].subject.rsplit(".", 1)[0] + ".00700"
    msgs.append(StoredMessage(len(msgs) + 1, elsewhere, orjson.dumps(ev), msgs[0].headers, msgs[0].time))
    report = verify(list(msgs))
    assert report.ok, report.findings
    shared = [n for n in report.notes if "more than one subject" in n]
    assert shared == [
        f"aggregate {ids[0]} is stored under more than one subject ({msgs[0].subject}; {elsewhere} from 13 on):"
        " two aggregates took one id"
    ]
    assert not [n for n in verify(list(msgs[:-1])).notes if "more than one subject" in n]


@pytest.mark.asyncio
async def test_a_changed_event_is_named_with_its_sequence_and_aggregate() -> None:
    store, _ids = await written_log()
    msgs: list[StoredMessage | None] = list(await messages(store))
    target = msgs[5]
    assert target is not None
    msgs[5] = changed(target, category="land")
    first = verify(msgs).first_break
    assert first is not None
    assert (first.seq, first.kind, first.aggregate) == (6, "changed", orjson.loads(target.data)["subject"])


@pytest.mark.asyncio
async def test_a_removed_event_is_named_missing_with_its_aggregate() -> None:
    store, _ids = await written_log()
    msgs: list[StoredMessage | None] = list(await messages(store))
    removed = msgs[5]  # the classification of the second petition; its acceptance follows later
    assert removed is not None
    msgs[5] = None
    report = verify(msgs)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind, report.first_break.aggregate) == (
        6,
        "missing",
        orjson.loads(removed.data)["subject"],
    )


@pytest.mark.asyncio
async def test_a_swapped_pair_is_named_reordered() -> None:
    store, ids = await written_log(petitions=1)  # one aggregate: raised, classified, accepted
    a, b, c = await messages(store)
    report = verify([a, at(c, 2), at(b, 3)])
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind, report.first_break.aggregate) == (2, "reordered", ids[0])
    assert report.first_break.other == 3


@pytest.mark.asyncio
async def test_an_inserted_event_is_named_whether_forged_with_a_valid_hash_or_not() -> None:
    store, ids = await written_log(petitions=1)
    a, b, c = await messages(store)
    ev = orjson.loads(b.data)
    forged = {**ev, "id": "forged", "data": {**ev["data"], "category": "land"}}
    forged.pop("chainhash")
    forged["chainhash"] = v.digest(forged)  # a forger who knows the format: its own hash is right
    x = StoredMessage(3, b.subject, orjson.dumps(forged), b.headers, b.time)
    report = verify([a, b, x, at(c, 4)])
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (3, "inserted")
    # without a chain at all, after chained events of its aggregate
    bare = {k: x for k, x in forged.items() if k not in ("chainprev", "chainhash")}
    y = StoredMessage(3, b.subject, orjson.dumps(bare), b.headers, b.time)
    first = verify([a, b, y, at(c, 4)]).first_break
    assert first is not None and (first.seq, first.kind, first.aggregate) == (3, "inserted", ids[0])


# -- checkpoints -------------------------------------------------------------------------------------

SIGNER = Signer(Ed25519PrivateKey.generate())
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def checkpoint(msgs: list[StoredMessage], first: int, to: int, seq: int, previous_root: str = GENESIS) -> StoredMessage:
    """A checkpoint over ``first``-``to`` stored at ``seq`` (as the checkpointer writes it, without
    its chain: tests of checkpoints alone)."""
    data = checkpoint_data("PETITIONS", first, to, [m for m in msgs if first <= m.seq <= to], previous_root,
                           SIGNER, NOW)  # fmt: skip
    ev = {"specversion": "1.0", "id": f"cp-{seq}", "source": "/caunoi/petitions", "type": v.CHECKPOINT_TYPE,
          "subject": AGGREGATE, "time": "2026-11-01T08:00:00Z", "data": data}  # fmt: skip
    return StoredMessage(seq, f"caunoi.petitions.{AGGREGATE}.{SCOPE}", orjson.dumps(ev), {}, "")


def unchained(msgs: list[StoredMessage]) -> list[StoredMessage]:
    """The same log as written before the chain existed."""
    out = []
    for m in msgs:
        ev = {k: x for k, x in orjson.loads(m.data).items() if k not in ("chainprev", "chainhash")}
        out.append(StoredMessage(m.seq, m.subject, orjson.dumps(ev), m.headers, m.time))
    return out


@pytest.mark.asyncio
async def test_a_checkpoint_covers_events_stored_before_the_chain_and_locates_a_change() -> None:
    store, _ids = await written_log()
    legacy = unchained(list(await messages(store)))
    cp = checkpoint(legacy, 1, 12, 13)
    keys = {SIGNER.key_id: SIGNER.public_raw}
    report = verify([*legacy, cp], keys)
    assert report.ok and report.checkpointed_to == 12 and report.keys == {SIGNER.key_id: True}, report.findings
    # a change in an event without a chain: only its checkpoint can tell, and it does, exactly
    tampered: list[StoredMessage | None] = [*legacy, cp]
    tampered[7] = changed(legacy[7], kind="complaint")
    first = verify(tampered, keys).first_break
    assert first is not None
    assert (first.seq, first.kind, first.aggregate) == (8, "changed", orjson.loads(legacy[7].data)["subject"])
    # removed: the checkpoint names what stood there
    tampered[7] = None
    first = verify(tampered, keys).first_break
    assert first is not None
    assert (first.seq, first.kind, first.aggregate) == (8, "missing", orjson.loads(legacy[7].data)["subject"])
    # swapped
    swapped: list[StoredMessage | None] = [*legacy[:3], at(legacy[4], 4), at(legacy[3], 5), *legacy[5:], cp]
    first = verify(swapped, keys).first_break
    assert first is not None and (first.seq, first.kind) == (4, "reordered")


@pytest.mark.asyncio
async def test_a_checkpoint_with_a_bad_or_unknown_signature_fails() -> None:
    store, _ = await written_log(petitions=1)
    msgs = list(await messages(store))
    cp = checkpoint(msgs, 1, 3, 4)
    ev = orjson.loads(cp.data)
    ev["data"]["root"] = "0" * 64  # a root that does not match, signature left as it was
    forged = StoredMessage(4, cp.subject, orjson.dumps(ev), {}, "")
    first = verify([*msgs, forged], {SIGNER.key_id: SIGNER.public_raw}).first_break
    assert first is not None and (first.seq, first.kind, first.aggregate) == (4, "changed", AGGREGATE)
    other = Signer(Ed25519PrivateKey.generate())
    first = verify([*msgs, cp], {other.key_id: other.public_raw}).first_break
    assert first is not None and (first.seq, first.kind) == (4, "inserted")
    # unpinned: checked against the key it carries, and the report says so
    report = verify([*msgs, cp])
    assert report.ok and report.keys == {SIGNER.key_id: False}


@pytest.mark.asyncio
async def test_checkpoints_follow_each_other() -> None:
    store, _ = await written_log()
    msgs = list(await messages(store))
    first_cp = checkpoint(msgs, 1, 6, 13)
    root = orjson.loads(first_cp.data)["data"]["root"]
    keys = {SIGNER.key_id: SIGNER.public_raw}
    gap = checkpoint([*msgs, first_cp], 8, 13, 14, root)  # 7 is covered by none
    found = verify([*msgs, first_cp, gap], keys).findings
    assert any(f.seq == 14 and f.kind == "missing" for f in found), found
    good = checkpoint([*msgs, first_cp], 7, 13, 14, root)
    assert verify([*msgs, first_cp, good], keys).ok
    wrong_root = checkpoint([*msgs, first_cp], 7, 13, 14, "1" * 64)
    assert any(f.kind == "changed" for f in verify([*msgs, first_cp, wrong_root], keys).findings)


@pytest.mark.asyncio
async def test_an_export_verifies_alone() -> None:
    store, _ids = await written_log()
    msgs = list(await messages(store))
    lines = [orjson.dumps({**orjson.loads(m.data), "streamseq": m.seq, "streamsubject": m.subject}).decode()
             for m in msgs]  # fmt: skip
    [report] = v.verify_export(lines)
    assert report.ok and report.messages == 12
    bad = orjson.loads(lines[2])
    bad["data"]["text"] = "sửa"
    [report] = v.verify_export([*lines[:2], orjson.dumps(bad).decode(), *lines[3:]])
    assert report.first_break is not None and (report.first_break.seq, report.first_break.kind) == (3, "changed")
    assert "số thứ tự 3" in v.render(report, "vi") and "sequence 3" in v.render(report, "en")


def test_keys_given_as_pem_base64_or_raw() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = SIGNER.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for given_as in (pem, base64.b64encode(SIGNER.public_raw), SIGNER.public_raw):
        assert v.public_key_raw(given_as) == SIGNER.public_raw
    for raw in (b" " + bytes(30) + b"\n", b"\n" * 32, b"A" * 32):  # raw keys that look like text at their edges
        assert v.public_key_raw(raw) == raw
    assert v.public_key_raw(base64.b64encode(SIGNER.public_raw) + b"\n") == SIGNER.public_raw
    for junk in (b"not a key at all", base64.b64encode(bytes(31)), b""):
        with pytest.raises(ValueError):
            v.public_key_raw(junk)


@pytest.mark.asyncio
async def test_a_range_verifies_from_inside_the_chains_and_checkpoints() -> None:
    store, _ = await written_log()
    msgs = list(await messages(store))
    cp = checkpoint(msgs, 1, 12, 13)
    keys = {SIGNER.key_id: SIGNER.public_raw}
    report = verify([*msgs[5:], cp], keys, start=6)  # chains taken as they stand at 6
    assert report.ok and report.notes, report.findings  # the checkpoint began before: not recomputed
    tampered: list[StoredMessage | None] = [*msgs[5:], cp]
    tampered[3] = changed(msgs[8], kind="complaint")
    first = verify(tampered, keys, start=6).first_break
    assert first is not None and (first.seq, first.kind) == (9, "changed")
