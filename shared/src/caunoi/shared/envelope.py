"""CloudEvents 1.0 envelope (structured JSON mode) for every event caunoi stores or publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"
#: NATS header carrying the event's ``type`` beside the structured body, so a projection can skip
#: types it does not know without parsing the body. Deliberately not ``ce-type``: a ``ce-``
#: header makes CloudEvents SDKs take the message for binary mode.
TYPE_HEADER = "Caunoi-Type"
#: What events stored before that change carry instead; still read.
LEGACY_TYPE_HEADER = "ce-type"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event. Extension attributes are lower-case, as the spec requires.

    Extensions used by caunoi:
    ``unitcode`` - the administrative unit the event concerns (official code, or hamlet id);
    ``datasetversion`` - the administrative-unit dataset the code belongs to;
    ``correlationid`` - the id shared by everything that one request caused;
    ``causationid`` - the id of the command or event that directly caused this one;
    ``actor`` - the verified identity that sent the command (a credential's subject);
    ``actorunit`` - the unit that identity acted for (official code, in ``datasetversion``);
    ``chainprev``, ``chainhash`` - the hash chain of the event's aggregate
    (:mod:`caunoi.shared.audit.chain`; absent from events stored before it existed).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: str = SPEC_VERSION
    id: str
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]
    unitcode: str | None = None
    datasetversion: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    actor: str | None = None
    actorunit: str | None = None
    chainprev: str | None = None
    chainhash: str | None = None

    def to_json_bytes(self) -> bytes:
        """Compact UTF-8 JSON, optional attributes without a value left out (pydantic's own
        serializer: no intermediate dict)."""
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)
