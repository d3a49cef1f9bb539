"""How a "Dân vận khéo" model is evaluated (seed 002, step 4: "căn cứ kết quả dự kiến của mô hình
theo bản đăng ký để tự đánh giá kết quả thực hiện của mô hình theo 03 mức: vượt, bằng, kém").
Pure; the rule is written down in docs/architecture.md ("Dân vận khéo" models) and tested as written.

**A target's level** follows from its registered value ``T``, the result ``R`` and the tolerance
``τ`` (a percentage, ``CAUNOI_MODELS_MET_TOLERANCE``, default 0: exact). The band ``[T·(1−τ),
T·(1+τ)]`` is "met" (bằng). Where more is better (``at_least``): above the band is exceeded (vượt),
below it is below (kém). Where less is better (``at_most``, e.g. traffic violations at most 5): below
the band is exceeded, above it is below. With τ = 0 a result equal to the target is met.

**The model's overall level** (rule ``dvk-overall-1``):

1. below (kém) if any essential target is below;
2. else exceeded (vượt) if every target is met or exceeded and at least half of them are exceeded;
3. else met (bằng) (a non-essential target below, or fewer than half exceeded).

Numbers are compared as decimals (``Decimal(str(x))``), so ``105`` against ``100`` with 5 % is met,
not a floating-point accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from caunoi.reporting.model_events import Direction, Level

RULE = "dvk-overall-1"
HUNDRED = Decimal(100)


def dec(value: float | int | str | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def target_level(target: float, result: float, direction: Direction, tolerance_pct: Decimal = Decimal(0)) -> Level:
    """The level a result gives against its target (see the module's docstring)."""
    t, r, tau = dec(target), dec(result), dec(tolerance_pct) / HUNDRED
    low, high = t * (1 - tau), t * (1 + tau)
    if low <= r <= high:
        return Level.met
    above = r > high
    better = above if direction is Direction.at_least else not above
    return Level.exceeded if better else Level.below


def overall_level(levels: Sequence[tuple[Level, bool]]) -> Level:
    """The model's level from its targets' ``(level, essential)`` (rule ``dvk-overall-1``)."""
    if any(level is Level.below and essential for level, essential in levels):
        return Level.below
    exceeded = sum(1 for level, _ in levels if level is Level.exceeded)
    if levels and all(level is not Level.below for level, _ in levels) and 2 * exceeded >= len(levels):
        return Level.exceeded
    return Level.met
