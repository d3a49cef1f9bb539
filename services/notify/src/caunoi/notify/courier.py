"""The courier: sends the notices that are due and records what happened, in the process that
keeps the read models.

- **One courier at a time** per installation: it holds a PostgreSQL advisory lock for as long as
  it runs (a second process waits; a crashed one's lock goes with its connection).
- **Work from the read model, decisions from the log**: the notices read model says what is due
  (queued, next attempt now or past); each is loaded from the log before it is sent, so a notice
  recorded as sent since (the read model lags by milliseconds) is never sent again.
- **Each attempt recorded once**: its command id is ``deliver:<notice>:<round>.<attempt>``, so a
  retried append stores nothing twice.
- **Failures**: a failed attempt is recorded with when to try again (backoff doubling up to a
  ceiling); a channel that refuses the notice for good is left for the next one at once; after
  the allowed attempts the notice is failed and listed for an operator. Nothing is dropped: a
  notice stays queued until it is sent or failed.
- **The window no protocol closes**: between a server accepting a message and this courier
  recording ``NoticeSent``, a crash loses the knowledge that it was sent. Before each attempt the
  courier writes a marker (table ``courier_inflight``); a marker found at start-up means that
  attempt's outcome is unknown, so the notice is sent again with the same Message-ID /
  Idempotency-Key and recorded with ``possible_duplicate``. At most ``concurrency`` messages can
  be in that window at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from caunoi.notify import compose, domain
from caunoi.notify.channels import Outgoing, Sender, SendFailed, message_id, senders
from caunoi.notify.compose import Recipients
from caunoi.notify.domain import Delivered, Notice, Policy, State, Undelivered
from caunoi.notify.readmodel import due_notices
from caunoi.notify.settings import NotifySettings
from caunoi.notify.templates import TemplateProblem, Templates
from caunoi.shared.aggregate import Loaded, Repository
from caunoi.shared.aio import wait_at_most
from caunoi.shared.clock import VN
from caunoi.shared.context import RequestContext
from caunoi.shared.duties import system_actor
from caunoi.shared.eventstore import StoreError, WrongExpectedSequence
from caunoi.shared.projection import Pool, read_model_connection

log = structlog.get_logger(__name__)

LOCK_KEY = "caunoi.notify.courier"
INFLIGHT_DDL = """
CREATE TABLE IF NOT EXISTS courier_inflight (
    notice_id  text        PRIMARY KEY,
    round      integer     NOT NULL,
    attempt    integer     NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
)
"""

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CourierStats:
    sent: int = 0
    failed_attempts: int = 0
    failed: int = 0
    resent_after_crash: int = 0
    holds_lock: bool = False
    last_error: str | None = None
    by_channel: dict[str, int] = field(default_factory=dict)


class Courier:
    name = "courier"

    def __init__(
        self,
        notices: Repository[Notice],
        pool: Pool,
        dsn: str,
        templates: Templates,
        recipients: Recipients,
        settings: NotifySettings,
        letters: Any,
        *,
        nc: Any = None,
        clock: Clock = utcnow,
    ) -> None:
        self.notices = notices
        self.pool = pool
        self.dsn = dsn
        self.templates = templates
        self.recipients = recipients
        self.settings = settings
        self.policy = Policy(settings.max_attempts, settings.backoff, settings.backoff_max)
        self.available = settings.available()
        self.letters = letters
        #: made when it runs (the process that only answers requests never sends)
        self.senders: dict[Any, Sender] = {}
        self.nc = nc
        self.clock = clock
        self.stats = CourierStats()
        self.actor = system_actor("notify")
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._busy: set[str] = set()
        #: notices acted on, until the read model shows it: id -> the log's last sequence then
        self._recorded: dict[str, int] = {}
        #: notices whose last attempt's outcome is unknown (a marker left by a crash)
        self._uncertain: set[str] = set()

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        lock = await self._take_lock()
        if lock is None:
            return
        sub = None
        self.senders = senders(self.settings, self.letters)
        try:
            async with self.pool.acquire() as conn:
                await conn.execute(INFLIGHT_DDL)
                self._uncertain = {r["notice_id"] for r in await conn.fetch("SELECT notice_id FROM courier_inflight")}
            if self._uncertain:
                log.warning("courier.unknown_outcomes", notices=sorted(self._uncertain))
            if self.nc is not None:
                sub = await self.nc.subscribe("caunoi.notify.>", cb=self._poke)
            while not self._stopping:
                self._wake.clear()
                try:
                    done = await self.tick()
                    self.stats.last_error = None
                except (StoreError, OSError, asyncpg.PostgresError) as e:
                    self.stats.last_error = repr(e)
                    log.warning("courier.tick_failed", error=repr(e))
                    done = 0
                    await asyncio.sleep(self.settings.poll)
                except Exception as e:  # a bug must not stop the courier: it tries again
                    self.stats.last_error = repr(e)
                    log.exception("courier.tick_failed")
                    done = 0
                    await asyncio.sleep(self.settings.poll)
                if lock.is_closed():
                    log.warning("courier.lock_lost")
                    lock = await self._take_lock()
                    if lock is None:
                        return
                if done:
                    continue
                await wait_at_most(self._wake, self.settings.poll)
                if self._wake.is_set():
                    await asyncio.sleep(0.02)  # let the read model apply what woke us
        finally:
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            for sender in self.senders.values():
                with contextlib.suppress(Exception):
                    await sender.close()
            with contextlib.suppress(Exception):
                await lock.close()

    async def _poke(self, _msg: Any) -> None:
        self._wake.set()

    async def _take_lock(self) -> Any:
        """A connection holding the courier's advisory lock (None when stopping first)."""
        while not self._stopping:
            conn = None
            try:
                conn = await read_model_connection(self.dsn)
                if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK_KEY):
                    self.stats.holds_lock = True
                    return conn
                log.info("courier.standing_by", reason="another courier holds the lock")
            except (OSError, asyncpg.PostgresError) as e:
                log.warning("courier.lock_failed", error=repr(e))
            if conn is not None:
                await conn.close()
            self.stats.holds_lock = False
            await wait_at_most(self._wake, self.settings.poll)
            self._wake.clear()
        return None

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def tick(self) -> int:
        """Send what is due now; how many were handled."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            due = await due_notices(conn, now, self.settings.concurrency * 16)
        # a row older than what this courier last saw in the log is the read model lagging: skip it
        behind = {nid for nid, seq in due if seq < self._recorded.get(nid, 0)}
        self._recorded = {nid: self._recorded[nid] for nid in behind}
        work = [nid for nid, _ in due if nid not in self._busy and nid not in behind]
        if not work:
            return 0
        await asyncio.gather(*(self._one(i) for i in work))
        return len(work)

    async def _one(self, nid: str) -> None:
        self._busy.add(nid)
        try:
            async with self._slots:
                await self.deliver(nid)
        except WrongExpectedSequence:
            log.info("courier.changed_meanwhile", notice=nid)  # e.g. an operator acted on it: next tick
        except Exception as e:
            self.stats.last_error = repr(e)
            log.exception("courier.deliver_failed", notice=nid)
        finally:
            self._busy.discard(nid)

    # -- one notice --------------------------------------------------------------------------------

    async def deliver(self, nid: str) -> None:
        loaded = await self.notices.load(nid)
        n = loaded.state
        now = self.clock()
        if n.state is not State.queued or (n.next_attempt_at is not None and n.next_attempt_at > now):
            self._recorded[nid] = loaded.last_seq
            if nid in self._uncertain and n.state is not State.queued:  # it was recorded after all
                await self._clear(nid)
                self._uncertain.discard(nid)
            return
        assert n.recipient is not None
        reach = await self.recipients.reach(n.recipient, n.dataset or "")
        if reach is None:
            await self._record(loaded, domain.decide_unreachable(n, "recipient unknown, or their data were erased"), 0)
            return
        channels = domain.channels_for(n, reach, self.available)
        if not channels:
            await self._record(loaded, domain.decide_unreachable(n, "no channel reaches the recipient"), 0)
            return
        channel = channels[0]
        attempt = n.attempts + 1
        mid = message_id(n.id, self.settings.mail_domain)
        await self._mark(n, attempt)
        outcome = await self._attempt(n, reach, channel, mid)
        events = domain.decide_outcome(
            n, outcome, now, self.policy, possible_duplicate=nid in self._uncertain, left=len(channels) - 1
        )
        after = await self._record(loaded, events, attempt)
        if after is None or after.state is not State.queued:
            self._uncertain.discard(nid)  # settled; an unknown outcome before still marks the next send
        if isinstance(outcome, Delivered):
            self.stats.sent += 1
            self.stats.by_channel[channel.value] = self.stats.by_channel.get(channel.value, 0) + 1
            self.stats.resent_after_crash += nid in self._uncertain
            log.info("notice.sent", notice=nid, channel=channel.value, correlation_id=self._correlation(loaded))
        else:
            self.stats.failed_attempts += 1
            log.info("notice.attempt_failed", notice=nid, channel=channel.value, error=outcome.error,
                     permanent=outcome.permanent, correlation_id=self._correlation(loaded))  # fmt: skip

    async def _attempt(self, n: Notice, reach: domain.Reach, channel: Any, mid: str) -> Delivered | Undelivered:
        try:
            rendered = self.templates.render(n.template, reach.lang, compose.context_for(n, reach, reach.lang))
            assert n.recipient is not None
            letter = compose.letter_for(n, reach, rendered, self.clock().astimezone(VN).date())
            address = reach.address_for(channel) or ""
            sent = await self.senders[channel].send(Outgoing(n.id, mid, address, rendered, letter))
        except SendFailed as e:
            return Undelivered(channel, str(e), e.permanent)
        except TemplateProblem as e:
            return Undelivered(channel, f"template: {e}")
        return Delivered(channel, sent.address, mid, sent.content_sha256, rendered.version, rendered.lang)

    def _correlation(self, loaded: Loaded[Notice]) -> str | None:
        return loaded.history[0].envelope.correlationid if loaded.history else None

    async def _mark(self, n: Notice, attempt: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO courier_inflight (notice_id, round, attempt) VALUES ($1, $2, $3)"
                " ON CONFLICT (notice_id) DO UPDATE SET round = $2, attempt = $3, started_at = now()",
                n.id,
                n.round,
                attempt,
            )

    async def _record(self, loaded: Loaded[Notice], events: list[Any], attempt: int) -> Notice | None:
        """Append ``events`` and clear the attempt's marker; the notice after them."""
        n = loaded.state
        after: Notice | None = None
        if events:
            ctx = RequestContext(
                actor=self.actor,
                command_id=f"deliver:{n.id}:{n.round}.{attempt}",
                correlation_id=self._correlation(loaded) or "",
                received_at=self.clock(),
            )
            out = await self.notices.save(loaded, ctx, events)
            after = out.state
            if out.state.state is State.failed:
                self.stats.failed += 1
                log.warning("notice.failed", notice=n.id, error=out.state.last_error)
            self._recorded[n.id] = out.events[-1].seq if out.events else loaded.last_seq
        await self._clear(n.id)
        return after

    async def _clear(self, nid: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute("DELETE FROM courier_inflight WHERE notice_id = $1", nid)

    def status(self) -> dict[str, Any]:
        s = self.stats
        return {
            "holds_lock": s.holds_lock,
            "sent": s.sent,
            "by_channel": s.by_channel,
            "failed_attempts": s.failed_attempts,
            "failed": s.failed,
            "resent_after_crash": s.resent_after_crash,
            "channels": sorted(c.value for c in self.available),
            "last_error": s.last_error,
        }
