"""The scheduling service's own settings (environment variables ``CAUNOI_<NAME>``; README table)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SchedulingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAUNOI_", frozen=True, env_ignore_empty=True, extra="ignore")

    #: days after a meeting by which its minutes must be closed; then a reminder event
    #: (``MinutesOverdue``) is recorded. No rule in the seeds fixes it: a default, to be set locally.
    minutes_close_days: int = Field(7, ge=1, le=365)
    #: a meeting is recorded as held at most this many days after the day it took place (a clerk
    #: records it a day or a week later; a local default, not a rule of the seeds)
    meeting_record_days: int = Field(31, ge=1, le=366)
    #: from this day of a month on, the service proposes each pilot commune's meeting of the next
    #: month (``MeetingProposed``), if none is planned yet
    rotation_propose_day: int = Field(20, ge=1, le=28)
