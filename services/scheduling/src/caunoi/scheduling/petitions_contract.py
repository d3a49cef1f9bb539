"""The petitions service's events as this service reads them: a tolerant reader of the published
contract (docs/events/petitions/*.json), without importing the petitions package (a separate
distribution this one does not depend on).

Only what a meeting's record needs is declared: which petitions were raised at a meeting
(``PetitionRaised.meeting_id``), and which of them were answered on the spot or forwarded (events
on the same aggregate subject). Fields not declared here are ignored, so the producer may add
fields; event types not declared here are skipped by the projection runner, so it may add types.
A *newer version* of a declared type halts the projection until this reader learns it (the
kernel's rule: a reader must not guess what a new version means).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

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


@registry.register
class PetitionRaised(_Tolerant):
    NAME = f"{NS}.PetitionRaised"
    VERSION = 2  # v2 added the deadline the petition is judged by; what is read here did not change
    petition_id: str
    commune_code: str | None = None
    meeting_id: str | None = None


@registry.register
class PetitionAnsweredOnSpot(_Tolerant):
    NAME = f"{NS}.PetitionAnsweredOnSpot"
    petition_id: str


@registry.register
class PetitionForwarded(_Tolerant):
    NAME = f"{NS}.PetitionForwarded"
    VERSION = 2  # v2 added the deadline and sideways forwarding; what is read here did not change
    petition_id: str


def _same(data: dict[str, Any]) -> dict[str, Any]:
    return data


for _name in (PetitionRaised.NAME, PetitionForwarded.NAME):
    registry.upcaster(_name, 1)(_same)
