"""Who asks, and the ids that tie a request to what it causes: what a handler gets beside the
command itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from caunoi.shared.clock import VN


class Role(StrEnum):
    clerk = "clerk"  # commune clerk or cadre: records and handles its unit's matters
    officer = "officer"  # district or province office: watches its area, handles what is forwarded to it
    operator = "operator"  # runs the servers: admin subjects, identities
    auditor = "auditor"  # reads and replays, never writes
    service = "service"  # another system (a portal, a hotline) acting for a unit


@dataclass(frozen=True)
class Actor:
    """A person or system acting through a request: who, for which unit, in which roles."""

    id: str
    name: str = ""
    unit: str = ""
    dataset: str = ""
    roles: frozenset[str] = frozenset()
    #: the credential the request was proven with (its id), when one was
    credential: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class RequestContext:
    """One request: its ids, the verified actor, and when it arrived."""

    actor: Actor
    #: Makes a command idempotent: the same id sent again stores nothing new.
    command_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Shared by everything one request caused; the command id when the caller gives none.
    correlation_id: str = ""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not self.correlation_id:
            object.__setattr__(self, "correlation_id", self.command_id)

    @property
    def today(self) -> date:
        """The date in Vietnam when the request arrived."""
        return self.received_at.astimezone(VN).date()
