"""Run charts as plain SVG geometry: the template draws lines, points and the median."""

from __future__ import annotations

import math
from dataclasses import dataclass

from matcher.services.programme import RunChart

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 16, 40


@dataclass
class Point:
    x: float
    y: float
    label: str
    value: float
    shift: bool


@dataclass
class Drawn:
    width: int
    height: int
    points: list[Point]
    segments: list[str]  # polyline point lists; an empty week breaks the line
    median_y: float | None
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    left: int = LEFT
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM
    top: int = TOP


def _nice_max(value: float) -> float:
    if value <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def run_chart(chart: RunChart) -> Drawn:
    present = [v for v in chart.values if v is not None]
    top_value = _nice_max(max([*present, chart.median or 0, 1]))
    n = max(len(chart.weeks), 2)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return round(LEFT + span_x * i / (n - 1), 1)

    def y(v: float) -> float:
        return round(TOP + span_y * (1 - v / top_value), 1)

    points: list[Point] = []
    segments: list[str] = []
    current: list[str] = []
    for i, (week, value) in enumerate(zip(chart.weeks, chart.values, strict=True)):
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        p = Point(x(i), y(value), week.strftime("%-d %b %Y"), value, chart.shifts[i] if chart.shifts else False)
        points.append(p)
        current.append(f"{p.x},{p.y}")
    if current:
        segments.append(" ".join(current))
    step = max(1, len(chart.weeks) // 6)
    x_ticks = [(x(i), w.strftime("%-d %b")) for i, w in enumerate(chart.weeks) if i % step == 0]
    y_ticks = [(y(top_value * k / 4), f"{top_value * k / 4:g}") for k in range(5)]
    return Drawn(
        WIDTH,
        HEIGHT,
        points,
        segments,
        None if chart.median is None else y(chart.median),
        y_ticks,
        x_ticks,
    )
