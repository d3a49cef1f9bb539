#!/usr/bin/env python3
"""caunoi audit verifier: checks that a caunoi event log is whole and unaltered.

One file, Python 3.11+ standard library and ``cryptography`` (for Ed25519) only, so an outside
auditor runs it on an export without installing caunoi::

    python3 caunoi_verify.py petitions.jsonl --key petitions=petitions.pub
    python3 caunoi_verify.py petitions.jsonl --json --lang en

``caunoi audit verify`` runs the same code on a live stream, and ``caunoi audit verifier`` writes
this file out. What it checks (docs/architecture.md, "Tamper evidence", says the same):

**Canonical form.** A JSON value's canonical form is RFC 8785 (JSON Canonicalization Scheme):
UTF-8, no whitespace, object members sorted by the UTF-16 code units of their names, strings
with only ``"``, ``\\`` and control characters escaped (``\\b \\t \\n \\f \\r``, else
``\\u00xx``), numbers as ECMAScript prints them.

**Event digest.** ``digest(E) = SHA-256(canonical(E'))`` as 64 lower-case hex digits, where E is
the stored CloudEvent as a JSON object and E' is E without the attributes ``chainhash``,
``streamseq`` and ``streamsubject`` (the last two are added by an export, never stored).

**Chain.** Each event caunoi writes carries two extension attributes: ``chainprev``, the
``chainhash`` of the previous event of the same aggregate (the same NATS subject), or 64 zeros
(``GENESIS``) for the aggregate's first chained event; and ``chainhash = digest(E)``. Events
stored before the chain existed carry neither and are covered by checkpoints only.

**Checkpoints.** Each service appends, on its own subject ``caunoi.<service>.audit-checkpoints.vn``,
events of type ``vn.caunoi.audit.CheckpointSigned.v1`` over consecutive sequence ranges of its
stream. For each message of a range, ``leaf = SHA-256("caunoi-leaf/1\\n<seq>\\n<NATS subject>\\n
<digest>")`` (digest of a message that is not a JSON object: SHA-256 of its bytes);
``root = SHA-256("caunoi-checkpoint/1" || leaf_1 || ... || leaf_n)`` over the raw 32-byte leaves
in sequence order. The event's data holds ``stream``, ``from_seq``, ``to_seq``, ``count``,
``root``, ``previous_root`` (the previous checkpoint's root, or GENESIS), ``entries`` (for each
sequence of the range, ``[aggregate id, first 16 hex digits of the digest]``, or null for a
sequence with no message), ``key_id`` (first 16 hex digits of SHA-256 of the raw public key),
``public_key`` (raw Ed25519 public key, base64), ``signed_at`` and ``signature``: Ed25519 over
``canonical(data without "signature")``, base64. Ranges follow each other with no gap.

**Findings.** The first broken link is the finding with the lowest sequence: which sequence,
which aggregate, and what kind of break: ``changed`` (the content does not match its hash or its
checkpoint), ``missing`` (a message or an event of the aggregate is absent), ``reordered`` (an
event stands before its predecessor), ``inserted`` (an event that is not in its aggregate's
chain or its checkpoint).

**Notes.** Besides the findings, the report notes what is whole but worth an auditor's eye, such
as an aggregate id stored under more than one NATS subject: two aggregates that took one id (an
append checked only its own subject before 2026-11-30, so two communes' aggregates could draw the
same short reference); each keeps its own chain.

Export files are JSON lines: each line one stored CloudEvent with ``streamseq`` (the stream
sequence) and ``streamsubject`` (the NATS subject) added; a message that is not a JSON object is
``{"streamseq": N, "streamsubject": "...", "junk": "<base64 of its bytes>"}``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64
CHAIN_PREV = "chainprev"
CHAIN_HASH = "chainhash"
STREAM_SEQ = "streamseq"
STREAM_SUBJECT = "streamsubject"
#: attributes left out of an event's digest
UNHASHED = (CHAIN_HASH, STREAM_SEQ, STREAM_SUBJECT)
CHECKPOINT_TYPE = "vn.caunoi.audit.CheckpointSigned.v1"
CHECKPOINT_AGGREGATE = "audit-checkpoints"
LEAF_TAG = b"caunoi-leaf/1\n"
ROOT_TAG = b"caunoi-checkpoint/1"
SHORT = 16  # hex digits of a digest kept in checkpoint entries
#: kinds of break, in the words an auditor reads
KINDS = {
    "changed": ("đã bị sửa", "changed"),
    "missing": ("bị thiếu", "missing"),
    "reordered": ("sai thứ tự", "reordered"),
    "inserted": ("bị chèn thêm", "inserted"),
}


# -- the canonical form (RFC 8785) -------------------------------------------------------------


class CanonicalError(ValueError):
    """A value RFC 8785 cannot represent (NaN, infinity, an integer beyond 2**53, a lone surrogate)."""


_MAX_SAFE = 2**53 - 1


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool, None).

    The usual event (no float, keys in the Basic Multilingual Plane) is written by the C JSON
    encoder, whose output is then exactly RFC 8785's; anything else by the general path."""
    try:
        if _plain(value):
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        return "".join(_write(value)).encode()
    except UnicodeEncodeError as e:
        raise CanonicalError(f"not representable in UTF-8: {e}") from None


