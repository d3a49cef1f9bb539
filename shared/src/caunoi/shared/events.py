"""Domain events: versioned pydantic models in a registry, with upcasting of older versions.

A CloudEvents ``type`` is ``<name>.v<version>``, e.g. ``vn.caunoi.petitions.PetitionRaised.v1``.
The log is forever, so every version ever written stays readable: an upcaster turns the data of
version N into version N+1, and decoding applies them in turn up to the current model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """Base of every event. Subclasses set ``NAME`` (without version) and ``VERSION``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    NAME: ClassVar[str]
    VERSION: ClassVar[int] = 1
    #: a consumer's model of another service's event (:class:`ConsumedEvent`) reads newer versions too
    READS_NEWER: ClassVar[bool] = False

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.NAME}.v{cls.VERSION}"


class ConsumedEvent(DomainEvent):
    """A *consumer's* model of an event another service publishes: a tolerant reader of the
    published contract (docs/events/). It declares only the fields the consumer uses, ignores the
    others, and reads any version from ``VERSION`` on, as long as the fields it declares are still
    there (a newer version that drops or changes one of them fails to decode, which halts the
    consumer's projection until its model is updated, rather than guessing). It never imports the
    producer's package, so services stay separately deployable."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    READS_NEWER: ClassVar[bool] = True


E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(ValueError):
    pass


def split_type(type_name: str) -> tuple[str, int]:
    """``"a.b.C.v2"`` -> ``("a.b.C", 2)``."""
    name, sep, ver = type_name.rpartition(".v")
    if not sep or not ver.isdigit():
        raise UnknownEventType(f"not a versioned event type: {type_name!r}")
    return name, int(ver)


@dataclass
class EventRegistry:
    """Maps event type names to their current model and the upcasters from older versions."""

    models: dict[str, type[DomainEvent]]
    upcasters: dict[tuple[str, int], Upcaster]

    def __init__(self) -> None:
        self.models = {}
        self.upcasters = {}

    def register(self, cls: E) -> E:
        if cls.NAME in self.models and self.models[cls.NAME] is not cls:
            raise ValueError(f"event {cls.NAME} registered twice")
        self.models[cls.NAME] = cls
        return cls

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning the data of ``name.v<from_version>`` into the next version."""

        def wrap(fn: Upcaster) -> Upcaster:
            self.upcasters[(name, from_version)] = fn
            return fn

        return wrap

    def decode(self, type_name: str, data: dict[str, Any]) -> DomainEvent:
        name, version = split_type(type_name)
        model = self.models.get(name)
        if model is None:
            raise UnknownEventType(f"unknown event type {type_name!r}")
        if version > model.VERSION and model.READS_NEWER:
            return model.model_validate(data)
        if version > model.VERSION:
            raise UnknownEventType(f"{type_name!r} is newer than this code ({model.type_name()})")
        while version < model.VERSION:
            step = self.upcasters.get((name, version))
            if step is None:
                raise UnknownEventType(f"no upcaster from {name}.v{version}")
            data = step(dict(data))
            version += 1
        return model.model_validate(data)

    def current(self, type_name: str) -> type[DomainEvent] | None:
        """The model of ``type_name`` if that is its current version (no upcasting needed)."""
        model = self.models.get(type_name.rpartition(".v")[0])
        return model if model is not None and model.type_name() == type_name else None

    def knows(self, type_name: str) -> bool:
        try:
            name, _ = split_type(type_name)
        except UnknownEventType:
            return False
        return name in self.models

    def __iter__(self) -> Iterator[type[DomainEvent]]:
        return iter(sorted(self.models.values(), key=lambda m: m.NAME))
