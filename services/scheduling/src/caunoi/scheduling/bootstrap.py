"""The scheduling service, wired: its endpoints, read models, duties and handlers' dependencies.

It owns the commune's hamlet list, programme 1's pilots and rotation, the dialogue meetings of
programmes 1 and 2, and programme 3's cadre assignments. Run ``python -m caunoi.scheduling``.
Events go to stream ``SCHEDULING`` on ``caunoi.scheduling.<aggregate id>.<province>[.<district>].<commune>``;
it also follows ``PETITIONS`` (read only) to count the opinions raised at each meeting.
"""

from __future__ import annotations

from caunoi.scheduling.domain.cadres import ASSIGNMENT
from caunoi.scheduling.domain.hamlets import HAMLET
from caunoi.scheduling.domain.meetings import MEETING
from caunoi.scheduling.domain.pilots import LOCALITIES, SITES
from caunoi.scheduling.duties import DUTIES
from caunoi.scheduling.events import registry
from caunoi.scheduling.handlers import ENDPOINTS, Deps
from caunoi.scheduling.petitions_contract import PETITIONS_STREAM
from caunoi.scheduling.petitions_contract import registry as petition_events
from caunoi.scheduling.readmodel import (
    HAMLETS,
    AssignmentsProjection,
    MeetingOpinionsProjection,
    MeetingsProjection,
    PilotsProjection,
)
from caunoi.scheduling.settings import SchedulingSettings
from caunoi.shared.aggregate import Repository
from caunoi.shared.eventstore import EventStore
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletDirectory, HamletsProjection, PgHamletDirectory
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.service import ReadModel, Resources, Service
from caunoi.shared.units import UnitTree


def wire(
    store: EventStore,
    units: UnitTree,
    pool: Pool = NO_DATABASE,
    directory: HamletDirectory | None = None,
    settings: SchedulingSettings | None = None,
) -> Deps:
    """The handlers' dependencies on an event store and a read-model database."""
    return Deps(
        hamlets=Repository(store, registry, HAMLET, units),
        localities=Repository(store, registry, LOCALITIES, units),
        sites=Repository(store, registry, SITES, units),
        meetings=Repository(store, registry, MEETING, units),
        assignments=Repository(store, registry, ASSIGNMENT, units),
        units=units,
        directory=directory or PgHamletDirectory(pool, HAMLETS),
        pool=pool,
        settings=settings or SchedulingSettings(),
    )


def make_deps(r: Resources) -> Deps:
    return wire(r.store, r.units, r.pool)


def read_models() -> list[ReadModel]:
    return [
        ReadModel(HamletsProjection(HAMLETS)),
        ReadModel(PilotsProjection()),
        ReadModel(MeetingsProjection()),
        ReadModel(AssignmentsProjection()),
        # the opinions raised at each meeting, from the petitions service's events (never its tables)
        ReadModel(MeetingOpinionsProjection(), stream=PETITIONS_STREAM, registry=petition_events),
    ]


def build() -> Service[Deps]:
    return Service(SCHEDULING_STREAM, registry, ENDPOINTS, make_deps, read_models=read_models(), duties=DUTIES)


def main() -> None:
    build().main()
