"""The petitions service's events as this service reads them: a tolerant reader of the published
contract (docs/events/petitions/*.json), without importing the petitions package (a separate
distribution this one does not depend on).

Only what a meeting's record needs is declared: which petitions were raised at a meeting
(``PetitionRaised.meeting_id``), and which of them were answered on the spot or forwarded (events
on the same aggregate subject). These are :class:`~caunoi.shared.events.ConsumedEvent` models:
fields not declared are ignored and newer versions are read as long as the declared fields are
still there; event types not declared are skipped by the projection runner.
tests/kernel/test_consumed_contracts.py checks every declared field against the producer.
"""

from __future__ import annotations

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


@registry.register
class PetitionRaised(ConsumedEvent):
    NAME = f"{NS}.PetitionRaised"
    petition_id: str
    commune_code: str | None = None
    meeting_id: str | None = None


@registry.register
class PetitionAnsweredOnSpot(ConsumedEvent):
    NAME = f"{NS}.PetitionAnsweredOnSpot"
    petition_id: str


@registry.register
class PetitionForwarded(ConsumedEvent):
    NAME = f"{NS}.PetitionForwarded"
    petition_id: str
