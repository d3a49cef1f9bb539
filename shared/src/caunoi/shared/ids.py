"""Every id and code caunoi accepts, defined once: the patterns, and ``Annotated`` string types that
command bodies, queries, the CLI and the generated JSON Schemas all use.

- ``UnitCode``: an official GSO code of any level (province 2 digits, district 3, commune 5).
- ``CommuneCode``: a commune's 5-digit code.
- ``HamletId``: a hamlet's local id, ``<commune code>-<slug of its first name>``.
- ``PetitionId``: a petition's reference, ``PA-`` and 8 Crockford base-32 characters.
- ``MeetingId``: a dialogue meeting's reference, ``HN-`` (hội nghị) and 8 such characters.
- ``AssignmentId``: a cadre's assignment to follow an area, ``PC-`` (phân công) and 8 such characters.
- ``NoticeId``: a notice's id, ``NT-`` and 16 Crockford base-32 characters (a hash of the event
  that caused it and its recipient).
- ``RecipientRef``: who a notice is for, ``petitioner:<petition id>``, ``hamlet:<hamlet id>`` or
  ``unit:<unit code>``.
- ``ReportId``: a report, ``BC-`` (báo cáo), the unit's code, the schedule and the period
  (``BC-00691-monthly-2026-05``): one report per unit, schedule and period.
- ``ModelId``: a "Dân vận khéo" model (mô hình), ``MH-`` and 8 Crockford base-32 characters.
- ``AggregateId``: anything that may name an aggregate, i.e. one NATS subject token.

Codes always travel with their dataset (``vn-2024`` or ``vn-2025``, see :mod:`caunoi.shared.units`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Final

from pydantic import StringConstraints

UNIT_CODE_PATTERN: Final = r"^\d{2}(?:\d|\d{3})?$"
COMMUNE_CODE_PATTERN: Final = r"^\d{5}$"
HAMLET_ID_PATTERN: Final = r"^(?P<commune>\d{5})-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)$"
HAMLET_ID_MAX: Final = 120
#: Crockford base 32: digits and letters without I, L, O, U (nothing to misread when read aloud).
REFERENCE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PETITION_PREFIX: Final = "PA-"
PETITION_ID_PATTERN: Final = rf"^{PETITION_PREFIX}[{REFERENCE_ALPHABET}]{{8}}$"
MEETING_PREFIX: Final = "HN-"
MEETING_ID_PATTERN: Final = rf"^{MEETING_PREFIX}[{REFERENCE_ALPHABET}]{{8}}$"
ASSIGNMENT_PREFIX: Final = "PC-"
ASSIGNMENT_ID_PATTERN: Final = rf"^{ASSIGNMENT_PREFIX}[{REFERENCE_ALPHABET}]{{8}}$"
NOTICE_PREFIX: Final = "NT-"
NOTICE_ID_PATTERN: Final = rf"^{NOTICE_PREFIX}[{REFERENCE_ALPHABET}]{{16}}$"
_HAMLET_ANY: Final = r"\d{5}-[a-z0-9]+(?:-[a-z0-9]+)*"
RECIPIENT_PATTERN: Final = (
    rf"^(?:petitioner:{PETITION_ID_PATTERN[1:-1]}|hamlet:{_HAMLET_ANY}|unit:{UNIT_CODE_PATTERN[1:-1]})$"
)
REPORT_PREFIX: Final = "BC-"
REPORT_ID_PATTERN: Final = (
    r"^BC-(?P<unit>\d{2}(?:\d|\d{3})?)-(?P<schedule>[a-z][a-z0-9_]{0,39})-(?P<period>[A-Z0-9-]{1,40})$"
)
MODEL_PREFIX: Final = "MH-"
MODEL_ID_PATTERN: Final = rf"^{MODEL_PREFIX}[{REFERENCE_ALPHABET}]{{8}}$"
#: One NATS subject token: no dots, wildcards or whitespace.
AGGREGATE_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,200}$"

UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=UNIT_CODE_PATTERN)]
CommuneCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=COMMUNE_CODE_PATTERN)]
HamletId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=HAMLET_ID_MAX, pattern=HAMLET_ID_PATTERN)]
PetitionId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=PETITION_ID_PATTERN)]
MeetingId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=MEETING_ID_PATTERN)]
AssignmentId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=ASSIGNMENT_ID_PATTERN)]
ReportId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=REPORT_ID_PATTERN)]
ModelId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=MODEL_ID_PATTERN)]
AggregateId = Annotated[str, StringConstraints(pattern=AGGREGATE_ID_PATTERN)]
NoticeId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=NOTICE_ID_PATTERN)]
RecipientRef = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=RECIPIENT_PATTERN)]

_UNIT = re.compile(UNIT_CODE_PATTERN)
_COMMUNE = re.compile(COMMUNE_CODE_PATTERN)
_HAMLET = re.compile(HAMLET_ID_PATTERN)
_PETITION = re.compile(PETITION_ID_PATTERN)
_AGGREGATE = re.compile(AGGREGATE_ID_PATTERN)
_MEETING = re.compile(MEETING_ID_PATTERN)
_NOTICE = re.compile(NOTICE_ID_PATTERN)


def is_unit_code(value: str) -> bool:
    return _UNIT.fullmatch(value) is not None


def is_commune_code(value: str) -> bool:
    return _COMMUNE.fullmatch(value) is not None


def is_hamlet_id(value: str) -> bool:
    return _HAMLET.fullmatch(value) is not None


def is_petition_id(value: str) -> bool:
    return _PETITION.fullmatch(value) is not None


def is_meeting_id(value: str) -> bool:
    return _MEETING.fullmatch(value) is not None


def short_reference(prefix: str, seed: str, attempt: int = 0) -> str:
    """A short reference people can quote (``HN-7KQ2M9XD``): ``prefix`` and 8 Crockford base-32
    characters (40 bits) derived from ``seed`` (a command id, or what makes the thing unique), so
    a retry lands on the same aggregate. ``attempt`` > 0 gives the alternatives to use when another
    aggregate already has the reference."""
    text = seed if attempt == 0 else f"{seed}#{attempt}"
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:5], "big")
    return prefix + "".join(REFERENCE_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(8)))


def is_notice_id(value: str) -> bool:
    return _NOTICE.fullmatch(value) is not None


def report_id(unit_code: str, schedule: str, period: str) -> str:
    """The one report of a unit for a schedule's period."""
    return f"{REPORT_PREFIX}{unit_code}-{schedule}-{period}"


def is_aggregate_id(value: str) -> bool:
    return _AGGREGATE.fullmatch(value) is not None


def parse_hamlet_id(value: str) -> tuple[str, str]:
    """Split a hamlet id into ``(commune_code, slug)``; ValueError if malformed."""
    match = _HAMLET.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a hamlet id (<commune code>-<slug>, e.g. 00097-thon-1)")
    return match["commune"], match["slug"]


def commune_of(hamlet_id: str) -> str:
    """The commune code a hamlet id belongs to."""
    return parse_hamlet_id(hamlet_id)[0]
