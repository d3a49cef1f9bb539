"""The reporting service reads the petitions and scheduling services' events through its own
tolerant models (it imports neither package). A reader that knows an older version than the
producer writes would halt its read model: this keeps them in step, and checks that every field
the reader declares exists in the producer's current model."""

from __future__ import annotations

import pytest

from caunoi.petitions.events import registry as petitions
from caunoi.reporting.petitions_contract import registry as petitions_reader
from caunoi.reporting.scheduling_contract import registry as scheduling_reader
from caunoi.scheduling.events import registry as scheduling
from caunoi.shared.events import EventRegistry


@pytest.mark.parametrize(("reader", "producer"), [(petitions_reader, petitions), (scheduling_reader, scheduling)])
def test_the_reader_knows_every_version_the_producer_writes(reader: EventRegistry, producer: EventRegistry) -> None:
    assert len(reader.models) >= 6
    for model in reader:
        written = producer.models[model.NAME]
        assert model.VERSION == written.VERSION, f"{model.NAME}: reader v{model.VERSION}, producer v{written.VERSION}"
        missing = set(model.model_fields) - set(written.model_fields)
        assert not missing, f"{model.NAME}: the reader expects fields the producer does not write: {missing}"
        for version in range(1, model.VERSION):
            assert (model.NAME, version) in reader.upcasters, f"{model.NAME}: v{version} is no longer readable"
