"""The reporting service's own settings (environment variables ``CAUNOI_<NAME>``; README table)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAUNOI_", frozen=True, env_ignore_empty=True, extra="ignore")

    #: the report schedules file; default the one shipped with the service (data/schedules.toml)
    reporting_schedules: Path | None = None
