"""A programme's rule, quoted when a command breaks it: each service writes its rules once (the
scheduling service's ``domain/rules.py``, the reporting service's ``domain/model_rules.py``) as
:class:`Rule` values, and refuses with :class:`RuleViolated` (code ``rule_violated``), whose
message says why and quotes the rule in Vietnamese (English in ``message_en``), with its source.
Nothing is appended when a command is refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caunoi.shared.errors import CommandError


@dataclass(frozen=True)
class Rule:
    """The rule's words (Vietnamese, as the source has them, and English) and where it comes from
    (a seed, a law, or caunoi's own decision, said so)."""

    vi: str
    en: str
    source: str


class RuleViolated(CommandError):
    """A command that breaks one of the programmes' rules; the message quotes it."""

    code = "rule_violated"

    def __init__(
        self, rule: Rule, why_vi: str, why_en: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(
            f"{why_vi}. Quy định: «{rule.vi}» ({rule.source})",
            message_en=f"{why_en}. Rule: {rule.en!r} ({rule.source})",
            field=field,
            details={"rule": rule.vi, "rule_en": rule.en, "source": rule.source, **(details or {})},
        )
