#!/usr/bin/env python3
"""The peer half of the benchmark: caunoi's work done by the Python ``eventsourcing`` library.

`eventsourcing <https://pypi.org/project/eventsourcing/>`_ (v9.5) with its PostgreSQL persistence
(``eventsourcing.postgres``, psycopg 3) is a well-known event-sourcing library; this module makes
it do what caunoi's benchmark measures, in the same run and on the same PostgreSQL server, so the
two can be put side by side:

* :func:`run_commands` ~ caunoi's ``raise`` command: each command creates ONE NEW ``Petition``
  aggregate (petition id ``PA-XXXXXXXX``, channel, kind, category, petitioner {name, phone},
  commune "00691", hamlet, ~60 characters of Vietnamese text, received_on, unit_path, dataset) and
  stores its creation event through :meth:`eventsourcing.application.Application.save`: one
  PostgreSQL transaction that takes the events table's EXCLUSIVE lock (the library serialises
  writers so that notification ids follow commit order), NOTIFYs, inserts and commits
  (``synchronous_commit=on``: the commit waits for the WAL flush). ``c`` threads share ONE
  application object, whose psycopg connection pool is the library's concurrency mechanism (its
  docs: the pool opens connections as threads need them). Latency is the whole command:
  building the aggregate (the event object) + ``save()``.
* :func:`run_catchup` ~ caunoi's projection rebuild: the store is filled with ``events`` events
  (petition lives of 3 events: Raised, Assigned, Answered; many aggregates per ``save()``, not
  timed), then the library's own catch-up machinery reads them all:
  :class:`eventsourcing.projection.ProjectionRunner` with a :class:`~eventsourcing.projection.Projection`
  whose ``process_event`` only counts. The runner constructs the application, subscribes to it
  (``PostgresSubscription``: a LISTEN thread, a pull thread running
  ``SELECT * FROM <app>_events WHERE notification_id > $last ORDER BY notification_id LIMIT 500``
  into a queue of at most 10 pages, and a processing thread that turns each row into a domain
  event object with the application's mapper (JSON decode, topic resolution, event object
  construction) and calls ``process_event``). The clock runs from constructing the runner to the
  projection having seen the last event. A second, separately reported variant writes one row
  per event into a PostgreSQL table together with the projection's tracking record, in one
  transaction per event: the idiom of the library's own PostgreSQL materialised views. A
  breakdown (recorder pages alone, then pages + mapper) shows where the time goes.

Nothing here changes PostgreSQL's durability settings (fsync and synchronous_commit stay on) or
the library's pool settings (``POSTGRES_POOL_SIZE`` 5 + ``POSTGRES_MAX_OVERFLOW`` 10, its defaults).

Run on its own::

    python bench/peer_eventsourcing.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --commands 2000 --concurrency 1,20,100 --events 1000000

or with ``--embedded`` to start a throwaway PostgreSQL from the pgserver wheel (caunoi's
embedded helper). Progress goes to stderr, a Markdown summary to stderr at the end, and the
measurements as JSON to stdout (and to ``--json FILE``). Importable: :func:`run_commands`,
:func:`run_catchup` and :func:`describe` return plain dicts.

Needs ``pip install "eventsourcing[postgres]"`` (psycopg 3 + psycopg_pool). The library's docs
recommend psycopg's C implementation for production (``psycopg[c]``, or the prebuilt
``psycopg[binary]``); without it psycopg runs in pure Python on the system libpq, which is much
slower. :func:`describe` reports which one ran (``PSYCOPG_IMPL=python|binary|c`` selects it).
"""

import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import NAMESPACE_URL, UUID, uuid5

import psycopg
from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Tracking, Transcoding
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

__all__ = [
    "CatchupApp",
    "CommandsApp",
    "CountingProjection",
    "Petition",
    "RowWritingProjection",
    "describe",
    "pg_env",
    "run_catchup",
    "run_commands",
]

T0 = time.monotonic()

# ------------------------------------------------------------------------------ the data

