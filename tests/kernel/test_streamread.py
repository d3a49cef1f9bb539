"""caunoi.shared.streamread against a real nats-server: every message once, in order, with its
metadata; ranges, filters, the empty cases; errors raise; and a user allowed to subscribe only
under its own inbox prefix (nkey or password, over TLS) can read; a misbehaving server fails the
read."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nkeys
import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from support import Servers

from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.jetstream import provision_stream
from caunoi.shared.jsapi import api
from caunoi.shared.streamread import Method, RawMessage, StreamReadError, read_stream

pytestmark = pytest.mark.asyncio

METHODS: list[Method] = ["consumer", "direct"]
N = 2500


@dataclass(frozen=True)
class Expected:
    seq: int
    subject: str
    type: str | None
    msg_id: str | None
    data: bytes


@dataclass
class Filled:
    stream: str
    prefix: str  # subject prefix
    messages: list[Expected]
    auth: dict[str, Any]  # read_stream's keyword arguments to authenticate as the session's operator
    url: str


def auth_of(servers: Servers) -> dict[str, Any]:
    """Credentials of the test servers' operator when the servers have users (else none)."""
    login = getattr(servers, "operator", None)
    opts: dict[str, Any] = login.nats_options() if login is not None else {}
    out: dict[str, Any] = {}
    if "nkeys_seed_str" in opts:
        out["nkey_seed"] = opts["nkeys_seed_str"]
    if "inbox_prefix" in opts:
        out["inbox_prefix"] = opts["inbox_prefix"]
    return out


async def connect(servers: Servers) -> NATS:
    if hasattr(servers, "connect"):
        nc: NATS = await servers.connect()
        return nc
    return await nats.connect(servers.nats_url)


async def new_stream(nc: NATS) -> StreamSpec:
    name = f"T{uuid.uuid4().hex[:8].upper()}"
    spec = StreamSpec(name=name, service=name.lower())
    await provision_stream(nc, spec)
    return spec


async def fill(nc: NATS, stream: str, prefix: str, n: int) -> list[Expected]:
    """``n`` messages on 40 aggregates: most with caunoi's headers, some with the legacy type
    header, some with no headers at all."""
    out = []
    for i in range(1, n + 1):
        subject = f"{prefix}.A{i % 40}.08.00691"
        data = json.dumps({"n": i, "pad": "x" * (i % 300)}).encode()
        msg_id = str(uuid.uuid4())
        headers: dict[str, str] | None
        if i % 11 == 0:
            headers, etype, msg_id_seen = None, None, None
        elif i % 7 == 0:
            etype = f"t.Legacy{i % 3}.v1"
            headers, msg_id_seen = {"Nats-Msg-Id": msg_id, "ce-type": etype}, msg_id
        else:
            etype = f"t.Thing{i % 5}.v1"
            headers = {"Nats-Msg-Id": msg_id, "Content-Type": "application/cloudevents+json", "Caunoi-Type": etype}
            msg_id_seen = msg_id
        await nc.publish(subject, data, headers=headers)
        out.append(Expected(i, subject, etype, msg_id_seen, data))
    await nc.flush()
    for _ in range(200):
        if (await api(nc, f"$JS.API.STREAM.INFO.{stream}"))["state"]["messages"] == n:
            return out
        await asyncio.sleep(0.02)
    raise AssertionError("the stream did not get every message")


@pytest_asyncio.fixture(scope="module")
async def filled(servers: Servers) -> AsyncIterator[Filled]:
    nc = await connect(servers)
    try:
        spec = await new_stream(nc)
        messages = await fill(nc, spec.name, spec.subject_prefix, N)
        yield Filled(spec.name, spec.subject_prefix, messages, auth_of(servers), servers.nats_url)
    finally:
        await nc.close()


async def read_all(url: str, stream: str, start: int = 1, **kw: Any) -> tuple[list[RawMessage], list[int]]:
    """Every message read, and the size of each chunk."""
    got: list[RawMessage] = []
    sizes: list[int] = []
    kw.setdefault("timeout", 5.0)
    async with contextlib.aclosing(read_stream(url, stream, start, **kw)) as chunks:
        async for chunk in chunks:
            got += chunk
            sizes.append(len(chunk))
    return got, sizes


