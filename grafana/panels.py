"""Building blocks of the dashboards: panels, template variables, layout (plain dicts).

Everything here returns classic Grafana JSON (schemaVersion 39) with the datasource taken
from the `datasource` template variable, so no `__inputs` are needed for import.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
APPLIANCE = 'job=~"$job", instance=~"$instance"'
QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))

Json = dict[str, Any]


def target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> Json:
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend,
        "range": True,
        "refId": ref,
        **extra,
    }


def targets(*pairs: tuple[str, str]) -> list[Json]:
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(pairs)]


def quantile_targets(metric: str, sel: str) -> list[Json]:
    """p50/p95/p99 of a histogram, summed over workers and bots first (le kept)."""
    expr = "histogram_quantile({q}, sum by (le) (rate({m}_bucket{{{s}}}[{r}])))"
    return targets(*((expr.format(q=q, m=metric, s=sel, r=RATE), name) for q, name in QUANTILES))


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


GREEN_RED = thresholds(("green", None), ("red", 1))


def value_map(*entries: tuple[str, str, str]) -> list[Json]:
    options = {
        v: {"color": color, "index": i, "text": text} for i, (v, text, color) in enumerate(entries)
    }
    return [{"type": "value", "options": options}]


FIRING_MAP = value_map(("0", "ok", "green"), ("1", "FIRING", "red"))
URL_MAP = value_map(("0", "MISMATCH", "red"), ("1", "ours", "green"))


def panel(
    kind: str, title: str, description: str, tgts: list[Json], unit: str, **extra: Any
) -> Json:
    """A panel without id and gridPos (the Layout places it)."""
    defaults: Json = {"unit": unit, "color": {"mode": extra.pop("color_mode", "palette-classic")}}
    for key in ("thresholds", "mappings", "min", "max", "noValue", "decimals"):
        if key in extra:
            defaults[key] = extra.pop(key)
    overrides = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "unit", "value": other}],
        }
        for name, other in extra.pop("unit_overrides", {}).items()
    ]
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "targets": tgts,
        "options": extra.pop("options", {}),
        **extra,
    }


def timeseries(title: str, description: str, tgts: list[Json], unit: str, **extra: Any) -> Json:
    options = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return panel("timeseries", title, description, tgts, unit, options=options, **extra)


def stat(
    title: str, description: str, tgts: list[Json], unit: str, text_mode: str = "auto", **extra: Any
) -> Json:
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": text_mode,
    }
    extra.setdefault("thresholds", thresholds(("green", None)))
    return panel(
        "stat", title, description, tgts, unit, options=options, color_mode="thresholds", **extra
    )


def state_timeline(title: str, description: str, tgts: list[Json]) -> Json:
    options = {
        "mergeValues": True,
        "showValue": "never",
        "alignValue": "left",
        "rowHeight": 0.9,
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return panel(
        "state-timeline",
        title,
        description,
        tgts,
        "short",
        options=options,
        color_mode="thresholds",
        thresholds=GREEN_RED,
        mappings=FIRING_MAP,
    )


class Layout:
    """Places panels left to right in rows of 24 grid units and numbers them."""

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self.x = self.y = self.line = 0

    def row(self, title: str) -> None:
        self._wrap()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "id": len(self.panels) + 1,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            }
        )
        self.y += 1

    def add(self, width: int, height: int, *panels: Json) -> None:
        for item in panels:
            if self.x + width > 24:
                self._wrap()
            item["id"] = len(self.panels) + 1
            item["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
            self.panels.append(item)
            self.x += width
            self.line = max(self.line, height)

    def _wrap(self) -> None:
        if self.x:
            self.y += self.line
        self.x = self.line = 0


# -- template variables ---------------------------------------------------------------------


def datasource_variable() -> Json:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
    }


def query_variable(name: str, label: str, query: str, multi: bool = False) -> Json:
    variable = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": {},
        "hide": 0,
        "includeAll": multi,
        "multi": multi,
        "options": [],
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
    }
    if multi:
        variable["allValue"] = ".+"
    return variable


def variables(multi_bot: bool) -> list[Json]:
    bots = f"label_values(tgwebhook_requests_total{{{APPLIANCE}}}, bot)"
    return [
        datasource_variable(),
        query_variable("job", "Job", "label_values(tgwebhook_build_info, job)"),
        query_variable(
            "instance", "Appliance", 'label_values(tgwebhook_build_info{job=~"$job"}, instance)'
        ),
        query_variable("bot", "Bot", bots, multi=multi_bot),
    ]


def dashboard(uid: str, title: str, description: str, panels: list[Json], multi_bot: bool) -> Json:
    links = [
        {
            "title": "tgwebhook",
            "type": "dashboards",
            "tags": ["tgwebhook"],
            "asDropdown": False,
            "includeVars": True,
            "keepTime": True,
            "icon": "external link",
            "targetBlank": False,
            "tooltip": "",
            "url": "",
        }
    ]
    annotations = [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }
    ]
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["tgwebhook"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "weekStart": "",
        "annotations": {"list": annotations},
        "links": links,
        "templating": {"list": variables(multi_bot)},
        "panels": panels,
    }
