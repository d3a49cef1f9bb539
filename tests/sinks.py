"""Real servers that receive what notify sends, on loopback: an SMTP server (aiosmtpd) and an
HTTP server for the SMS/Zalo webhook (the standard library's). They record everything they
accept, so a test counts what a recipient actually got."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from caunoi.cli.embedded import free_port


@dataclass
class Mail:
    to: list[str]
    message: Message

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        return str(part.get_content()) if part is not None else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any) -> str:
        if self.sink.refuse(address):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        with self.sink.lock:
            self.sink.received.append(Mail(list(envelope.rcpt_tos), message_from_bytes(raw, policy=default)))
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts; ``stop`` and ``start``
    take it down and bring it back on the same port (an outage)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Mail] = []
        self.lock = threading.Lock()
        #: addresses refused for good (550)
        self.refused: set[str] = set()
        self._controller: Controller | None = None

    def refuse(self, address: str) -> bool:
        return address in self.refused

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.received if address in m.to]

    def by_message_id(self) -> dict[str, int]:
        with self.lock:
            out: dict[str, int] = {}
            for m in self.received:
                out[m.message_id] = out.get(m.message_id, 0) + 1
            return out

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; {len(self.received)} messages received"
            time.sleep(0.05)


@dataclass
class Hook:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class HttpSink:
    """A webhook gateway on 127.0.0.1: records each POST it accepts; ``fail_with`` makes it answer
    that status to every request instead (``None``: accept), ``failing`` to some numbers."""

    port: int = field(default_factory=free_port)
    received: list[Hook] = field(default_factory=list)
    fail_with: int | None = None
    #: numbers it refuses, with the status it answers
    failing: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def start(self) -> HttpSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                status = sink.failing.get(body.get("to", "")) or sink.fail_with
                if status is None:
                    with sink.lock:
                        sink.received.append(Hook(body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(status or 202)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"accepted": true}' if status is None else b'{"error": "refused"}')

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def to(self, phone: str) -> list[Hook]:
        with self.lock:
            return [h for h in self.received if h.body.get("to") == phone]

    def by_key(self) -> dict[str, int]:
        with self.lock:
            out: dict[str, int] = {}
            for h in self.received:
                key = h.headers.get("idempotency-key", "")
                out[key] = out.get(key, 0) + 1
            return out


def notify_env(smtp: SmtpSink, http: HttpSink, letters: str, **extra: str) -> dict[str, str]:
    """A notify process's settings pointing at the sinks, with short pauses for tests."""
    return {
        "CAUNOI_NOTIFY_SMTP_HOST": "127.0.0.1",
        "CAUNOI_NOTIFY_SMTP_PORT": str(smtp.port),
        "CAUNOI_NOTIFY_SMTP_FROM": "UBND <thong-bao@caunoi.test>",
        "CAUNOI_NOTIFY_SMTP_TIMEOUT": "5",
        "CAUNOI_NOTIFY_WEBHOOK_URL": http.url,
        "CAUNOI_NOTIFY_LETTERS_DIR": letters,
        "CAUNOI_NOTIFY_BACKOFF": "0.2",
        "CAUNOI_NOTIFY_BACKOFF_MAX": "1",
        "CAUNOI_NOTIFY_MAX_ATTEMPTS": "4",
        "CAUNOI_NOTIFY_POLL": "0.2",
        **extra,
    }
