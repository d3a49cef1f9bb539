"""What only JetStream itself can show: the stream's fixed configuration."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from pathlib import Path

import nats
import pytest
import structlog
from nats.aio.client import Client as NATS
from support import Servers

from caunoi.cli.embedded import find_nats_server, free_port
from caunoi.shared.eventstore import StoreUnavailable, StreamSpec
from caunoi.shared.jetstream import provision_stream
from caunoi.shared.jsapi import JetStreamError, api

pytestmark = pytest.mark.asyncio


async def test_stream_has_the_fixed_config(servers: Servers) -> None:
    nc = await servers.connect()
    try:
        name = f"T{uuid.uuid4().hex[:8].upper()}"
        spec = StreamSpec(name=name, service=name.lower())
        await provision_stream(nc, spec)
        cfg = (await api(nc, f"$JS.API.STREAM.INFO.{name}"))["config"]
        assert cfg["storage"] == "file" and cfg["discard"] == "new"
        assert cfg["deny_delete"] and cfg["deny_purge"] and cfg["allow_atomic"] and cfg["allow_direct"]
        assert cfg["max_age"] == 0 and cfg["max_bytes"] == -1 and cfg["max_msgs"] == -1
        assert cfg["duplicate_window"] >= 120 * 10**9
        await provision_stream(nc, spec)  # again: changes nothing, does not fail
        with pytest.raises(JetStreamError, match="purge"):
            await api(nc, f"$JS.API.STREAM.PURGE.{name}", {})
    finally:
        await nc.close()


async def test_provisioning_waits_for_jetstream_to_answer(tmp_path: Path) -> None:
    """A service started with its NATS server may find JetStream not answering yet (a cluster
    electing its leaders): provisioning asks again until it answers, and gives up with a clear
    error after its patience."""
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(f"port: {port}\n")  # no JetStream yet
    server = await asyncio.create_subprocess_exec(find_nats_server(), "-c", str(conf), stderr=subprocess.DEVNULL)
    try:
        nc = await _connect(f"nats://127.0.0.1:{port}")
        try:
            spec = StreamSpec(name="TWAIT", service="twait")
            with pytest.raises(StoreUnavailable, match="did not answer"):
                await provision_stream(nc, spec, patience=1.5)

            with structlog.testing.capture_logs() as logs:
                waiting = asyncio.create_task(provision_stream(nc, spec))
                await asyncio.sleep(1.5)  # asked, found no answer, waits to ask again
                assert not waiting.done()
                assert any(e["event"] == "stream.provision_retry" for e in logs)
                js = tmp_path / "js"
                conf.write_text(f'port: {port}\njetstream {{ store_dir: "{js}" }}\n')
                server.send_signal(signal.SIGHUP)  # nats-server enables JetStream on reload
                await asyncio.wait_for(waiting, 30.0)
            cfg = (await api(nc, "$JS.API.STREAM.INFO.TWAIT"))["config"]
            assert cfg["subjects"] == spec.subjects
        finally:
            await nc.close()
    finally:
        server.kill()
        await server.wait()


async def _connect(url: str) -> NATS:
    for _ in range(100):
        try:
            return await nats.connect(url, allow_reconnect=False)
        except Exception:  # noqa: BLE001 - the server is still starting
            await asyncio.sleep(0.05)
    raise RuntimeError(f"no NATS server at {url}")
