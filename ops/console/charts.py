"""Small inline SVG charts of a bot's samples (core/storage/samples.py) for the console.

Pure: samples in, markup out. No script and no style attributes (the console's CSP allows
neither inline), only SVG presentation attributes and classes the stylesheet may override.
Every piece of text is a number we formatted or a label from FIELDS, escaped all the same.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from core.storage import Sample

WIDTH, HEIGHT = 320, 96
TOP, BOTTOM, LEFT, RIGHT = 18, 14, 4, 4  # room for the max label above, min and span below
GAP_FACTOR = 2.5  # a step this many typical intervals long is a gap (the monitor was down)


@dataclass(frozen=True)
class Field:
    label: str
    unit: str  # "/s": a count per sample drawn as a rate; "s": seconds; "": a plain number
    rate: bool = False


FIELDS = {
    "received": Field("updates received", "/s", rate=True),
    "delivered": Field("updates delivered", "/s", rate=True),
    "queue_depth": Field("queue depth", ""),
    "oldest_age": Field("oldest waiting", "s"),
    "dead": Field("dead letters", ""),
    "lag_p99": Field("forward lag p99", "s"),
}

Point = tuple[float, float]  # (time, value)


def render(samples: Sequence[Sample], field: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """An SVG line-and-area chart of `field` over the samples' time span, with min/max labels
    and the span; a labelled empty frame when there is nothing to draw yet."""
    spec = FIELDS[field]  # KeyError for anything else: no caller-chosen attribute is read
    segments = split_at_gaps(points(samples, field, spec.rate))
    values = [value for segment in segments for _, value in segment]
    if not values:
        return frame(width, height, f"{spec.label}: no data yet", empty_body(width, height))
    times = [at for segment in segments for at, _ in segment]
    low, high = min(values), max(values)
    box = Box(width, height, times[0], times[-1], max(high, 1e-9))
    body = "".join(draw(segment, box) for segment in segments)
    span = span_text(times[-1] - times[0])
    title = f"{spec.label}, {span}: min {number(low, spec.unit)}, max {number(high, spec.unit)}"
    labels = [
        text(LEFT, TOP - 6, "chart-max", number(high, spec.unit)),
        text(LEFT, height - 3, "chart-min", number(low, spec.unit)),
        text(width - RIGHT, height - 3, "chart-span", span, anchor="end"),
    ]
    return frame(width, height, title, body + "".join(labels))


def points(samples: Sequence[Sample], field: str, rate: bool) -> list[Point]:
    """(at, value) per usable sample, oldest first; a count becomes a rate over the interval
    since the previous sample (the first sample has no known interval and is left out)."""
    ordered = sorted(samples, key=lambda s: s.at)
    out: list[Point] = []
    for before, sample in zip([None, *ordered], ordered, strict=False):
        value = getattr(sample, field)
        if rate:
            if before is None or sample.at <= before.at:
                continue
            value = value / (sample.at - before.at)
        if value is not None and math.isfinite(value):
            out.append((sample.at, max(0.0, float(value))))
    return out


def split_at_gaps(series: list[Point]) -> list[list[Point]]:
    """Runs of points without a gap: the line breaks where the monitor recorded nothing."""
    if len(series) < 3:
        return [series] if series else []
    typical = statistics.median(b[0] - a[0] for a, b in zip(series, series[1:], strict=False))
    segments = [[series[0]]]
    for previous, point in zip(series, series[1:], strict=False):
        if point[0] - previous[0] > GAP_FACTOR * typical:
            segments.append([])
        segments[-1].append(point)
    return segments


@dataclass(frozen=True)
class Box:
    width: int
    height: int
    start: float
    end: float
    top: float  # the value drawn at the top edge; the bottom edge is zero

    def x(self, at: float) -> float:
        inner = self.width - LEFT - RIGHT
        if self.end <= self.start:
            return LEFT + inner / 2  # one moment: in the middle
        return LEFT + inner * (at - self.start) / (self.end - self.start)

    def y(self, value: float) -> float:
        return TOP + (self.height - TOP - BOTTOM) * (1 - value / self.top)

    def base(self) -> float:
        return self.height - BOTTOM


def draw(segment: list[Point], box: Box) -> str:
    coords = [(box.x(at), box.y(value)) for at, value in segment]
    if len(coords) == 1:
        ((x, y),) = coords
        return f'<circle class="chart-dot" cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#2b6cb0"/>'
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    area = f"M{coords[0][0]:.1f},{box.base():.1f} L{line.replace(' ', ' L')}"
    area += f" L{coords[-1][0]:.1f},{box.base():.1f} Z"
    return (
        f'<path class="chart-area" d="{area}" fill="#bee3f8" stroke="none"/>'
        f'<polyline class="chart-line" points="{line}" fill="none" stroke="#2b6cb0"'
        ' stroke-width="1.5" stroke-linejoin="round"/>'
    )


def empty_body(width: int, height: int) -> str:
    return text(width / 2, height / 2 + 4, "chart-empty", "no data yet", anchor="middle")


def frame(width: int, height: int, title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"<title>{escape(title)}</title>"
        f'<line class="chart-axis" x1="{LEFT}" y1="{height - BOTTOM}" x2="{width - RIGHT}"'
        f' y2="{height - BOTTOM}" stroke="#a0aec0" stroke-width="1"/>'
        f"{body}</svg>"
    )


def text(x: float, y: float, kind: str, content: str, anchor: str = "start") -> str:
    # A white halo (stroke painted first) keeps a label readable where the line runs under it.
    return (
        f'<text class="{kind}" x="{x:.1f}" y="{y:.1f}" font-size="10" fill="#4a5568"'
        f' font-family="sans-serif" text-anchor="{anchor}" stroke="#fff" stroke-width="3"'
        f' paint-order="stroke">{escape(content)}</text>'
    )


def number(value: float, unit: str) -> str:
    """Short: 0, 7, 12.5, 1.2k, 3.4M; seconds as ms below one; a rate with /s."""
    if unit == "s" and 0 < value < 1:
        return f"{value * 1000:.0f} ms"
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            shown = f"{value / size:.1f}".removesuffix(".0") + suffix
            break
    else:
        shown = f"{value:.0f}" if value == int(value) or value >= 100 else f"{value:.2g}"
    return f"{shown} s" if unit == "s" else shown + unit


def span_text(seconds: float) -> str:
    if seconds < 120:
        return f"last {seconds:.0f} s"
    if seconds < 7200:
        return f"last {seconds / 60:.0f} min"
    return f"last {seconds / 3600:.1f} h".replace(".0 h", " h")
