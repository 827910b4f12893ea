"""Server-rendered SVG charts (issue 15 §1): the geometry here, the markup in
`templates/_chart.html`. A page keeps working without JavaScript, and each chart carries its
numbers as a table for screen readers (and for anyone who would rather read them).

Only what the portal draws: bars (stacked when a point has several parts), an optional
horizontal line (a limit), and a line of values (a balance over time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 56
PAD_RIGHT = 12
PAD_TOP = 14
PAD_BOTTOM = 34

Number = int | float | Decimal


@dataclass
class Point:
    label: str
    parts: list[tuple[str, Number]]  # (series key, value)

    @property
    def total(self) -> Number:
        return sum((v for _, v in self.parts), 0)


@dataclass
class Chart:
    """What `_chart.html` draws; built by `bars()` or `line()`."""

    id: str
    title: str
    kind: str
    series: list[tuple[str, str]]  # (key, label) in drawing order
    columns: list[str]  # the table's headings
    rows: list[list[str]]  # the table's cells, formatted
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[dict[str, Any]] = field(default_factory=list)
    polyline: str = ""
    dots: list[dict[str, Any]] = field(default_factory=list)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    limit: dict[str, Any] | None = None
    empty: bool = False


def _scale(top: Number) -> tuple[float, list[float]]:
    """A round upper bound for the axis and its four ticks."""
    top = float(top) if top else 1.0
    magnitude = 10 ** (len(str(int(top))) - 1) if top >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        bound = step * magnitude
        if bound >= top:
            break
    return bound, [bound * i / 4 for i in range(5)]


def _y(value: float, bound: float) -> float:
    inner = HEIGHT - PAD_TOP - PAD_BOTTOM
    return round(PAD_TOP + inner - (value / bound) * inner, 1)


def _every(n: int, most: int = 8) -> int:
    return max(1, -(-n // most))


def bars(
    *,
    id: str,
    title: str,
    points: Sequence[Point],
    series: list[tuple[str, str]],
    fmt: Callable[[Number], str],
    label_heading: str,
    limit: Number | None = None,
    limit_label: str = "",
) -> Chart:
    """Bars, one per point, stacked by series; the limit, when given, as a line across."""
    keys = [k for k, _ in series]
    top = max([float(p.total) for p in points] + [float(limit or 0)] + [0.0])
    bound, ticks = _scale(top)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    slot = inner_w / max(len(points), 1)
    width = max(slot * 0.7, 1.0)
    chart = Chart(
        id=id,
        title=title,
        kind="bars",
        series=series,
        columns=[label_heading] + [label for _, label in series],
        rows=[],
        empty=not points or top == 0,
    )
    label_every = _every(len(points))
    for i, point in enumerate(points):
        x = PAD_LEFT + i * slot + (slot - width) / 2
        base = 0.0
        values = dict(point.parts)
        for n, key in enumerate(keys):
            value = float(values.get(key, 0))
            if value <= 0:
                continue
            y_top = _y(base + value, bound)
            chart.bars.append(
                {
                    "x": round(x, 1),
                    "y": y_top,
                    "w": round(width, 1),
                    "h": round(_y(base, bound) - y_top, 1),
                    "series": n,
                    "title": f"{point.label}: {fmt(values.get(key, 0))}",
                }
            )
            base += value
        if i % label_every == 0:
            chart.labels.append({"x": round(x + width / 2, 1), "text": point.label})
        chart.rows.append([point.label] + [fmt(values.get(k, 0)) for k in keys])
    chart.ticks = [{"y": _y(t, bound), "text": fmt(_round(t))} for t in ticks]
    if limit:
        chart.limit = {"y": _y(float(limit), bound), "text": f"{limit_label} {fmt(limit)}"}
    return chart


def line(
    *,
    id: str,
    title: str,
    points: Sequence[tuple[str, Number]],
    fmt: Callable[[Number], str],
    label_heading: str,
    value_heading: str,
    extra_columns: list[str] | None = None,
    extra_cells: list[list[str]] | None = None,
    marks: dict[int, str] | None = None,
) -> Chart:
    """A line through the values (e.g. the balance at the end of each day); `marks` puts a dot
    on the points where something happened (a top-up, an expiry), titled with what it was."""
    values = [float(v) for _, v in points]
    top = max(values + [0.0])
    bound, ticks = _scale(top)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    step = inner_w / max(len(points) - 1, 1)
    coords = [(round(PAD_LEFT + i * step, 1), _y(max(v, 0.0), bound)) for i, v in enumerate(values)]
    chart = Chart(
        id=id,
        title=title,
        kind="line",
        series=[("value", value_heading)],
        columns=[label_heading, value_heading] + (extra_columns or []),
        rows=[],
        polyline=" ".join(f"{x},{y}" for x, y in coords),
        empty=not points,
    )
    every = _every(len(points))
    for i, (label, value) in enumerate(points):
        if i % every == 0:
            chart.labels.append({"x": coords[i][0], "text": label})
        cells = [label, fmt(value)] + ((extra_cells or [])[i] if extra_cells else [])
        chart.rows.append(cells)
    for i, what in (marks or {}).items():
        chart.dots.append(
            {"x": coords[i][0], "y": coords[i][1], "title": f"{points[i][0]}: {what}"}
        )
    chart.ticks = [{"y": _y(t, bound), "text": fmt(_round(t))} for t in ticks]
    return chart


def _round(value: float) -> Number:
    return int(value) if float(value).is_integer() else Decimal(str(round(value, 2)))