def _plain(v: Any) -> bool:
    """Whether ``json.dumps(sort_keys=True)`` writes ``v`` as RFC 8785 does: no float, no integer
    beyond 2**53, object keys below U+D800 (where code point and UTF-16 orders agree)."""
    t = type(v)
    if t is str or v is None or t is bool:
        return True
    if t is int:
        return bool(-_MAX_SAFE <= v <= _MAX_SAFE)
    if t is dict:
        for k, x in v.items():
            if type(k) is not str or (not k.isascii() and max(k) >= "\ud800") or not _plain(x):
                return False
        return True
    if t is list or t is tuple:
        for x in v:
            if not _plain(x):
                return False
        return True
    return False  # float, or not JSON


def _write(v: Any) -> Iterator[str]:
    if v is None:
        yield "null"
    elif v is True:
        yield "true"
    elif v is False:
        yield "false"
    elif isinstance(v, str):
        yield json.dumps(v, ensure_ascii=False)
    elif isinstance(v, int):
        if not -_MAX_SAFE <= v <= _MAX_SAFE:
            raise CanonicalError(f"integer {v} is beyond what RFC 8785 represents exactly")
        yield str(v)
    elif isinstance(v, float):
        yield es6_number(v)
    elif isinstance(v, list | tuple):
        yield "["
        for i, x in enumerate(v):
            if i:
                yield ","
            yield from _write(x)
        yield "]"
    elif isinstance(v, dict):
        yield "{"
        if not all(isinstance(k, str) for k in v):
            raise CanonicalError("object keys must be strings")
        for i, k in enumerate(sorted(v, key=lambda s: s.encode("utf-16-be", "surrogatepass"))):
            if i:
                yield ","
            yield json.dumps(k, ensure_ascii=False)
            yield ":"
            yield from _write(v[k])
        yield "}"
    else:
        raise CanonicalError(f"{type(v).__name__} is not a JSON value")


def es6_number(x: float) -> str:
    """A number as ECMAScript's Number.prototype.toString writes it (RFC 8785, section 3.2.2.3)."""
    if math.isnan(x) or math.isinf(x):
        raise CanonicalError("NaN and infinity are not JSON")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr is the shortest string that reads back as x: its digits are ECMAScript's
    t = Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    k = len(digits)
    n = int(t.exponent) + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


# -- digests, leaves, roots, signatures ----------------------------------------------------------


def digest(event: dict[str, Any], encode: Callable[[Any], bytes] = canonical) -> str:
    """The event's digest: what ``chainhash`` must be, and what its checkpoint leaf covers.
    ``encode``: the canonical form's writer (a faster one must write the same bytes)."""
    return hashlib.sha256(encode({k: v for k, v in event.items() if k not in UNHASHED})).hexdigest()


