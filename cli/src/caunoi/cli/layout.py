"""Where an installation keeps its files, under its data directory: the layout alone, for what
only has to find them (the web application, which thus does not load what makes them:
:mod:`caunoi.cli.installation` and the embedded servers' launcher).

Under the data directory (files holding secrets are readable only by their owner)::

    keys/identity.pem          the Ed25519 key credentials are signed with (operators only)
    keys/identity.pub          its public half, which services verify credentials with
    keys/nats/<user>.nk        nkey seeds: operator, one per service, clients, subscribers
    keys/web-session.key       the key the web application signs its session cookies with
    keys/audit/<service>.pem   the key each service signs its stream's checkpoints with (.pub: published)
    keys/vault.key             the master key of the personal-data key store (petitions, notify only)
    nats/conf/                 nats-server.conf, permissions.conf (copies of deploy/nats/) and
                               auth.conf, users.json (this installation's users)
    credentials/operator.json  the local operator's login (credential + NATS user)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

OPERATOR_LOGIN: Final = "operator.json"


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @property
    def keys(self) -> Path:
        return self.data_dir / "keys"

    @property
    def signing_key(self) -> Path:
        return self.keys / "identity.pem"

    @property
    def public_key(self) -> Path:
        return self.keys / "identity.pub"

    @property
    def web_session_key(self) -> Path:
        return self.keys / "web-session.key"

    @property
    def vault_key(self) -> Path:
        return self.keys / "vault.key"

    @property
    def nats_keys(self) -> Path:
        return self.keys / "nats"

    @property
    def conf_dir(self) -> Path:
        return self.data_dir / "nats" / "conf"

    @property
    def nats_config(self) -> Path:
        return self.conf_dir / "nats-server.conf"

    @property
    def operator_login(self) -> Path:
        return self.data_dir / "credentials" / OPERATOR_LOGIN
