"""The deadline policy as data: per kind of petition, the limit, its unit (calendar or working
days), the event it counts from, the complex and remote-area variants, and the extensions
allowed. The defaults ship as ``data/policy.toml``; an operator points ``CAUNOI_PETITIONS_POLICY``
at another file. The domain computes deadlines with it (:meth:`Policy.deadline`) and records the
policy's version in every deadline it sets.
"""

from __future__ import annotations

import functools
import tomllib
from datetime import date
from enum import StrEnum
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from caunoi.petitions.events import Complexity, Deadline, DeadlineKind, Kind
from caunoi.shared.workdays import DayUnit, WorkingCalendar, calendar_vn

DEFAULT_POLICY = "policy.toml"


class StartEvent(StrEnum):
    received = "received"  # the handling unit received it (raised, forwarded to it, returned to it)
    accepted = "accepted"  # thụ lý
    committed = "committed"  # the date the resolver committed to (no statutory figure)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Rule(_Strict):
    """One deadline of one kind."""

    limit: int | None = Field(default=None, ge=0, le=3650)
    complex: int | None = Field(default=None, ge=0, le=3650)
    remote: int | None = Field(default=None, ge=0, le=3650)
    remote_complex: int | None = Field(default=None, ge=0, le=3650)
    unit: DayUnit = DayUnit.calendar
    start: StartEvent = Field(alias="from")

    def days(self, complexity: Complexity, remote: bool) -> int | None:
        hard = complexity is not Complexity.normal
        if remote and hard and self.remote_complex is not None:
            return self.remote_complex
        if remote and self.remote is not None:
            return self.remote
        if hard and self.complex is not None:
            return self.complex
        return self.limit


class KindPolicy(_Strict):
    handle: Rule | None = None
    resolve: Rule
    #: days one extension adds; 0: the extension names its new date
    extension: int = Field(default=0, ge=0, le=3650)
    extensions: dict[Complexity, int] = Field(default_factory=dict)

    def extensions_allowed(self, complexity: Complexity) -> int:
        return self.extensions.get(complexity, 0)


class Policy(_Strict):
    version: str = Field(min_length=1, max_length=80)
    warn_before: int = Field(default=3, ge=0, le=365)
    kinds: dict[Kind, KindPolicy]

    def for_kind(self, kind: Kind) -> KindPolicy:
        return self.kinds[kind]

    def deadline(
        self,
        kind: Kind,
        which: DeadlineKind,
        start: date,
        *,
        complexity: Complexity = Complexity.normal,
        remote: bool = False,
        calendar: WorkingCalendar | None = None,
    ) -> Deadline | None:
        """The ``which`` deadline of a ``kind`` petition counted from ``start``, or None if the
        policy sets none (a committed date is a person's, see :meth:`committed`)."""
        kp = self.for_kind(kind)
        rule = kp.handle if which is DeadlineKind.handle else kp.resolve
        if rule is None or rule.start is StartEvent.committed:
            return None
        days = rule.days(complexity, remote)
        if days is None:
            return None
        cal = calendar or calendar_vn()
        due = cal.add(start, days, rule.unit)
        return Deadline(
            kind=which,
            due_on=due,
            warn_on=self.warn_on(due, start, rule.unit, cal),
            policy_version=self.version,
            limit=days,
            unit=rule.unit.value,
            counted_from=start,
            start_event=rule.start.value,
        )

    def committed(
        self, kind: Kind, committed_date: date, set_on: date, calendar: WorkingCalendar | None = None
    ) -> Deadline:
        """A date the resolver committed to, with the policy's warning before it."""
        unit = self.for_kind(kind).resolve.unit
        return Deadline(
            kind=DeadlineKind.committed,
            due_on=committed_date,
            warn_on=self.warn_on(committed_date, set_on, unit, calendar or calendar_vn()),
            policy_version=self.version,
            unit=unit.value,
            counted_from=set_on,
            start_event=StartEvent.committed.value,
        )

    def extended(self, previous: Deadline, new_due: date, calendar: WorkingCalendar | None = None) -> Deadline:
        """``previous`` moved to ``new_due``."""
        cal = calendar or calendar_vn()
        unit = DayUnit(previous.unit or DayUnit.calendar)
        start = previous.counted_from or previous.due_on
        return previous.model_copy(
            update={
                "due_on": new_due,
                "warn_on": self.warn_on(new_due, start, unit, cal),
                "policy_version": self.version,
                "limit": None
                if previous.limit is None
                else previous.limit + cal.between(previous.due_on, new_due, unit),
            }
        )

    def warn_on(self, due: date, start: date, unit: DayUnit, cal: WorkingCalendar) -> date | None:
        if self.warn_before == 0:
            return None
        warn = cal.subtract(due, self.warn_before, unit)
        return warn if warn > start else None


class PolicySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAUNOI_PETITIONS_", frozen=True, env_ignore_empty=True)

    #: the deadline policy file; default: the one shipped with the package
    policy: Path | None = None


class PolicyError(ValueError):
    """The policy file is missing or wrong; the message names the file and the field."""


def parse(text: str, source: str) -> Policy:
    try:
        data = tomllib.loads(text)
        policy = Policy.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError) as e:
        raise PolicyError(f"deadline policy {source}: {e}") from e
    missing = [k.value for k in Kind if k not in policy.kinds]
    if missing:
        raise PolicyError(f"deadline policy {source}: no rules for {', '.join(missing)}")
    return policy


def load(path: Path | None = None) -> Policy:
    """The policy in ``path``, or the one ``CAUNOI_PETITIONS_POLICY`` names, or the shipped one."""
    path = path or PolicySettings().policy
    if path is None:
        return default_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"deadline policy {path} (CAUNOI_PETITIONS_POLICY): {e}") from e
    return parse(text, str(path))


@functools.cache
def default_policy() -> Policy:
    return parse(shipped_text(), DEFAULT_POLICY)


def shipped_text() -> str:
    return files("caunoi.petitions").joinpath("data", DEFAULT_POLICY).read_text(encoding="utf-8")
