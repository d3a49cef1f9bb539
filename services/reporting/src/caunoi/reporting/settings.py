"""The reporting service's own settings (environment variables ``CAUNOI_<NAME>``; README table)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAUNOI_", frozen=True, env_ignore_empty=True, extra="ignore")

    #: the report schedules file; default the one shipped with the service (data/schedules.toml)
    reporting_schedules: Path | None = None
    #: "Dân vận khéo" models: a result within this percentage of its target counts as met (0: exact)
    models_met_tolerance: Decimal = Field(Decimal(0), ge=0, le=50)
    #: the share of a party committee's members that must be present for its vote to count
    models_quorum: Fraction = Fraction(2, 3)
    #: a model with no event for this many months is listed as not updated (``--stale``)
    models_stale_months: int = Field(3, ge=1, le=120)

    @field_validator("models_quorum", mode="before")
    @classmethod
    def _fraction(cls, value: object) -> Fraction:
        try:
            q = Fraction(str(value))
        except (ValueError, ZeroDivisionError) as e:
            raise ValueError(f"a fraction such as 2/3 or 0.5, not {value!r}") from e
        if not 0 < q <= 1:
            raise ValueError("a share between 0 (excluded) and 1")
        return q
