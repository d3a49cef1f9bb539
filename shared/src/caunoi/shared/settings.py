"""Settings from environment variables, with defaults that run everything on loopback."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Every knob caunoi reads. Names are the environment variables, documented in the README."""

    nats_url: str = field(default_factory=lambda: _env("NATS_URL", "nats://127.0.0.1:4222"))
    #: A PostgreSQL server URL; each service uses its own database ``caunoi_<service>`` on it.
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    data_dir: Path = field(default_factory=lambda: Path(_env("CAUNOI_DATA_DIR", ".caunoi")).resolve())
    units_dataset: str = field(default_factory=lambda: _env("CAUNOI_UNITS_DATASET", "vn-2025"))
    log_level: str = field(default_factory=lambda: _env("CAUNOI_LOG_LEVEL", "info"))
    log_format: str = field(default_factory=lambda: _env("CAUNOI_LOG_FORMAT", "json"))
    stream_replicas: int = field(default_factory=lambda: int(_env("CAUNOI_STREAM_REPLICAS", "1")))
    command_workers: int = field(default_factory=lambda: int(_env("CAUNOI_COMMAND_WORKERS", "64")))

    def database_for(self, service: str) -> str:
        """The service's own database on the configured server."""
        return database_url_with(self.database_url, f"caunoi_{service}")


def database_url_with(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))
