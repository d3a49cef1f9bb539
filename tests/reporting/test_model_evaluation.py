"""How a "Dân vận khéo" model is evaluated: each target's level (vượt / bằng / kém) follows from its
target, its result, its direction and the tolerance for "met"; the model's overall level is what
docs/architecture.md says, checked against every combination of up to four targets by a second
implementation written from the documented words; and the service records both, with the rule and
the tolerance in force, in the evaluation event."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from pathlib import Path

import pytest
from reporting.harness import fresh_pool
from reporting.models_support import at, deployment, evaluation, registration, reporting
from support import Servers, credential

from caunoi.reporting.domain.evaluation import RULE, overall_level, target_level
from caunoi.reporting.model_events import Direction, Level
from caunoi.shared.context import Role

DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
UP, DOWN = Direction.at_least, Direction.at_most
E, M, B = Level.exceeded, Level.met, Level.below


@pytest.mark.parametrize(
    ("target", "result", "direction", "tolerance", "level"),
    [
        # more is better, exact: above exceeds, equal meets, below is below
        (40, 41, UP, 0, E), (40, 40, UP, 0, M), (40, 39.99, UP, 0, B), (3, 3.2, UP, 0, E),
        # within 5 % either way is met; beyond it, exceeded or below
        (100, 105, UP, 5, M), (100, 105.01, UP, 5, E), (100, 95, UP, 5, M), (100, 94.99, UP, 5, B),
        # less is better (complaints at most 2): fewer exceeds, as many meets, more is below
        (2, 0, DOWN, 0, E), (2, 2, DOWN, 0, M), (2, 3, DOWN, 0, B), (5, 5.5, DOWN, 10, M), (5, 4.49, DOWN, 10, E),
        # a zero target: none is met; any is exceeded (more is better) or below (less is better)
        (0, 0, UP, 0, M), (0, 1, UP, 0, E), (0, 0, DOWN, 5, M), (0, 1, DOWN, 5, B),
    ],
)  # fmt: skip
def test_a_targets_level_follows_from_target_result_direction_and_tolerance(
    target: float, result: float, direction: Direction, tolerance: int, level: Level
) -> None:
    assert target_level(target, result, direction, Decimal(tolerance)) is level


def documented_rule() -> list[str]:
    """The overall-level rule's three clauses, as docs/architecture.md writes them."""
    text = DOCS.read_text()
    section = text[text.index(f"rule `{RULE}`") :]
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"^\d\. (.*?)(?=^\d\. |^\n)", section, re.M | re.S)][:3]


def as_documented(targets: list[tuple[Level, bool]]) -> Level:
    """The documented rule, word for word: 1. below if any essential target is below; 2. else
    exceeded if every target is met or exceeded and at least half of them are exceeded; 3. else met."""
    if any(level is B and essential for level, essential in targets):
        return B
    if all(level in (M, E) for level, _ in targets) and sum(level is E for level, _ in targets) >= len(targets) / 2:
        return E
    return M


def test_the_overall_level_is_the_rule_the_docs_write() -> None:
    assert documented_rule() == [
        "**below** (kém) if any essential target is below;",
        "else **exceeded** (vượt) if every target is met or exceeded and at least half of them are exceeded;",
        "else **met** (bằng): an inessential target below, or fewer than half exceeded.",
    ]
    cases = 0
    for n in range(1, 5):
        for targets in itertools.product(itertools.product((E, M, B), (True, False)), repeat=n):
            assert overall_level(list(targets)) is as_documented(list(targets)), targets
            cases += 1
    assert cases == 6 + 36 + 216 + 1296
    # the cases the docs name
    assert overall_level([(E, True), (M, True), (B, True)]) is B
    assert overall_level([(E, True), (M, True)]) is E  # half exceeded
    assert overall_level([(E, True), (M, True), (M, True)]) is M  # fewer than half
    assert overall_level([(E, True), (E, True), (B, False)]) is M  # an inessential one below


@pytest.mark.asyncio
async def test_the_service_records_each_targets_level_and_the_models_with_the_tolerance_in_force(
    servers: Servers,
) -> None:
    clerk = credential("00691", Role.clerk)
    # 42 households of 40, 2.9 km of 3, 2 complaints of at most 2
    results = (42, 2.9, 2)
    for tolerance, levels, overall in (("0", ["exceeded", "below", "met"], "below"),
                                       ("5", ["met", "met", "met"], "met")):  # fmt: skip
        pool = await fresh_pool(servers, "t_dvk")
        svc = await reporting(pool, at(2026, 6, 1), models_met_tolerance=tolerance)
        mid = (await svc.ok("model_register", registration("00691"), as_=clerk))["model_id"]
        await svc.ok("model_deploy", deployment(mid), as_=clerk)
        out = await svc.ok("model_evaluate", evaluation(mid, results=results), as_=clerk)
        assert out["level"] == overall
        ev = (await svc.ok("model", {"model_id": mid}, as_=clerk))["evaluation"]
        assert [r["level"] for r in ev["results"]] == levels and ev["level"] == overall
        assert ev["rule"] == RULE and ev["tolerance_pct"] == float(tolerance)
        assert [(r["target"], r["result"], r["direction"]) for r in ev["results"]] == [
            (40, 42, "at_least"), (3, 2.9, "at_least"), (2, 2, "at_most"),
        ]  # fmt: skip
        targets = await svc.ok("model_targets", {"model_id": mid, "unit": "00691"}, as_=clerk)
        assert [i["level"] for i in targets["items"]] == levels
        await pool.close()


def test_a_report_filed_before_the_models_existed_reads_with_no_model_counted() -> None:
    """ReportSubmitted v1 (before the models' figures) reads as v2 with each of them 0."""
    from datetime import date

    from caunoi.reporting.domain.figures import figures, series
    from caunoi.reporting.events import MODEL_FIGURES, Compilation, ReportSubmitted, UnitFigures, registry

    start, end = date(2026, 4, 15), date(2026, 5, 14)
    totals = figures([], [], start, end, [], lambda m: [])
    comp = Compilation(unit_code="00691", period_start=start, period_end=end, totals=totals,
                       by_unit=[UnitFigures(code="00691-thon-1", name="Thôn 1", figures=totals)],
                       series=series([], [], start, end, [], lambda m: []), compiled_from={})  # fmt: skip
    filed = ReportSubmitted(report_id="BC-00691-monthly-2026-05", unit_code="00691", schedule="monthly",
                            period="2026-05", submitted_at=at(2026, 5, 15), late=False, compilation=comp,
                            corrections={}, final=totals, narrative={})  # fmt: skip
    v1 = filed.model_dump(mode="json")
    for figures_ in (v1["compilation"]["totals"], v1["compilation"]["by_unit"][0]["figures"], v1["final"]):
        for k in MODEL_FIGURES:
            del figures_[k]
    assert registry.decode(f"{ReportSubmitted.NAME}.v1", v1) == filed
    with pytest.raises(ValueError):  # a v2 without them is not a v2
        registry.decode(f"{ReportSubmitted.NAME}.v2", v1)
