"""Exactly once, under faults, counted where it matters: at the SMTP server and the SMS gateway.

- A burst of 1,000 written replies (each to a hamlet by e-mail and to the petitioner by SMS: 2,000
  notices); the notify process is killed (SIGKILL) twice, once while it queues the notices and
  once while it sends them, and started again. Every notice is recorded sent exactly once, and
  every one reached its recipient; a copy can only be repeated for a message that was in flight
  at a kill (accepted by the server, not yet recorded), and it then carries the same Message-ID /
  Idempotency-Key and is recorded as a possible duplicate: the test counts them.
- The SMTP server is down for a while: the notices wait (each failed attempt recorded, retried with
  backoff) and all go out once it is back, each received exactly once.

The events are written to the petitions and scheduling streams as those services write them (the
same models and envelopes); notify runs alone as a process on its own servers."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pypdf
import pytest
import pytest_asyncio
from sinks import HttpSink, SmtpSink, notify_env
from support import Servers, ServiceProcess, start_servers

from caunoi.notify.bootstrap import STREAM as NOTIFY
from caunoi.petitions.bootstrap import STREAM as PETITIONS
from caunoi.petitions.events import PetitionRaised, ReplyIssued
from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent
from caunoi.shared.eventstore import NEW_AGGREGATE
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletAdded, HamletKind
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.settings import database_url_with

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

COMMUNE, PATH = "00691", ["08", "00691"]
HAMLETS = 10


@dataclass
class System:
    servers: Servers
    root: Path
    nc: Any
    petitions: JetStreamEventStore
    scheduling: JetStreamEventStore


@pytest_asyncio.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    root = tmp_path_factory.mktemp("notify-faults")
    servers, handles = await asyncio.to_thread(start_servers, root)
    nc = await servers.connect()
    try:
        for spec in (PETITIONS, SCHEDULING_STREAM):
            await provision_stream(nc, spec)
        yield System(servers, root, nc, JetStreamEventStore(nc, PETITIONS), JetStreamEventStore(nc, SCHEDULING_STREAM))
    finally:
        await nc.close()
        for h in handles:
            h.stop()


def envelope(source: str, aggregate: str, ev: DomainEvent) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=f"/caunoi/{source}",
        type=ev.type_name(),
        subject=aggregate,
        time=datetime.now(UTC),
        data=ev.model_dump(mode="json"),
        unitcode=COMMUNE,
        datasetversion="vn-2025",
        correlationid=f"corr-{aggregate}",
    )


async def add_hamlets(s: System, tag: str) -> list[str]:
    ids = [f"{COMMUNE}-{tag}-{i}" for i in range(HAMLETS)]
    for hid in ids:
        ev = HamletAdded(hamlet_id=hid, commune_code=COMMUNE, name=f"Thôn {hid}", kind=HamletKind.thon,
                         unit_path=PATH, dataset="vn-2025")  # fmt: skip
        await s.scheduling.append(s.scheduling.subject_for(hid, PATH), NEW_AGGREGATE, [envelope("scheduling", hid, ev)])
    return ids


def phone_of(i: int, tag: str) -> str:
    return f"09{ord(tag) % 100:02d}{i:06d}"


async def raise_petitions(s: System, tag: str, n: int, hamlets: list[str]) -> dict[str, int]:
    """``n`` petitions raised at meetings in ``hamlets``; their subjects' last sequences."""
    sem = asyncio.Semaphore(64)
    seqs: dict[str, int] = {}

    async def one(i: int) -> None:
        pid = f"PA-{tag}{i:07d}"
        ev = PetitionRaised(
            petition_id=pid, channel="meeting", kind="feedback", category="roads",
            petitioner={"name": f"Người dân {i}", "phone": phone_of(i, tag)}, commune_code=COMMUNE,
            hamlet_id=hamlets[i % len(hamlets)], hamlet_name="Thôn", text=f"Ý kiến số {i}",
            received_on=date(2026, 11, 1), unit_path=PATH, dataset="vn-2025",
        )  # fmt: skip
        async with sem:
            res = await s.petitions.append(
                s.petitions.subject_for(pid, PATH), NEW_AGGREGATE, [envelope("petitions", pid, ev)]
            )
        seqs[pid] = res.seqs[-1]

    await asyncio.gather(*(one(i) for i in range(n)))
    return seqs


