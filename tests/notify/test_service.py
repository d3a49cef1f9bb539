"""The notify service as processes on real servers, following the real petitions and scheduling
services: a written reply reaches the hamlet by e-mail (a real SMTP server), the petitioner by SMS
(a real HTTP gateway) or, with neither, as a printed letter; a refused address falls back to the
next channel; a gateway that keeps failing leaves the notice failed for an operator, who resends
it; and a unit sees and acts on its own area's notices only."""

from __future__ import annotations

import asyncio
import base64
import io
import time
import uuid
from typing import Any

import pypdf
import pytest
from conftest import Sinks
from support import Servers, stream_messages, wait_projected

from caunoi.scheduling.domain.hamlets import hamlet_id
from caunoi.shared.client import Client, RequestFailed
from caunoi.shared.context import Role

pytestmark = pytest.mark.asyncio

COMMUNE, OTHER, PROVINCE = "00691", "00694", "08"


async def add_hamlet(client: Client, commune: str = COMMUNE) -> str:
    name = f"Thôn Hòa {uuid.uuid4().hex[:6]}"
    await client.command("scheduling", "hamlet_add", {"commune_code": commune, "name": name, "kind": "thon"})
    await wait_projected(client, "notify")
    await wait_projected(client, "petitions")
    return hamlet_id(commune, name)


async def replied(client: Client, hamlet: str | None, petitioner: dict[str, Any], **reply: Any) -> str:
    """A petition raised at a meeting in ``hamlet`` (or by letter), answered, and replied to."""
    body: dict[str, Any] = {
        "channel": "meeting" if hamlet else "letter",
        "category": "roads",
        "petitioner": petitioner,
        "commune_code": hamlet[:5] if hamlet else COMMUNE,
        "hamlet_id": hamlet,
        "text": "Đường liên thôn xuống cấp, đề nghị sửa chữa.",
    }
    pid = str((await client.command("petitions", "raise", body))["petition_id"])
    if hamlet:
        await client.command(
            "petitions", "answer", {"petition_id": pid, "answer": "Sẽ sửa.", "answered_by": "Chủ tịch"}
        )
    else:
        await client.command("petitions", "forward", {"petition_id": pid, "to_unit": PROVINCE})
    await client.command(
        "petitions", "reply", {"petition_id": pid, "document_no": "12/UBND", "summary": "Đã sửa xong đường.", **reply}
    )
    return pid


async def notices(client: Client, timeout: float = 30.0, **query: Any) -> list[dict[str, Any]]:
    """The notices ``query`` lists, once none of them is waiting any more."""
    deadline = time.monotonic() + timeout
    while True:
        await wait_projected(client, "notify")
        items: list[dict[str, Any]] = (await client.query("notify", "list", {"limit": 1000, **query}))["items"]
        if items and all(i["state"] != "queued" for i in items):
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.1)


async def test_a_written_reply_reaches_the_hamlet_by_email_and_the_petitioner_by_sms(
    client: Client, sinks: Sinks
) -> None:
    hamlet = await add_hamlet(client)
    email = f"truong-thon-{uuid.uuid4().hex[:6]}@example.vn"
    await client.command("notify", "contact_set", {"hamlet_id": hamlet, "email": email, "preferred": "email"})
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    pid = await replied(client, hamlet, {"name": "Nguyễn Văn An", "phone": phone})

    items = await notices(client, event=pid)
    assert sorted((i["recipient"], i["state"], i["channel"]) for i in items) == sorted(
        [(f"hamlet:{hamlet}", "sent", "email"), (f"petitioner:{pid}", "sent", "sms")]
    )
    by_recipient = {i["recipient"]: i for i in items}
    to_hamlet = by_recipient[f"hamlet:{hamlet}"]
    # what the mail server received: one message, with the notice's Message-ID
    [mail] = sinks.smtp.to(email)
    assert mail.message_id == f"<{to_hamlet['id']}@caunoi.test>" == to_hamlet["message_id"]
    assert pid in str(mail.message["Subject"]) and "Đã sửa xong đường." in mail.text
    assert mail.message["X-Caunoi-Template"] == f"written_reply {to_hamlet['template_version']}"
    # what the gateway received: one text, keyed by the notice
    [hook] = sinks.http.to(f"+84{phone[1:]}")
    to_petitioner = by_recipient[f"petitioner:{pid}"]
    assert hook.headers["idempotency-key"] == to_petitioner["id"] and hook.body["channel"] == "sms"
    assert pid in hook.body["text"]
    # the log says who got what, with the address masked, and carries the request's correlation
    shown = await client.query("notify", "show", {"notice_id": to_petitioner["id"]})
    types = [h["type"].split(".")[-2] for h in shown["history"]]
    assert types == ["NoticeQueued", "NoticeSent"]
    sent = shown["history"][-1]["data"]
    assert sent["kind"] == "written_reply" and sent["about"] == pid and phone[-4:] in sent["address"]
    assert phone[1:6] not in sent["address"]
    petition = await client.query("petitions", "show", {"petition_id": pid})
    reply_event = petition["history"][-1]
    assert shown["history"][0]["causationid"] == reply_event["id"]
    assert shown["history"][0]["correlationid"] == reply_event["correlationid"]


