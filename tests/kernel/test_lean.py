"""Lean events (caunoi.shared.lean) against pydantic, the decoder they stand in for: over every
event model of every service, generated events decode to the same values, a refused one is
refused alike, and ``to_json`` writes the same text. Then the petitions read model folds lean
events to the rows pydantic events make."""

from __future__ import annotations

import contextlib
import enum
import json
import types
from datetime import UTC, date, datetime
from typing import Any, Literal, Union, cast, get_args, get_origin

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from caunoi.notify import consumed
from caunoi.notify.events import registry as notify_events
from caunoi.petitions.events import PetitionRaised
from caunoi.petitions.events import registry as petition_events
from caunoi.reporting import petitions_contract as reporting_petitions
from caunoi.reporting import scheduling_contract as reporting_scheduling
from caunoi.reporting.events import registry as reporting_events
from caunoi.scheduling import petitions_contract as scheduling_petitions
from caunoi.scheduling.events import registry as scheduling_events
from caunoi.shared import hamlets, identity
from caunoi.shared.audit import checkpoints
from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent, EventRegistry
from caunoi.shared.lean import lean_envelope, model_of, to_json
from caunoi.shared.projection import Decoder, NotAnEvent
from caunoi.shared.streamread import RawMessage

REGISTRIES: dict[str, EventRegistry] = {
    "petitions": petition_events,
    "scheduling": scheduling_events,
    "reporting": reporting_events,
    "notify": notify_events,
    "notify<-petitions": consumed.petitions,
    "notify<-scheduling": consumed.scheduling,
    "notify<-reporting": consumed.reporting,
    "reporting<-petitions": reporting_petitions.registry,
    "reporting<-scheduling": reporting_scheduling.registry,
    "scheduling<-petitions": scheduling_petitions.registry,
    "hamlets": hamlets.registry,
    "checkpoints": checkpoints.registry,
    "identity": identity.registry,
}
MODELS = sorted(
    {(name, cls) for name, reg in REGISTRIES.items() for cls in reg},
    key=lambda p: (p[0], p[1].type_name()),
)
SERVICE, PREFIX = "svc", "caunoi.svc"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def values(annotation: Any) -> st.SearchStrategy[Any]:
    """JSON values of a field's type (what the model writes, and near misses of it)."""
    if annotation is str:
        return st.text(max_size=12)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(-(2**40), 2**40)
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-1000, 1000)
    if annotation is date:
        return st.dates().map(date.isoformat)
    if annotation is datetime:
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))
    if annotation is Any:
        return json_values
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from([m.value for m in annotation])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return bodies(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return st.one_of([values(a) if a is not type(None) else st.none() for a in args])
    if origin is list:
        return st.lists(values(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=5), values(args[1]), max_size=3)
    if origin is Literal:
        return st.sampled_from(args)
    return json_values


def bodies(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A model's JSON: required fields always, the others sometimes."""
    required = {n: values(f.annotation) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: values(f.annotation) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional)


#: what a stored message's JSON may have suffered (or a foreign writer did): each is refused by
#: one decoder exactly when by the other, and decoded alike otherwise
def _drop(d: dict[str, Any], key: str) -> None:
    d.pop(key, None)


def _set(d: dict[str, Any], key: str, value: Any) -> None:
    if key in d:
        d[key] = value


MUTATIONS: list[Any] = [
    lambda d, k: None,
    _drop,
    lambda d, k: d.__setitem__("unexpected_field", 1),
    lambda d, k: _set(d, k, None),
    lambda d, k: _set(d, k, str(d[k]) if d.get(k) is not None else "x"),
    lambda d, k: _set(d, k, 1),
    lambda d, k: _set(d, k, 1.0),
    lambda d, k: _set(d, k, "true"),
    lambda d, k: _set(d, k, "2026-11-30T00:00:00"),
    lambda d, k: _set(d, k, "2026-11-30 04:15:26.1234567+07:00"),
    lambda d, k: _set(d, k, "2026-11-30T04:15:26.9999995Z"),
    lambda d, k: _set(d, k, "2026-11-30T23:59:60Z"),
    lambda d, k: _set(d, k, "2026-11-30T04:15:26,5-00:00"),
    lambda d, k: _set(d, k, "2026-02-30"),
    lambda d, k: _set(d, k, [d[k]] if k in d else []),
    lambda d, k: _set(d, k, {"x": d.get(k)}),
]


def message(model: type[DomainEvent], data: dict[str, Any], envelope_change: Any = None) -> RawMessage:
    env: dict[str, Any] = {
        "specversion": "1.0",
        "id": "0b4a2f39-5c1b-4d1e-9a55-6f3c2a7e8d10",
        "source": f"/caunoi/{SERVICE}",
        "type": model.type_name(),
        "subject": "AGG-1",
        "time": "2026-11-30T04:15:26.103837Z",
        "datacontenttype": "application/json",
        "data": data,
        "correlationid": "c-1",
        "actor": "clerk.08",
    }
    if envelope_change is not None:
        envelope_change(env)
    body = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode()  # (ints past 64 bits too)
    return RawMessage(7, f"{PREFIX}.AGG-1.08", 0, model.type_name(), b"", body)


def plain(x: Any) -> Any:
    """A decoded value with its type, lean or pydantic alike: models and structs as their model's
    name and fields."""
    if isinstance(x, BaseModel | msgspec.Struct):
        model = cast(type[BaseModel], model_of(x))
        extra = x.__pydantic_extra__ if isinstance(x, BaseModel) else None
        name = "envelope" if issubclass(model, CloudEvent) else model.__name__  # (typed or not)
        return (name, {n: plain(getattr(x, n)) for n in model.model_fields}, extra or None)
    if isinstance(x, list):
        return [plain(v) for v in x]
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, datetime):
        return (datetime, x, x.utcoffset())
    return (type(x), x)


def outcome(decoder: Decoder, msg: RawMessage) -> Any:
    try:
        rec = decoder.decode(msg)
    except (ValidationError, NotAnEvent) as e:
        return ("refused", type(e).__name__)
    assert rec is not None
    return plain(rec.envelope), plain(rec.event)


@pytest.mark.parametrize(("registry", "model"), MODELS, ids=lambda p: p if isinstance(p, str) else p.__name__)
def test_a_lean_decoder_gives_what_pydantic_gives_or_refuses_alike(registry: str, model: type[DomainEvent]) -> None:
    reg = REGISTRIES[registry]
    lean, pydantic = Decoder(reg, SERVICE, PREFIX, lean=True), Decoder(reg, SERVICE, PREFIX)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=bodies(model), mutate=st.sampled_from(MUTATIONS), field=st.sampled_from([*model.model_fields, "x"]))
    def check(data: dict[str, Any], mutate: Any, field: str) -> None:
        mutate(data, field)
        msg = message(model, data)
        assert outcome(lean, msg) == outcome(pydantic, msg)

    check()