async def reply_burst(s: System, seqs: dict[str, int]) -> None:
    sem = asyncio.Semaphore(64)

    async def one(pid: str, last: int) -> None:
        ev = ReplyIssued(petition_id=pid, document_no="5/UBND", issued_on=date(2026, 12, 1), by_unit=COMMUNE,
                         summary="Đã giải quyết.", recipients=["petitioner", "hamlet"])  # fmt: skip
        async with sem:
            await s.petitions.append(s.petitions.subject_for(pid, PATH), last, [envelope("petitions", pid, ev)])

    await asyncio.gather(*(one(pid, last) for pid, last in seqs.items()))


def notify_process(s: System, smtp: SmtpSink, http: HttpSink, name: str, **extra: str) -> ServiceProcess:
    env = {**s.servers.service_env("notify"), **notify_env(smtp, http, str(s.root / f"letters-{name}"), **extra)}
    return ServiceProcess("caunoi.notify", "notify", env, s.root / f"notify-{name}.log")


async def set_contacts(s: System, hamlets: list[str], tag: str) -> dict[str, str]:
    """Each hamlet reached by e-mail; waits for notify's copy of the hamlet list first."""
    c = Client(s.nc, s.servers.operator)
    emails = {h: f"{h}@{tag.lower()}.example.vn" for h in hamlets}
    for h, email in emails.items():
        deadline = time.monotonic() + 30
        while True:
            try:
                await c.command("notify", "contact_set", {"hamlet_id": h, "email": email})
                break
            except RequestFailed:  # notify's copy of the hamlet list is not there yet
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
    return emails


async def counts(conn: Any) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM notices.notices GROUP BY state")
    return {r["state"]: r["n"] for r in rows}


async def notify_stream(s: System) -> dict[str, list[dict[str, Any]]]:
    """Every NOTIFY event's data, by type name."""
    store = JetStreamEventStore(s.nc, NOTIFY)
    out: dict[str, list[dict[str, Any]]] = {}
    seq = 0
    while batch := await store.read(seq + 1, 1000):
        for m in batch:
            env = CloudEvent.from_json_bytes(m.data)
            out.setdefault(env.type.split(".")[-2], []).append(env.data)
        seq = batch[-1].seq
    return out


async def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def connect_db(s: System) -> Any:
    url = database_url_with(s.servers.database_url, "caunoi_notify")
    for _ in range(400):
        try:
            return await asyncpg.connect(url)
        except asyncpg.InvalidCatalogNameError:
            await asyncio.sleep(0.05)
    raise AssertionError("no notify database")