def raw_digest(body: bytes) -> str:
    """The digest of a stored message that is not a JSON object."""
    return hashlib.sha256(body).hexdigest()


def leaf(seq: int, subject: str, digest_hex: str) -> bytes:
    return hashlib.sha256(LEAF_TAG + f"{seq}\n{subject}\n{digest_hex}".encode()).digest()


def root(leaves: Iterable[bytes]) -> str:
    h = hashlib.sha256(ROOT_TAG)
    for x in leaves:
        h.update(x)
    return h.hexdigest()


def signed_bytes(data: dict[str, Any]) -> bytes:
    """What a checkpoint's signature covers."""
    return canonical({k: v for k, v in data.items() if k != "signature"})


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:SHORT]


def aggregate_of(subject: str) -> str:
    """The aggregate id in a NATS subject ``caunoi.<service>.<aggregate id>.<unit path>``."""
    parts = subject.split(".")
    return parts[2] if len(parts) > 2 else subject


def verify_signature(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


RAW_KEY_BYTES = 32


def public_key_raw(pem_or_raw: bytes) -> bytes:
    """The raw 32 bytes of an Ed25519 public key given as PEM, base64 or raw."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(pem_or_raw) == RAW_KEY_BYTES:  # before stripping: a raw key may begin or end with a space byte
        return bytes(pem_or_raw)
    text = pem_or_raw.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(text)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as e:
        raise ValueError("not an Ed25519 public key in PEM, base64 or raw form") from e
    if len(raw) != RAW_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key has {RAW_KEY_BYTES} bytes, this one {len(raw)}")
    return raw


# -- verifying a stream ----------------------------------------------------------------------------


@dataclass
class Finding:
    """One broken link. ``seq`` is a stream sequence; ``aggregate`` the aggregate id, when known."""

    seq: int
    kind: str  # changed | missing | reordered | inserted
    aggregate: str | None
    detail: str
    #: another sequence the finding points at (the predecessor of a reordered event, ...)
    other: int | None = None

    def describe(self, lang: str = "vi") -> str:
        label = KINDS[self.kind][0 if lang == "vi" else 1]
        agg = self.aggregate or ("không rõ" if lang == "vi" else "unknown")
        if lang == "vi":
            return f"số thứ tự {self.seq}, đối tượng {agg}: {label} ({self.detail})"
        return f"sequence {self.seq}, aggregate {agg}: {label} ({self.detail})"


@dataclass
class Report:
    stream: str
    first_seq: int | None = None
    last_seq: int | None = None
    messages: int = 0
    chained: int = 0
    unchained: int = 0
    checkpoints: int = 0
    #: highest sequence a verified checkpoint covers
    checkpointed_to: int = 0
    #: key ids the checkpoints were signed with, and whether each was pinned (given by the auditor)
    keys: dict[str, bool] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_break(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.seq) if self.findings else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["first_break"] = asdict(self.first_break) if self.first_break else None
        return out


@dataclass
class _Event:
    seq: int
    prev: str | None  # None: not chained
    hash: str | None
    changed: bool


class StreamVerifier:
    """Feed it the messages of one stream in sequence order (:meth:`add`, :meth:`absent` for a
    sequence with no readable message), then :meth:`finish`.

    ``keys``: key id -> raw public key the auditor trusts (pinned); a checkpoint signed with
    another key fails. Without pinned keys, signatures are checked against the key each
    checkpoint carries, and the report says so. ``start``: the first sequence of the range read
    (chains and checkpoints that began before it are taken as they stand there)."""

    def __init__(self, stream: str, keys: dict[str, bytes] | None = None, start: int = 1) -> None:
        self.report = Report(stream)
        self.pinned = dict(keys or {})
        self.start = start
        self._expected = start
        self._subjects: dict[str, list[_Event]] = {}
        self._subject_of: dict[str, str] = {}  # aggregate id -> the first subject it was seen on
        self._shared: set[tuple[str, str]] = set()  # (aggregate id, another subject) noted
        self._leaves: dict[int, tuple[bytes, str, str]] = {}  # seq -> (leaf, aggregate, digest)
        self._absent: set[int] = set()
        self._checkpoint_seqs: set[int] = set()
        self._previous_cp: dict[str, Any] | None = None
        self._findings: dict[tuple[int, str], Finding] = {}

    # -- input

    def absent(self, seq: int, why: str = "") -> None:
        """No readable message at ``seq`` (the store does not return it, or rejects it as corrupt)."""
        self._gap_to(seq)
        self._absent.add(seq)
        self._expected = seq + 1
        self._find(seq, "missing", None, why or "no message at this sequence")

    def add(self, seq: int, subject: str, body: bytes | dict[str, Any]) -> None:
        self._gap_to(seq)
        self._expected = seq + 1
        r = self.report
        r.messages += 1
        r.first_seq = seq if r.first_seq is None else r.first_seq
        r.last_seq = seq
        event: dict[str, Any] | None
        if isinstance(body, dict):
            event = body
        else:
            try:
                parsed = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                parsed = None
            event = parsed if isinstance(parsed, dict) else None
        aggregate = aggregate_of(subject)
        if event is None:
            d = raw_digest(body if isinstance(body, bytes) else b"")
            self._leaves[seq] = (leaf(seq, subject, d), aggregate, d)
            self._find(seq, "inserted", aggregate, "not a CloudEvent")
            return
        try:
            d = digest(event)
        except CanonicalError as e:
            d = raw_digest(json.dumps(event, sort_keys=True).encode())
            self._find(seq, "changed", aggregate, f"not canonical JSON: {e}")
        self._leaves[seq] = (leaf(seq, subject, d), aggregate, d)
        if event.get("subject") != aggregate:
            self._find(seq, "changed", aggregate, f"its subject {event.get('subject')!r} is not its aggregate's")
        first = self._subject_of.setdefault(aggregate, subject)
        if first != subject and (aggregate, subject) not in self._shared:
            self._shared.add((aggregate, subject))
            r.notes.append(
                f"aggregate {aggregate} is stored under more than one subject ({first}; {subject} from {seq} on):"
                " two aggregates took one id"
            )
        events = self._subjects.setdefault(subject, [])
        stored_hash, prev = event.get(CHAIN_HASH), event.get(CHAIN_PREV)
        if stored_hash is None and prev is None:
            r.unchained += 1
            if any(e.prev is not None for e in events):
                self._find(seq, "inserted", aggregate, "an event without a chain after chained ones")
            events.append(_Event(seq, None, None, False))
        else:
            r.chained += 1
            changed = stored_hash != d
            if changed:
                self._find(seq, "changed", aggregate, "its content does not match its chainhash")
            events.append(_Event(seq, str(prev), str(stored_hash), changed))
        if event.get("type") == CHECKPOINT_TYPE and aggregate == CHECKPOINT_AGGREGATE:
            self._checkpoint_seqs.add(seq)
            self._checkpoint(seq, event.get("data") or {})

    def unreadable(self, seq: int, aggregate: str | None = None) -> None:
        """What :meth:`absent` recorded at ``seq`` is a message the store still holds but refuses to
        return (a live store knows it did not delete it): its stored bytes were changed."""
        self._findings.pop((seq, "missing"), None)
        self._find(seq, "changed", aggregate, "the store holds a message here but refuses to return it: its bytes "
                   "no longer match the store's own checksum")  # fmt: skip

    def _name(self, seq: int, aggregate: str, detail: str) -> None:
        """Name the aggregate of what was found at ``seq`` (or record it missing)."""
        found = [f for (s, _), f in self._findings.items() if s == seq]
        for f in found:
            f.aggregate = f.aggregate or aggregate
        if not found:
            self._find(seq, "missing", aggregate, detail)

    def _gap_to(self, seq: int) -> None:
        if seq < self._expected:
            raise ValueError(f"messages must come in sequence order: {seq} after {self._expected - 1}")
        for missing in range(self._expected, seq):
            self._absent.add(missing)
            self._find(missing, "missing", None, "no message at this sequence")

    # -- checkpoints

    def _checkpoint(self, seq: int, data: dict[str, Any]) -> None:
        r = self.report
        r.checkpoints += 1
        try:
            first, last = int(data["from_seq"]), int(data["to_seq"])
            public = base64.b64decode(data["public_key"])
            signature = base64.b64decode(data["signature"])
            entries = list(data["entries"])
        except (KeyError, TypeError, ValueError) as e:
            self._find(seq, "changed", CHECKPOINT_AGGREGATE, f"checkpoint unreadable: {e}")
            return
        kid = key_id(public)
        if self.pinned:
            trusted = self.pinned.get(kid)
            if trusted is None:
                self._find(seq, "inserted", CHECKPOINT_AGGREGATE, f"checkpoint signed with unknown key {kid}")
                return
            public = trusted
        r.keys[kid] = bool(self.pinned)
        if data.get("key_id") != kid or not verify_signature(public, signature, signed_bytes(data)):
            self._find(seq, "changed", CHECKPOINT_AGGREGATE, "checkpoint signature does not verify")
            return
        prev = self._previous_cp
        if prev is not None:
            if first != int(prev["to_seq"]) + 1:
                kind = "missing" if first > int(prev["to_seq"]) + 1 else "inserted"
                self._find(seq, kind, CHECKPOINT_AGGREGATE, f"checkpoint starts at {first}, not {prev['to_seq'] + 1}")
            elif data.get("previous_root") != prev.get("root"):
                self._find(seq, "changed", CHECKPOINT_AGGREGATE, "checkpoint does not follow the previous one")
        elif first == 1 and data.get("previous_root") != GENESIS:
            self._find(seq, "changed", CHECKPOINT_AGGREGATE, "the first checkpoint does not start from GENESIS")
        self._previous_cp = data
        if first < self.start:
            r.notes.append(f"checkpoint at {seq} covers {first}-{last}, before the range read: not recomputed")
            return
        if len(entries) != last - first + 1:
            self._find(seq, "changed", CHECKPOINT_AGGREGATE, "checkpoint entries do not match its range")
            return
        self._check_range(first, last, data, entries)
        r.checkpointed_to = max(r.checkpointed_to, last)
        for s in [s for s in self._leaves if s <= last]:
            del self._leaves[s]

    def _check_range(self, first: int, last: int, data: dict[str, Any], entries: list[Any]) -> None:
        present = [self._leaves[s] for s in range(first, last + 1) if s in self._leaves]
        if root(x[0] for x in present) == data.get("root") and len(present) == int(data.get("count", -1)):
            return
        # locate what differs, sequence by sequence, from the checkpoint's entries
        before = len(self._findings)
        by_digest = {e[1]: first + i for i, e in enumerate(entries) if e}
        for i, entry in enumerate(entries):
            s = first + i
            have = self._leaves.get(s)
            if entry is None:
                if have is not None:
                    self._find(s, "inserted", have[1], "not in its checkpoint")
                continue
            agg, short = entry[0], entry[1]
            if have is None:
                self._name(s, agg, f"its checkpoint lists an event of {agg} here")
            elif have[2][:SHORT] != short:
                moved = by_digest.get(have[2][:SHORT])
                if moved is not None:
                    self._find(s, "reordered", have[1], f"its checkpoint lists it at {moved}", other=moved)
                elif have[1] == agg:
                    self._find(s, "changed", agg, "its content does not match its checkpoint")
                else:
                    self._find(s, "inserted", have[1], f"its checkpoint lists an event of {agg} here")
        if len(self._findings) == before and not any(first <= f.seq <= last for f in self._findings.values()):
            self._find(first, "changed", None, f"messages {first}-{last} do not match their checkpoint's root")

    # -- the chains

    def _chains(self) -> None:
        for subject, events in self._subjects.items():
            self._chain(aggregate_of(subject), [e for e in events if e.prev is not None])

    def _chain(self, aggregate: str, events: list[_Event]) -> None:
        """Walk one aggregate's chained events in stored order (see the module doc)."""
        if not events:
            return
        later_hash = {e.hash: e for e in events}
        # a chain read from inside a range starts where the range does
        expected = events[0].prev if self.start > 1 else GENESIS
        accepted: list[_Event] = []
        pending: dict[str, _Event] = {}  # stored before its predecessor, keyed by that predecessor's hash
        for i, e in enumerate(events):
            if e.prev == expected:
                self._accept(e, accepted, pending)
                expected = accepted[-1].hash
                continue
            if accepted and accepted[-1].changed:
                # the break follows from the change already found (its hash field was altered too)
                self._accept(e, accepted, pending)
                expected = accepted[-1].hash
                continue
            rest = events[i + 1 :]
            pred = later_hash.get(e.prev)
            if pred is not None and pred.seq > e.seq:
                self._find(e.seq, "reordered", aggregate, f"stored before its predecessor at {pred.seq}", pred.seq)
                pending[str(e.prev)] = e
                continue
            continues_past = any(x.prev == expected for x in rest)
            earlier = next((x for x in accepted if x.hash == e.prev), None) if e.prev != GENESIS else None
            if continues_past:
                self._find(e.seq, "inserted", aggregate, "not in its aggregate's chain")
            elif earlier is not None or (e.prev == GENESIS and accepted):
                cut = accepted.index(earlier) + 1 if earlier is not None else 0
                forged = accepted[cut] if cut < len(accepted) else e
                self._find(forged.seq, "inserted", aggregate, f"the event at {e.seq} does not follow it")
                del accepted[cut:]
                self._accept(e, accepted, pending)
                expected = accepted[-1].hash
            else:
                gap = next((s for s in sorted(self._absent) if (accepted[-1].seq if accepted else 0) < s < e.seq), None)
                if gap is not None:
                    self._name(gap, aggregate, f"the event before {e.seq} of {aggregate}")
                else:
                    self._find(e.seq, "missing", aggregate, "the event before this one is absent")
                self._accept(e, accepted, pending)
                expected = accepted[-1].hash

    @staticmethod
    def _accept(e: _Event, accepted: list[_Event], pending: dict[str, _Event]) -> None:
        accepted.append(e)
        while (nxt := pending.pop(str(accepted[-1].hash), None)) is not None:
            accepted.append(nxt)

    # -- output

    def _find(self, seq: int, kind: str, aggregate: str | None, detail: str, other: int | None = None) -> None:
        old = self._findings.get((seq, kind))
        if old is not None:
            if old.aggregate is None and aggregate is not None:
                old.aggregate = aggregate
            return
        self._findings[(seq, kind)] = Finding(seq, kind, aggregate, detail, other)

    def finish(self, last_seq: int | None = None) -> Report:
        """The report; ``last_seq``: the stream's last sequence as its server states it (messages
        after the last one read are missing)."""
        if last_seq is not None and last_seq >= self._expected:
            self._gap_to(last_seq + 1)
            self._expected = last_seq + 1
        self._chains()
        unique: dict[tuple[int, str], Finding] = {}
        for f in sorted(self._findings.values(), key=lambda f: (f.seq, f.aggregate is None)):
            unique.setdefault((f.seq, f.kind), f)
        self.report.findings = sorted(unique.values(), key=lambda f: (f.seq, f.kind))
        # (the last checkpoint itself is sealed by the next one)
        uncovered = [s for s in self._leaves if s > self.report.checkpointed_to and s not in self._checkpoint_seqs]
        if uncovered:
            self.report.notes.append(
                f"{len(uncovered)} message(s) after the last checkpoint ({min(uncovered)}-{max(uncovered)}) are "
                "covered by their chains only"
            )
        return self.report


# -- export files ---------------------------------------------------------------------------------


def read_export(lines: Iterable[str]) -> Iterator[tuple[int, str, bytes | dict[str, Any]]]:
    """(sequence, NATS subject, event or raw bytes) for each line of an export."""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            seq, subject = int(obj[STREAM_SEQ]), str(obj[STREAM_SUBJECT])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"line {n} is not an export line: {e}") from None
        if "junk" in obj:
            yield seq, subject, base64.b64decode(obj["junk"])
        else:
            yield seq, subject, obj


