"""The scheduling service, wired: its endpoints, read model and handlers' dependencies.

This release: the commune's hamlet list (thôn, tổ dân phố...), whose events this service owns; the
dialogue meetings that rotate through the hamlets come next. Run ``python -m caunoi.scheduling``.
Events go to stream ``SCHEDULING`` on ``caunoi.scheduling.<hamlet id>.<province>[.<district>].<commune>``.
"""

from __future__ import annotations

from caunoi.scheduling.domain import HAMLET
from caunoi.scheduling.handlers import ENDPOINTS, HAMLETS, Deps
from caunoi.shared.aggregate import Repository
from caunoi.shared.hamlets import SCHEDULING_STREAM, HamletsProjection, PgHamletDirectory, registry
from caunoi.shared.service import ReadModel, Resources, Service


def make_deps(r: Resources) -> Deps:
    return Deps(
        hamlets=Repository(r.store, registry, HAMLET, r.units),
        units=r.units,
        directory=PgHamletDirectory(r.pool, HAMLETS),
        pool=r.pool,
    )


def build() -> Service[Deps]:
    return Service(
        SCHEDULING_STREAM,
        registry,
        ENDPOINTS,
        make_deps,
        read_models=[ReadModel(HamletsProjection(HAMLETS))],
    )


def main() -> None:
    build().main()
