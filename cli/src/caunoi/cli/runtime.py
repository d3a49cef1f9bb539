"""Where a running ``caunoi up`` is: written to ``<data dir>/runtime.json`` so other commands
find the embedded servers without being told."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from caunoi.shared.client import Login
from caunoi.shared.settings import Settings


def runtime_file(settings: Settings | None = None) -> Path:
    return (settings or Settings()).data_dir / "runtime.json"


def read_runtime() -> dict[str, Any] | None:
    path = runtime_file()
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def write_runtime(data: dict[str, Any]) -> None:
    path = runtime_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def clear_runtime() -> None:
    runtime_file().unlink(missing_ok=True)


def default_nats_url(login: Login | None = None) -> str:
    """``NATS_URL``, else the server a running ``caunoi up`` started, else the login's, else the
    default."""
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"]
    rt = read_runtime()
    if rt and rt.get("nats_url"):
        return str(rt["nats_url"])
    if login is not None and login.nats_url:
        return login.nats_url
    return Settings().nats_url
