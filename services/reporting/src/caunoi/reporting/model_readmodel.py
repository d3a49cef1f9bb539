"""The "Dân vận khéo" models' read model (schema ``models``, table ``models``): one row per model,
the fold of its events, for the listings (by unit, field, stage, level, tier; not updated for
months), targets against results, the year's candidates for commendation, and the periodic
report's figures (the dated steps: registered, evaluated with their level, recognised by tier,
commended). One model in full is read from its events (``model`` query)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from caunoi.reporting.domain.models import MODEL, TIERS, Model, evolve, stage_after, step_date
from caunoi.reporting.model_commands import Stage
from caunoi.reporting.model_events import (
    MODEL_EVENTS,
    ModelCommended,
    ModelEvaluated,
    ModelRegistered,
    RecognitionNoticed,
)
from caunoi.shared.clock import VN
from caunoi.shared.jsonb import decoded, encoded
from caunoi.shared.readmodel import Row, RowPerAggregate
from caunoi.shared.recorded import RecordedEvent
from caunoi.shared.units import qualified_path

MODELS = "models"
#: kept as JSON: the dated steps the figures count, and the targets with their latest results
JSON = ("targets", "evaluations", "notices", "commendations")


def targets_of(state: Model) -> list[dict[str, Any]]:
    """The registered targets, each with its latest result and level (None before an evaluation)."""
    results = {r.target_id: r for r in state.evaluation.results} if state.evaluation else {}
    out = []
    for t in state.reg.targets:
        r = results.get(t.id)
        out.append({"id": t.id, "text": t.text, "unit": t.unit, "value": t.value, "direction": t.direction.value,
                    "essential": t.essential, "result": r.result if r else None,
                    "level": r.level.value if r else None})  # fmt: skip
    return out


class ModelsProjection(RowPerAggregate):
    """One row per model: what the views read, each event folded into it (the stage by the domain's
    own :func:`~caunoi.reporting.domain.models.stage_after`)."""

    name = MODELS
    table = "models"
    columns: ClassVar[dict[str, str]] = {
        "id": "text PRIMARY KEY",
        "name": "text NOT NULL",
        "kind": "text NOT NULL",
        "holder": "text NOT NULL",
        "field": "text NOT NULL",
        "unit_code": "text NOT NULL",
        "unit_name": "text NOT NULL",
        "unit_level": "text NOT NULL",
        "unit_path": "text[] NOT NULL",
        #: the unit path qualified by dataset (``vn-2025:08``): what a report's area matches
        "reach": "text[] NOT NULL",
        "dataset": "text NOT NULL",
        "agency": "text",
        "registered_on": "date NOT NULL",
        "stage": "text NOT NULL",
        #: the latest evaluation's overall level and date; the widest tier it replicates at
        "level": "text",
        "evaluated_on": "date",
        "replicable_at": "text",
        #: the highest tier recognised (a notice issued), and when
        "tier": "text",
        "recognised_on": "date",
        "targets": "jsonb NOT NULL",
        #: [{on, level}], [{tier, on, by_unit, number}], [{year, on, by_unit, form}]
        "evaluations": "jsonb NOT NULL",
        "notices": "jsonb NOT NULL",
        "commendations": "jsonb NOT NULL",
        #: any event on the model is an update: the latest day a step happened, and when last recorded
        "last_step_on": "date NOT NULL",
        "events": "integer NOT NULL",
        "updated_at": "timestamptz NOT NULL",
        "last_seq": "bigint NOT NULL",
    }
    indexes: ClassVar[dict[str, str]] = {
        "models_unit_path": "USING gin (unit_path)",
        "models_reach": "USING gin (reach)",
        "models_last_step": "(last_step_on)",
    }

    def key(self, rec: RecordedEvent) -> str | None:
        return rec.envelope.subject if isinstance(rec.event, MODEL_EVENTS) else None

    def fold(self, row: Row | None, rec: RecordedEvent) -> Row | None:
        ev = rec.event
        if isinstance(ev, ModelRegistered):
            state = evolve(MODEL.initial(), ev)
            new: Row = {
                "id": ev.model_id, "name": ev.name, "kind": ev.kind.value, "holder": ev.holder,
                "field": ev.field.value, "unit_code": ev.unit_code, "unit_name": ev.unit_name,
                "unit_level": ev.unit_level, "unit_path": list(ev.unit_path),
                "reach": qualified_path(ev.dataset, list(ev.unit_path)), "dataset": ev.dataset, "agency": ev.agency,
                "registered_on": ev.registered_on, "stage": state.stage.value, "level": None, "evaluated_on": None,
                "replicable_at": None, "tier": None, "recognised_on": None, "targets": targets_of(state),
                "evaluations": [], "notices": [], "commendations": [], "last_step_on": None, "events": 0,
            }  # fmt: skip
            return encoded(self._touched(new, rec), JSON)
        if row is None:
            raise LookupError(f"model {rec.envelope.subject} is not in the read model (event seq {rec.seq})")
        r = decoded(row, JSON)
        r["stage"] = stage_after(Stage(r["stage"]), ev).value
        match ev:
            case ModelEvaluated():
                results = {x.target_id: x for x in ev.results}
                r["targets"] = [{**t, "result": results[t["id"]].result, "level": results[t["id"]].level.value}
                                if t["id"] in results else t for t in r["targets"]]  # fmt: skip
                r |= {"level": ev.level.value, "evaluated_on": ev.evaluated_on, "replicable_at": ev.replicable_at.value}
                r["evaluations"] = [*r["evaluations"], {"on": ev.evaluated_on.isoformat(), "level": ev.level.value}]
            case RecognitionNoticed():
                r["notices"] = [*r["notices"], {"tier": ev.tier.value, "on": ev.issued_on.isoformat(),
                                                "by_unit": ev.by_unit, "number": ev.number}]  # fmt: skip
                top = max(r["notices"], key=lambda n: TIERS.index(n["tier"]))
                r |= {"tier": top["tier"], "recognised_on": date.fromisoformat(top["on"])}
            case ModelCommended():
                r["commendations"] = [*r["commendations"], {"year": ev.year, "on": ev.on.isoformat(),
                                                            "by_unit": ev.by_unit, "form": ev.form.value}]  # fmt: skip
        return encoded(self._touched(r, rec), JSON)

    @staticmethod
    def _touched(row: Row, rec: RecordedEvent) -> Row:
        day = step_date(rec.event, rec.envelope.time.astimezone(VN).date())
        last = max(day, row["last_step_on"]) if row.get("last_step_on") else day
        return {**row, "last_step_on": last, "events": row["events"] + 1, "updated_at": rec.envelope.time,
                "last_seq": rec.seq}  # fmt: skip
