"""Which statuses keep which deadline watched, and how an alert on a deadline is named: the
rules the decisions (:mod:`caunoi.petitions.domain`) and the read model's fold share. Apart from
the domain so that what folds events (a rebuild's workers) does not import the commands."""

from __future__ import annotations

from datetime import date

from caunoi.petitions.events import DeadlineKind, Status

#: a unit has it and has not yet classified, accepted or forwarded it
AWAITING_HANDLING = frozenset({Status.received, Status.forwarded, Status.returned})
#: taken on and not yet resolved
BEING_RESOLVED = frozenset({Status.accepted, Status.in_progress, Status.reopened})
#: before resolution: what may still be withdrawn, extended, watched
OPEN = AWAITING_HANDLING | BEING_RESOLVED | {Status.classified}
#: each deadline is watched while the petition is in one of these
PENDING: dict[DeadlineKind, frozenset[Status]] = {
    DeadlineKind.handle: AWAITING_HANDLING,
    DeadlineKind.resolve: BEING_RESOLVED,
    DeadlineKind.committed: frozenset({Status.in_progress}),
}


def alert_key(what: str, deadline: DeadlineKind, due_on: date) -> str:
    return f"{what}:{deadline.value}:{due_on.isoformat()}"
