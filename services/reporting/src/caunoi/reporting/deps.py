"""What the reporting service's handlers and duties are given (``bootstrap.make_deps`` builds it),
and the checks every handler makes on the unit a request names."""

from __future__ import annotations

from dataclasses import dataclass

from caunoi.reporting.domain.enrolments import Enrolment
from caunoi.reporting.domain.models import Model, ModelPolicy
from caunoi.reporting.domain.periods import Schedules
from caunoi.reporting.domain.reports import Report
from caunoi.shared.aggregate import Repository
from caunoi.shared.authz import query_area, require_reach
from caunoi.shared.context import RequestContext
from caunoi.shared.errors import ValidationFailed
from caunoi.shared.projection import Pool
from caunoi.shared.readmodel import NO_DATABASE
from caunoi.shared.units import Unit, UnitTree, require_unit


@dataclass(frozen=True)
class Deps:
    reports: Repository[Report]
    enrolments: Repository[Enrolment]
    models: Repository[Model]
    units: UnitTree
    schedules: Schedules
    #: the "Dân vận khéo" models' local settings (tolerance for "met", quorum)
    model_policy: ModelPolicy
    #: a model with no step for this many months is "not updated"
    stale_months: int
    #: the read models' database: queries, compilations, what the duties look for
    pool: Pool = NO_DATABASE


def reach(ctx: RequestContext, deps: Deps, code: str, field: str) -> Unit:
    """The unit ``code``, if the actor reaches it (before deciding; the repository checks again)."""
    unit = require_unit(deps.units, code, field=field)
    require_reach(ctx.actor, deps.units, deps.units.dataset, deps.units.path(code), what=code, field=field)
    return unit


def area_unit(ctx: RequestContext, deps: Deps, code: str | None) -> Unit:
    """The unit a query is about: the one asked for, if the actor reaches it, else the actor's own."""
    if code:
        require_unit(deps.units, code, field="unit")
    unit = query_area(ctx.actor, deps.units, code)
    if unit is None:
        raise ValidationFailed("Cần chọn đơn vị (--unit)", message_en="name a unit", field="unit")
    return deps.units.get(unit)
