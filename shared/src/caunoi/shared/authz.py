"""Who may do what, decided once for every service.

- **Roles** limit the kinds of request: clerks, officers and services send commands and queries;
  auditors only query (and replay the logs); only operators use the admin subjects. An endpoint
  may narrow its roles further.
- **Units** limit what a request reaches: an actor acts for one unit and may act on an aggregate
  that belongs to that unit or to one of its sub-units (its unit path passes through the actor's
  unit), or that was handed to it or to one of its sub-units (a forwarded petition). Reads are
  scoped the same way. National actors (operators, auditors issued without a unit) reach
  everything. A unit code only means something in its dataset, so the datasets must match, with
  one exception: what was recorded under a legacy (``vn-2024``) unit is reached, after the 2025
  reorganisation, through the 2025 units that succeeded it (:class:`caunoi.shared.units.Succession`).

Refusals are :class:`caunoi.shared.errors.Forbidden`; the request edge and the repository call
these functions, so a handler cannot forget them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Final

from caunoi.shared.context import Actor, Role
from caunoi.shared.errors import Forbidden
from caunoi.shared.units import DATASET_2025, DATASET_LEGACY, Succession, UnitTree

COMMAND_ROLES: Final = frozenset({Role.clerk, Role.officer, Role.service, Role.operator})
QUERY_ROLES: Final = COMMAND_ROLES | {Role.auditor}
ADMIN_ROLES: Final = frozenset({Role.operator})


def require_role(actor: Actor, allowed: Collection[str], what: str) -> None:
    if not actor.roles & set(allowed):
        raise Forbidden(
            f"Vai trò {', '.join(sorted(actor.roles)) or '-'} không được phép {what}",
            message_en=f"role {', '.join(sorted(actor.roles)) or '-'} may not use {what}",
            details={"roles": sorted(actor.roles), "allowed": sorted(allowed)},
        )


def is_national(actor: Actor) -> bool:
    return not actor.unit


def may_reach(
    actor: Actor, tree: UnitTree, dataset: str | None, unit_path: Sequence[str], handed_to: Sequence[str] = ()
) -> bool:
    """Whether ``actor`` reaches an aggregate placed at ``unit_path`` (top level first) in
    ``dataset`` and handed to the units ``handed_to``."""
    if is_national(actor):
        return True
    if dataset is not None and actor.dataset != dataset:
        return reaches_successor(actor, dataset, [*unit_path[-1:], *handed_to])
    if actor.unit in unit_path:
        return True
    return any(actor.unit in tree.path(u) for u in handed_to if u in tree)


def reaches_successor(actor: Actor, dataset: str, legacy_codes: Sequence[str]) -> bool:
    """Whether a 2025 actor reaches a unit of these legacy ones through their successors."""
    if (dataset, actor.dataset) != (DATASET_LEGACY, DATASET_2025):
        return False
    succession, tree = Succession.load(), UnitTree.load(DATASET_2025)
    return any(actor.unit in tree.path(s) for code in legacy_codes for s in succession.successors(code) if s in tree)


def require_reach(
    actor: Actor,
    tree: UnitTree,
    dataset: str | None,
    unit_path: Sequence[str],
    handed_to: Sequence[str] = (),
    *,
    what: str,
    field: str | None = None,
) -> None:
    if not may_reach(actor, tree, dataset, unit_path, handed_to):
        raise Forbidden(
            f"Đơn vị {actor.unit} không được phép thao tác với {what} (thuộc {'.'.join(unit_path)})",
            message_en=f"unit {actor.unit} may not act on {what} (it belongs to {'.'.join(unit_path)})",
            field=field,
            details={"actor_unit": actor.unit, "unit_path": list(unit_path), "handed_to": list(handed_to)},
        )


def acting_for(actor: Actor, unit_code: str) -> bool:
    """Whether ``actor`` acts for the unit's own body: its own people, or a national operator
    recording for it (what :func:`require_acting_for` requires; a client offers from it)."""
    return is_national(actor) or actor.unit == unit_code


def require_acting_for(actor: Actor, unit_code: str, *, what_vi: str, what_en: str, field: str | None = None) -> None:
    """What a unit's own body does (it files its report, its party committee votes) is done by that
    unit's people, or recorded by a national operator: reaching the aggregate from above is not
    enough. ``what_vi`` / ``what_en`` say what, for the refusal (``"lập báo cáo này"``)."""
    if acting_for(actor, unit_code):
        return
    raise Forbidden(
        f"Chỉ đơn vị {unit_code} được {what_vi} (bạn thuộc đơn vị {actor.unit})",
        message_en=f"only unit {unit_code} may {what_en} (you act for {actor.unit})",
        field=field,
        details={"actor_unit": actor.unit, "unit": unit_code},
    )


def query_area(actor: Actor, tree: UnitTree, unit: str | None, field: str = "unit") -> str | None:
    """The unit a query is restricted to: the one asked for if the actor reaches it, else the
    actor's own; None (everything) only for a national actor who asked for nothing."""
    if unit is None:
        return None if is_national(actor) else actor.unit
    if is_national(actor) or (unit in tree and actor.dataset == tree.dataset and actor.unit in tree.path(unit)):
        return unit
    raise Forbidden(
        f"Đơn vị {actor.unit} không được xem dữ liệu của đơn vị {unit}",
        message_en=f"unit {actor.unit} may not read unit {unit}",
        field=field,
    )
