"""The console's SVG charts: well-formed XML for every shape of data, labels that tell the
truth about min, max and span, lines inside the frame, and nothing executable in them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from core.storage import Sample
from ops.console.charts import HEIGHT, WIDTH, render

SVG = "{http://www.w3.org/2000/svg}"
T0 = 1_700_000_000.0


def series(field: str, values: list, step: float = 60.0) -> list[Sample]:
    return [Sample("default", T0 + i * step, **{field: v}) for i, v in enumerate(values)]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # raises on anything that is not well-formed XML


def labels(root: ET.Element) -> dict[str, str]:
    return {node.get("class", ""): node.text or "" for node in root.iter(f"{SVG}text")}


def drawn_points(root: ET.Element) -> list[tuple[float, float]]:
    found = []
    for line in root.iter(f"{SVG}polyline"):
        pairs = line.get("points", "").split()
        found += [(float(x), float(y)) for x, y in (pair.split(",") for pair in pairs)]
    for dot in root.iter(f"{SVG}circle"):
        found.append((float(dot.get("cx", "nan")), float(dot.get("cy", "nan"))))
    return found


CASES = {
    "empty": ("queue_depth", [], None, None),
    "one point": ("queue_depth", [7], "7", "7"),
    "flat zero": ("queue_depth", [0, 0, 0, 0], "0", "0"),
    "flat": ("oldest_age", [5.0] * 6, "5 s", "5 s"),
    "spike": ("queue_depth", [0, 0, 25_000, 0, 0], "25k", "0"),
    "sub-second lag": ("lag_p99", [0.004, 0.25, None, 0.01], "250 ms", "4 ms"),
    "rates": ("received", [0, 60, 120, 6000], "100/s", "1/s"),
    "one rate needs two samples": ("received", [60], None, None),
}


@pytest.mark.parametrize(("field", "values", "top", "bottom"), CASES.values(), ids=CASES.keys())
def test_every_shape_of_data_renders_well_formed_labelled_svg(field, values, top, bottom):
    root = parse(render(series(field, values), field))

    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    assert root.find(f"{SVG}title") is not None
    shown = labels(root)
    if top is None:
        assert shown == {"chart-empty": "no data yet"}
        assert drawn_points(root) == []
        return
    assert (shown["chart-max"], shown["chart-min"]) == (top, bottom)
    for x, y in drawn_points(root):
        assert 0 <= x <= WIDTH and 0 <= y <= HEIGHT


def test_the_spike_reaches_the_top_and_the_zeros_sit_on_the_baseline():
    root = parse(render(series("queue_depth", [0, 0, 25_000, 0, 0]), "queue_depth"))

    ys = [y for _, y in drawn_points(root)]
    assert min(ys) < 20  # the 25,000 at the top
    assert ys.count(max(ys)) == 4  # the four zeros on one baseline


def test_the_span_label_is_the_time_the_samples_cover():
    assert labels(parse(render(series("dead", [1] * 61), "dead")))["chart-span"] == "last 60 min"
    short = render(series("dead", [1, 2, 3], step=5), "dead")
    assert labels(parse(short))["chart-span"] == "last 10 s"


def test_a_gap_in_the_samples_breaks_the_line():
    samples = series("queue_depth", [1, 2, 3, 4]) + [
        Sample("default", T0 + 3600 + i * 60, queue_depth=5 + i) for i in range(4)
    ]

    root = parse(render(samples, "queue_depth"))

    assert len(list(root.iter(f"{SVG}polyline"))) == 2


def test_samples_out_of_order_are_drawn_in_time_order():
    samples = series("queue_depth", [1, 2, 3])
    root = parse(render(list(reversed(samples)), "queue_depth"))

    xs = [x for x, _ in drawn_points(root)]
    assert xs == sorted(xs)


def test_nothing_in_a_chart_can_run_or_needs_inline_style():
    markup = render(series("lag_p99", [0.1, 9e9, 0.2]), "lag_p99")

    assert not re.search(r"<script|style=|on\w+=|href", markup, re.IGNORECASE)


def test_only_declared_fields_are_read():
    with pytest.raises(KeyError):
        render(series("queue_depth", [1]), "__class__")
