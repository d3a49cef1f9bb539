"""Proven identities: who sends a request, for which unit, in which roles.

A **credential** is a JSON Web Token signed with the installation's Ed25519 key (EdDSA, PyJWT):

    {"iss": "caunoi", "sub": "lan.00691", "name": "Nguyễn Thị Lan", "unit": "00691",
     "dataset": "vn-2025", "roles": ["clerk"], "kind": "person", "jti": "<credential id>",
     "iat": ..., "exp": ...}

Every request carries one in its ``Authorization: Bearer <token>`` NATS header; the request edge
verifies it with the public key (:class:`Verifier`) and hands the handler an :class:`Actor`. What
a body claims about who is asking is never used. Only the operators' tool holds the private key
(``caunoi identities issue``); services hold the public key.

Issued and revoked credentials are events in the ``IDENTITIES`` stream (kept by the operators'
tool), so an auditor sees who was given what and when; services follow it
(:class:`RevocationWatcher`) and refuse a revoked credential from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nats.aio.client import Client as NATS

from caunoi.shared.aggregate import AggregateKind, Scope
from caunoi.shared.aio import wait_at_most
from caunoi.shared.context import Actor, Role
from caunoi.shared.errors import InvalidState, NotFound, Unauthenticated
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import EventStore, StoreError, StreamSpec
from caunoi.shared.recorded import decode_message

log = structlog.get_logger(__name__)

ISSUER: Final = "caunoi"
ALGORITHM: Final = "EdDSA"
HEADER: Final = "Authorization"
SCHEME: Final = "Bearer "
#: clock difference tolerated between issuer and services (seconds)
LEEWAY: Final = 30


class Kind(StrEnum):
    person = "person"
    system = "system"


ROLE_VI: Mapping[Role, str] = {
    Role.clerk: "cán bộ xã",
    Role.officer: "cán bộ huyện, tỉnh",
    Role.operator: "quản trị hệ thống",
    Role.auditor: "kiểm toán, thanh tra",
    Role.service: "hệ thống khác",
}

IDENTITIES_STREAM = StreamSpec(
    name="IDENTITIES",
    service="identities",
    description="caunoi identities: credentials issued and revoked by the operators (events, CloudEvents 1.0 JSON)",
)
registry = EventRegistry()
NS = "vn.caunoi.identities"
#: the unit path token of national identities (operators, auditors), which have no unit
NATIONAL: Final = "vn"


@registry.register
class IdentityIssued(DomainEvent):
    NAME = f"{NS}.IdentityIssued"
    credential_id: str
    subject: str
    name: str
    kind: Kind
    unit: str
    dataset: str
    roles: list[Role]
    expires_at: datetime


@registry.register
class IdentityRevoked(DomainEvent):
    NAME = f"{NS}.IdentityRevoked"
    credential_id: str
    reason: str


# -- keys --------------------------------------------------------------------------------------


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable only by its owner (created so, never widened)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def new_signing_key(private_path: Path, public_path: Path) -> None:
    """Create the installation's Ed25519 key pair (private 0600, public readable)."""
    key = Ed25519PrivateKey.generate()
    write_private(
        private_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


# -- credentials -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    token: str
    credential_id: str
    actor: Actor
    kind: Kind
    expires_at: datetime

    def issued(self) -> IdentityIssued:
        return IdentityIssued(
            credential_id=self.credential_id,
            subject=self.actor.id,
            name=self.actor.name,
            kind=self.kind,
            unit=self.actor.unit,
            dataset=self.actor.dataset,
            roles=sorted(Role(r) for r in self.actor.roles),
            expires_at=self.expires_at,
        )


def issue(
    key: Ed25519PrivateKey,
    *,
    subject: str,
    name: str,
    unit: str,
    dataset: str,
    roles: Sequence[Role],
    kind: Kind = Kind.person,
    valid_days: float = 365,
    now: float | None = None,
) -> Credential:
    """Sign a credential. ``unit`` is "" for a national identity (operators, auditors only)."""
    if not roles:
        raise ValueError("a credential needs at least one role")
    if not unit and not set(roles) <= {Role.operator, Role.auditor}:
        raise ValueError("only operators and auditors may have no unit")
    issued_at = int(now if now is not None else time.time())
    expires = issued_at + int(valid_days * 86400)
    credential_id = str(uuid.uuid4())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "name": name,
        "unit": unit,
        "dataset": dataset,
        "roles": sorted(r.value for r in roles),
        "kind": kind.value,
        "jti": credential_id,
        "iat": issued_at,
        "exp": expires,
    }
    token = jwt.encode(claims, key, algorithm=ALGORITHM)
    actor = Actor(subject, name, unit, dataset, frozenset(r.value for r in roles), credential_id)
    return Credential(token, credential_id, actor, kind, datetime.fromtimestamp(expires, UTC))


def bearer(token: str) -> dict[str, str]:
    """The NATS headers that carry a credential."""
    return {HEADER: SCHEME + token}


