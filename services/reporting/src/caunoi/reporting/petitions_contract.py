"""The petitions service's events as the reporting service reads them: a tolerant reader of the
published contract (docs/events/petitions/*.json), without importing the petitions package.

Only what a report's figures need is declared: a petition's origin (commune, unit path, dataset,
hamlet, meeting), its channel, kind and field, the dated steps of its life (answered on the spot,
classified, forwarded and to whom, returned, accepted, committed, extended, replied, the
petitioner's verdict, withdrawn, merged), the deadlines those steps carry, and what time recorded
(``PetitionOverdue``, ``DelayNoticeRequired``). These are
:class:`~caunoi.shared.events.ConsumedEvent` models: fields not declared are ignored, newer
versions are read as long as the declared fields are there, types not declared are skipped;
tests/kernel/test_consumed_contracts.py checks every declared field against the producer.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from caunoi.shared.events import ConsumedEvent, EventRegistry
from caunoi.shared.eventstore import StreamSpec

#: the producer's stream, followed read-only (the petitions service provisions it)
PETITIONS_STREAM = StreamSpec(
    name="PETITIONS",
    service="petitions",
    description="caunoi petitions: opinions, petitions and their handling (events, CloudEvents 1.0 JSON)",
)
NS = "vn.caunoi.petitions"

registry = EventRegistry()


class Deadline(BaseModel):
    """A deadline an event starts or moves: which one (handle, resolve, committed) and its date."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    kind: str
    due_on: dt.date


@registry.register
class PetitionRaised(ConsumedEvent):
    NAME = f"{NS}.PetitionRaised"
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
class PetitionClassified(ConsumedEvent):
    NAME = f"{NS}.PetitionClassified"
    petition_id: str
    category: str
    eligible: bool
    classified_on: dt.date


@registry.register
class PetitionAnsweredOnSpot(ConsumedEvent):
    NAME = f"{NS}.PetitionAnsweredOnSpot"
    petition_id: str
    answered_on: dt.date


@registry.register
class PetitionForwarded(ConsumedEvent):
    NAME = f"{NS}.PetitionForwarded"
    petition_id: str
    to_unit: str
    to_agency: str | None = None
    forwarded_on: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionReturned(ConsumedEvent):
    NAME = f"{NS}.PetitionReturned"
    petition_id: str
    returned_on: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionAccepted(ConsumedEvent):
    NAME = f"{NS}.PetitionAccepted"
    petition_id: str
    accepted_on: dt.date
    deadline: Deadline | None = None


@registry.register
class CommitmentSet(ConsumedEvent):
    NAME = f"{NS}.CommitmentSet"
    petition_id: str
    committed_date: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionExtended(ConsumedEvent):
    NAME = f"{NS}.PetitionExtended"
    petition_id: str
    extended_on: dt.date
    deadline: Deadline


@registry.register
class ReplyIssued(ConsumedEvent):
    NAME = f"{NS}.ReplyIssued"
    petition_id: str
    issued_on: dt.date


@registry.register
class VerdictGiven(ConsumedEvent):
    NAME = f"{NS}.VerdictGiven"
    petition_id: str
    verdict: str
    given_on: dt.date
    deadline: Deadline | None = None


@registry.register
class PetitionWithdrawn(ConsumedEvent):
    NAME = f"{NS}.PetitionWithdrawn"
    petition_id: str
    withdrawn_on: dt.date


@registry.register
class PetitionMerged(ConsumedEvent):
    NAME = f"{NS}.PetitionMerged"
    petition_id: str
    merged_on: dt.date


@registry.register
class PetitionOverdue(ConsumedEvent):
    NAME = f"{NS}.PetitionOverdue"
    petition_id: str
    deadline: str
    due_on: dt.date
    noticed_on: dt.date


@registry.register
class DelayNoticeRequired(ConsumedEvent):
    """Today the delay notice owed to the petitioner is counted when petitions records it; when the
    notify service publishes what it sent, the figure counts that instead (docs/architecture.md)."""

    NAME = f"{NS}.DelayNoticeRequired"
    petition_id: str
    noticed_on: dt.date
