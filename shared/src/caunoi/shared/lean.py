"""Events decoded without pydantic, for read models that fold millions of them.

A rebuild spent a quarter of its CPU in pydantic building the envelope and event models of each
message (7-10 µs an event, JSON parsing 3 of it): objects a fold reads a few attributes of and
drops. A projection that sets ``lean_events = True`` gets instead, for every event type this
module can mirror, ``msgspec`` structs with the same attributes, decoded in about a third of the
time: ``rec.envelope`` and ``rec.event`` then have the model's fields (enums, dates and datetimes
as pydantic gives them, nested models as structs of their own) and nothing else, so such a fold
reads attributes and names an event's class with :func:`model_of` (not ``isinstance``), and
serialises with :func:`to_json`.

Same values, never laxer: a model is mirrored only when pydantic would not change or check a value
beyond its type (no constraints, validators, aliases or string options); a nested model that is
not is decoded by pydantic where it occurs. A message the mirror refuses (a field missing or of
another type, an unknown field, a value pydantic would coerce) is decoded by pydantic as before,
so what it accepts, reports or refuses stays its decision. tests/kernel/test_lean.py holds the
two decoders to the same results over every event model of every service.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, Union, cast, get_args, get_origin

import msgspec
from pydantic import BaseModel

from caunoi.shared.envelope import CloudEvent
from caunoi.shared.events import DomainEvent

#: field types a mirror takes as they are (msgspec decodes them as pydantic's JSON mode does)
_PLAIN = (str, int, bool, float, date, datetime)
#: model options that change or check values beyond their type, or how they are written: such a
#: model is not mirrored
_VALUE_OPTIONS = (
    "str_strip_whitespace",
    "str_to_upper",
    "str_to_lower",
    "str_min_length",
    "str_max_length",
    "strict",
    "coerce_numbers_to_str",
    "alias_generator",
    "validate_default",
    "use_enum_values",
    "val_json_bytes",
    "regex_engine",
    "json_encoders",
)
_DECORATORS = (
    "validators",
    "field_validators",
    "root_validators",
    "model_validators",
    "computed_fields",
    "field_serializers",
    "model_serializers",
)
#: the class attribute of a mirror naming the model it mirrors
MODEL = "__caunoi_model__"


def _dump(obj: Any) -> Any:
    if isinstance(obj, BaseModel):  # a nested model pydantic decoded (see _Mirror.finish)
        return obj.model_dump(mode="json")
    raise TypeError(f"{type(obj).__name__} is not JSON")


_encode = msgspec.json.Encoder(enc_hook=_dump).encode
#: a time with more than six digits of fractions of a second: msgspec rounds them to the
#: microsecond, pydantic cuts them, so such a message (or one whose text looks like it) goes to pydantic
_SUB_MICROSECOND = re.compile(rb"\.\d{7}")


class Unmirrorable(TypeError):
    """A model pydantic does more with than check types: decoded by pydantic."""


def model_of(obj: object) -> type:
    """The model class of an event, envelope or nested value, lean or not (a lean struct's model,
    else the object's own class)."""
    cls = type(obj)
    return cast(type, getattr(cls, MODEL, cls))


def to_json(obj: Any) -> str:
    """Compact JSON of a model or its lean mirror, the same text for both (fields in declared
    order, ``None`` included, as pydantic's ``model_dump_json()``)."""
    if isinstance(obj, BaseModel):
        return obj.model_dump_json()
    return _encode(obj).decode()


class _Mirror:
    """A model's msgspec struct, and the fields holding a nested model pydantic decodes."""

    def __init__(self, model: type[BaseModel], fields: dict[str, Any] | None = None) -> None:
        config = model.model_config
        decorators = model.__pydantic_decorators__
        if any(config.get(o) for o in _VALUE_OPTIONS) or any(getattr(decorators, d, None) for d in _DECORATORS):
            raise Unmirrorable(model.__name__)
        extra = config.get("extra") or "ignore"
        #: (field, model) decoded by pydantic from the field's raw JSON
        self.by_pydantic: list[tuple[str, type[BaseModel]]] = []
        spec: list[tuple[Any, ...]] = []
        for name, f in model.model_fields.items():
            if f.metadata or f.alias or f.validation_alias or f.exclude or name.startswith("_"):
                raise Unmirrorable(f"{model.__name__}.{name}")
            kind = (fields or {}).get(name) or self._kind(name, f.annotation)
            if f.is_required() or f.default_factory is not None or isinstance(f.default, list | dict | set):
                spec.append((name, kind))  # (absent: pydantic's default factory, through pydantic)
            else:
                spec.append((name, kind, f.default))
        self.struct: type[msgspec.Struct] = msgspec.defstruct(
            f"Lean{model.__name__}",
            spec,
            kw_only=True,
            # extra="allow": pydantic keeps unknown fields, a mirror cannot: pydantic decodes those
            forbid_unknown_fields=extra != "ignore",
            namespace={MODEL: model},
        )

    def _kind(self, name: str, annotation: Any) -> Any:
        if annotation in _PLAIN or annotation is Any:
            return annotation
        if _is_enum(annotation):
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            try:
                nested = _Mirror(annotation)
                if nested.by_pydantic:  # (its own fields pydantic decodes: it, whole, by pydantic)
                    raise Unmirrorable(annotation.__name__)
                return nested.struct
            except Unmirrorable:
                self.by_pydantic.append((name, annotation))
                return msgspec.Raw
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            if len(args) == 2 and len(rest) == 1:
                inner = self._kind(name, rest[0])
                return inner if inner is msgspec.Raw else inner | None
        elif origin is list and len(args) == 1 and (args[0] in _PLAIN or _is_enum(args[0])):
            return annotation
        elif origin is dict and args == (str, Any):
            return annotation
        elif origin is Literal:
            return annotation
        raise Unmirrorable(f"{name}: {annotation}")

    def finish(self, value: Any) -> None:
        """Decode the nested models pydantic decodes (rare: legacy fields, constrained models)."""
        for name, model in self.by_pydantic:
            raw = getattr(value, name)
            if isinstance(raw, msgspec.Raw):
                data = bytes(raw)
                setattr(value, name, None if data == b"null" else model.model_validate_json(data))


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.Enum)


class LeanEnvelope:
    """Decodes the messages of one event type to lean structs: the envelope (``CloudEvent``'s
    fields) with the event as ``data``; ``pydantic`` is the typed envelope that decodes what the
    mirror refuses."""

    def __init__(self, model: type[DomainEvent], pydantic: type[CloudEvent]) -> None:
        self.pydantic = pydantic
        self._event = _Mirror(model)
        envelope = _Mirror(CloudEvent, {"data": self._event.struct})
        self._decode: Callable[[bytes], Any] = msgspec.json.Decoder(envelope.struct).decode
        self._finish = self._event.finish if self._event.by_pydantic else None

    def decode(self, raw: bytes) -> Any | None:
        """The envelope, its ``data`` the event; None if the mirror refuses it (pydantic decides)."""
        if _SUB_MICROSECOND.search(raw):
            return None
        try:
            env = self._decode(raw)
            if self._finish is not None:
                self._finish(env.data)
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
            return None
        return env


def lean_envelope(model: type[DomainEvent], pydantic: type[CloudEvent]) -> LeanEnvelope | None:
    """The lean decoder of ``model``'s messages (``pydantic``: its typed envelope); None if it
    cannot be mirrored."""
    try:
        return LeanEnvelope(model, pydantic)
    except Unmirrorable:
        return None
