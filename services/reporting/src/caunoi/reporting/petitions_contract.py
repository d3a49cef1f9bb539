"""The petitions service's events as the reporting service reads them: a tolerant reader of the
published contract (docs/events/petitions/*.json), without importing the petitions package.

Only what a report's figures need is declared: a petition's origin (commune, unit path, dataset,
hamlet, meeting), its channel, kind and field, the dated steps of its life (answered on the spot,
classified, forwarded and to whom, returned, accepted, committed, extended, replied, the
petitioner's verdict, withdrawn, merged), the deadlines those steps carry, and what time recorded
(``PetitionOverdue``, ``DelayNoticeRequired``). Fields not declared are ignored (the producer may
add fields); types not declared are skipped (it may add types); a newer version of a declared
type halts the read model until this reader learns it. tests/reporting/test_contracts.py keeps
these versions equal to the producer's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec

#: the producer's stream, followed read-only (the petitions service provisions it)
PETITIONS_STREAM = StreamSpec(
    name="PETITIONS",
    service="petitions",
    description="caunoi petitions: opinions, petitions and their handling (events, CloudEvents 1.0 JSON)",
)
NS = "vn.caunoi.petitions"

registry = EventRegistry()


class _Tolerant(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Deadline(BaseModel):
    """A deadline an event starts or moves: which one (handle, resolve, committed) and its date."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    kind: str
    due_on: dt.date


@registry.register
class PetitionRaised(_Tolerant):
    NAME = f"{NS}.PetitionRaised"
    VERSION = 2
    petition_id: str
    channel: str
    kind: str
    category: str
    commune_code: str
    hamlet_id: str | None = None
    hamlet_name: str | None = None
    received_on: dt.date
    unit_path: list[str]
    dataset: str
    meeting_id: str | None = None
    deadline: Deadline | None = None


@registry.register
class PetitionClassified(_Tolerant):
    NAME = f"{NS}.PetitionClassified"
    petition_id: str
    category: str
    eligible: bool
    classified_on: dt.date


@registry.register
class PetitionAnsweredOnSpot(_Tolerant):
    NAME = f"{NS}.PetitionAnsweredOnSpot"
    petition_id: str
    answered_on: dt.date


@registry.register
class PetitionForwarded(_Tolerant):
    NAME = f"{NS}.PetitionForwarded"
    VERSION = 2
    petition_id: str
    to_unit: str
    to_agency: str | None = None
    forwarded_on: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionReturned(_Tolerant):
    NAME = f"{NS}.PetitionReturned"
    petition_id: str
    returned_on: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionAccepted(_Tolerant):
    NAME = f"{NS}.PetitionAccepted"
    petition_id: str
    accepted_on: dt.date
    deadline: Deadline | None = None


@registry.register
class CommitmentSet(_Tolerant):
    NAME = f"{NS}.CommitmentSet"
    VERSION = 2
    petition_id: str
    committed_date: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionExtended(_Tolerant):
    NAME = f"{NS}.PetitionExtended"
    petition_id: str
    extended_on: dt.date
    deadline: Deadline


@registry.register
class ReplyIssued(_Tolerant):
    NAME = f"{NS}.ReplyIssued"
    VERSION = 2
    petition_id: str
    issued_on: dt.date


@registry.register
class VerdictGiven(_Tolerant):
    NAME = f"{NS}.VerdictGiven"
    petition_id: str
    verdict: str
    given_on: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionWithdrawn(_Tolerant):
    NAME = f"{NS}.PetitionWithdrawn"
    petition_id: str
    withdrawn_on: dt.date


@registry.register
class PetitionMerged(_Tolerant):
    NAME = f"{NS}.PetitionMerged"
    petition_id: str
    merged_on: dt.date


@registry.register
class PetitionOverdue(_Tolerant):
    NAME = f"{NS}.PetitionOverdue"
    petition_id: str
    deadline: str
    due_on: dt.date
    noticed_on: dt.date


@registry.register
class DelayNoticeRequired(_Tolerant):
    """Today the delay notice owed to the petitioner is counted when petitions records it; when the
    notify service publishes what it sent, the figure counts that instead (docs/architecture.md)."""

    NAME = f"{NS}.DelayNoticeRequired"
    petition_id: str
    noticed_on: dt.date


def _same(data: dict[str, Any]) -> dict[str, Any]:
    return data  # v2 added fields this reader does not need (or reads as optional)


for _name in (PetitionRaised.NAME, PetitionForwarded.NAME, CommitmentSet.NAME, ReplyIssued.NAME):
    registry.upcaster(_name, 1)(_same)