def verify_export(lines: Iterable[str], keys: dict[str, dict[str, bytes]] | None = None) -> list[Report]:
    """One report per stream (service) in the export. ``keys``: service -> {key id: raw key}."""
    verifiers: dict[str, StreamVerifier] = {}
    for seq, subject, body in read_export(lines):
        service = subject.split(".")[1] if subject.count(".") >= 2 else "?"
        v = verifiers.get(service)
        if v is None:
            v = verifiers[service] = StreamVerifier(service, (keys or {}).get(service), start=seq)
        v.add(seq, subject, body)
    return [v.finish() for v in verifiers.values()]


def render(report: Report, lang: str = "vi") -> str:
    """A report as an auditor reads it."""
    vi = lang == "vi"
    lines = [
        f"{'Luồng' if vi else 'Stream'} {report.stream}: {report.messages} {'thông điệp' if vi else 'messages'}"
        f" ({report.first_seq}-{report.last_seq}), {report.chained} {'có chuỗi băm' if vi else 'chained'},"
        f" {report.checkpoints} checkpoint"
    ]
    for kid, pinned in report.keys.items():
        if pinned:
            trust = "khóa đã ghim" if vi else "pinned key"
        else:
            trust = "khóa kèm theo, chưa ghim" if vi else "the key it carries, not pinned"
        lines.append(f"  {'ký bởi' if vi else 'signed by'} {kid} ({trust})")
    for note in report.notes:
        lines.append(f"  {'ghi chú' if vi else 'note'}: {note}")
    first = report.first_break
    if first is None:
        lines.append(f"  {'KHÔNG phát hiện thay đổi' if vi else 'OK: no break found'}")
    else:
        lines.append(f"  {'Mắt xích hỏng đầu tiên' if vi else 'First broken link'}: {first.describe(lang)}")
        lines += [f"    {f.describe(lang)}" for f in report.findings[:20]]
        if len(report.findings) > 20:
            lines.append(f"    … {len(report.findings) - 20} {'nữa' if vi else 'more'}")
    return "\n".join(lines)


def load_keys(paths: Iterable[str]) -> dict[str, bytes]:
    """Pinned keys from public key files: key id -> raw key."""
    out = {}
    for path in paths:
        with open(path, "rb") as f:
            raw = public_key_raw(f.read())
        out[key_id(raw)] = raw
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Verify a caunoi audit export (chains and signed checkpoints).")
    p.add_argument("export", help="the export file (JSON lines)")
    p.add_argument("--key", action="append", default=[], metavar="SERVICE=FILE",
                   help="the service's published checkpoint public key (PEM), to pin; repeatable")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--lang", choices=["vi", "en"], default="vi")
    a = p.parse_args(argv)
    keys: dict[str, dict[str, bytes]] = {}
    for spec in a.key:
        service, _, path = spec.partition("=")
        try:
            keys.setdefault(service, {}).update(load_keys([path]))
        except (OSError, ValueError) as e:
            p.error(f"--key {spec}: {e}")
    with open(a.export, encoding="utf-8") as f:
        reports = verify_export(f, keys)
    if a.json:
        json.dump([r.to_dict() for r in reports], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for r in reports:
            print(render(r, a.lang))
    return 0 if reports and all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
