"""The charts of a printed report (PNG, matplotlib's object API with the Agg canvas: no display,
no global state): meetings held per month per unit below, opinions by field, the on-time rate
month by month. Labels in Vietnamese; matplotlib's DejaVu Sans covers the diacritics."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 130
#: above this many units, meetings per month are a grid of counts instead of bars
MAX_BARS = 6


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, bbox_inches="tight")
    return out.getvalue()


def _month_label(month: str) -> str:
    year, m = month.split("-")
    return f"{int(m)}/{year[2:]}"


def meetings_per_month(months: Sequence[str], by_unit: Mapping[str, Sequence[int]], names: Mapping[str, str]) -> bytes:
    """Meetings held each month by each unit below: grouped bars for a few, a grid for many."""
    labels = [_month_label(m) for m in months]
    units = list(by_unit)
    fig = Figure(figsize=(7.2, 3.2 if len(units) <= MAX_BARS else min(9.0, 1.2 + 0.28 * len(units))))
    ax = fig.add_subplot()
    if len(units) <= MAX_BARS:
        width = 0.8 / max(1, len(units))
        for i, code in enumerate(units):
            xs = [x + (i - (len(units) - 1) / 2) * width for x in range(len(months))]
            ax.bar(xs, by_unit[code], width=width, label=names.get(code, code))
        ax.set_xticks(range(len(months)), labels)
        ax.set_ylabel("Số hội nghị")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if units:
            ax.legend(fontsize=7, ncols=2, frameon=False)
    else:
        grid = [list(by_unit[c]) for c in units]
        ax.imshow(grid, aspect="auto", cmap="Greens", vmin=0, vmax=max(2, max(max(r) for r in grid)))
        ax.set_xticks(range(len(months)), labels)
        ax.set_yticks(range(len(units)), [names.get(c, c) for c in units], fontsize=6)
        for y, row in enumerate(grid):
            for x, n in enumerate(row):
                if n:
                    ax.text(x, y, str(n), ha="center", va="center", fontsize=6)
    ax.set_title("Hội nghị đã tổ chức theo tháng, theo đơn vị", fontsize=10)
    return _png(fig)


def opinions_by_field(counts: Mapping[str, int], names: Mapping[str, str]) -> bytes:
    """Opinions raised in the period by field (horizontal bars, largest on top)."""
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(7.2, max(2.0, 0.45 * len(items) + 0.8)))
    ax = fig.add_subplot()
    ax.barh([names.get(k, k) for k, _ in items], [n for _, n in items], color="#2f6f9f")
    for y, (_, n) in enumerate(items):
        ax.text(n, y, f" {n}", va="center", fontsize=8)
    ax.set_xlabel("Số ý kiến")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Ý kiến, kiến nghị theo lĩnh vực", fontsize=10)
    return _png(fig)


def on_time_rate(months: Sequence[str], rates: Sequence[float | None]) -> bytes:
    """The share of written replies issued within their deadline, month by month (gaps: no reply)."""
    fig = Figure(figsize=(7.2, 2.8))
    ax = fig.add_subplot()
    ys = [None if r is None else r * 100 for r in rates]
    ax.plot(range(len(months)), [float("nan") if y is None else y for y in ys], marker="o", color="#b5472b")
    ax.set_xticks(range(len(months)), [_month_label(m) for m in months])
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Tỷ lệ trả lời đúng hạn theo tháng", fontsize=10)
    return _png(fig)
