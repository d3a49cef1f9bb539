"""Which event causes which notice, to whom: one table. A new trigger is a consumer-side model in
consumed.py, one line here, and a template file per language in templates/.

Each rule is pure: from the event and the *facts* the planner keeps about what it is about (a
petition's commune, hamlet and handling unit; a meeting's commune and host), it names the
recipients and what the template shows. Recipients are named, not addressed: how a recipient is
reached (e-mail, SMS, Zalo, letter) is looked up when the notice is sent, from the contacts kept
then.

Facts rows always hold the place of the notice: ``unit_code`` (the unit concerned now),
``unit_path``, ``dataset`` and ``handed_to`` (units it was forwarded to, which reach it too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from caunoi.notify import consumed as c
from caunoi.notify.events import NoticeKind, NoticeRecipient, RecipientKind
from caunoi.shared.events import ConsumedEvent
from caunoi.shared.ids import is_hamlet_id

Facts = Mapping[str, Any]
Pick = Callable[[Any, Facts], list[NoticeRecipient]]

#: facts that never go into a notice's context (and so never into an event): personal data
PERSONAL = frozenset(
    {
        "petitioner_name",
        "petitioner_phone",
        "petitioner_email",
        "petitioner_zalo",
        "petitioner_address",
        "petitioner_sealed",
    }
)


# --- recipients ---------------------------------------------------------------------------------


def petitioner(_: Any, facts: Facts) -> list[NoticeRecipient]:
    """The person who raised the petition (unless their data were erased)."""
    if facts.get("erased"):
        return []
    return [NoticeRecipient(kind=RecipientKind.petitioner, id=facts["petition_id"])]


def petition_hamlet(_: Any, facts: Facts) -> list[NoticeRecipient]:
    """The hamlet where the petition was raised (the one that held the meeting)."""
    hid = facts.get("hamlet_id")
    return [NoticeRecipient(kind=RecipientKind.hamlet, id=hid)] if hid else []


def listed(role: str, pick: Pick) -> Pick:
    """``pick``'s recipients if the event lists ``role`` among its ``recipients``."""

    def chosen(ev: Any, facts: Facts) -> list[NoticeRecipient]:
        return pick(ev, facts) if role in ev.recipients else []

    return chosen


def meeting_host(_: Any, facts: Facts) -> list[NoticeRecipient]:
    """The hamlet that hosts the meeting; the commune's office when the host is not a hamlet of
    the list (an agency's party cell) or not known."""
    host = facts.get("host_id")
    if host and is_hamlet_id(host):
        return [NoticeRecipient(kind=RecipientKind.hamlet, id=host)]
    return [NoticeRecipient(kind=RecipientKind.unit, id=facts["commune_code"])]


def unit_in(name: str) -> Pick:
    """The unit whose code is the event's field ``name``."""

    def pick(ev: Any, _: Facts) -> list[NoticeRecipient]:
        return [NoticeRecipient(kind=RecipientKind.unit, id=getattr(ev, name))]

    return pick


def commune_office(_: Any, facts: Facts) -> list[NoticeRecipient]:
    """The office of the commune the meeting (or petition) belongs to."""
    return [NoticeRecipient(kind=RecipientKind.unit, id=facts["commune_code"])]


def meeting_organisers(_: Any, facts: Facts) -> list[NoticeRecipient]:
    """The commune that organises the meeting, and the unit whose head holds it (programme 2)."""
    units = [facts["commune_code"], *([facts["plan_unit"]] if facts.get("plan_unit") else [])]
    return [NoticeRecipient(kind=RecipientKind.unit, id=u) for u in dict.fromkeys(units)]


# --- what the templates show besides the event's own fields ------------------------------------


def delay_dates(ev: c.DelayNoticeRequired, facts: Facts) -> dict[str, Any]:
    """The new date and why: the latest extension's, if it moved past the committed date."""
    latest = facts.get("latest_due")
    new = latest if latest and latest > ev.committed_date else None
    return {"new_date": new.isoformat() if new else None, "reason": facts.get("latest_reason") if new else None}


def nothing(_: Any, __: Facts) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Rule:
    event: type[ConsumedEvent]
    kind: NoticeKind
    recipients: Sequence[Pick]
    #: what the template gets besides the event's fields and the public facts
    extra: Callable[[Any, Facts], dict[str, Any]] = nothing
    #: the template (a file per language under templates/); the kind's name unless told
    template: str = ""
    #: only if this holds
    when: Callable[[Any, Facts], bool] = field(default=lambda _ev, _facts: True)

    @property
    def template_name(self) -> str:
        return self.template or self.kind.value

    def recipients_for(self, ev: Any, facts: Facts) -> list[NoticeRecipient]:
        if not self.when(ev, facts):
            return []
        found = [r for pick in self.recipients for r in pick(ev, facts)]
        return list(dict.fromkeys(found))

    def context_for(self, ev: Any, facts: Facts) -> dict[str, Any]:
        public = {k: _json(v) for k, v in facts.items() if k not in PERSONAL and k != "erased"}
        return {**public, **ev.model_dump(mode="json"), **self.extra(ev, facts)}


def _json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


# --- the table ----------------------------------------------------------------------------------

RULES: list[Rule] = [
    # petitions (the reply: today's contract; the rest: issue 8, provisional)
    Rule(
        c.ReplyIssued,
        NoticeKind.written_reply,
        [listed("petitioner", petitioner), listed("hamlet", petition_hamlet)],
    ),
    Rule(c.DelayNoticeRequired, NoticeKind.delay_notice, [petitioner], extra=delay_dates),
    Rule(c.DeadlineApproaching, NoticeKind.deadline_approaching, [unit_in("handling_unit")]),
    Rule(c.PetitionOverdue, NoticeKind.petition_overdue, [unit_in("handling_unit")]),
    # meetings (issue 9, provisional)
    Rule(c.MeetingAnnounced, NoticeKind.meeting_announced, [meeting_host]),
    Rule(c.MeetingMoved, NoticeKind.meeting_moved, [meeting_host]),
    Rule(c.MeetingPostponed, NoticeKind.meeting_moved, [meeting_host]),
    Rule(c.MeetingCancelled, NoticeKind.meeting_cancelled, [meeting_host]),
    Rule(
        c.MeetingDeadlineMissed,
        NoticeKind.opinions_reminder,
        [meeting_organisers],
        when=lambda ev, _: ev.deadline == "opinions",
    ),
    Rule(
        c.MeetingDeadlineMissed,
        NoticeKind.broadcast_reminder,
        [meeting_organisers],
        when=lambda ev, _: ev.deadline == "broadcast",
    ),
    Rule(c.MinutesOverdue, NoticeKind.minutes_reminder, [commune_office]),
    # reports (issue 10, provisional)
    Rule(c.ReportDue, NoticeKind.report_due, [unit_in("unit_code")]),
    Rule(c.ReportOverdue, NoticeKind.report_overdue, [unit_in("unit_code")]),
]


def rules_for(event_type: type[ConsumedEvent]) -> list[Rule]:
    return [r for r in RULES if r.event is event_type]