async def test_killed_twice_in_a_burst_of_1000_replies_every_notice_arrives_once(system: System) -> None:
    s, tag, total = system, "K", 1000
    smtp, http = SmtpSink().start(), HttpSink().start()
    proc = notify_process(s, smtp, http, "kill", CAUNOI_NOTIFY_CONCURRENCY="8")
    proc.start()
    try:
        await proc.wait_ready(s.servers.nats_url, s.servers.operator)
        hamlets = await add_hamlets(s, "kill")
        emails = await set_contacts(s, hamlets, tag)
        seqs = await raise_petitions(s, tag, total, hamlets)
        conn = await connect_db(s)
        try:
            started = time.monotonic()
            await reply_burst(s, seqs)

            # kill 1: while the notices are being queued
            async def some_queued() -> bool:
                return sum((await counts(conn)).values()) >= 200

            await wait_until(some_queued, 60, "notices to be queued")
            proc.kill()
            queued_at_kill = sum((await counts(conn)).values())
            proc.start()
            await proc.wait_ready(s.servers.nats_url, s.servers.operator)

            # kill 2: while they are being sent
            async def some_sent() -> bool:
                return (await counts(conn)).get("sent", 0) >= 600

            await wait_until(some_sent, 120, "notices to be sent")
            proc.kill()
            sent_at_kill = (await counts(conn)).get("sent", 0)
            proc.start()
            await proc.wait_ready(s.servers.nats_url, s.servers.operator)

            async def all_sent() -> bool:
                return (await counts(conn)).get("sent", 0) == 2 * total

            await wait_until(all_sent, 180, "every notice to be sent")
            elapsed = time.monotonic() - started
            assert await counts(conn) == {"sent": 2 * total}
            notices = {r["id"]: dict(r) for r in await conn.fetch("SELECT * FROM notices.notices")}
        finally:
            await conn.close()
        assert queued_at_kill < 2 * total and sent_at_kill < 2 * total, "a kill did not land mid-burst"

        # the log: each notice queued once and sent once, nothing failed
        log = await notify_stream(s)
        queued = [d["notice_id"] for d in log["NoticeQueued"]]
        sent = [d["notice_id"] for d in log["NoticeSent"]]
        assert len(queued) == len(set(queued)) == 2 * total
        assert len(sent) == len(set(sent)) == 2 * total and set(sent) == set(queued)
        assert "NoticeFailed" not in log

        # what the SMTP server received: every hamlet notice, by its own Message-ID
        mails = smtp.by_message_id()
        to_hamlets = {n["id"] for n in notices.values() if n["recipient_kind"] == "hamlet"}
        assert set(mails) == {f"<{nid}@caunoi.test>" for nid in to_hamlets}
        assert len(to_hamlets) == total
        texts = http.by_key()
        to_petitioners = {n["id"] for n in notices.values() if n["recipient_kind"] == "petitioner"}
        assert set(texts) == to_petitioners and len(to_petitioners) == total
        # repeats: only of messages in flight at a kill, each recorded as a possible duplicate
        repeated = {m.strip("<>").split("@")[0] for m, k in mails.items() if k > 1} | {
            k for k, n in texts.items() if n > 1
        }
        flagged = {d["notice_id"] for d in log["NoticeSent"] if d["possible_duplicate"]}
        assert repeated <= flagged
        assert sum(k - 1 for k in mails.values()) + sum(n - 1 for n in texts.values()) <= 2 * 8  # concurrency x kills
        assert all(sum(1 for m in smtp.received if e in m.to) >= 1 for e in emails.values())
        print(
            f"\n2 x {total} notices in {elapsed:.1f}s with 2 kills; queued at kill 1: {queued_at_kill}, sent at kill 2:"
            f" {sent_at_kill}; repeated copies: {sum(k - 1 for k in mails.values())} e-mails,"
            f" {sum(n - 1 for n in texts.values())} texts; flagged possible duplicates: {len(flagged)}"
        )
    finally:
        proc.stop()
        smtp.stop()
        http.stop()


async def test_while_the_smtp_server_is_down_notices_wait_and_go_out_once_when_it_is_back(system: System) -> None:
    s, tag, total = system, "W", 40
    smtp, http = SmtpSink().start(), HttpSink().start()
    proc = notify_process(s, smtp, http, "outage", CAUNOI_NOTIFY_MAX_ATTEMPTS="60")
    proc.start()
    try:
        await proc.wait_ready(s.servers.nats_url, s.servers.operator)
        hamlets = await add_hamlets(s, "outage")
        await set_contacts(s, hamlets, tag)
        seqs = await raise_petitions(s, tag, total, hamlets)
        smtp.stop()  # the mail server goes down
        conn = await connect_db(s)
        try:
            await reply_burst(s, seqs)

            async def retried() -> bool:
                n = await conn.fetchval(
                    "SELECT count(*) FROM notices.notices WHERE recipient_kind = 'hamlet' AND about LIKE $1"
                    " AND state = 'queued' AND attempts >= 3",
                    f"PA-{tag}%",
                )
                return bool(n == total)

            await wait_until(retried, 60, "every e-mail notice to have failed 3 attempts")
            assert smtp.received == []
            smtp.start()  # back, on the same port

            async def delivered() -> bool:
                n = await conn.fetchval(
                    "SELECT count(*) FROM notices.notices WHERE about LIKE $1 AND state = 'sent'", f"PA-{tag}%"
                )
                return bool(n == 2 * total)

            await wait_until(delivered, 60, "every notice to be sent")
            rows = await conn.fetch(
                "SELECT id, attempts, channel FROM notices.notices WHERE recipient_kind = 'hamlet' AND about LIKE $1",
                f"PA-{tag}%",
            )
        finally:
            await conn.close()
        assert {r["channel"] for r in rows} == {"email"} and all(r["attempts"] >= 4 for r in rows)
        mails = smtp.by_message_id()
        assert mails == {f"<{r['id']}@caunoi.test>": 1 for r in rows}, "a notice was lost or sent twice"
        log = await notify_stream(s)
        failures = [d for d in log["DeliveryFailed"] if d["notice_id"] in {r["id"] for r in rows}]
        assert len(failures) >= 3 * total and all(not d["permanent"] and d["retry_at"] for d in failures)
        assert not [d for d in log.get("NoticeFailed", []) if d["about"].startswith(f"PA-{tag}")]
    finally:
        proc.stop()
        smtp.stop()
        http.stop()


