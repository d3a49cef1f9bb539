"""An installation's secrets and bus configuration, created on first start (``caunoi up``) or by
``caunoi bus init`` for a deployment.

Where it keeps them: :mod:`caunoi.cli.layout`.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from caunoi.cli.bus import CLIENTS, OPERATOR, Bus, installed_services
from caunoi.cli.embedded import find_nats_config
from caunoi.cli.layout import Layout
from caunoi.shared.aggregate import Repository
from caunoi.shared.audit import checkpoints
from caunoi.shared.client import Login, connect
from caunoi.shared.context import Actor, RequestContext, Role
from caunoi.shared.identity import (
    IDENTITIES_STREAM,
    IDENTITY,
    Credential,
    IdentityState,
    Kind,
    issue,
    load_private_key,
    new_signing_key,
    registry,
    write_private,
)
from caunoi.shared.jetstream import JetStreamEventStore, provision_stream
from caunoi.shared.settings import Settings, replay_user
from caunoi.shared.units import UnitTree
from caunoi.shared.vault import new_master_key

T = TypeVar("T")


@dataclass(frozen=True)
class Installation(Layout):
    """An installation's files (:class:`Layout`) and what makes them."""

    def audit_public_key(self, service: str) -> Path:
        return checkpoints.key_paths(self.keys, service)[1]

    def bus(self) -> Bus:
        return Bus.open(self.conf_dir, self.nats_keys)

    def prepare(self) -> bool:
        """Create what is missing: keys, NATS users (operator, each installed service, clients),
        the configuration files. Returns whether the installation is new (no signing key yet)."""
        new = not self.signing_key.is_file()
        for private in (self.keys, self.operator_login.parent):
            private.mkdir(parents=True, exist_ok=True)
            private.chmod(0o700)
        if new:
            new_signing_key(self.signing_key, self.public_key)
        if not self.web_session_key.is_file():
            write_private(self.web_session_key, secrets.token_urlsafe(48).encode() + b"\n")
        services = installed_services()
        for svc in services:
            checkpoints.ensure_key(self.keys, svc.name)
        new_master_key(self.vault_key)
        bus = self.bus()
        bus.ensure(OPERATOR, "operator")
        bus.ensure(CLIENTS, "client")
        for svc in services:
            bus.ensure(svc.name, "service")
            bus.ensure(replay_user(svc.name), "replay")
        bus.write(services)
        source = find_nats_config()
        for name in ("nats-server.conf", "permissions.conf"):
            if name == "nats-server.conf" or not (self.conf_dir / name).is_file():
                shutil.copyfile(source.parent / name, self.conf_dir / name)
        bus.write(services)  # permissions.conf from the code, whatever was copied
        return new

    def service_env(self, service: str, with_nats_user: bool = True) -> dict[str, str]:
        """The environment a service process gets to connect and verify credentials."""
        env = {"CAUNOI_IDENTITY_PUBLIC_KEY": str(self.public_key)}
        if with_nats_user:
            env["CAUNOI_NATS_USER"] = service
            env["CAUNOI_NATS_NKEY_FILE"] = str(self.nats_keys / f"{service}.nk")
            env["CAUNOI_NATS_REPLAY_NKEY_FILE"] = str(self.nats_keys / f"{replay_user(service)}.nk")
        return env

    def client_env(self, with_nats_user: bool = True) -> dict[str, str]:
        """The environment of a long-lived client of the services (the web application): the
        ``clients`` bus user, which only sends requests and reads its replies."""
        env = {"CAUNOI_IDENTITY_PUBLIC_KEY": str(self.public_key)}
        if with_nats_user:
            env["CAUNOI_NATS_USER"] = CLIENTS
            env["CAUNOI_NATS_NKEY_FILE"] = str(self.nats_keys / f"{CLIENTS}.nk")
        return env

    def login_for(self, credential: Credential | None, nats_url: str, nats_user: str | None) -> Login:
        actor = credential.actor if credential else None
        return Login(
            token=credential.token if credential else None,
            nats_url=nats_url,
            nats_user=nats_user,
            nats_seed=self.bus().seed(nats_user) if nats_user else None,
            name=actor.name if actor else "",
            unit=actor.unit if actor else "",
            roles=tuple(sorted(actor.roles)) if actor else (),
        )

    def issue(
        self,
        *,
        subject: str,
        name: str,
        unit: str,
        dataset: str,
        roles: list[Role],
        system: bool = False,
        valid_days: float = 365,
    ) -> Credential:
        return issue(
            load_private_key(self.signing_key),
            subject=subject,
            name=name,
            unit=unit,
            dataset=dataset,
            roles=roles,
            kind=Kind.system if system else Kind.person,
            valid_days=valid_days,
        )

    def ensure_operator(self, nats_url: str, dataset: str, nats_user: str | None = OPERATOR) -> Login:
        """The local operator's login, issued (and recorded) on first start."""
        if self.operator_login.is_file():
            return replace(Login.from_file(self.operator_login), nats_url=nats_url)
        credential = self.issue(
            subject="operator", name="Quản trị hệ thống / local operator", unit="", dataset=dataset,
            roles=[Role.operator], valid_days=3650,
        )  # fmt: skip
        login = self.login_for(credential, nats_url, nats_user)
        run_sync(record_issued(login, credential.actor, credential))
        login.save(self.operator_login)
        return login


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, even if an event loop runs in this thread
    (then in a thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def identities(login: Login) -> tuple[Any, Repository[IdentityState]]:
    """A connection as ``login`` and the repository of credentials (the IDENTITIES stream)."""
    settings = Settings()
    nc = await connect(login.nats_url or settings.nats_url, login)
    await provision_stream(nc, replace(IDENTITIES_STREAM, replicas=settings.stream_replicas), patience=5.0)
    dataset = settings.units_dataset
    return nc, Repository(JetStreamEventStore(nc, IDENTITIES_STREAM), registry, IDENTITY, UnitTree.load(dataset))


async def record_issued(login: Login, by: Actor, credential: Credential) -> None:
    """Append the credential's IdentityIssued event, acting as ``by`` (an operator)."""
    nc, repo = await identities(login)
    try:
        await repo.create(credential.credential_id, RequestContext(by), [credential.issued()])
    finally:
        await nc.close()