def as_expected(got: list[RawMessage]) -> list[Expected]:
    return [Expected(m.seq, m.subject, m.type, m.msg_id, m.data) for m in got]


@pytest.mark.parametrize("method", METHODS)
async def test_every_message_once_in_order_with_its_metadata(filled: Filled, method: Method) -> None:
    started = time.time_ns()
    got, sizes = await read_all(filled.url, filled.stream, method=method, batch=300, **filled.auth)
    assert as_expected(got) == filled.messages
    assert len(sizes) >= N // 300 and max(sizes) <= 300  # more than one batch, none larger
    times = [m.time_ns for m in got]
    assert times == sorted(times) and started - 600 * 10**9 < times[0] <= times[-1] <= time.time_ns()


async def test_both_methods_agree_on_the_stored_time(filled: Filled) -> None:
    by_consumer, _ = await read_all(filled.url, filled.stream, 1, until_seq=50, method="consumer", **filled.auth)
    by_direct, _ = await read_all(filled.url, filled.stream, 1, until_seq=50, method="direct", **filled.auth)
    assert by_consumer == by_direct and len(by_direct) == 50


@pytest.mark.parametrize("method", METHODS)
async def test_from_a_middle_sequence_up_to_a_given_one(filled: Filled, method: Method) -> None:
    got, _ = await read_all(filled.url, filled.stream, 1001, until_seq=1500, method=method, batch=64, **filled.auth)
    assert as_expected(got) == filled.messages[1000:1500]
    got, _ = await read_all(filled.url, filled.stream, N - 9, method=method, **filled.auth)
    assert [m.seq for m in got] == list(range(N - 9, N + 1))