#: (category, ~60 characters of Vietnamese), like the opinions caunoi's benchmark raises.
OPINIONS: list[tuple[str, str]] = [
    ("land", "Đề nghị xem xét tranh chấp ranh giới đất giữa hai hộ cuối thôn."),
    ("roads", "Đường liên thôn xuống cấp, mùa mưa lầy lội, đề nghị bê tông hóa."),
    ("drainage", "Mương thoát nước bị bồi lấp, ngập úng khi mưa lớn, đề nghị nạo vét."),
    ("farm_prices", "Giá chè búp tươi giảm mạnh, đề nghị hỗ trợ liên kết tiêu thụ."),
    ("security", "Thanh niên tụ tập đua xe ban đêm, đề nghị tăng cường tuần tra."),
    ("social_policy", "Đề nghị rà soát lại danh sách hộ cận nghèo của thôn năm nay."),
]
CHANNELS = ["hotline", "letter", "reception", "portal"]
HAMLETS = ["Thôn Làng Mới", "Thôn Khuổi Bó", "Thôn Nà Lẹng", "Thôn Bản Chang"]
COMMUNE_CODE = "00691"
UNIT_PATH = ["08", COMMUNE_CODE]
DATASET = "vn-2025"
ANSWER_TEXT = "Đã chuyển bộ phận địa chính kiểm tra thực địa và trả lời công dân."
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: 8 chars = 40 bits


def petition_ids(count: int, *, seed: int | None = None) -> Iterator[str]:
    """``count`` distinct ids ``PA-XXXXXXXX``: consecutive numbers from a random start, in base 32.

    Random ids (as caunoi's benchmark uses) would collide at 8 characters over a million-event
    fill; consecutive ones cannot.
    """
    rng = random.Random(seed)
    n = rng.randrange(32**8 - count)
    for _ in range(count):
        v, chars = n, []
        for _ in range(8):
            v, r = divmod(v, 32)
            chars.append(_ID_ALPHABET[r])
        yield "PA-" + "".join(reversed(chars))
        n += 1


def raise_fields(i: int, petition_id: str) -> dict[str, Any]:
    """The fields of the ``i``-th petition raised (the same shape as caunoi's ``raise``)."""
    category, text = OPINIONS[i % len(OPINIONS)]
    return {
        "petition_id": petition_id,
        "channel": CHANNELS[i % len(CHANNELS)],
        "kind": "petition" if i % 3 else "feedback",
        "category": category,
        "petitioner": {"name": f"Người dân {i}", "phone": f"09{i % 100_000_000:08d}"},
        "commune_code": COMMUNE_CODE,
        "hamlet": HAMLETS[i % len(HAMLETS)],
        "text": text,
        "received_on": date(2025, 1, 1) + timedelta(days=i % 365),
        "unit_path": list(UNIT_PATH),
        "dataset": DATASET,
    }


# ------------------------------------------------------------------------------ the model


class Petition(Aggregate):
    """A citizen's petition: raised, assigned to a handler, answered (caunoi's main aggregate)."""

    @event("Raised")
    def __init__(
        self,
        petition_id: str,
        channel: str,
        kind: str,
        category: str,
        petitioner: dict[str, str],
        commune_code: str,
        hamlet: str,
        text: str,
        received_on: date,
        unit_path: list[str],
        dataset: str,
    ) -> None:
        self.petition_id = petition_id
        self.channel = channel
        self.kind = kind
        self.category = category
        self.petitioner = petitioner
        self.commune_code = commune_code
        self.hamlet = hamlet
        self.text = text
        self.received_on = received_on
        self.unit_path = unit_path
        self.dataset = dataset
        self.status = "received"
        self.handler: str | None = None
        self.answer_text: str | None = None

    @classmethod
    def create_id(cls, petition_id: str) -> UUID:
        """The aggregate id is derived from the petition id (as caunoi's subject is)."""
        return uuid5(NAMESPACE_URL, f"/caunoi/petitions/{petition_id}")

    @event("Assigned")
    def assign(self, unit_code: str, handler: str) -> None:
        self.status = "assigned"
        self.handler = handler

    @event("Answered")
    def answer(self, outcome: str, answer_text: str) -> None:
        self.status = outcome
        self.answer_text = answer_text


