"""The petitions service, wired: its endpoints, read models and handlers' dependencies.

Run ``python -m caunoi.petitions``. Subjects are listed in docs/architecture.md and in the
generated docs/asyncapi.json.
"""

from __future__ import annotations

from caunoi.petitions import policy
from caunoi.petitions.domain import PETITION
from caunoi.petitions.duties import DUTIES
from caunoi.petitions.events import registry
from caunoi.petitions.handlers import ENDPOINTS, Deps
from caunoi.petitions.readmodel import PetitionsProjection
from caunoi.shared import hamlets
from caunoi.shared.aggregate import Repository
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletsProjection, PgHamletDirectory
from caunoi.shared.service import ReadModel, Resources, Service

STREAM = StreamSpec(
    name="PETITIONS",
    service="petitions",
    description="caunoi petitions: opinions, petitions and their handling (events, CloudEvents 1.0 JSON)",
)
#: the schema of this service's copy of the hamlet list
HAMLETS = "hamlets"


def make_deps(r: Resources) -> Deps:
    assert r.vault is not None, "the petitions service seals personal data: it needs the key store"
    return Deps(
        petitions=Repository(r.store, registry, PETITION, r.units, r.snapshots),
        units=r.units,
        hamlets=PgHamletDirectory(r.pool, HAMLETS),
        pool=r.pool,
        policy=policy.load(),
        vault=r.vault,
    )


def build() -> Service[Deps]:
    return Service(
        STREAM,
        registry,
        ENDPOINTS,
        make_deps,
        read_models=[
            ReadModel(PetitionsProjection()),
            # this service's own copy of the hamlet list, from the scheduling service's events
            ReadModel(HamletsProjection(HAMLETS), stream=SCHEDULING_STREAM, registry=hamlets.registry),
        ],
        duties=DUTIES,
        # it seals and opens the petitioners' personal data (caunoi.shared.vault)
        vault=True,
    )


def main() -> None:
    build().main()
