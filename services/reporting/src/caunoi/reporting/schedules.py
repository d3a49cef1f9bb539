"""The report schedules file (TOML): the shipped ``data/schedules.toml``, or the file
``CAUNOI_REPORTING_SCHEDULES`` names. Read and checked here; the period arithmetic is in
:mod:`caunoi.reporting.domain.periods`."""

from __future__ import annotations

import functools
import tomllib
from datetime import time
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from caunoi.reporting.domain.periods import Schedule, Schedules
from caunoi.reporting.settings import ReportingSettings
from caunoi.shared.units import DATASETS, LEVEL_COMMUNE, LEVEL_DISTRICT, LEVEL_PROVINCE

DEFAULT_FILE = "schedules.toml"
LEVELS = (LEVEL_COMMUNE, LEVEL_DISTRICT, LEVEL_PROVINCE)


class ScheduleError(ValueError):
    """The schedules file is missing or wrong; the message names the file and the field."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)
    source: str = ""
    every: Literal["week", "month"]
    levels: list[Literal["commune", "district", "province"]] = Field(min_length=1)
    datasets: list[str] = Field(min_length=1)
    compile_time: time
    due_time: time
    weekday: int = Field(4, ge=1, le=7)
    months: list[int] = Field(default_factory=list)
    length: int = Field(1, ge=1, le=12)
    from_year_start: bool = False
    cutoff_day: int = Field(14, ge=0, le=28)
    due_day: int = Field(15, ge=1, le=31)
    due_month_offset: int = Field(0, ge=0, le=2)

    @model_validator(mode="after")
    def _check(self) -> _Entry:
        if self.every == "month" and (not self.months or any(not 1 <= m <= 12 for m in self.months)):
            raise ValueError(f"{self.id}: a monthly schedule lists the months (1-12) its periods end in")
        if unknown := set(self.datasets) - set(DATASETS):
            raise ValueError(f"{self.id}: unknown datasets {sorted(unknown)}; known: {list(DATASETS)}")
        if self.due_time < self.compile_time:
            raise ValueError(f"{self.id}: due_time comes before compile_time")
        return self

    def schedule(self) -> Schedule:
        return Schedule(
            id=self.id,
            vi=self.vi,
            en=self.en,
            source=self.source,
            every=self.every,
            levels=tuple(self.levels),
            datasets=tuple(self.datasets),
            compile_time=self.compile_time,
            due_time=self.due_time,
            weekday=self.weekday,
            months=tuple(sorted(set(self.months))),
            length=self.length,
            from_year_start=self.from_year_start,
            cutoff_day=self.cutoff_day or None,
            due_day=self.due_day,
            due_month_offset=self.due_month_offset,
        )


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=100)
    schedule: list[_Entry] = Field(min_length=1)


def parse(text: str, source: str) -> Schedules:
    try:
        data = _File.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as e:
        raise ScheduleError(f"report schedules {source}: {e}") from e
    ids = [e.id for e in data.schedule]
    if len(set(ids)) != len(ids):
        raise ScheduleError(f"report schedules {source}: a schedule id appears twice: {ids}")
    return Schedules(data.version, tuple(e.schedule() for e in data.schedule))


def load(path: Path | None = None) -> Schedules:
    """The schedules in ``path``, or in the file ``CAUNOI_REPORTING_SCHEDULES`` names, or the shipped ones."""
    path = path or ReportingSettings().reporting_schedules
    if path is None:
        return shipped()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScheduleError(f"report schedules {path} (CAUNOI_REPORTING_SCHEDULES): {e}") from e
    return parse(text, str(path))


@functools.cache
def shipped() -> Schedules:
    return parse(files("caunoi.reporting").joinpath("data", DEFAULT_FILE).read_text(encoding="utf-8"), DEFAULT_FILE)
