"""A service's value as clerks read it, in either language (the CLI, the web pages, the printouts)."""

from __future__ import annotations

from enum import StrEnum

from caunoi.shared.labels import label


class Status(StrEnum):
    in_progress = "in_progress"
    closed = "closed"


VI = {Status.in_progress: "Đang giải quyết", Status.closed: "Đã đóng"}
EN = {Status.closed: "Closed"}


def test_a_value_reads_in_the_clerks_language() -> None:
    assert label("in_progress", VI, EN, "vi") == "Đang giải quyết"  # a StrEnum key matches its value
    assert label(Status.closed, VI, EN, "en") == "Closed"
    assert label("in_progress", VI, EN, "en") == "in progress"  # no English label: the value, readable
    assert label("in_progress", VI, None, "en") == "in progress"
    assert label("unknown", VI, EN, "vi") == "unknown"
    assert label(None, VI, EN, "vi") == label("", VI, EN, "en") == ""
