"""Settings from environment variables, with defaults that run everything on loopback.

Every knob an operator tunes is here, with its variable (``CAUNOI_<NAME>`` unless named otherwise)
and default; the README's table lists them. A bad value stops the process with a message naming
the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from caunoi.shared.units import DATASETS


def _env(name: str, default: Any, description: str, **kw: Any) -> Any:
    return Field(default, validation_alias=AliasChoices(name), description=description, **kw)


class Settings(BaseSettings):
    """Every knob caunoi reads."""

    model_config = SettingsConfigDict(env_prefix="CAUNOI_", frozen=True, populate_by_name=True, env_ignore_empty=True)

    nats_url: str = _env(
        "NATS_URL", "nats://127.0.0.1:4222", "NATS server(s) with JetStream; a cluster: comma-separated"
    )
    database_url: str = _env(
        "DATABASE_URL",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "PostgreSQL server; each service uses its own database caunoi_<service> on it",
    )
    data_dir: Path = Field(Path(".caunoi"), description="where embedded servers keep data, logs and keys")
    units_dataset: str = Field("vn-2025", description="administrative units: vn-2025 or vn-2024")
    log_level: str = Field("info", description="debug, info, warning, error")
    log_format: str = Field("json", description="json or console")
    stream_replicas: int = Field(1, ge=1, le=5, description="replicas of each stream (3 on a cluster)")
    #: what a service process does: ``all``, or ``endpoints`` (commands and queries; several
    #: such processes share the requests) or ``projections`` (read models and admin requests)
    role: Literal["all", "endpoints", "projections"] = "all"
    #: requests one service process handles at once
    command_workers: int = Field(64, ge=1, le=10_000)
    #: a JetStream call (append, read) waits this long before it is retried or reported
    store_timeout: float = Field(5.0, gt=0)
    store_retries: int = Field(3, ge=1, le=20)
    #: events a projection reads and applies in one transaction
    projection_batch: int = Field(256, ge=1, le=100_000)
    #: tries of a failing event before it is parked and its projection halts
    projection_max_attempts: int = Field(5, ge=1, le=1000)
    #: first pause between tries, doubled each time (seconds)
    projection_backoff: float = Field(0.05, gt=0)
    #: pause between tries of a parked event (seconds)
    projection_halted_retry: float = Field(5.0, gt=0)
    #: a projection looks for new events at least this often, even without a wake-up (seconds)
    projection_poll: float = Field(1.0, gt=0)
    #: after applying a partial batch, a projection waits this long for more events (seconds):
    #: under load fewer, larger transactions, at the cost of that much lag. At 1,000 commands/s on
    #: 2 cores (bench), 3 ms gave the lowest lag p99 (median of 6 runs ~36 ms; 10 ms: ~67; 2 ms:
    #: ~52, more CPU per event) for ~80 µs more CPU per command than 10 ms
    projection_gather: float = Field(0.003, ge=0, le=1)
    #: events a rebuild (or a projection far behind) applies per transaction
    projection_bulk_batch: int = Field(10_000, ge=100, le=1_000_000)
    #: worker processes that rebuild a partitionable read model (caunoi.shared.partitions): 0 one
    #: per core (at most 4), 1 the service's own process alone
    projection_processes: int = Field(0, ge=0, le=64)
    #: a stream shorter than this is rebuilt in the service's own process
    projection_partition_min: int = Field(100_000, ge=0)
    #: a query first waits, at most this long (seconds), for the service's read models to apply what
    #: was stored when it arrived, so it sees the commands acknowledged before it; 0: never waits
    query_settle: float = Field(2.0, ge=0, le=60)
    #: how often a service looks for what fell due (deadlines, reports, reminders), in seconds
    duty_interval: float = Field(30.0, gt=0, le=86_400)
    db_pool_size: int = Field(10, ge=2, le=500)
    #: how long a client (CLI, demo loader) waits for a reply (seconds)
    request_timeout: float = Field(10.0, gt=0)
    #: larger request bodies are refused as invalid before parsing
    max_request_bytes: int = Field(256 * 1024, ge=1024)
    #: the NATS user this process connects as (its inbox prefix is ``_INBOX_<user>``); empty: no
    #: authentication (a server without users)
    nats_user: str = Field("", pattern=r"^[A-Za-z0-9_-]*$")
    #: that user's nkey seed file; default ``<data dir>/keys/nats/<user>.nk``
    nats_nkey_file: Path | None = None
    #: the nkey seed of the service's *replay* user (:func:`replay_user`), which its projections'
    #: bulk reads connect as; default ``<data dir>/keys/nats/<user>-replay.nk``; missing: they
    #: connect as the service's own user (slower: see :func:`replay_user`)
    nats_replay_nkey_file: Path | None = None
    #: the public key credentials are verified with; default ``<data dir>/keys/identity.pub``
    identity_public_key: Path | None = None
    #: the key a service signs its stream's checkpoints with; default ``<data dir>/keys/audit/<service>.pem``
    audit_key: Path | None = None
    #: messages one checkpoint covers at most
    audit_checkpoint_events: int = Field(1000, ge=10, le=20_000)
    #: the master key that wraps the personal-data keys (services that may decrypt personal data
    #: only); default ``<data dir>/keys/vault.key``
    vault_key: Path | None = None

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def nkey_file(self) -> Path | None:
        if self.nats_nkey_file is not None:
            return self.nats_nkey_file
        return self.keys_dir / "nats" / f"{self.nats_user}.nk" if self.nats_user else None

    def replay_login(self) -> tuple[str, Path] | None:
        """The user and seed file a bulk read (a rebuild, a long catch-up) connects as: the
        service's replay user when its seed is there, else None (the service's own user)."""
        if not self.nats_user:
            return None
        user = replay_user(self.nats_user)
        seed = self.nats_replay_nkey_file or self.keys_dir / "nats" / f"{user}.nk"
        return (user, seed) if seed.is_file() else None

    def public_key_file(self) -> Path:
        return self.identity_public_key or self.keys_dir / "identity.pub"

    def audit_key_file(self, service: str) -> Path:
        return self.audit_key or self.keys_dir / "audit" / f"{service}.pem"

    def vault_key_file(self) -> Path:
        return self.vault_key or self.keys_dir / "vault.key"

    def nats_options(self) -> dict[str, Any]:
        """What nats-py's ``connect`` (and FastStream's broker) need to connect as ``nats_user``."""
        if not self.nats_user:
            return {}
        seed = self.nkey_file()
        if seed is None or not seed.is_file():
            raise FileNotFoundError(f"no nkey seed for NATS user {self.nats_user!r} at {seed} (CAUNOI_NATS_NKEY_FILE)")
        return {"nkeys_seed": str(seed), "inbox_prefix": inbox_prefix(self.nats_user)}

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @field_validator("units_dataset")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        if v not in DATASETS:
            raise ValueError(f"must be one of {', '.join(DATASETS)}")
        return v

    def nats_servers(self) -> list[str]:
        """``nats_url`` as the server list nats-py and FastStream take (a cluster: several URLs,
        comma-separated)."""
        return nats_servers(self.nats_url)

    def database_for(self, service: str) -> str:
        """The service's own database on the configured server."""
        return database_url_with(self.database_url, f"caunoi_{service}")


def nats_servers(url: str) -> list[str]:
    """``nats://a:4222,nats://b:4222`` -> ``["nats://a:4222", "nats://b:4222"]``."""
    return [u.strip() for u in url.split(",") if u.strip()]


def database_url_with(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def replay_user(service_user: str) -> str:
    """The NATS user a service's bulk reads connect as. It may only read the service's streams
    through ephemeral consumers, and, unlike the service's own user, has no ``allow_responses``:
    nats-server keeps the reply subject of every message it delivers to a user that may answer
    (a consumer's every message has one), and that bookkeeping grows with the read: a rebuild read
    as the service's user cost nats-server 15 µs per message over 1,000,000 messages, about 4 µs as
    this user (bench; 11.4 against 4.1 over 600,000 in a bare nats-server)."""
    return f"{service_user}-replay"


def inbox_prefix(nats_user: str) -> str:
    """Each NATS user receives replies under its own prefix, and may subscribe only there."""
    return f"_INBOX_{nats_user}"
