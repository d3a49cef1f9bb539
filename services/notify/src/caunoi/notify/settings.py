"""The notify service's own settings (``CAUNOI_NOTIFY_*``; the README's table lists them). A
channel without its settings is not used: no SMTP host, no e-mail; no webhook URL, no SMS or Zalo.
The letter channel (PDF files to print) is always there."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from caunoi.notify.events import DeliveryChannel


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAUNOI_NOTIFY_", frozen=True, env_ignore_empty=True)

    #: the mail server (e-mail is off without it)
    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    #: ``starttls``: upgrade the connection; ``tls``: implicit TLS (port 465); ``none``
    smtp_security: str = Field("none", pattern="^(none|starttls|tls)$")
    smtp_from: str = "caunoi <no-reply@caunoi.invalid>"
    smtp_timeout: float = Field(30.0, gt=0)
    #: the SMS and Zalo gateway (an HTTP endpoint that takes a JSON POST); off without it
    webhook_url: str = ""
    webhook_token: SecretStr = SecretStr("")
    webhook_timeout: float = Field(15.0, gt=0)
    #: which channels the webhook carries
    webhook_channels: str = "sms,zalo"
    #: where letters to print are written (default ``<data dir>/notify/letters``)
    letters_dir: Path | None = None
    #: a folder of templates that replace the shipped ones, file by file (``<lang>/<name>.j2``)
    templates_dir: Path | None = None
    #: attempts per channel outage before a notice is marked failed (a channel that refuses the
    #: address for good is left at once for the next one)
    max_attempts: int = Field(8, ge=1, le=1000)
    #: pause after the first failed attempt (seconds), doubled after each, at most ``backoff_max``
    backoff: float = Field(30.0, gt=0)
    backoff_max: float = Field(3600.0, gt=0)
    #: notices sent at once
    concurrency: int = Field(8, ge=1, le=256)
    #: look for notices due at least this often (seconds); new ones wake the sender at once
    poll: float = Field(1.0, gt=0)
    #: events older than this when notify first reads them cause no notice (days): a service
    #: installed on an existing log does not send years-old replies again
    max_age_days: int = Field(30, ge=0)

    @field_validator("webhook_channels")
    @classmethod
    def _channels(cls, v: str) -> str:
        for name in v.split(","):
            if name.strip() and DeliveryChannel(name.strip()) not in (DeliveryChannel.sms, DeliveryChannel.zalo):
                raise ValueError("the webhook carries sms and/or zalo")
        return v

    def available(self) -> frozenset[DeliveryChannel]:
        """The channels this installation can send on."""
        out = {DeliveryChannel.letter}
        if self.smtp_host:
            out.add(DeliveryChannel.email)
        if self.webhook_url:
            out.update(DeliveryChannel(n.strip()) for n in self.webhook_channels.split(",") if n.strip())
        return frozenset(out)

    def letters(self, data_dir: Path) -> Path:
        return self.letters_dir or data_dir / "notify" / "letters"

    @property
    def mail_domain(self) -> str:
        """The domain of Message-IDs: the sender address's."""
        addr = self.smtp_from.rsplit("<", 1)[-1].rstrip(">")
        return addr.rpartition("@")[2] or "caunoi.invalid"
