"""Charts as inline SVG drawn on the server (pygal, no script sent to the browser)."""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from pygal.style import Style

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    colors=("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed"),
    font_family="system-ui, 'Noto Sans', 'Segoe UI', sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
)
Series = Sequence[tuple[str, Sequence[float | None]]]


def _config(title: str, height: int, width: int = 760) -> pygal.Config:
    config = pygal.Config()
    config.js = []  # no script: the SVG is a picture
    config.disable_xml_declaration = True
    config.title = title
    config.style = STYLE
    config.width = width
    config.height = height
    config.legend_at_bottom = True
    config.legend_at_bottom_columns = 3
    config.truncate_label = 28
    config.print_values = False
    config.show_y_guides = True
    config.no_data_text = "—"
    config.formatter = _number
    return config


def _number(value: float | None) -> str:
    """Axis and value labels: whole numbers as such, others to three significant digits."""
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def counts_axis(series: Series, intervals: int | None = None) -> list[int] | None:
    """Whole-number ticks for counts (pygal would put 0.2, 0.4… under a few): at most about ten,
    up to the largest value, or exactly ``intervals`` of them (a secondary 0-100 % axis then gets
    round labels); None when there is nothing or a value is not whole."""
    values = [v for _name, vs in series for v in vs if v is not None]
    if not values or any(not float(v).is_integer() for v in values):
        return None
    top = int(max(values))
    step = max(1, -(-top // (intervals or 10)))
    last = step * intervals if intervals else top + step
    return list(range(0, last + 1, step))


def bar(title: str, labels: Sequence[str], series: Series, horizontal: bool = False, printed: bool = False) -> str:
    """Bars by label, one colour a series; ``printed``: each bar's value written on it."""
    config = _config(title, max(300, 26 * len(labels) + 120) if horizontal else 360)
    config.x_label_rotation = 0 if horizontal else 25
    config.y_labels = counts_axis(series)
    config.print_values = printed
    chart = pygal.HorizontalBar(config) if horizontal else pygal.Bar(config)
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return str(chart.render(is_unicode=True))


def line(
    title: str, labels: Sequence[str], series: Series, secondary: tuple[str, Sequence[float | None]] | None = None
) -> str:
    """Counts over time; ``secondary``: a rate on its own axis (right)."""
    config = _config(title, 420, width=1200)
    config.secondary_range = (0, 100)
    config.x_label_rotation = 25
    config.dots_size = 3
    config.y_labels = counts_axis(series, intervals=5 if secondary is not None else None)
    chart = pygal.Line(config)
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    if secondary is not None:
        chart.add(secondary[0], list(secondary[1]), secondary=True)
    return str(chart.render(is_unicode=True))
