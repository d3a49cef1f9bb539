"""``caunoi audit verify``: every stream (or some, or a range) checked link by link: each event's
hash and its aggregate's chain, each signed checkpoint; the first broken link named."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from caunoi.cli.audit.progress import Progress
from caunoi.cli.audit.reading import Reader, stream_info
from caunoi.shared.audit.verifier import Report, StreamVerifier, aggregate_of, load_keys
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.jsapi import api


def pinned_keys(keys_dir: Path | None, service: str) -> dict[str, bytes]:
    """The checkpoint keys an auditor trusts for ``service``: ``<service>.pub`` and any
    ``<service>.<key id>.pub`` (keys of an imported log) in ``keys_dir``."""
    if keys_dir is None or not keys_dir.is_dir():
        return {}
    files = [keys_dir / f"{service}.pub", *sorted(keys_dir.glob(f"{service}.*.pub"))]
    return load_keys(str(p) for p in files if p.is_file())


@dataclass(frozen=True)
class Range:
    first: int | None = None
    last: int | None = None


async def verify_stream(
    reader: Reader,
    spec: StreamSpec,
    keys: dict[str, bytes],
    within: Range = Range(),
    progress_lang: str | None = "vi",
) -> Report:
    """Verify ``spec``'s stream (the whole of it, or ``within``) as stored now."""
    info = await stream_info(reader.nc, spec.name)
    if info is None or info.last_seq == 0:
        return Report(spec.service, notes=["stream empty or absent"])
    start = max(within.first or 1, 1)
    end = min(within.last or info.last_seq, info.last_seq)
    verifier = StreamVerifier(spec.service, keys, start=start)
    bar = Progress(spec.name, end - start + 1, progress_lang) if progress_lang else None
    done = 0
    absent: list[int] = []
    read: Counter[str] = Counter()
    async for items in reader.items(spec.name, start, end):
        for it in items:
            if it.data is None:
                verifier.absent(it.seq, it.why)
                absent.append(it.seq)
            else:
                verifier.add(it.seq, it.subject, it.data)
                read[it.subject] += 1
        done += len(items)
        if bar:
            bar.update(done)
    if bar:
        bar.close()
    if absent:
        await _unreadable(reader, spec, verifier, absent, read, whole=start == 1 and end == info.last_seq)
    report = verifier.finish(last_seq=end)
    if start == 1 and info.first_seq > 1:
        report.notes.append(f"the stream starts at {info.first_seq}: earlier messages are gone")
    return report


async def _unreadable(
    reader: Reader, spec: StreamSpec, verifier: StreamVerifier, absent: list[int], read: Counter[str], whole: bool
) -> None:
    """Tell a message the store deleted (missing) from one it still holds but will not return
    (its bytes were changed: the store's own checksum fails), and for the latter, when the whole
    stream was read, which subject (aggregate) holds more than could be read."""
    info = await api(reader.nc, f"$JS.API.STREAM.INFO.{spec.name}", {"deleted_details": True, "subjects_filter": ">"})
    state = info["state"]
    deleted = set(state.get("deleted") or [])
    held = [s for s in absent if s not in deleted]
    short = [subj for subj, n in (state.get("subjects") or {}).items() if n > read.get(subj, 0)] if whole else []
    hint = aggregate_of(short[0]) if len(short) == 1 and len(held) == 1 else None
    for seq in held:
        verifier.unreadable(seq, hint)