@pytest.mark.parametrize("method", METHODS)
async def test_a_subject_filter_reads_only_its_subjects(filled: Filled, method: Method) -> None:
    flt = f"{filled.prefix}.A7.>"
    want = [m for m in filled.messages if m.subject.startswith(f"{filled.prefix}.A7.")]
    got, _ = await read_all(filled.url, filled.stream, subject_filter=flt, method=method, batch=10, **filled.auth)
    assert as_expected(got) == want
    middle = want[len(want) // 2].seq
    got, _ = await read_all(
        filled.url, filled.stream, middle, until_seq=N - 100, subject_filter=flt, method=method, **filled.auth
    )
    assert as_expected(got) == [m for m in want if middle <= m.seq <= N - 100]
    nothing, _ = await read_all(
        filled.url, filled.stream, subject_filter=f"{filled.prefix}.NONE.>", method=method, **filled.auth
    )
    assert nothing == []


@pytest.mark.parametrize("method", METHODS)
async def test_an_empty_stream_and_a_start_past_the_end_read_nothing(
    servers: Servers, filled: Filled, method: Method
) -> None:
    nc = await connect(servers)
    try:
        empty = await new_stream(nc)
    finally:
        await nc.close()
    assert (await read_all(filled.url, empty.name, method=method, **filled.auth))[0] == []
    assert (await read_all(filled.url, filled.stream, N + 1, method=method, **filled.auth))[0] == []
    assert (await read_all(filled.url, filled.stream, 10, until_seq=9, method=method, **filled.auth))[0] == []


async def test_messages_appended_during_the_read_are_not_read(servers: Servers, filled: Filled) -> None:
    nc = await connect(servers)
    try:
        spec = await new_stream(nc)
        await fill(nc, spec.name, spec.subject_prefix, 50)
        seqs: list[int] = []
        async for chunk in read_stream(filled.url, spec.name, batch=10, **filled.auth):
            seqs += [m.seq for m in chunk]
            await nc.publish(f"{spec.subject_prefix}.late.08", b"{}")
        assert seqs == list(range(1, 51))
    finally:
        await nc.close()


async def test_the_consumer_is_removed_after_the_read(filled: Filled, servers: Servers) -> None:
    nc = await connect(servers)

    async def consumers() -> set[str]:
        names = (await api(nc, f"$JS.API.CONSUMER.NAMES.{filled.stream}", {}))["consumers"] or []
        return set(names)

    try:
        before = await consumers()  # (another test's reader may still be going away)
        await read_all(filled.url, filled.stream, until_seq=10, **filled.auth)
        left: set[str] = set()
        for _ in range(250):  # the delete is sent as the read ends; the server applies it soon after
            left = await consumers() - before
            if not left:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the reader's consumer is still there: {left}")
    finally:
        await nc.close()


@pytest.mark.parametrize("method", METHODS)
async def test_a_missing_stream_raises(filled: Filled, method: Method) -> None:
    with pytest.raises(StreamReadError):
        await read_all(filled.url, "NO_SUCH_STREAM", method=method, **filled.auth)


# --------------------------------------------------------------- users restricted to their inbox

STREAM = "AUTHED"


@dataclass
class AuthServer:
    url: str
    seed: str
    tls: ssl.SSLContext | None  # the server speaks TLS when openssl could make it a certificate

    def kw(self, **kw: Any) -> dict[str, Any]:
        return {"tls": self.tls, **kw}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """A nats-server of our own with users: ``admin``, and readers (an nkey and a password user)
    that may subscribe only under ``_INBOX_reader.>`` and publish only what reading needs; over
    TLS (a self-signed certificate) when openssl is there."""
    binary = Path(sys.executable).parent / "nats-server"
    if not binary.is_file():
        found = shutil.which("nats-server")
        if found is None:
            pytest.skip("no nats-server binary")
        binary = Path(found)
    root = tmp_path_factory.mktemp("streamread-auth")
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    reader = json.dumps(
        {
            "publish": {
                "allow": [
                    f"$JS.API.CONSUMER.CREATE.{STREAM}.>",  # .<name> and .<name>.<filter>
                    f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.*",
                    f"$JS.API.CONSUMER.DELETE.{STREAM}.*",
                    f"$JS.API.DIRECT.GET.{STREAM}",
                ]
            },
            "subscribe": {"allow": ["_INBOX_reader.>"]},
        }
    )
    port = _free_port()
    tls: ssl.SSLContext | None = None
    tls_block = ""
    if shutil.which("openssl"):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", root / "key.pem", "-out", root / "cert.pem", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        tls = ssl.create_default_context(cafile=root / "cert.pem")
        tls_block = f'tls {{ cert_file: "{root / "cert.pem"}", key_file: "{root / "key.pem"}" }}'
    (root / "nats.conf").write_text(
        f"""listen: 127.0.0.1:{port}
{tls_block}
jetstream {{ store_dir: "{root / "js"}" }}
accounts {{
  A {{
    jetstream: enabled
    users: [
      {{ user: admin, password: admin }}
      {{ nkey: {public}, permissions: {reader} }}
      {{ user: reader, password: "s3cret", permissions: {reader} }}
    ]
  }}
}}
"""
    )
    log = (root / "nats.log").open("wb")
    proc = subprocess.Popen([str(binary), "-c", str(root / "nats.conf")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert proc.poll() is None and time.monotonic() < deadline, (root / "nats.log").read_text()
            time.sleep(0.02)
        yield AuthServer(f"nats://127.0.0.1:{port}", seed.decode(), tls)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest_asyncio.fixture(scope="module")
async def authed(auth_server: AuthServer) -> list[Expected]:
    nc = await nats.connect(auth_server.url, user="admin", password="admin", tls=auth_server.tls)
    try:
        cfg = {"name": STREAM, "subjects": ["caunoi.authed.*.>"], "storage": "file", "allow_direct": True}
        await api(nc, f"$JS.API.STREAM.CREATE.{STREAM}", cfg)
        return await fill(nc, STREAM, "caunoi.authed", 300)
    finally:
        await nc.close()


@pytest.mark.parametrize("method", METHODS)
async def test_an_nkey_user_restricted_to_its_inbox_reads(
    auth_server: AuthServer, authed: list[Expected], method: Method
) -> None:
    reader = auth_server.kw(nkey_seed=auth_server.seed, inbox_prefix="_INBOX_reader")
    got, _ = await read_all(auth_server.url, STREAM, method=method, batch=100, **reader)
    assert as_expected(got) == authed
    flt = "caunoi.authed.A3.>"
    got, _ = await read_all(auth_server.url, STREAM, method=method, subject_filter=flt, **reader)
    assert as_expected(got) == [m for m in authed if m.subject.startswith("caunoi.authed.A3.")]


async def test_a_password_user_reads_with_the_url_or_arguments(auth_server: AuthServer, authed: list[Expected]) -> None:
    url = auth_server.url.replace("nats://", "nats://reader:s3cret@")
    got, _ = await read_all(url, STREAM, **auth_server.kw(inbox_prefix="_INBOX_reader"))
    assert as_expected(got) == authed
    reader = auth_server.kw(user="reader", password="s3cret", inbox_prefix="_INBOX_reader")
    got, _ = await read_all(auth_server.url, STREAM, **reader)
    assert len(got) == len(authed)


async def test_refusals_raise(auth_server: AuthServer, authed: list[Expected]) -> None:
    with pytest.raises(StreamReadError, match=r"(?i)authorization"):
        await read_all(auth_server.url, STREAM, **auth_server.kw(user="reader", password="wrong"))
    with pytest.raises(StreamReadError, match=r"(?i)authorization"):
        await read_all(auth_server.url, STREAM, **auth_server.kw())  # no credentials
    # the default inbox prefix is not the reader's: the subscription is refused, no silent wait
    with pytest.raises(StreamReadError, match=r"(?i)permissions violation"):
        await read_all(auth_server.url, STREAM, **auth_server.kw(nkey_seed=auth_server.seed))


# ------------------------------------------------------- a scripted server: what must never pass


class ScriptedServer:
    """Speaks just enough NATS to answer a consumer read with the frames a test gives, so a test
    can make the server misbehave (skip a delivery, redeliver, hang up, fall silent)."""

    def __init__(self, frames: list[bytes], *, num_pending: int = 3, hang_up: bool = False) -> None:
        self.frames, self.num_pending, self.hang_up = frames, num_pending, hang_up
        self.connect: dict[str, Any] = {}
        self.nonce = "bm9uY2UtZm9yLXRoZS10ZXN0"

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return f"nats://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        info = {"server_id": "scripted", "version": "2.15.1", "headers": True, "proto": 1, "nonce": self.nonce}
        writer.write(b"INFO " + json.dumps(info).encode() + b"\r\n")
        while line := await reader.readline():
            op, *args = line.split()
            if op == b"CONNECT":
                self.connect = json.loads(line[8:])
            elif op == b"PING":
                writer.write(b"PONG\r\n")
            elif op == b"PUB":
                await reader.readexactly(int(args[-1]) + 2)
                if args[0].startswith(b"$JS.API.CONSUMER.CREATE."):
                    body = json.dumps({"name": "c", "num_pending": self.num_pending}).encode()
                    writer.write(b"MSG %s 1 %d\r\n%s\r\n" % (args[1], len(body), body))
                elif args[0].startswith(b"$JS.API.CONSUMER.MSG.NEXT."):
                    writer.writelines(self.frames)
                    self.frames = []
                    if self.hang_up:
                        writer.close()
                        return


def delivery(sseq: int, dseq: int, *, redelivered: bool = False, v2: bool = False) -> bytes:
    ack = f"{'1' if not redelivered else '2'}.{sseq}.{dseq}.1700000000123456789.{3 - dseq}"
    reply = f"$JS.ACK._.ACCHASH.S.c.{ack}.r4nd" if v2 else f"$JS.ACK.S.c.{ack}"
    hdr, body = b"NATS/1.0\r\nCaunoi-Type: t.V1\r\n\r\n", b"{}"
    return b"HMSG caunoi.x.a.08 2 %s %d %d\r\n%s%s\r\n" % (reply.encode(), len(hdr), len(hdr) + len(body), hdr, body)


async def test_the_v2_ack_subject_is_understood() -> None:
    async with ScriptedServer([delivery(5, 1, v2=True), delivery(6, 2, v2=True), delivery(9, 3, v2=True)]) as url:
        got, _ = await read_all(url, "S", 5)
    assert [(m.seq, m.time_ns, m.type) for m in got] == [(s, 1700000000123456789, "t.V1") for s in (5, 6, 9)]


def status(line: bytes) -> bytes:
    hdr = b"NATS/1.0 %s\r\n\r\n" % line
    return b"HMSG _ 2 %d %d\r\n%s\r\n" % (len(hdr), len(hdr), hdr)


@pytest.mark.parametrize(
    ("frames", "error"),
    [
        ([delivery(1, 1), delivery(3, 3)], "out of order"),  # a delivery went missing
        ([delivery(1, 1), delivery(1, 2, redelivered=True)], "out of order"),
        ([delivery(1, 1), status(b"409 Consumer Deleted")], "409 Consumer Deleted"),
        ([b"-ERR 'Slow Consumer'\r\n"], "Slow Consumer"),
    ],
)
async def test_a_misbehaving_server_makes_the_read_fail(frames: list[bytes], error: str) -> None:
    async with ScriptedServer(frames) as url:
        with pytest.raises(StreamReadError, match=error):
            await read_all(url, "S")


async def test_a_lost_connection_or_a_silent_server_raises() -> None:
    async with ScriptedServer([delivery(1, 1)], hang_up=True) as url:
        with pytest.raises(ConnectionError):
            await read_all(url, "S")
    async with ScriptedServer([delivery(1, 1)]) as url:
        with pytest.raises(TimeoutError):
            await read_all(url, "S", timeout=0.3)


async def test_connect_signs_the_nonce_with_the_nkey_and_sends_url_credentials() -> None:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    server = ScriptedServer([], num_pending=0)
    async with server as url:
        await read_all(url, "S", nkey_seed=seed.decode())
        kp = nkeys.from_seed(bytearray(seed))
        assert server.connect["nkey"] == kp.public_key.decode()
        sig = server.connect["sig"]
        assert kp.verify(server.nonce.encode(), base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
        await read_all(url.replace("nats://", "nats://us%40er:p%3Ass@"), "S")
        assert (server.connect["user"], server.connect["pass"]) == ("us@er", "p:ss")
        await read_all(url.replace("nats://", "nats://t0ken@"), "S")
        assert server.connect["auth_token"] == "t0ken" and "user" not in server.connect


async def test_a_read_stopped_early_removes_its_consumer_every_time(servers: Servers) -> None:
    """A read that stops with messages still on their way (``until_seq`` well before the end):
    closing right after the consumer's delete made the kernel reset the connection with unread
    data, and the server sometimes dropped the delete (5 of 40 such reads left their consumer
    behind, until its inactive threshold); the reader now waits for the delete's answer."""
    nc = await connect(servers)
    try:
        spec = await new_stream(nc)
        for i in range(3000):  # ~4 MB: far more than a read of 10 leaves unread on the socket
            await nc.publish(f"{spec.subject_prefix}.A{i}.08.00691", b"x" * 1400)
        await nc.flush()
        for _ in range(200):  # (publishes without acks: stored a moment later)
            if (await api(nc, f"$JS.API.STREAM.INFO.{spec.name}"))["state"]["messages"] == 3000:
                break
            await asyncio.sleep(0.05)
        auth = auth_of(servers)
        for _ in range(40):
            assert len((await read_all(servers.nats_url, spec.name, until_seq=10, **auth))[0]) == 10
        left = (await api(nc, f"$JS.API.CONSUMER.NAMES.{spec.name}", {}))["consumers"] or []
        assert left == []  # no wait: each read ended once the server had deleted its consumer
    finally:
        await nc.close()
