"""The CLI helpers every service's ``caunoi`` commands share."""

from __future__ import annotations

from datetime import date, timedelta

import click
import pytest

from caunoi.scheduling import cli as scheduling_cli
from caunoi.shared import clitools


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> date:
    fixed = date(2026, 11, 29)
    monkeypatch.setattr(clitools, "today_vn", lambda: fixed)
    return fixed


def test_a_day_option_is_a_date_or_days_from_today_either_way(today: date) -> None:
    assert clitools.day(None) is None
    assert clitools.day("2026-05-01") == "2026-05-01"
    assert clitools.day("+0") == today.isoformat()
    assert clitools.day("+7") == (today + timedelta(days=7)).isoformat()
    assert clitools.day("-3") == (today - timedelta(days=3)).isoformat()
    for bad in ("+", "-x", "+1.5"):
        with pytest.raises(click.BadParameter):
            clitools.day(bad)


def test_scheduling_reads_dates_with_the_kernels_parser(today: date) -> None:
    # a clerk records a meeting held three days ago: `--held-on -3`
    # the name scheduling's commands use (an implicit re-export of clitools.day: what this test is about)
    assert scheduling_cli.day("-3") == "2026-11-26"  # type: ignore[attr-defined]


def test_a_record_prints_as_aligned_fields_without_the_empty_ones(capsys: pytest.CaptureFixture[str]) -> None:
    clitools.echo_fields({"id": "HN-1", "status": "held", "venue": "", "missed": [], "chair": None},
                         ("id", "status", "venue", "missed", "chair"))  # fmt: skip
    assert capsys.readouterr().out == "  id     HN-1\n  status held\n"


def test_a_confirmation_says_when_the_command_was_done_before() -> None:
    assert clitools.replayed({"replayed": True}) == clitools.REPLAYED
    assert clitools.replayed({"replayed": False}) == clitools.replayed({}) == ""
