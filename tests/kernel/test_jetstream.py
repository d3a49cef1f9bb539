"""What only JetStream itself can show: the stream's fixed configuration."""

from __future__ import annotations

import uuid

import pytest
from support import Servers

from caunoi.shared.eventstore import StreamSpec
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
