"""Personal data as events carry it, sealed: the shape alone (no cryptography), so what only
reads events (a read model's fold, a rebuild's workers) need not import the vault that seals and
opens them (:mod:`caunoi.shared.vault`)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

ALGORITHM: Final = "A256GCM"


class Sealed(BaseModel):
    """Personal data as events carry it: encrypted under the key ``key_id`` (AES-256-GCM; the
    associated data binds it to its key and to what it belongs to, e.g. a petition)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str
    alg: Literal["A256GCM"] = ALGORITHM
    #: base64
    nonce: str
    #: base64, with the 16-byte tag
    ciphertext: str
