"""The reporting service, wired: its endpoints, read models, duties and handlers' dependencies.

It owns report enrolments, reports and the "Dân vận khéo" models (stream ``REPORTING``, subjects
``caunoi.reporting.<aggregate id>.<unit path>``) and compiles their figures from the other
services' events only: it follows ``PETITIONS`` and ``SCHEDULING`` read-only. Run
``python -m caunoi.reporting``.
"""

from __future__ import annotations

from caunoi.reporting import schedules
from caunoi.reporting.deps import Deps
from caunoi.reporting.domain.enrolments import ENROLMENT
from caunoi.reporting.domain.models import MODEL, ModelPolicy
from caunoi.reporting.domain.periods import Schedules
from caunoi.reporting.domain.reports import REPORT
from caunoi.reporting.duties import DUTIES
from caunoi.reporting.events import registry
from caunoi.reporting.handlers import ENDPOINTS
from caunoi.reporting.model_readmodel import ModelsProjection
from caunoi.reporting.petitions_contract import PETITIONS_STREAM
from caunoi.reporting.petitions_contract import registry as petition_events
from caunoi.reporting.readmodel import (
    HAMLETS,
    EnrolmentsProjection,
    MeetingFactsProjection,
    PetitionFactsProjection,
    ReportsProjection,
)
from caunoi.reporting.scheduling_contract import registry as scheduling_events
from caunoi.reporting.settings import ReportingSettings
from caunoi.shared import hamlets
from caunoi.shared.aggregate import Repository
from caunoi.shared.eventstore import EventStore, StreamSpec
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletsProjection
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.service import ReadModel, Resources, Service
from caunoi.shared.units import UnitTree

STREAM = StreamSpec(
    name="REPORTING",
    service="reporting",
    description='caunoi reporting: report enrolments, reports due, drafted and filed, "Dân vận khéo" models'
    " (events, CloudEvents 1.0 JSON)",
)


def wire(
    store: EventStore,
    units: UnitTree,
    pool: Pool = NO_DATABASE,
    plan: Schedules | None = None,
    settings: ReportingSettings | None = None,
) -> Deps:
    """The handlers' dependencies on an event store and a read-model database."""
    s = settings or ReportingSettings()
    return Deps(
        reports=Repository(store, registry, REPORT, units),
        enrolments=Repository(store, registry, ENROLMENT, units),
        models=Repository(store, registry, MODEL, units),
        units=units,
        schedules=plan or schedules.load(),
        pool=pool,
        model_policy=ModelPolicy(s.models_met_tolerance, s.models_quorum),
        stale_months=s.models_stale_months,
    )


def make_deps(r: Resources) -> Deps:
    return wire(r.store, r.units, r.pool)


def read_models() -> list[ReadModel]:
    return [
        ReadModel(ReportsProjection()),
        ReadModel(EnrolmentsProjection()),
        ReadModel(ModelsProjection()),
        # the facts reports are compiled from: the other services' events (never their tables)
        ReadModel(PetitionFactsProjection(), stream=PETITIONS_STREAM, registry=petition_events),
        ReadModel(MeetingFactsProjection(), stream=SCHEDULING_STREAM, registry=scheduling_events),
        ReadModel(HamletsProjection(HAMLETS), stream=SCHEDULING_STREAM, registry=hamlets.registry),
    ]


def build() -> Service[Deps]:
    return Service(STREAM, registry, ENDPOINTS, make_deps, read_models=read_models(), duties=DUTIES)


def main() -> None:
    build().main()
