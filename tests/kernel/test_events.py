"""Event registry and envelope: pure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import ConsumedEvent, DomainEvent, EventRegistry, UnknownEventType, split_type


def test_old_versions_are_upcast_to_the_current_model() -> None:
    reg = EventRegistry()

    @reg.register
    class Thing(DomainEvent):
        NAME = "t.Thing"
        VERSION = 3
        title: str
        tags: list[str]

    @reg.upcaster("t.Thing", 1)
    def v1_to_v2(d: dict[str, Any]) -> dict[str, Any]:
        return {"title": d.pop("name")}

    @reg.upcaster("t.Thing", 2)
    def v2_to_v3(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "tags": []}

    assert reg.decode("t.Thing.v1", {"name": "x"}) == Thing(title="x", tags=[])
    assert reg.decode("t.Thing.v3", {"title": "y", "tags": ["a"]}) == Thing(title="y", tags=["a"])
    with pytest.raises(UnknownEventType):
        reg.decode("t.Thing.v4", {})
    with pytest.raises(UnknownEventType):
        reg.decode("t.Other.v1", {})
    assert Thing.type_name() == "t.Thing.v3"
    assert split_type("a.b.C.v12") == ("a.b.C", 12)


def test_envelope_is_cloudevents_structured_json() -> None:
    ev = CloudEvent(
        id="1",
        source="/s",
        type="t.T.v1",
        subject="x",
        data={"a": "Thôn"},
        unitcode="00691",
        correlationid="c",
        causationid="k",
    )
    body = json.loads(ev.to_json_bytes())
    assert body["specversion"] == "1.0" and body["datacontenttype"] == "application/json"
    assert body["data"] == {"a": "Thôn"} and "dataschema" not in body
    assert body["time"].endswith("Z") or "+00:00" in body["time"]
    assert CloudEvent.from_json_bytes(ev.to_json_bytes()) == ev


def test_a_consumer_s_model_reads_what_it_needs_from_any_version_on() -> None:
    """A tolerant reader of another service's event: unknown fields ignored, newer versions read
    while the fields it declares are there, a newer version without them refused."""
    reg = EventRegistry()

    @reg.register
    class Replied(ConsumedEvent):
        NAME = "p.Replied"
        petition_id: str

    assert reg.decode("p.Replied.v1", {"petition_id": "A", "summary": "x"}) == Replied(petition_id="A")
    assert reg.decode("p.Replied.v3", {"petition_id": "B", "case_id": None}) == Replied(petition_id="B")
    with pytest.raises(ValidationError):
        reg.decode("p.Replied.v4", {"reference": "C"})
