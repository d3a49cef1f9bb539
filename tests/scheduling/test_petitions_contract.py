"""The scheduling service reads the petitions service's events through its own tolerant models
(it does not import the petitions package). A reader that knows an older version than the
producer writes would halt its read model: this keeps them in step, and checks that every field
the reader declares exists in the producer's current model."""

from __future__ import annotations

from caunoi.petitions.events import registry as producer
from caunoi.scheduling.petitions_contract import registry as reader


def test_the_reader_knows_every_version_the_producer_writes() -> None:
    for model in reader:
        written = producer.models[model.NAME]
        assert model.VERSION == written.VERSION, f"{model.NAME}: reader v{model.VERSION}, producer v{written.VERSION}"
        missing = set(model.model_fields) - set(written.model_fields)
        assert not missing, f"{model.NAME}: the reader expects fields the producer does not write: {missing}"
