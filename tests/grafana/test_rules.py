"""Alert rules, their promtool unit tests, the Prometheus and Alertmanager example configs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers.grafana_kit import (
    AMTOOL,
    GRAFANA,
    PROMETHEUS_DIR,
    PROMTOOL,
    ROOT,
    load_rules,
    run_tool,
)

DOCS = ROOT / "docs" / "dashboards.md"
RULES = load_rules()
TESTS = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]


def github_anchors(markdown: str) -> set[str]:
    """Anchors GitHub makes of the headings: lower case, punctuation dropped, spaces to '-'."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_promtool_accepts_the_rules():
    result = run_tool(PROMTOOL, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


def test_promtool_unit_tests_pass():
    result = run_tool(PROMTOOL, "test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_catch_an_alert_on_a_stale_delivery_error(tmp_path: Path):
    # Telegram never clears last_error_date: alerting on its mere presence must fail the tests.
    rules = (PROMETHEUS_DIR / "alerts.yml").read_text()
    fresh = 'tgwebhook_telegram_last_error_timestamp_seconds{job="tgwebhook"}) < 600)'
    assert fresh in rules
    (tmp_path / "alerts.yml").write_text(rules.replace(fresh, fresh.replace("< 600", "< 1e12")))
    (tmp_path / "alerts_test.yml").write_text((PROMETHEUS_DIR / "alerts_test.yml").read_text())
    result = run_tool(PROMTOOL, "test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "TgwebhookTelegramDeliveryErrors" in result.stdout + result.stderr


def test_prometheus_example_config_is_valid_and_scrapes_job_tgwebhook(tmp_path: Path):
    # promtool wants the scrape's credentials file (a compose secret) to exist: a stand-in.
    text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    (tmp_path / "ops_token").write_text("stand-in\n")
    (tmp_path / "prometheus.yml").write_text(text.replace("/run/secrets/", f"{tmp_path}/"))
    (tmp_path / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    result = run_tool(PROMTOOL, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "tgwebhook" in jobs
    assert config["rule_files"] == ["alerts.yml"]


def test_alertmanager_example_config_is_valid():
    result = run_tool(AMTOOL, "check-config", "alertmanager.yml", cwd=GRAFANA / "alertmanager")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule", RULES, ids=[r["alert"] for r in RULES])
def test_every_rule_has_severity_summary_description_and_a_runbook(rule):
    assert rule["labels"]["severity"] in ("critical", "warning")
    notes = rule["annotations"]
    assert notes["summary"] and notes["description"]
    assert notes["runbook_url"] == f"docs/dashboards.md#{rule['alert'].lower()}"
    assert rule["alert"].lower() in github_anchors(DOCS.read_text()), "runbook section missing"
    assert 'job="tgwebhook"' in rule["expr"], "every selector is scoped to the tgwebhook job"


@pytest.mark.parametrize("rule", RULES, ids=[r["alert"] for r in RULES])
def test_every_rule_is_unit_tested_firing_and_silent(rule):
    cases = [
        case
        for test in TESTS
        for case in test["alert_rule_test"]
        if case["alertname"] == rule["alert"]
    ]
    assert any(case["exp_alerts"] for case in cases), "no case where it fires"
    assert any(not case["exp_alerts"] for case in cases), "no case where it stays silent"