@dataclass
class Verifier:
    """Checks credentials on every request. A verified token is remembered until it expires, so
    the signature is checked once per credential, not once per request; revocations apply at once."""

    public_key: Ed25519PublicKey
    revoked: set[str] = field(default_factory=set)
    cache_size: int = 4096
    _cache: dict[str, tuple[Actor, float]] = field(default_factory=dict)

    def actor(self, headers: Mapping[str, str] | None) -> Actor:
        value = (headers or {}).get(HEADER, "")
        if not value.startswith(SCHEME):
            raise Unauthenticated(
                "Yêu cầu không có thông tin xác thực; hãy đăng nhập (caunoi login)",
                message_en="the request carries no credential; log in first (caunoi login)",
            )
        token = value[len(SCHEME) :].strip()
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            actor = cached[0]
        else:
            actor, expires = self._verify(token)
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[token] = (actor, expires)
        if actor.credential in self.revoked:
            raise Unauthenticated("Thông tin xác thực đã bị thu hồi", message_en="the credential has been revoked")
        return actor

    def _verify(self, token: str) -> tuple[Actor, float]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.public_key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
            roles = frozenset(Role(r).value for r in claims["roles"])
            actor = Actor(
                str(claims["sub"]),
                str(claims.get("name", "")),
                str(claims.get("unit", "")),
                str(claims.get("dataset", "")),
                roles,
                str(claims["jti"]),
            )
        except jwt.ExpiredSignatureError as e:
            raise Unauthenticated("Thông tin xác thực đã hết hạn", message_en="the credential has expired") from e
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as e:
            raise Unauthenticated(
                "Thông tin xác thực không hợp lệ", message_en=f"the credential is not valid: {e}"
            ) from e
        return actor, float(claims["exp"])

    def revoke(self, credential_id: str) -> None:
        self.revoked.add(credential_id)


# -- the registry of issued and revoked credentials -----------------------------------------------


@dataclass
class RevocationWatcher:
    """Keeps a verifier's revoked set in step with the IDENTITIES stream: reads it all at start,
    then follows it (woken by a core subscription, polling every ``poll`` seconds)."""

    nc: NATS | None
    store: EventStore
    verifier: Verifier
    poll: float = 1.0
    position: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False

    async def catch_up(self) -> int:
        n = 0
        while batch := await self.store.read(self.position + 1, 1000):
            for msg in batch:
                self.position = msg.seq
                n += 1
                if msg.type_name != IdentityRevoked.type_name():
                    continue
                with contextlib.suppress(Exception):  # not an event of ours: nothing to revoke
                    ev = decode_message(registry, msg).event
                    if isinstance(ev, IdentityRevoked):
                        self.verifier.revoke(ev.credential_id)
        return n

    async def run(self) -> None:
        sub = None
        if self.nc is not None:
            sub = await self.nc.subscribe(f"{self.store.spec.subject_prefix}.>", cb=self._poke)
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self.catch_up()
                except StoreError as e:  # the stream does not exist yet, or NATS is down
                    log.debug("identities.read_failed", error=str(e))
                await wait_at_most(self._wake, self.poll)
        finally:
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    async def _poke(self, _msg: Any) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()


# -- the identity aggregate: one per credential ------------------------------------------------------


@dataclass(frozen=True)
class IdentityState:
    credential_id: str = ""
    subject: str = ""
    name: str = ""
    unit: str = ""
    dataset: str = ""
    roles: tuple[str, ...] = ()
    expires_at: datetime | None = None
    revoked: bool = False
    revoke_reason: str = ""

    @property
    def exists(self) -> bool:
        return bool(self.credential_id)


def _evolve(state: IdentityState, event: DomainEvent) -> IdentityState:
    match event:
        case IdentityIssued():
            return IdentityState(
                event.credential_id,
                event.subject,
                event.name,
                event.unit,
                event.dataset,
                tuple(r.value for r in event.roles),
                event.expires_at,
            )
        case IdentityRevoked():
            return replace(state, revoked=True, revoke_reason=event.reason)
    return state


def _scope(state: IdentityState) -> Scope:
    return Scope(state.unit or NATIONAL, state.dataset or None, [state.unit or NATIONAL])


IDENTITY = AggregateKind[IdentityState]("identity", IdentityState, _evolve, _scope)


@dataclass(frozen=True)
class Revoke:
    credential_id: str
    reason: str


def decide_revoke(state: IdentityState, cmd: Revoke, facts: None = None) -> list[DomainEvent]:
    credential_id = cmd.credential_id
    if not state.exists:
        raise NotFound(
            f"Không có thông tin xác thực {credential_id}",
            message_en=f"no credential {credential_id}",
            field="credential_id",
        )
    if state.revoked:
        raise InvalidState(
            f"Thông tin xác thực {credential_id} đã bị thu hồi",
            message_en=f"credential {credential_id} is already revoked",
        )
    return [IdentityRevoked(credential_id=credential_id, reason=cmd.reason)]
