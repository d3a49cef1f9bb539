"""Calling a service over NATS request/reply, for the CLI, tests, demo loader and other services."""

from __future__ import annotations

import json
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout


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


def subject(kind: str, service: str, name: str) -> str:
    """``kind`` is ``cmd``, ``q`` or ``admin``."""
    return f"caunoi.{kind}.{service}.{name}"


async def request(nc: NATS, subj: str, payload: dict[str, Any], timeout: float = 10.0) -> Any:
    try:
        msg = await nc.request(subj, json.dumps(payload, ensure_ascii=False, default=str).encode(), timeout=timeout)
    except NoRespondersError as e:
        raise ServiceUnreachable(f"no service answers on {subj}; is it running?") from e
    except NatsTimeout as e:
        raise ServiceUnreachable(f"no answer on {subj} within {timeout}s") from e
    body = json.loads(msg.data)
    if not body.get("ok"):
        raise RequestFailed(body.get("error") or {"message": "malformed reply"})
    return body.get("result")


class Client:
    """A connected caller: ``await Client.connect(url)``, then ``await c.command("petitions", "raise", {...})``."""

    def __init__(self, nc: NATS, timeout: float = 10.0) -> None:
        self.nc = nc
        self.timeout = timeout

    @classmethod
    async def connect(cls, url: str, timeout: float = 10.0) -> Client:
        try:
            nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=1, allow_reconnect=False)
        except Exception as e:
            raise ServiceUnreachable(f"cannot connect to NATS at {url}: {e}") from e
        return cls(nc, timeout)

    async def command(self, service: str, name: str, payload: dict[str, Any]) -> Any:
        return await request(self.nc, subject("cmd", service, name), payload, self.timeout)

    async def query(self, service: str, name: str, payload: dict[str, Any] | None = None) -> Any:
        return await request(self.nc, subject("q", service, name), payload or {}, self.timeout)

    async def admin(self, service: str, name: str, payload: dict[str, Any] | None = None) -> Any:
        return await request(self.nc, subject("admin", service, name), payload or {}, max(self.timeout, 120.0))

    async def close(self) -> None:
        await self.nc.drain()
