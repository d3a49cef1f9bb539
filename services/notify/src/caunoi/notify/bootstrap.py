"""The notify service, wired: its read models (its own notices and contacts; its copy of the
hamlet list; the planners that follow the petitions, scheduling and reporting streams), the courier that
sends, and the handlers' dependencies.

Run ``python -m caunoi.notify``. Events go to stream ``NOTIFY`` on
``caunoi.notify.<notice or contact id>.<unit path>``.
"""

from __future__ import annotations

from datetime import timedelta

from caunoi.notify import consumed
from caunoi.notify.compose import HAMLETS, Recipients
from caunoi.notify.courier import Courier
from caunoi.notify.domain import CONTACT, NOTICE
from caunoi.notify.events import registry
from caunoi.notify.handlers import ENDPOINTS, Deps, Followed
from caunoi.notify.planner import MeetingFacts, PetitionFacts, Planner, ReportFacts
from caunoi.notify.readmodel import ContactsProjection, NoticesProjection
from caunoi.notify.settings import NotifySettings
from caunoi.notify.templates import Templates
from caunoi.shared import hamlets
from caunoi.shared.aggregate import Repository
from caunoi.shared.eventstore import StreamSpec
from caunoi.shared.hamlets import HamletsProjection, PgHamletDirectory
from caunoi.shared.jetstream import JetStreamEventStore
from caunoi.shared.service import ReadModel, Resources, Service

STREAM = StreamSpec(
    name="NOTIFY",
    service="notify",
    description="caunoi notify: notices queued, sent, failed; contacts (events, CloudEvents 1.0 JSON)",
)
#: what the planners follow, and the registry each reads it with
FOLLOWED = {
    consumed.PETITIONS_STREAM.name: (consumed.PETITIONS_STREAM, consumed.petitions),
    consumed.SCHEDULING_STREAM.name: (consumed.SCHEDULING_STREAM, consumed.scheduling),
    consumed.REPORTING_STREAM.name: (consumed.REPORTING_STREAM, consumed.reporting),
}


def make_deps(r: Resources) -> Deps:
    s = NotifySettings()
    return Deps(
        notices=Repository(r.store, registry, NOTICE, r.units),
        contacts=Repository(r.store, registry, CONTACT, r.units),
        units=r.units,
        hamlets=PgHamletDirectory(r.pool, HAMLETS),
        templates=Templates(s.templates_dir),
        recipients=Recipients(r.pool, r.vault),
        followed={
            name: Followed(JetStreamEventStore(r.nc, spec, timeout=r.settings.store_timeout), reg)
            for name, (spec, reg) in FOLLOWED.items()
        },
        letters=s.letters(r.settings.data_dir),
        pool=r.pool,
    )


def courier(deps: Deps, r: Resources) -> Courier:
    return Courier(
        deps.notices,
        r.pool,
        r.settings.database_for(STREAM.service),
        deps.templates,
        deps.recipients,
        NotifySettings(),
        deps.letters,
        nc=r.nc,
    )


def build() -> Service[Deps]:
    s = NotifySettings()
    max_age = timedelta(days=s.max_age_days) if s.max_age_days else None
    return Service(
        STREAM,
        registry,
        ENDPOINTS,
        make_deps,
        read_models=[
            ReadModel(NoticesProjection()),
            ReadModel(ContactsProjection()),
            # notify's own copy of the hamlet list (names of hamlets it writes to)
            ReadModel(HamletsProjection(HAMLETS), stream=consumed.SCHEDULING_STREAM, registry=hamlets.registry),
            # what causes notices
            ReadModel(
                Planner("from_petitions", consumed.PETITIONS_STREAM, PetitionFacts(), max_age),
                stream=consumed.PETITIONS_STREAM,
                registry=consumed.petitions,
            ),
            ReadModel(
                Planner("from_scheduling", consumed.SCHEDULING_STREAM, MeetingFacts(), max_age),
                stream=consumed.SCHEDULING_STREAM,
                registry=consumed.scheduling,
            ),
            ReadModel(
                Planner("from_reporting", consumed.REPORTING_STREAM, ReportFacts(), max_age),
                stream=consumed.REPORTING_STREAM,
                registry=consumed.reporting,
            ),
        ],
        workers=[courier],
        # it opens the petitioners' contacts when it sends (caunoi.shared.vault)
        vault=True,
    )


def main() -> None:
    build().main()
