"""Embedded dev servers (caunoi.cli.embedded): real nats-server and PostgreSQL processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from caunoi.cli import embedded
from caunoi.cli.bus import OPERATOR
from caunoi.cli.embedded import (
    EmbeddedServerError,
    find_nats_config,
    free_port,
    nats_config_env,
    start_nats,
    start_postgres,
)
from caunoi.cli.installation import Installation
from caunoi.shared.client import Login

REPO = Path(__file__).resolve().parents[2]
DEPLOY_CONF = REPO / "deploy" / "nats" / "nats-server.conf"
PACKAGED_CONF = REPO / "cli" / "src" / "caunoi" / "cli" / "data" / "nats-server.conf"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port some other process is already listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while embedded._is_postmaster(pid):
        assert time.monotonic() < deadline, f"process {pid} still alive"
        time.sleep(0.02)


def test_free_port_picks_below_the_range_outgoing_connections_take_their_ports_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("40000\t60999\n")
    monkeypatch.setattr(embedded, "_EPHEMERAL_RANGE", ranges)
    ports = {free_port() for _ in range(20)}
    assert all(embedded._LOW_PORT <= p < 40000 for p in ports)
    assert len(ports) > 1  # at random: two tests picking at once seldom meet
    for p in ports:
        with socket.create_server(("127.0.0.1", p)):  # free indeed
            pass
    monkeypatch.setattr(embedded, "_EPHEMERAL_RANGE", tmp_path / "absent")  # not Linux: the kernel picks
    with socket.create_server(("127.0.0.1", free_port())):
        pass


# ----------------------------------------------------------------------------- config


def test_packaged_config_is_identical_to_deploy_config() -> None:
    assert DEPLOY_CONF.read_bytes() == PACKAGED_CONF.read_bytes()
    permissions = DEPLOY_CONF.parent / "permissions.conf"
    assert permissions.read_bytes() == (PACKAGED_CONF.parent / "permissions.conf").read_bytes()


def test_config_enables_jetstream_with_sync_always() -> None:
    text = DEPLOY_CONF.read_text()
    assert "jetstream" in text
    assert "sync_interval: always" in text
    for var in nats_config_env("127.0.0.1", 4222, 8222, Path("/data")):
        assert f"${var}" in text


def test_find_nats_config_prefers_repo_file_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(embedded.NATS_CONFIG_ENV, raising=False)
    assert find_nats_config() == DEPLOY_CONF
    other = tmp_path / "other.conf"
    other.write_text("port: 4222\n")
    monkeypatch.setenv(embedded.NATS_CONFIG_ENV, str(other))
    assert find_nats_config() == other
    monkeypatch.setenv(embedded.NATS_CONFIG_ENV, str(tmp_path / "missing.conf"))
    with pytest.raises(EmbeddedServerError):
        find_nats_config()


def test_nats_config_env_quotes_strings_and_disables_monitor() -> None:
    env = nats_config_env("0.0.0.0", 4222, None, Path("/a b/#c"))
    assert env == {
        "CAUNOI_NATS_HOST": '"0.0.0.0"',
        "CAUNOI_NATS_PORT": "4222",
        "CAUNOI_NATS_MONITOR_PORT": "0",
        "CAUNOI_NATS_STORE_DIR": '"/a b/#c"',
    }


# ------------------------------------------------------------------------------- NATS


def installed(data_dir: Path) -> dict[str, Any]:
    """The configuration and operator seed of an installation in ``data_dir`` (keys, users)."""
    inst = Installation(data_dir)
    inst.prepare()
    return {"config": inst.nats_config, "seed": inst.bus().seed(OPERATOR)}


def as_operator(data_dir: Path) -> dict[str, Any]:
    return Login(nats_user=OPERATOR, nats_seed=Installation(data_dir).bus().seed(OPERATOR)).nats_options()


async def _create_stream_and_publish(url: str, data_dir: Path) -> None:
    nc = await nats.connect(url, **as_operator(data_dir))
    try:
        js = nc.jetstream()
        await js.add_stream(name="EMBEDDED_TEST", subjects=["embedded.test.>"])
        ack = await js.publish("embedded.test.one", b"hello")
        assert ack.seq == 1
    finally:
        await nc.close()


async def _read_stream(url: str, data_dir: Path) -> tuple[int, bytes]:
    nc = await nats.connect(url, **as_operator(data_dir))
    try:
        js = nc.jetstream()
        info = await js.stream_info("EMBEDDED_TEST")
        msg = await js.get_msg("EMBEDDED_TEST", seq=1)
        return info.state.messages, msg.data or b""
    finally:
        await nc.close()


def test_nats_jetstream_sync_always_and_persistence(tmp_path: Path) -> None:
    data_dir = tmp_path / "data dir #1"  # spaces and '#' must survive the env-var config
    port, monitor = free_port(), free_port()
    with start_nats(data_dir, port=port, monitor_port=monitor, **installed(data_dir)) as server:
        assert server.url == f"nats://127.0.0.1:{port}"
        assert server.running and server.pid > 0
        assert server.config_path.read_bytes() == DEPLOY_CONF.read_bytes()
        assert _get_json(f"{server.monitor_url}/healthz?js-enabled-only=true") == {"status": "ok"}
        varz = _get_json(f"{server.monitor_url}/varz")
        js_config = varz["jetstream"]["config"]
        assert js_config["sync_always"] is True  # `sync_interval: always`
        assert js_config["store_dir"] == str(data_dir / "nats" / "jetstream")
        assert varz["host"] == "127.0.0.1" and varz["port"] == port
        assert _get_json(f"{server.monitor_url}/jsz")["config"]["sync_always"] is True
        asyncio.run(_create_stream_and_publish(server.url, data_dir))
        # A second server on the same store dir would corrupt it.
        with pytest.raises(EmbeddedServerError, match="already running"):
            start_nats(data_dir, port=free_port(), monitor_port=None, **installed(data_dir))
    assert not server.running
    assert not server.pid_file.exists()
    assert (data_dir / "nats" / "nats.log").read_text().count("Server is ready") == 1
    assert (data_dir / "nats" / "jetstream").is_dir()

    with start_nats(data_dir, port=port, monitor_port=None, **installed(data_dir)) as again:
        assert again.monitor_url is None
        assert asyncio.run(_read_stream(again.url, data_dir)) == (1, b"hello")


def test_nats_refuses_a_connection_without_a_known_nkey(tmp_path: Path) -> None:
    with start_nats(tmp_path, port=free_port(), monitor_port=None, **installed(tmp_path)) as server:

        async def anonymous() -> None:
            await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)

        with pytest.raises(Exception, match=r"(?i)authoriz"):
            asyncio.run(anonymous())


def test_nats_port_in_use(tmp_path: Path, listening_port: int) -> None:
    with pytest.raises(EmbeddedServerError, match="already in use"):
        start_nats(tmp_path, port=listening_port, monitor_port=None)
    with pytest.raises(EmbeddedServerError, match=r"monitor port .* already in use"):
        start_nats(tmp_path, port=free_port(), monitor_port=listening_port)


def test_nats_startup_failure_reports_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("port: $CAUNOI_NATS_PORT\njetstream { store_dir: $NO_SUCH_VARIABLE_FOR_CAUNOI }\n")
    monkeypatch.setenv(embedded.NATS_CONFIG_ENV, str(bad))
    with pytest.raises(EmbeddedServerError, match="NO_SUCH_VARIABLE_FOR_CAUNOI") as err:
        start_nats(tmp_path, port=free_port(), monitor_port=None)
    assert "exited with code" in str(err.value)


def test_nats_not_ready_times_out_with_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_js = tmp_path / "no-jetstream.conf"  # starts fine, but JetStream never answers
    no_js.write_text("host: $CAUNOI_NATS_HOST\nport: $CAUNOI_NATS_PORT\n")
    monkeypatch.setenv(embedded.NATS_CONFIG_ENV, str(no_js))
    with pytest.raises(EmbeddedServerError, match=r"not ready after 0\.5s") as err:
        start_nats(tmp_path, port=free_port(), monitor_port=None, timeout=0.5)
    assert "Server is ready" in str(err.value)  # the log tail


# --------------------------------------------------------------------------- Postgres


async def _pg_write(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text NOT NULL)")
        await conn.execute("INSERT INTO t VALUES (1, 'xin chào')")
        settings = {}
        for name in (
            "max_connections",
            "fsync",
            "synchronous_commit",
            "server_encoding",
        ):
            settings[name] = await conn.fetchval(f"SHOW {name}")
        settings["datcollate"] = await conn.fetchval(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()"
        )
        return settings
    finally:
        await conn.close()


async def _pg_read(url: str) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [(r["id"], r["note"]) for r in await conn.fetch("SELECT id, note FROM t ORDER BY id")]
    finally:
        await conn.close()


def test_postgres_database_and_persistence_across_restart_and_crash(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "pg data"  # the -o options of pg_ctl go through a shell
    port = free_port()
    pg = start_postgres(data_dir, port=port)
    try:
        assert pg.url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        assert pg.url_for("app db") == f"postgresql://postgres@127.0.0.1:{port}/app%20db"
        assert not pg.reused and pg.pid is not None
        if os.geteuid() == 0:  # postgres refuses root: runs as an unprivileged user
            assert pg.system_user is not None
            assert pg.pgdata.stat().st_uid != 0
        assert pg.ensure_database("app db") is True
        assert pg.ensure_database("app db") is False
        assert pg.ensure_database("dữ liệu") is True  # psql talks UTF8
        assert "dữ liệu" in pg.psql("SELECT datname FROM pg_database").splitlines()
        settings = asyncio.run(_pg_write(pg.url_for("app db")))
        assert settings == {
            "max_connections": "200",
            "fsync": "on",
            "synchronous_commit": "on",
            "server_encoding": "UTF8",
            "datcollate": "C",
        }

        # Already running on this data dir: same port -> adopt it; other port -> clear error.
        again = start_postgres(data_dir, port=port)
        assert again.reused and again.pid == pg.pid
        with pytest.raises(EmbeddedServerError, match="already running"):
            start_postgres(data_dir, port=free_port())

        pg.stop()
        assert not pg.running and not (pg.pgdata / "postmaster.pid").exists()
        pg.stop()  # idempotent

        pg = start_postgres(data_dir, port=port)
        assert asyncio.run(_pg_read(pg.url_for("app db"))) == [(1, "xin chào")]
        assert asyncio.run(pg.ensure_database_async("app db")) is False

        # Crash: postmaster.pid is left behind with a dead pid; start recovers.
        pid = pg.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
        assert (pg.pgdata / "postmaster.pid").exists()
        pg = start_postgres(data_dir, port=port)
        assert not pg.reused and pg.pid != pid
        assert asyncio.run(_pg_read(pg.url_for("app db"))) == [(1, "xin chào")]
    finally:
        pg.stop()


def test_postgres_port_in_use(tmp_path: Path, listening_port: int) -> None:
    with pytest.raises(EmbeddedServerError, match="already in use"):
        start_postgres(tmp_path, port=listening_port)


def test_both_servers_as_context_managers(tmp_path: Path) -> None:
    with (
        start_nats(tmp_path, port=free_port(), monitor_port=free_port(), **installed(tmp_path)) as nats_server,
        start_postgres(tmp_path, port=free_port()) as pg,
    ):
        assert nats_server.running and pg.running
        assert pg.ensure_database("petitions")
    assert not nats_server.running and not pg.running