async def test_with_neither_phone_nor_email_the_petitioner_gets_a_letter(client: Client, sinks: Sinks) -> None:
    pid = await replied(client, None, {"name": "Trần Thị Bình", "address": "Số 5, tổ 3, phường Hà Giang 2"})
    [item] = await notices(client, event=pid)
    assert (item["state"], item["channel"], item["recipient"]) == ("sent", "letter", f"petitioner:{pid}")
    pdf = (sinks.letters / f"{item['id']}.pdf").read_bytes()
    text = " ".join(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Trần Thị Bình" in text and pid in text and "Đã sửa xong đường." in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG" in text

    # the same notice previewed from its real event, as a letter
    shown = await client.query("notify", "preview", {"ref": pid, "letter": True})
    assert shown["event"]["type"] == "vn.caunoi.petitions.ReplyIssued.v2" and shown["notice_id"] == item["id"]
    assert pid in shown["subject"] and "Đã sửa xong đường." in shown["body"]
    preview = pypdf.PdfReader(io.BytesIO(base64.b64decode(shown["letter_pdf"]))).pages[0].extract_text()
    assert "Trần Thị Bình" in preview
    english = await client.query("notify", "preview", {"ref": item["id"], "lang": "en"})
    assert english["lang"] == "en" and english["subject"].startswith("Reply to your petition")


async def test_a_refused_address_falls_back_to_the_next_channel(client: Client, sinks: Sinks) -> None:
    hamlet = await add_hamlet(client)
    email = f"khong-ton-tai-{uuid.uuid4().hex[:6]}@example.vn"
    sinks.smtp.refused.add(email)
    await client.command("notify", "contact_set", {"hamlet_id": hamlet, "email": email, "address": "Nhà văn hóa"})
    pid = await replied(client, hamlet, {"name": "Lê Văn Cường"}, recipients=["hamlet"])
    [item] = await notices(client, event=pid)
    assert (item["state"], item["channel"], item["attempts"]) == ("sent", "letter", 2)
    assert sinks.smtp.to(email) == []
    shown = await client.query("notify", "show", {"notice_id": item["id"]})
    failed = shown["history"][1]["data"]
    assert failed["channel"] == "email" and failed["permanent"] is True and "550" in failed["error"]


async def test_a_gateway_that_keeps_failing_leaves_the_notice_failed_until_resent(client: Client, sinks: Sinks) -> None:
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    e164 = f"+84{phone[1:]}"
    sinks.http.failing[e164] = 503
    pid = await replied(client, None, {"name": "Phạm Thị Dung", "phone": phone})
    [item] = await notices(client, event=pid)
    assert (item["state"], item["attempts"], item["channel"]) == ("failed", 4, "sms")
    assert "503" in item["last_error"]
    listed = await client.query("notify", "list", {"state": "failed", "limit": 1000})
    assert item["id"] in {i["id"] for i in listed["items"]}
    assert (await client.query("notify", "show", {"notice_id": item["id"]}))["actions"] == ["resend"]

    del sinks.http.failing[e164]
    out = await client.command("notify", "resend", {"notice_id": item["id"], "reason": "cổng SMS đã hoạt động lại"})
    assert (out["state"], out["round"]) == ("queued", 2)
    [item] = await notices(client, event=pid)
    assert (item["state"], item["round"]) == ("sent", 2)
    assert len(sinks.http.to(e164)) == 1
    # resending a notice that was sent is refused and stores nothing
    before = await stream_messages(client, "NOTIFY")
    with pytest.raises(RequestFailed) as info:
        await client.command("notify", "resend", {"notice_id": item["id"], "reason": "lần nữa"})
    assert info.value.code == "invalid_state" and await stream_messages(client, "NOTIFY") == before
    assert (await client.query("notify", "show", {"notice_id": item["id"]}))["actions"] == []


async def test_a_unit_sees_and_acts_on_its_own_area_only(servers: Servers, client: Client, sinks: Sinks) -> None:
    pid = await replied(client, None, {"name": "Hoàng Văn Em"})
    [item] = await notices(client, event=pid)
    other = await Client.connect(servers.nats_url, servers.login(OTHER, Role.clerk))
    own = await Client.connect(servers.nats_url, servers.login(COMMUNE, Role.clerk))
    province = await Client.connect(servers.nats_url, servers.login(PROVINCE, Role.officer))
    hamlet = await add_hamlet(client)
    try:
        before = await stream_messages(client, "NOTIFY")
        for call in (
            other.query("notify", "show", {"notice_id": item["id"]}),
            other.query("notify", "list", {"unit": COMMUNE}),
            other.command("notify", "resend", {"notice_id": item["id"], "reason": "x"}),
            other.command("notify", "contact_set", {"hamlet_id": hamlet, "email": "a@example.vn"}),
            other.command("notify", "contact_set", {"unit": COMMUNE, "email": "a@example.vn"}),
            other.query("notify", "contacts", {"unit": COMMUNE}),
        ):
            with pytest.raises(RequestFailed) as info:
                await call
            assert info.value.code == "forbidden", info.value.error
        with pytest.raises(RequestFailed) as info:  # outside its reach, the event has no notice for it
            await other.query("notify", "preview", {"ref": pid})
        assert info.value.code == "not_found"
        assert await stream_messages(client, "NOTIFY") == before, "a refused command stored an event"
        mine = {i["id"] for i in (await other.query("notify", "list", {"limit": 1000}))["items"]}
        assert item["id"] not in mine
        # the commune's clerk and the province's officer (it was forwarded there) both see it
        for c in (own, province):
            assert item["id"] in {i["id"] for i in (await c.query("notify", "list", {"limit": 1000}))["items"]}
            assert (await c.query("notify", "show", {"notice_id": item["id"]}))["state"] == "sent"
        # and the commune's clerk keeps its own hamlets' contacts
        await own.command("notify", "contact_set", {"hamlet_id": hamlet, "phone": "0987 654 321"})
        await wait_projected(client, "notify")
        contacts = (await own.query("notify", "contacts", {}))["items"]
        assert {"recipient": f"hamlet:{hamlet}", "phone": "+84987654321"}.items() <= next(
            c for c in contacts if c["recipient"] == f"hamlet:{hamlet}"
        ).items()
    finally:
        for c in (other, own, province):
            await c.close()


async def test_rebuilds_equal_the_live_read_models(client: Client) -> None:
    await wait_projected(client, "notify")
    before = await client.query("notify", "list", {"limit": 1000})
    contacts = await client.query("notify", "contacts", {})
    for name in ("notices", "contacts", "from_petitions", "from_scheduling"):
        rebuilt = await client.admin("notify", "rebuild", {"projection": name})
        assert rebuilt["position"] >= 1, rebuilt
    assert await client.query("notify", "list", {"limit": 1000}) == before
    assert await client.query("notify", "contacts", {}) == contacts
