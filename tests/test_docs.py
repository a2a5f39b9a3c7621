"""README tables agree with the declarations and with what /metrics really serves."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from core import docs
from core.metrics import SPECS
from core.settings_table import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_settings_table_matches_the_declaration():
    assert docs.section(README, "settings") == docs.settings_table(), "run: python -m core.docs"


def test_readme_metrics_table_matches_the_declaration():
    assert docs.section(README, "metrics") == docs.metrics_table(), "run: python -m core.docs"


def test_every_setting_is_documented_once():
    names = re.findall(r"`TGWEBHOOK_([A-Z_]+)`", docs.section(README, "settings"))
    assert names == [s.name.upper() for s in SETTINGS]


def test_quickstart_is_make_run_then_make_test():
    block = README.split("## Quickstart", 1)[1].split("```")[1]
    commands = [
        line.split("#")[0].strip()
        for line in block.splitlines()
        if line.strip() and line.strip() != "sh"
    ]
    assert commands == ["make run", "make test"]


def test_metrics_endpoint_serves_every_declared_process_metric(client, post_update, make_update):
    post_update(make_update(1))
    served = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}
    for spec in SPECS:
        if spec.source == "process":
            assert spec.name.removesuffix("_total") in served, spec.name
    assert {"tgwebhook_queue_depth", "tgwebhook_dead_letters"} <= served
    declared = {spec.name.removesuffix("_total") for spec in SPECS}
    # In-process (no multiprocess dir) the client library adds a `_created` family per counter.
    ours = {n for n in served if n.startswith("tgwebhook_") and not n.endswith("_created")}
    assert ours - declared == set(), "served but not in the README table"
