"""The dashboard JSON: generated, importable anywhere, and only about metrics that exist."""

from __future__ import annotations

import re

import pytest

from core import metrics
from grafana import generate
from tests.helpers.grafana_kit import (
    DASHBOARD_FILES,
    PROMETHEUS_METRICS,
    load_dashboards,
    metric_names,
    panel_queries,
    panels,
    rule_queries,
)

SPEC = metrics.SPEC
HISTOGRAMS = frozenset(s.name for s in metrics.SPECS if s.kind == "histogram")
ALL_PANELS = [(name, p) for name, d in load_dashboards().items() for p in panels(d)]
UNITS = {"s", "reqps", "ops", "short", "dateTimeFromNow", "percentunit", "d"}
DECLARED_VALUES = {
    "outcome": set(metrics.REQUEST_OUTCOMES) | set(metrics.BOTAPI_OUTCOMES),
    "result": set(metrics.FORWARD_RESULTS) | set(metrics.NOTIFY_RESULTS),
    "channel": set(metrics.CHANNELS),
    "alert": set(metrics.ALERTS),
}
MATCHER = re.compile(r'\b(\w+)\s*(=~|=|!=|!~)\s*"([^"]*)"')


def panel_id(item: tuple[str, dict]) -> str:
    return f"{item[0]}: {item[1]['title']}"


def test_committed_dashboards_are_what_the_generator_makes():
    rendered = generate.render()
    assert sorted(rendered) == [path.name for path in DASHBOARD_FILES]
    for path in DASHBOARD_FILES:
        assert path.read_text() == rendered[path.name], f"{path.name} is stale: make dashboards"


def test_dashboards_have_stable_uids_and_no_import_placeholders():
    dashboards = load_dashboards()
    assert {d["uid"] for d in dashboards.values()} == {"tgwebhook-overview", "tgwebhook-bot"}
    for name, dashboard in dashboards.items():
        text = (DASHBOARD_FILES[0].parent / name).read_text()
        assert "__inputs" not in dashboard and "${DS_" not in text, name
        assert 39 <= dashboard["schemaVersion"] < 40, name


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_datasource_is_a_variable_and_every_query_uses_it(name):
    dashboard = load_dashboards()[name]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for item in panels(dashboard):
        for target in [item, *item["targets"]]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, item


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_job_instance_and_bot_are_label_values_variables(name):
    variables = {v["name"]: v for v in load_dashboards()[name]["templating"]["list"]}
    for var in ("job", "instance", "bot"):
        assert variables[var]["type"] == "query"
        assert re.fullmatch(
            rf"label_values\(tgwebhook_\w+(\{{.*\}})?, {var}\)", variables[var]["definition"]
        )
        assert variables[var]["query"]["query"] == variables[var]["definition"]


@pytest.mark.parametrize("item", ALL_PANELS, ids=[panel_id(i) for i in ALL_PANELS])
def test_every_panel_has_a_description_a_unit_and_queries(item):
    _, panel = item
    assert len(panel["description"]) > 20
    assert panel["fieldConfig"]["defaults"]["unit"] in UNITS
    assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_panels_have_unique_ids_and_do_not_overlap(name):
    items = load_dashboards()[name]["panels"]
    assert len({p["id"] for p in items}) == len(items)
    cells: set[tuple[int, int]] = set()
    for p in items:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine


def test_every_range_in_a_panel_is_the_rate_interval():
    for query in panel_queries():
        ranges = re.findall(r"\[([^\]]+)\]", query.expr)
        functions = re.findall(r"\b(rate|irate|increase)\(", query.expr)
        assert len(ranges) == len(functions), query
        assert set(ranges) <= {"$__rate_interval"}, query


def test_every_metric_in_dashboards_and_rules_is_declared():
    for query in panel_queries() + rule_queries():
        names = metric_names(query.expr, HISTOGRAMS)
        assert names, query
        assert names <= SPEC.keys() | PROMETHEUS_METRICS, (query.where, names - SPEC.keys())


def test_every_declared_metric_has_a_panel():
    shown = set().union(*(metric_names(q.expr, HISTOGRAMS) for q in panel_queries()))
    assert not SPEC.keys() - shown


def test_label_matchers_use_declared_labels_and_values():
    labels = set().union(*(s.labels for s in metrics.SPECS)) | {"job", "instance", "le"}
    for query in panel_queries() + rule_queries():
        for label, _, value in MATCHER.findall(query.expr):
            assert label in labels, (query.where, label)
            if label in DECLARED_VALUES:
                assert set(value.split("|")) <= DECLARED_VALUES[label], (query.where, value)
        for grouping in re.findall(r"\bby \(([^)]*)\)", query.expr):
            assert {g.strip() for g in grouping.split(",")} <= labels, (query.where, grouping)


def test_docs_describe_every_row_and_panel():
    text = (DASHBOARD_FILES[0].parents[2] / "docs" / "dashboards.md").read_text()
    docs = " ".join(text.split())  # titles may wrap across lines
    for dashboard in load_dashboards().values():
        for item in dashboard["panels"]:
            if item["type"] == "row":
                assert f"### {item['title']}\n" in text, item["title"]
            else:
                assert f"**{item['title']}**" in docs, item["title"]
