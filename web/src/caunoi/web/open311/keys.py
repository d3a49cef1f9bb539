"""Open311 API keys: one per client system, each standing for a kernel identity of role
``service`` issued for that system (``caunoi web open311-key issue``). The file keeps the
credential and a hash of the key (never the key itself), readable only by its owner; the web
application reads it again when it changes."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

from caunoi.shared.identity import write_private

FORMAT: Final = "caunoi-open311-keys/1"
PREFIX: Final = "o311"


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    #: sha256 of the key
    hash: str
    name: str
    unit: str
    credential_id: str
    #: the credential the requests made with this key carry
    token: str
    issued: str
    expires: str


def new_key() -> tuple[str, str]:
    """(key id, API key): the id is public (listing, revoking), the key is shown once."""
    key_id = secrets.token_hex(4)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(24)}"


@dataclass
class KeyStore:
    path: Path
    _keys: dict[str, ApiKey] = field(default_factory=dict)
    _mtime: float | None = None

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._keys, self._mtime = {}, None
            return
        if mtime == self._mtime:
            return
        data = json.loads(self.path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not an Open311 keys file ({FORMAT})")
        self._keys = {k["hash"]: ApiKey(**k) for k in data.get("keys", [])}
        self._mtime = mtime

    def find(self, api_key: str) -> ApiKey | None:
        """The key's record, or None (compared by hash, in constant time per record)."""
        self._load()
        wanted = digest(api_key)
        found = None
        for h, record in self._keys.items():
            if hmac.compare_digest(h, wanted):
                found = record
        return found

    def all(self) -> list[ApiKey]:
        self._load()
        return sorted(self._keys.values(), key=lambda k: k.issued)

    def add(self, record: ApiKey) -> None:
        self._load()
        self._keys[record.hash] = record
        self._save()

    def remove(self, key_id: str) -> ApiKey | None:
        self._load()
        found = next((k for k in self._keys.values() if k.key_id == key_id), None)
        if found is not None:
            del self._keys[found.hash]
            self._save()
        return found

    def _save(self) -> None:
        data = {"format": FORMAT, "keys": [asdict(k) for k in self._keys.values()]}
        write_private(self.path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())
        self._mtime = None
