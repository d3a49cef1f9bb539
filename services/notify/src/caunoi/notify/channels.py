"""The channels a notice goes out on, at the edge: e-mail over SMTP (aiosmtplib), SMS and Zalo
through an HTTP webhook (httpx), and printable letters (PDF files in a folder an office prints).

Each send either returns what was delivered or raises :class:`SendFailed`, saying whether trying
again later may help (a server down, a timeout, a 4xx SMTP reply, an HTTP 5xx or 429) or not (an
address refused for good: a 5xx SMTP reply, an HTTP 4xx).

Every copy of one notice carries the same identity, so a copy sent twice is recognisable: the
e-mail's RFC 5322 ``Message-ID`` is ``<notice id@domain>``; the webhook gets the notice id as its
``Idempotency-Key`` header; a letter's file is named after the notice (written again, it replaces
itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

import aiosmtplib

from caunoi.notify.addresses import mask_email, mask_phone
from caunoi.notify.events import DeliveryChannel
from caunoi.notify.settings import NotifySettings
from caunoi.notify.templates import Rendered
from caunoi.printing.letter import Letter, render_letter


class SendFailed(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    notice_id: str
    message_id: str
    address: str
    rendered: Rendered
    letter: Letter


@dataclass(frozen=True)
class Sent:
    address: str  # masked
    content_sha256: str


class Sender(Protocol):
    channel: DeliveryChannel

    async def send(self, out: Outgoing) -> Sent: ...

    async def close(self) -> None: ...


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def message_id(notice_id: str, domain: str) -> str:
    """The RFC 5322 Message-ID every copy of a notice carries."""
    return f"<{notice_id}@{domain}>"


class Email:
    channel = DeliveryChannel.email

    def __init__(self, settings: NotifySettings) -> None:
        self.s = settings

    def message(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.s.smtp_from
        msg["To"] = out.address
        msg["Subject"] = out.rendered.subject
        msg["Message-ID"] = out.message_id
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Caunoi-Notice"] = out.notice_id
        msg["X-Caunoi-Template"] = f"{out.rendered.template} {out.rendered.version}"
        msg["Content-Language"] = out.rendered.lang
        msg.set_content(out.rendered.text + "\n")
        return msg

    async def send(self, out: Outgoing) -> Sent:
        msg = self.message(out)
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.s.smtp_host,
                port=self.s.smtp_port,
                username=self.s.smtp_user or None,
                password=self.s.smtp_password.get_secret_value() or None,
                start_tls=True if self.s.smtp_security == "starttls" else False,
                use_tls=self.s.smtp_security == "tls",
                timeout=self.s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            raise SendFailed(f"SMTP refused the recipient: {e}", permanent=all(c >= 500 for c in codes)) from e
        except aiosmtplib.SMTPResponseException as e:
            raise SendFailed(f"SMTP {e.code}: {e.message}", permanent=e.code >= 500) from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            raise SendFailed(f"SMTP: {type(e).__name__}: {e}") from e
        content = f"{out.rendered.subject}\n\n{out.rendered.text}".encode()
        return Sent(mask_email(out.address), sha256(content))

    async def close(self) -> None:
        return None


class Webhook:
    """POST ``{"channel", "to", "text", "notice_id", "message_id"}`` as JSON to the gateway, with
    ``Idempotency-Key: <notice id>``: a gateway that keeps the keys sends a repeat once."""

    def __init__(self, channel: DeliveryChannel, settings: NotifySettings) -> None:
        import httpx  # only where a gateway is configured: 6 MB of a service's memory otherwise

        self.channel = channel
        self.s = settings
        self.client = httpx.AsyncClient()
        self._http_error = httpx.HTTPError

    async def send(self, out: Outgoing) -> Sent:
        headers = {"Idempotency-Key": out.notice_id}
        if token := self.s.webhook_token.get_secret_value():
            headers["Authorization"] = f"Bearer {token}"
        body = {
            "channel": self.channel.value,
            "to": out.address,
            "text": out.rendered.short,
            "notice_id": out.notice_id,
            "message_id": out.message_id,
        }
        try:
            r = await self.client.post(self.s.webhook_url, json=body, headers=headers, timeout=self.s.webhook_timeout)
        except self._http_error as e:
            raise SendFailed(f"webhook: {type(e).__name__}: {e}") from e
        if r.status_code >= 300:
            permanent = 400 <= r.status_code < 500 and r.status_code not in (408, 425, 429)
            raise SendFailed(f"webhook HTTP {r.status_code}: {r.text[:300]}", permanent=permanent)
        return Sent(mask_phone(out.address), sha256(out.rendered.short.encode()))

    async def close(self) -> None:
        await self.client.aclose()


class LetterBox:
    """Letters to print: ``<folder>/<notice id>.pdf``, written whole (a temporary file renamed)."""

    channel = DeliveryChannel.letter

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, notice_id: str) -> Path:
        return self.folder / f"{notice_id}.pdf"

    async def send(self, out: Outgoing) -> Sent:
        # laying out a PDF and subsetting its font takes ~0.1 s of CPU: off the event loop, so the
        # read models and requests of this process keep moving meanwhile
        pdf = await asyncio.to_thread(render_letter, out.letter)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.path(out.notice_id)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pdf)
            tmp.replace(target)
        except OSError as e:
            raise SendFailed(f"letter: {e}") from e
        return Sent(target.name, sha256(pdf))

    async def close(self) -> None:
        return None


def senders(settings: NotifySettings, letters: Path) -> dict[DeliveryChannel, Sender]:
    """A sender for each channel this installation has."""
    out: dict[DeliveryChannel, Sender] = {DeliveryChannel.letter: LetterBox(letters)}
    available = settings.available()
    if DeliveryChannel.email in available:
        out[DeliveryChannel.email] = Email(settings)
    for ch in (DeliveryChannel.sms, DeliveryChannel.zalo):
        if ch in available:
            out[ch] = Webhook(ch, settings)
    return out