def test_the_event_models_are_mirrored() -> None:
    """The fast path is taken where it matters (a model that stops being mirrored would only be
    slower, so this names them)."""
    mirrored = {cls.__name__ for _, cls in MODELS if lean_envelope(cls, CloudEvent) is not None}
    assert {"PetitionRaised", "PetitionForwarded", "CommitmentSet", "ReplyIssued", "PetitionClassified"} <= mirrored
    assert len(mirrored) >= len(MODELS) // 2


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.__setitem__("ownattribute", "x"),  # an extension attribute: pydantic keeps it
        lambda e: e.__setitem__("source", "/caunoi/other"),  # not this stream's: junk
        lambda e: e.__setitem__("subject", "AGG-2"),  # not the stored subject: junk
        lambda e: e.__setitem__("time", 1764476126),  # pydantic reads a number as a time
        lambda e: e.__setitem__("time", "2026-11-30T04:15:26.1234567Z"),  # rounded or cut
    ],
)
def test_an_envelope_the_mirror_refuses_is_decoded_by_pydantic(change: Any) -> None:
    data = {"hamlet_id": "00691-thon-1", "commune_code": "00691", "name": "Thôn 1", "kind": "thon",
            "unit_path": ["08", "00691"], "dataset": "vn-2025"}  # fmt: skip
    msg = message(hamlets.HamletAdded, data, change)
    lean, pydantic = Decoder(hamlets.registry, SERVICE, PREFIX, lean=True), Decoder(hamlets.registry, SERVICE, PREFIX)
    assert outcome(lean, msg) == outcome(pydantic, msg)
    with contextlib.suppress(NotAnEvent):
        rec = lean.decode(msg)
        assert rec is not None and isinstance(rec.envelope, CloudEvent)


def test_an_envelope_without_a_time_gets_pydantics_default() -> None:
    data = {"hamlet_id": "00691-thon-1", "commune_code": "00691", "name": "Thôn 1", "kind": "thon",
            "unit_path": ["08", "00691"], "dataset": "vn-2025"}  # fmt: skip
    msg = message(hamlets.HamletAdded, data, lambda e: e.pop("time"))
    before = datetime.now(UTC)
    rec = Decoder(hamlets.registry, SERVICE, PREFIX, lean=True).decode(msg)
    assert rec is not None and isinstance(rec.envelope, CloudEvent) and rec.envelope.time >= before


@settings(max_examples=200, deadline=None)
@given(bodies(PetitionRaised))
def test_to_json_writes_what_pydantic_writes(data: dict[str, Any]) -> None:
    msg = message(PetitionRaised, data)
    try:
        strict = Decoder(petition_events, SERVICE, PREFIX).decode(msg)
        lean = Decoder(petition_events, SERVICE, PREFIX, lean=True).decode(msg)
    except ValidationError:
        assume(False)
    assert lean is not None and strict is not None
    assert isinstance(lean.event, msgspec.Struct) and model_of(lean.event) is PetitionRaised  # the lean path
    assert to_json(lean.event) == to_json(strict.event)
    assert to_json(lean.envelope) == strict.envelope.model_dump_json()


class _Constrained(BaseModel):
    name: str = Field(min_length=1)


class _Middle(BaseModel):
    legacy: _Constrained | None = None
    note: str = ""


_nested = EventRegistry()


@_nested.register
class _Outer(DomainEvent):
    NAME = "test.lean.Outer"
    middle: _Middle | None = None


@pytest.mark.parametrize(
    "middle",
    [None, {"note": "x"}, {"legacy": {"name": "A"}}, {"legacy": {"name": ""}}, {"legacy": None, "note": "y"}],
)
def test_a_nested_model_holding_one_pydantic_decodes_is_decoded_by_pydantic_whole(middle: Any) -> None:
    msg = message(_Outer, {"middle": middle})
    lean, pydantic = Decoder(_nested, SERVICE, PREFIX, lean=True), Decoder(_nested, SERVICE, PREFIX)
    assert outcome(lean, msg) == outcome(pydantic, msg)
