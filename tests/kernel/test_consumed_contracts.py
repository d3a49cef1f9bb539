"""Every consumer-side model of another service's event (``ConsumedEvent``, a tolerant reader that
never imports the producer's package) against the producer's current model: the event type
exists, the reader does not expect a version the producer never wrote, and every field the reader
declares is one the producer writes. A producer that renames or drops a field a consumer reads
fails here, not in a halted read model in production."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from caunoi.shared.events import ConsumedEvent, DomainEvent, EventRegistry

#: consumer models whose producer does not publish the type yet, with the issue that adds it
NOT_YET_PUBLISHED: dict[str, str] = {}


def producers() -> dict[str, EventRegistry]:
    """Each installed service's own registry, by its events' namespace (``vn.caunoi.<service>``)."""
    out = {}
    for ep in entry_points(group="caunoi.runtimes"):
        service = ep.load()()
        out[f"vn.caunoi.{service.name}"] = service.registry
    return out


def consumed() -> list[type[ConsumedEvent]]:
    found: list[type[ConsumedEvent]] = []
    todo: list[type[DomainEvent]] = [ConsumedEvent]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if "NAME" in sub.__dict__:
                found.append(sub)  # type: ignore[arg-type]
    return sorted(found, key=lambda m: (m.__module__, m.NAME))


REGISTRIES = producers()  # builds every service, which imports its consumer models
MODELS = consumed()


def test_the_consumers_are_found() -> None:
    modules = {m.__module__.split(".")[1] for m in MODELS}
    assert {"scheduling", "notify", "reporting"} <= modules, modules


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.__module__.split('.')[1]}:{m.NAME.rsplit('.', 1)[1]}")
def test_a_consumer_reads_what_its_producer_writes(model: type[ConsumedEvent]) -> None:
    namespace = model.NAME.rsplit(".", 1)[0]
    registry = REGISTRIES.get(namespace)
    if registry is None:
        pytest.skip(f"{namespace} is not installed")
    written = registry.models.get(model.NAME)
    if written is None:
        assert model.NAME in NOT_YET_PUBLISHED, f"{model.__module__} reads {model.NAME}, which nobody publishes"
        pytest.skip(f"{model.NAME}: {NOT_YET_PUBLISHED[model.NAME]}")
    assert model.VERSION <= written.VERSION, f"{model.NAME}: reader v{model.VERSION}, producer v{written.VERSION}"
    missing = set(model.model_fields) - set(written.model_fields)
    assert not missing, f"{model.__module__}.{model.__name__} expects fields the producer does not write: {missing}"