class DateAsISO(Transcoding):
    """``datetime.date`` <-> ISO string (the library's documented way to add a type)."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CommandsApp(Application[UUID]):
    """The write model of :func:`run_commands` (events table ``commandsapp_events``)."""

    name = "CommandsApp"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def raise_petition(self, fields: dict[str, Any]) -> UUID:
        """The command: a new ``Petition``, saved. Returns its aggregate id."""
        petition = Petition(**fields)
        self.save(petition)
        return petition.id


class CatchupApp(CommandsApp):
    """The write model of :func:`run_catchup` (events table ``catchupapp_events``)."""

    name = "CatchupApp"


# ------------------------------------------------------------------------------ projections


class CountingProjection(Projection[PostgresTrackingRecorder]):
    """Reads without writing: counts the events it is given and nothing else.

    No tracking record is written either, so a restarted runner would start from the beginning:
    that is the point, this measures the read side of the catch-up alone. :attr:`done` is set when
    :attr:`target` events have been seen; :attr:`first_at` / :attr:`last_at` are
    ``time.perf_counter()`` values of the first and the target-th event.
    """

    name = "peer_count"
    target: int = 0  # set on the class before the runner is constructed

    def __init__(self, view: PostgresTrackingRecorder) -> None:
        super().__init__(view)
        self.count = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.done = threading.Event()

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.count += 1
        if self.count == 1:
            self.first_at = time.perf_counter()
        if self.count == self.target:
            self.last_at = time.perf_counter()
            self.done.set()


class RowsView(PostgresTrackingRecorder):
    """A materialised view that stores one row per event, atomically with the tracking record.

    Tables ``<projection name>_tracking`` (the library's single-row tracking) and
    ``<projection name>_rows``. Written like the library's own PostgreSQL views (its
    ``PostgresEventCounters`` test view): one transaction per event, tracking + the row.
    """

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        assert self.tracking_table_name.endswith("_tracking")
        self.rows_table_name = self.tracking_table_name.removesuffix("_tracking") + "_rows"
        self.check_identifier_length(self.rows_table_name)
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.rows_table_name))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (notification_id bigint PRIMARY KEY, aggregate_id uuid NOT NULL,"
                " version bigint NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL)"
            ).format(table)
        )
        self.insert_row_statement = SQL("INSERT INTO {0} VALUES (%s, %s, %s, %s, %s)").format(table)

    def insert_row(self, domain_event: Any, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(
                self.insert_row_statement,
                (
                    tracking.notification_id,
                    domain_event.originator_id,
                    domain_event.originator_version,
                    type(domain_event).__qualname__,
                    domain_event.timestamp,
                ),
                prepare=True,
            )


class RowWritingProjection(Projection[RowsView]):
    """Writes one row per event (see :class:`RowsView`); same counters as :class:`CountingProjection`."""

    name = "peer_rows"
    target: int = 0

    def __init__(self, view: RowsView) -> None:
        super().__init__(view)
        self.count = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.done = threading.Event()

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if self.count >= self.target:
            return  # past the measured prefix: the runner is being stopped
        self.view.insert_row(domain_event, tracking)
        self.count += 1
        if self.count == 1:
            self.first_at = time.perf_counter()
        if self.count == self.target:
            self.last_at = time.perf_counter()
            self.done.set()


# ------------------------------------------------------------------------------ helpers


def progress(msg: str) -> None:
    print(f"[peer {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def pg_env(pg_url: str) -> dict[str, str]:
    """The library's environment for PostgreSQL persistence at ``pg_url``.

    Only the connection is set; every other setting (pool size 5, max overflow 10, lock timeout
    0, connect timeout 30 s, idle-in-transaction timeout 5 s...) keeps the library's default.
    """
    u = urlparse(pg_url)
    if u.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {pg_url!r}")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(u.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": u.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(u.port or 5432),
        "POSTGRES_USER": unquote(u.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(u.password or ""),
    }


def _connect(pg_url: str) -> psycopg.Connection[Any]:
    e = pg_env(pg_url)
    return psycopg.connect(
        dbname=e["POSTGRES_DBNAME"],
        host=e["POSTGRES_HOST"],
        port=e["POSTGRES_PORT"],
        user=e["POSTGRES_USER"],
        password=e["POSTGRES_PASSWORD"],
        autocommit=True,
    )


def _drop_tables(pg_url: str, tables: Sequence[str]) -> None:
    with _connect(pg_url) as conn:
        for t in tables:
            conn.execute(SQL("DROP TABLE IF EXISTS {0} CASCADE").format(Identifier(t)))


def _count_rows(pg_url: str, table: str) -> int:
    with _connect(pg_url) as conn:
        row = conn.execute(SQL("SELECT count(*) FROM {0}").format(Identifier(table))).fetchone()
        return int(row[0]) if row else 0


def _table_size(pg_url: str, table: str) -> int:
    with _connect(pg_url) as conn:
        row = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (table,)).fetchone()
        return int(row[0]) if row else 0


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100), as caunoi's benchmark computes it; NaN if empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _closed_loop(total: int, concurrency: int, op: Callable[[int], object]) -> tuple[list[float], list[str], float]:
    """``concurrency`` threads doing ``op`` one after another, ``total`` ops in all.

    Returns (latencies in seconds, error strings, wall time in seconds).
    """
    lock = threading.Lock()
    counter = iter(range(total))
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(concurrency + 1)

    def worker() -> None:
        start.wait()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                op(i)
            except Exception as e:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(e).__name__}: {e}"[:300])
            else:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, name=f"peer-cmd-{n}", daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - t0


# ------------------------------------------------------------------------------ commands


def run_commands(
    pg_url: str, total: int, concurrency: int, *, warmup: int | None = None, fresh: bool = True
) -> dict[str, Any]:
    """``total`` commands, each creating and saving ONE NEW ``Petition``, from ``concurrency`` threads.

    One :class:`CommandsApp` (an ``Application`` with PostgreSQL persistence and the library's
    default pool: 5 connections + 10 overflow) is shared by the threads. ``warmup`` commands
    (default ``max(50, 2 * concurrency)``) at the same concurrency run first and are not
    counted: they open the pool's connections and prepare the statements. ``fresh`` drops the
    events table first. Latency: building the aggregate + ``save()`` (which returns after the
    commit). Throughput: completed commands / wall time.
    """
    if total < 1 or concurrency < 1:
        raise ValueError("total and concurrency must be >= 1")
    table = CommandsApp.name.lower() + "_events"
    if fresh:
        _drop_tables(pg_url, [table])
    warmup = max(50, 2 * concurrency) if warmup is None else warmup
    ids = petition_ids(warmup + total)
    fields = [raise_fields(i, next(ids)) for i in range(warmup + total)]
    app = CommandsApp(env=pg_env(pg_url))
    pool = app.factory.datastore.pool  # type: ignore[attr-defined]
    try:
        if warmup:
            _closed_loop(warmup, concurrency, lambda i: app.raise_petition(fields[i]))
        pool.pop_stats()  # counters of the measured commands only
        latencies, errors, wall = _closed_loop(total, concurrency, lambda i: app.raise_petition(fields[warmup + i]))
        pool_stats = dict(pool.get_stats())
    finally:
        app.close()
    stored = _count_rows(pg_url, table)
    return {
        "what": "new Petition aggregate per command: Petition(...) + Application.save()",
        "concurrency": concurrency,
        "commands": total,
        "warmup_commands": warmup,
        "ok": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "p50_ms": _ms(percentile(latencies, 50)),
        "p90_ms": _ms(percentile(latencies, 90)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(max(latencies)) if latencies else float("nan"),
        "mean_ms": _ms(sum(latencies) / len(latencies)) if latencies else float("nan"),
        "throughput_per_s": round(len(latencies) / wall, 1) if wall > 0 else float("nan"),
        "wall_s": round(wall, 3),
        "events_in_table": stored,
        "pool_stats": {k: v for k, v in pool_stats.items() if isinstance(v, int)},
    }


# ------------------------------------------------------------------------------ catch-up


def _fill(pg_url: str, events: int, per_save: int) -> dict[str, Any]:
    """``events`` events in ``catchupapp_events``: petitions of 3 events, ``per_save`` petitions per save()."""
    app = CatchupApp(env=pg_env(pg_url))
    n_aggregates = math.ceil(events / 3)
    ids = petition_ids(n_aggregates)
    written = saves = 0
    t0 = time.perf_counter()
    last_report = t0
    try:
        i = 0
        while written < events:
            batch: list[Petition] = []
            while len(batch) < per_save and written < events:
                p = Petition(**raise_fields(i, next(ids)))
                written += 1
                if written < events:
                    p.assign(unit_code=COMMUNE_CODE, handler=f"can-bo-{i % 17}")
                    written += 1
                if written < events:
                    p.answer(outcome="answered", answer_text=ANSWER_TEXT)
                    written += 1
                batch.append(p)
                i += 1
            app.save(*batch)
            saves += 1
            now = time.perf_counter()
            if now - last_report > 10:
                progress(f"fill: {written:,}/{events:,} events ({written / (now - t0):,.0f}/s)")
                last_report = now
        max_id = app.recorder.max_notification_id()
    finally:
        app.close()
    wall = time.perf_counter() - t0
    return {
        "events": written,
        "aggregates": i,
        "saves": saves,
        "petitions_per_save": per_save,
        "max_notification_id": max_id,
        "wall_s": round(wall, 2),
        "events_per_s": round(written / wall),
    }


def _settle(pg_url: str, table: str) -> dict[str, Any]:
    """VACUUM (ANALYZE) the filled table and CHECKPOINT (not timed).

    A freshly bulk-inserted table has no hint bits and no visibility map: the first reader
    would set them (writing every page) and compete with the checkpointer flushing the fill.
    A store that has been live for a while has been vacuumed; so is this one.
    """
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    with _connect(pg_url) as conn:
        conn.execute(SQL("VACUUM (ANALYZE) {0}").format(Identifier(table)))
        out["vacuum_analyze_s"] = round(time.perf_counter() - t0, 2)
        t1 = time.perf_counter()
        try:
            conn.execute("CHECKPOINT")
            out["checkpoint_s"] = round(time.perf_counter() - t1, 2)
        except psycopg.Error as e:  # not a superuser / pg_checkpoint member
            out["checkpoint_error"] = str(e).strip()[:200]
    return out


def _run_projection(
    pg_url: str,
    projection_class: type[CountingProjection] | type[RowWritingProjection],
    view_class: type[Any],
    target: int,
) -> dict[str, Any]:
    """Construct a ProjectionRunner, wait until the projection has seen ``target`` events, stop it."""
    projection_class.target = target
    env = pg_env(pg_url)
    t0 = time.perf_counter()
    runner = ProjectionRunner(
        application_class=CatchupApp,
        projection_class=projection_class,
        view_class=view_class,
        env=env,
    )
    constructed = time.perf_counter()
    with runner:
        projection = runner.projection
        assert isinstance(projection, projection_class)
        deadline = time.monotonic() + max(600.0, target / 200)
        last_report = time.monotonic()
        while not projection.done.wait(0.5):
            if runner.is_interrupted.is_set():
                runner.run_forever(timeout=0)  # re-raises the processing thread's error
                raise RuntimeError("projection runner stopped before the last event")
            if time.monotonic() > deadline:
                raise TimeoutError(f"projection saw {projection.count:,} of {target:,} events")
            if time.monotonic() - last_report > 10:
                elapsed = time.perf_counter() - t0
                progress(
                    f"{projection.name}: {projection.count:,}/{target:,} events ({projection.count / elapsed:,.0f}/s)"
                )
                last_report = time.monotonic()
        runner.stop()
    total = projection.last_at - t0
    steady = projection.last_at - projection.first_at
    return {
        "events": projection.count,
        "wall_s": round(total, 3),
        "events_per_s": round(projection.count / total),
        "runner_construct_ms": _ms(constructed - t0),
        "first_event_after_ms": _ms(projection.first_at - t0),
        "events_per_s_after_first": round((projection.count - 1) / steady) if steady > 0 else None,
    }


def _breakdown(pg_url: str, sample: int) -> dict[str, Any]:
    """Where the catch-up time goes, single-threaded, on the first ``sample`` events.

    1. ``recorder.select_notifications(start, 500)`` pages (the subscription's query; the SQL,
       psycopg row parsing and ``Notification`` objects);
    2. the same pages + ``mapper.to_domain_event`` for each (what the subscription hands to the
       projection).
    """
    app = CatchupApp(env=pg_env(pg_url))
    out: dict[str, Any] = {"sample_events": sample}
    try:
        for key, decode in (("select_pages", False), ("select_pages_and_mapper", True)):
            last, n = 0, 0
            t0 = time.perf_counter()
            while n < sample:
                page = app.recorder.select_notifications(start=last, limit=500, inclusive_of_start=False)
                if not page:
                    break
                for notification in page[: sample - n]:
                    if decode:
                        app.mapper.to_domain_event(notification)
                    n += 1
                last = page[-1].id
            wall = time.perf_counter() - t0
            out[key] = {"events": n, "wall_s": round(wall, 3), "events_per_s": round(n / wall)}
        mapper_only = 1 / out["select_pages_and_mapper"]["events_per_s"] - 1 / out["select_pages"]["events_per_s"]
        out["mapper_us_per_event"] = round(mapper_only * 1e6, 2)
    finally:
        app.close()
    return out


def run_catchup(
    pg_url: str,
    events: int,
    *,
    write_events: int = 20_000,
    breakdown_events: int = 200_000,
    per_save: int = 1000,
    settle: bool = True,
    keep: bool = False,
) -> dict[str, Any]:
    """Fill the store with ``events`` events, then time the library's catch-up reading them all.

    * fill (not timed for the result; reported): petitions of 3 events, ``per_save`` petitions
      (~3,000 events) per ``save()``, into ``catchupapp_events`` (dropped first);
    * settle (``settle=True``): VACUUM (ANALYZE) + CHECKPOINT, see :func:`_settle`;
    * ``no_write``: :class:`ProjectionRunner` + :class:`CountingProjection` over ALL events;
    * ``write_one_row_per_event``: :class:`ProjectionRunner` + :class:`RowWritingProjection` over
      the first ``write_events`` events (0 skips it); each event one transaction (tracking + row);
    * ``breakdown``: see :func:`_breakdown` (0 skips it).

    ``keep=False`` drops the tables at the end.
    """
    if events < 1:
        raise ValueError("events must be >= 1")
    table = CatchupApp.name.lower() + "_events"
    projection_tables = [
        f"{CountingProjection.name}_tracking",
        f"{RowWritingProjection.name}_tracking",
        f"{RowWritingProjection.name}_rows",
    ]
    _drop_tables(pg_url, [table, *projection_tables])
    result: dict[str, Any] = {}
    try:
        progress(f"catch-up: filling {events:,} events ({per_save} petitions per save)")
        result["fill"] = fill = _fill(pg_url, events, per_save)
        result["fill"]["table_bytes"] = _table_size(pg_url, table)
        progress(f"catch-up: filled in {fill['wall_s']} s ({fill['events_per_s']:,}/s)")
        if settle:
            result["settle"] = _settle(pg_url, table)
            progress(f"catch-up: settled {result['settle']}")

        progress(f"catch-up: no-write projection over {events:,} events")
        result["no_write"] = _run_projection(pg_url, CountingProjection, PostgresTrackingRecorder, events)
        progress(f"catch-up: no-write {result['no_write']['events_per_s']:,} events/s")

        if write_events:
            n = min(write_events, events)
            progress(f"catch-up: row-writing projection over the first {n:,} events")
            result["write_one_row_per_event"] = _run_projection(pg_url, RowWritingProjection, RowsView, n)
            rows = _count_rows(pg_url, f"{RowWritingProjection.name}_rows")
            result["write_one_row_per_event"]["rows_in_table"] = rows
            progress(f"catch-up: row-writing {result['write_one_row_per_event']['events_per_s']:,} events/s")

        if breakdown_events:
            n = min(breakdown_events, events)
            progress(f"catch-up: breakdown on the first {n:,} events")
            result["breakdown"] = _breakdown(pg_url, n)
    finally:
        if not keep:
            _drop_tables(pg_url, [table, *projection_tables])
    return result


# ------------------------------------------------------------------------------ describe


def describe(pg_url: str | None = None) -> dict[str, Any]:
    """Library and driver versions, the settings used, and (given ``pg_url``) the server's."""

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    pq_version = psycopg.pq.version()
    out: dict[str, Any] = {
        "library": "eventsourcing",
        "eventsourcing_version": version("eventsourcing"),
        "psycopg_version": version("psycopg"),
        "psycopg_impl": psycopg.pq.__impl__,
        "psycopg_binary_version": version("psycopg-binary"),
        "psycopg_c_version": version("psycopg-c"),
        "libpq_version": f"{pq_version // 10000}.{pq_version % 10000}",
        "psycopg_pool_version": version("psycopg-pool"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "persistence": "eventsourcing.postgres (PERSISTENCE_MODULE), env: POSTGRES_DBNAME/HOST/PORT/USER/PASSWORD only",
        "pool": "library defaults: POSTGRES_POOL_SIZE=5, POSTGRES_MAX_OVERFLOW=10, POSTGRES_MAX_WAITING=0 (no limit),"
        " POSTGRES_CONNECT_TIMEOUT=30, POSTGRES_LOCK_TIMEOUT=0, POSTGRES_PRE_PING=n, single-row tracking",
        "commands": "one CommandsApp (Application[UUID]) shared by c threads; each command: Petition(...) (event"
        " 'Raised', ~20 fields) + app.save(): one transaction = LOCK TABLE ... IN EXCLUSIVE MODE, NOTIFY,"
        " INSERT ... FROM unnest(...) RETURNING notification_id, COMMIT",
        "catchup": "ProjectionRunner(application_class=CatchupApp, projection_class=..., view_class=...):"
        " PostgresSubscription (LISTEN thread + pull thread: SELECT ... WHERE notification_id > $1 ORDER BY"
        " notification_id LIMIT 500, queue of <= 10 pages) + processing thread: mapper.to_domain_event +"
        " projection.process_event",
        "transcoder": "library JSONTranscoder (json) + UUIDAsHex, DecimalAsStr, DatetimeAsISO, DateAsISO",
        "aggregate_ids": "uuid5 of the petition id (Petition.create_id); ORIGINATOR_ID_TYPE=uuid (default)",
    }
    if pg_url:
        with _connect(pg_url) as conn:
            settings = {}
            for name in ("server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers",
                         "commit_delay", "full_page_writes", "max_connections"):  # fmt: skip
                row = conn.execute(SQL("SHOW {0}").format(Identifier(name))).fetchone()
                settings[name] = row[0] if row else None
        out["postgres"] = settings
    return out


# ------------------------------------------------------------------------------ CLI


def summary_markdown(result: dict[str, Any]) -> str:
    """A short Markdown rendering of :func:`main`'s result."""
    d = result["describe"]
    lines = [
        f"## eventsourcing {d['eventsourcing_version']} (psycopg {d['psycopg_version']}, impl {d['psycopg_impl']})"
        f" on PostgreSQL {d.get('postgres', {}).get('server_version', '?')}",
        "",
    ]
    if result.get("commands"):
        lines += [
            "| c | commands | p50 ms | p99 ms | commands/s | errors |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in result["commands"]:
            lines.append(
                f"| {r['concurrency']} | {r['commands']:,} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
                f" {r['throughput_per_s']:,.0f} | {r['errors']} |"
            )
        lines.append("")
    c = result.get("catchup")
    if c:
        f = c["fill"]
        lines.append(
            f"Fill: {f['events']:,} events in {f['wall_s']} s ({f['events_per_s']:,}/s, not part of the result)."
        )
        nw = c["no_write"]
        lines.append(
            f"Catch-up, no write (ProjectionRunner, counting projection): {nw['events']:,} events in {nw['wall_s']} s ="
            f" **{nw['events_per_s']:,} events/s** (first event after {nw['first_event_after_ms']:.0f} ms)."
        )
        w = c.get("write_one_row_per_event")
        if w:
            lines.append(
                f"Catch-up, one row per event (tracking + row, one transaction each): {w['events']:,} events in"
                f" {w['wall_s']} s = **{w['events_per_s']:,} events/s**."
            )
        b = c.get("breakdown")
        if b:
            lines.append(
                f"Breakdown on {b['sample_events']:,} events, one thread: select pages alone"
                f" {b['select_pages']['events_per_s']:,}/s;"
                f" pages + mapper {b['select_pages_and_mapper']['events_per_s']:,}/s"
                f" (mapper ~{b['mapper_us_per_event']} µs/event)."
            )
    lines.append(f"\nTotal run time {result['runtime_s']} s.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--pg-url", help="postgresql://user[:password]@host:port/dbname")
    ap.add_argument("--embedded", action="store_true", help="start a throwaway PostgreSQL (pgserver wheel)")
    ap.add_argument("--commands", type=int, default=2000, help="commands per concurrency level (0: skip)")
    ap.add_argument("--concurrency", default="1,20,100", help="comma-separated levels (default 1,20,100)")
    ap.add_argument("--events", type=int, default=1_000_000, help="events to fill and catch up on (0: skip)")
    ap.add_argument("--write-events", type=int, default=20_000, help="events for the row-writing variant (0: skip)")
    ap.add_argument("--breakdown-events", type=int, default=200_000, help="events for the breakdown (0: skip)")
    ap.add_argument("--no-settle", action="store_true", help="no VACUUM/CHECKPOINT between fill and catch-up")
    ap.add_argument("--keep", action="store_true", help="keep the catch-up tables")
    ap.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = ap.parse_args(argv)
    if not args.pg_url and not args.embedded:
        ap.error("give --pg-url or --embedded")
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]

    with contextlib.ExitStack() as stack:
        pg_url = args.pg_url
        if args.embedded:
            pg_url = _start_embedded(stack)
        started = time.perf_counter()
        result: dict[str, Any] = {"describe": describe(pg_url)}
        progress(f"eventsourcing {result['describe']['eventsourcing_version']}, psycopg impl {psycopg.pq.__impl__}")
        result["commands"] = []
        if args.commands:
            for c in levels:
                progress(f"commands: {args.commands:,} at c={c}")
                r = run_commands(pg_url, args.commands, c)
                progress(
                    f"commands c={c}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms,"
                    f" {r['throughput_per_s']}/s, errors {r['errors']}"
                )
                result["commands"].append(r)
        if args.events:
            result["catchup"] = run_catchup(
                pg_url,
                args.events,
                write_events=args.write_events,
                breakdown_events=args.breakdown_events,
                settle=not args.no_settle,
                keep=args.keep,
            )
        result["runtime_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print(summary_markdown(result), file=sys.stderr)
    errors = sum(r["errors"] for r in result["commands"])
    return 2 if errors else 0


def _start_embedded(stack: contextlib.ExitStack) -> str:
    """Start PostgreSQL from the pgserver wheel via caunoi's helper; stopped and removed on exit."""
    try:
        from caunoi.shared.embedded import free_port, start_postgres
    except ImportError:
        from caunoi.cli.embedded import free_port, start_postgres
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peer-es-")))
    os.chmod(tmp, 0o755)  # the server may run as an unprivileged user
    pg = start_postgres(tmp, port=free_port())
    stack.callback(pg.stop)
    progress(f"embedded PostgreSQL at {pg.url}")
    return str(pg.url)


if __name__ == "__main__":
    sys.exit(main())
