"""Calling a service over NATS request/reply, for the CLI, tests, demo loader and other systems.

A caller holds a :class:`Login`: its credential (the token every request carries) and how it
connects to NATS (its user's nkey seed; replies come back under that user's own inbox prefix).
``caunoi identities issue`` writes one as a JSON file; ``caunoi login FILE`` keeps it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nats
import orjson
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from caunoi.shared.identity import bearer
from caunoi.shared.settings import inbox_prefix, nats_servers

LOGIN_FORMAT = "caunoi-login/1"


class RequestFailed(Exception):
    """The service refused the request; ``error`` is its structured error."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "request failed"))
        self.error = error

    @property
    def code(self) -> str:
        return str(self.error.get("code", ""))


class ServiceUnreachable(Exception):
    pass


@dataclass(frozen=True)
class Login:
    """Who a caller is (``token``) and how it reaches NATS."""

    token: str | None = None
    nats_url: str | None = None
    nats_user: str | None = None
    nats_seed: str | None = None
    #: what the identity is, for people reading the file (the token is what counts)
    name: str = ""
    unit: str = ""
    roles: tuple[str, ...] = ()
    #: subject filters a subscriber may read (``caunoi bus``)
    areas: tuple[str, ...] = ()

    def nats_options(self) -> dict[str, Any]:
        if not (self.nats_user and self.nats_seed):
            return {}
        return {"nkeys_seed_str": self.nats_seed, "inbox_prefix": inbox_prefix(self.nats_user)}

    def headers(self) -> dict[str, str] | None:
        return bearer(self.token) if self.token else None

    def to_json(self) -> str:
        return json.dumps({"format": LOGIN_FORMAT, **asdict(self)}, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Login:
        data = json.loads(path.read_text())
        if data.pop("format", None) != LOGIN_FORMAT:
            raise ValueError(f"{path} is not a caunoi login file ({LOGIN_FORMAT})")
        data["roles"] = tuple(data.get("roles", ()))
        data["areas"] = tuple(data.get("areas", ()))
        return cls(**data)

    def save(self, path: Path) -> None:
        """Write the file readable only by its owner: it holds a secret."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.to_json())
        os.chmod(path, 0o600)


def subject(kind: str, service: str, name: str) -> str:
    """``kind`` is ``cmd``, ``q`` or ``admin``."""
    return f"caunoi.{kind}.{service}.{name}"


async def request(
    nc: NATS, subj: str, payload: dict[str, Any], timeout: float = 10.0, headers: dict[str, str] | None = None
) -> Any:
    try:
        msg = await nc.request(subj, orjson.dumps(payload, default=str), timeout=timeout, headers=headers)
    except NoRespondersError as e:
        raise ServiceUnreachable(f"no service answers on {subj}; is it running?") from e
    except NatsTimeout as e:
        raise ServiceUnreachable(f"no answer on {subj} within {timeout}s") from e
    body = json.loads(msg.data)
    if not body.get("ok"):
        raise RequestFailed(body.get("error") or {"message": "malformed reply"})
    return body.get("result")


async def connect(url: str, login: Login | None = None, *, reconnect: bool = False) -> NATS:
    """Connect as ``login`` to ``url`` (several servers: comma-separated). A one-shot caller
    (the CLI) gives up at once when the server goes; a long-lived one (``reconnect``) keeps
    reconnecting, to the other nodes of a cluster too."""
    retry: dict[str, Any] = (
        {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.25}
        if reconnect
        else {"max_reconnect_attempts": 1, "allow_reconnect": False}
    )
    try:
        return await nats.connect(nats_servers(url), connect_timeout=3, **retry, **(login or Login()).nats_options())
    except Exception as e:
        raise ServiceUnreachable(f"cannot connect to NATS at {url}: {e}") from e


class Client:
    """A connected caller: ``await Client.connect(url, login)``, then
    ``await c.command("petitions", "raise", {...})``."""

    def __init__(self, nc: NATS, login: Login | None = None, timeout: float = 10.0) -> None:
        self.nc = nc
        self.login = login or Login()
        self.timeout = timeout

    @classmethod
    async def connect(
        cls, url: str, login: Login | None = None, timeout: float = 10.0, *, reconnect: bool = False
    ) -> Client:
        return cls(await connect(url, login, reconnect=reconnect), login, timeout)

    async def command(self, service: str, name: str, payload: dict[str, Any]) -> Any:
        return await self._request(subject("cmd", service, name), payload, self.timeout)

    async def query(self, service: str, name: str, payload: dict[str, Any] | None = None) -> Any:
        return await self._request(subject("q", service, name), payload or {}, self.timeout)

    async def admin(
        self, service: str, name: str, payload: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """An admin request; it may take a while (at least 120 s are waited for, or ``timeout``)."""
        wait = max(self.timeout, 120.0) if timeout is None else timeout
        return await self._request(subject("admin", service, name), payload or {}, wait)

    async def _request(self, subj: str, payload: dict[str, Any], timeout: float) -> Any:
        return await request(self.nc, subj, payload, timeout, self.login.headers())

    async def close(self) -> None:
        await self.nc.drain()
