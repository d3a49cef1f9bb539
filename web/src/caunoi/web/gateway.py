"""The services, as the web application reaches them: NATS request/reply on one connection (the
``clients`` bus user), each request carrying the credential of the person or system it is made
for, so the services' own authorization decides what each one sees and does."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client as NATS

from caunoi.shared.client import RequestFailed, ServiceUnreachable, request, subject
from caunoi.shared.identity import bearer
from caunoi.shared.settings import Settings

__all__ = ["Gateway", "RequestFailed", "ServiceUnreachable"]


@dataclass
class Gateway:
    settings: Settings
    timeout: float = 10.0
    nc: NATS | None = field(default=None, repr=False)

    async def connect(self) -> None:
        """Connect (and keep reconnecting) as the installation's ``clients`` user; a server not
        up yet is tried again at the first request."""
        with contextlib.suppress(Exception):
            await self._connect()

    async def _connect(self) -> NATS:
        if self.nc is None or self.nc.is_closed:
            self.nc = await nats.connect(
                self.settings.nats_servers(),
                connect_timeout=3,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                **self.settings.nats_options(),
            )
        return self.nc

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain()

    async def call(self, kind: str, service: str, name: str, payload: dict[str, Any], token: str) -> Any:
        """``kind``: ``cmd`` or ``q``. Raises ``RequestFailed`` (the service's structured error)
        or ``ServiceUnreachable``."""
        try:
            nc = await self._connect()
        except Exception as e:
            raise ServiceUnreachable(f"cannot connect to NATS: {e}") from e
        body = {k: v for k, v in payload.items() if v is not None}
        return await request(nc, subject(kind, service, name), body, self.timeout, bearer(token))

    async def query(self, service: str, name: str, payload: dict[str, Any], token: str) -> Any:
        return await self.call("q", service, name, payload, token)

    async def command(self, service: str, name: str, payload: dict[str, Any], token: str) -> Any:
        return await self.call("cmd", service, name, payload, token)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected


def error_of(e: RequestFailed) -> dict[str, Any]:
    return e.error
