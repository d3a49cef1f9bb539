"""The hash chain every event carries: ``chainprev`` (the ``chainhash`` of the previous event of
its aggregate, or ``GENESIS``) and ``chainhash`` (the event's digest), computed when the
repository appends, over the canonical form the verifier defines (:mod:`.verifier`).

The repository has the aggregate's last event at hand when it appends (the loaded history; a new
aggregate starts from ``GENESIS``), so the chain costs no read: one serialization, one canonical
form (orjson, when the event holds nothing where orjson and RFC 8785 differ, which is every event
caunoi writes today) and one SHA-256 per event. The expected-sequence check of the append keeps
an aggregate's chain a line: two writers cannot both extend the same event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from caunoi.shared.audit.verifier import CHAIN_HASH, CHAIN_PREV, GENESIS, _plain, canonical, digest
from caunoi.shared.envelope import CloudEvent

__all__ = ["GENESIS", "fast_canonical", "last_hash", "seal"]


def fast_canonical(value: Any) -> bytes:
    """RFC 8785, as :func:`caunoi.shared.audit.verifier.canonical` writes it, about 20 times
    faster for the usual event (tests/kernel/test_audit_chain.py proves them equal)."""
    if _plain(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return canonical(value)


def last_hash(envelopes: Sequence[CloudEvent]) -> str:
    """What the next event of an aggregate chains to: its last event's ``chainhash``; GENESIS for
    a new aggregate, or one whose events were all stored before the chain existed."""
    return (envelopes[-1].chainhash if envelopes else None) or GENESIS


def seal(envelopes: Sequence[CloudEvent], prev: str) -> list[CloudEvent]:
    """The envelopes with their chain attributes, each chained to the one before."""
    out = []
    for env in envelopes:
        stored = orjson.loads(env.to_json_bytes())  # what is stored, but the chain attributes
        stored[CHAIN_PREV] = prev
        stored.pop(CHAIN_HASH, None)
        prev = digest(stored, fast_canonical)
        out.append(env.model_copy(update={CHAIN_PREV: stored[CHAIN_PREV], CHAIN_HASH: prev}))
    return out