async def test_a_delay_notice_reaches_a_petitioner_with_neither_phone_nor_email_as_a_printed_letter(
    system: System,
) -> None:
    """The delay notice (petitions' DelayNoticeRequired, after an extension to a later date) for a
    petitioner known only by address: a letter to print, whose text has the reference and both dates."""
    s = system
    smtp, http = SmtpSink().start(), HttpSink().start()
    proc = notify_process(s, smtp, http, "letter")
    proc.start()
    pid = "PA-L0000001"
    try:
        await proc.wait_ready(s.servers.nats_url, s.servers.operator)
        raised = PetitionRaised(
            petition_id=pid, channel="letter", kind="petition", category="land",
            petitioner={"name": "Vàng Thị Mỷ", "address": "Bản Nà Lầu, phường Hà Giang 2"}, commune_code=COMMUNE,
            text="Đề nghị cấp lại giấy chứng nhận quyền sử dụng đất", received_on=date(2026, 11, 1),
            unit_path=PATH, dataset="vn-2025",
        )  # fmt: skip
        subject = s.petitions.subject_for(pid, PATH)
        last = (await s.petitions.append(subject, NEW_AGGREGATE, [envelope("petitions", pid, raised)])).seqs[-1]

        def event(name: str, data: dict[str, Any]) -> CloudEvent:
            return CloudEvent(
                id=str(uuid.uuid4()), source="/caunoi/petitions", type=f"vn.caunoi.petitions.{name}.v1", subject=pid,
                unitcode=COMMUNE, datasetversion="vn-2025", data={"petition_id": pid, **data},
            )  # fmt: skip

        extended = event("PetitionExtended", {
            "which": "committed", "previous_due": "2026-11-25", "new_due": "2026-12-20", "reason": "Chờ đo đạc lại",
            "number": 1, "complexity": "normal", "by_unit": COMMUNE, "extended_on": "2026-11-24",
        })  # fmt: skip
        delay = event("DelayNoticeRequired", {"committed_date": "2026-12-01", "handling_unit": COMMUNE,
                                              "noticed_on": "2026-12-02"})  # fmt: skip
        await s.petitions.append(subject, last, [extended, delay])
        letters = s.root / "letters-letter"

        async def written() -> bool:
            return any(letters.glob("NT-*.pdf")) if letters.is_dir() else False

        await wait_until(written, 60, "the letter")
        [pdf] = list(letters.glob("NT-*.pdf"))
        text = " ".join(pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].extract_text().split())
        assert pid in text and "01/12/2026" in text and "20/12/2026" in text
        assert "Kính gửi: Ông/bà Vàng Thị Mỷ" in text and "Bản Nà Lầu, phường Hà Giang 2" in text
        assert "Thông báo chậm giải quyết" in text
        assert smtp.received == [] and http.received == []
    finally:
        proc.stop()
        smtp.stop()
        http.stop()
