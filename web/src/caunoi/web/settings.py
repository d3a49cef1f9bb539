"""The web application's own settings (``CAUNOI_WEB_*``); the rest (NATS, data directory, units
dataset, the NATS user) are the kernel's :class:`caunoi.shared.settings.Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from caunoi.cli.layout import Layout

#: where an installation keeps the Open311 API keys of other systems, under its data directory
OPEN311_KEYS = Path("web") / "open311-keys.json"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAUNOI_WEB_", frozen=True, env_ignore_empty=True)

    host: str = Field("127.0.0.1", description="address the web application listens on")
    port: int = Field(8080, ge=1, le=65535, description="its port")
    #: the key the session cookie is signed with; default ``<data dir>/keys/web-session.key``
    session_key_file: Path | None = None
    #: the Open311 API keys file; default ``<data dir>/web/open311-keys.json``
    open311_keys_file: Path | None = None
    #: send the session cookie over HTTPS only (set behind a TLS proxy)
    secure_cookies: bool = False
    #: a log-in lasts this long without activity (hours)
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    #: how long a page waits for a service (seconds)
    request_timeout: float = Field(10.0, gt=0)

    def session_key_path(self, data_dir: Path) -> Path:
        return self.session_key_file or Layout(data_dir).web_session_key

    def open311_keys_path(self, data_dir: Path) -> Path:
        return self.open311_keys_file or data_dir / OPEN311_KEYS
