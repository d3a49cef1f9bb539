"""What a client offers on a "Dân vận khéo" model: the commands its state allows the person asking
(the ``model`` query's ``actions``). Pure.

The stages each command is accepted in are :data:`.models.ACTS`, which the decisions check; the ladder
adds its own conditions, checked here by the decisions' own functions (the next rung and what a vote
needs: :func:`.recognition.require_votable`; a vote awaiting its notice; a recognition before step 6,
and a year left to commend it for); and who acts for which committee: the vote and the notice are the
recognising unit's (:func:`caunoi.shared.authz.acting_for`), a commendation or replication plan a unit's
on the model's path. So an offered command is refused only for its input (or a change made since).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from caunoi.reporting.domain.models import ACTS, Model, at_step
from caunoi.reporting.domain.recognition import first_notice, next_tier, require_votable
from caunoi.shared.errors import CommandError


@dataclass(frozen=True)
class ActFacts:
    """What the ``model`` query knows of the person asking."""

    today: date
    #: whether they send commands at all (an auditor only reads)
    commands: bool
    #: whether they act for a unit's own body, its party committee (``authz.acting_for``)
    acts_for: Callable[[str], bool]
    #: the unit whose committee recognises at the next rung (None: at the top, or not in this
    #: installation's unit list)
    next_by: str | None


def committee_units(state: Model, facts: ActFacts) -> list[str]:
    """The units on the model's path (its own and those above, top first) the person commends or plans
    for: a unit's own people for their unit, a national operator for any."""
    return [u for u in state.reg.unit_path if facts.acts_for(u)]


def commendable_years(state: Model, by_unit: str, today: date) -> list[int]:
    """The years ``by_unit`` may still commend the model for (:func:`.recognition.decide_commend`): from
    the year of its first recognition to this one, less those it was commended for by that unit."""
    first = first_notice(state)
    if first is None:
        return []
    done = {c.year for c in state.commendations if c.by_unit == by_unit}
    return [y for y in range(first.issued_on.year, today.year + 1) if y not in done]


def _votable(state: Model, facts: ActFacts) -> bool:
    tier = next_tier(state)
    if tier is None or facts.next_by is None or not facts.acts_for(facts.next_by):
        return False
    try:
        require_votable(state, tier)
    except CommandError:
        return False
    return True


def available_actions(state: Model, facts: ActFacts) -> list[str]:
    """The commands this model's state allows the person asking, by request name, in the steps' order."""
    if not state.exists or not facts.commands:
        return []
    out = []
    for name in ACTS:
        if not at_step(state, name):
            continue
        match name:
            case "model_report":
                allowed = next_tier(state) is not None
            case "model_vote":
                allowed = _votable(state, facts)
            case "model_notice":
                allowed = any(t not in state.notices and facts.acts_for(v.by_unit) for t, v in state.votes.items())
            case "model_commend":
                allowed = any(commendable_years(state, u, facts.today) for u in committee_units(state, facts))
            case "model_replicate":
                allowed = first_notice(state) is not None and bool(committee_units(state, facts))
            case _:
                allowed = True
        if allowed:
            out.append(name)
    return out
