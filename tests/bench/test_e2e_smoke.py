"""`bench/e2e.py` still runs end to end (a real `serve` forwarding to a bot process, the asyncio
loader and wrk), so `make bench` does not rot. A smoke run of a second per row: timings are not
judged, but what was acknowledged must all reach the bot, once and in order."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.helpers.support import ROOT


def run_e2e(tmp_path, *args: str) -> list[dict]:
    argv = [sys.executable, "bench/e2e.py", "--duration", "1", "--drain-timeout", "60"]
    argv += ["--out", str(tmp_path), "--name", "smoke", *args]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads((tmp_path / "smoke.json").read_text())


def test_e2e_bench_delivers_every_acknowledged_update_and_reports_figures(tmp_path):
    assert shutil.which("wrk"), "wrk is missing: apt-get install wrk (.ci/run does)"
    rows = run_e2e(tmp_path, "--rows", "rates,saturation", "--rates", "100", "--connections", "2")
    assert [(r["path"], r["load"]) for r in rows] == [
        ("appliance", 100.0),
        ("direct", 100.0),
        ("appliance", "max"),
        ("direct", "max"),
    ]
    for row in rows:
        assert row["acked"] > 0 and row["delivered"] == row["acked"], row
        assert row["duplicates"] == 0 and row["queue_left"] == 0, row
    appliance = [r for r in rows if r["path"] == "appliance"]
    for row in appliance:
        assert row["lost"] == 0 and row["forwarder_cpu_us_per_update"] > 0, row
        assert row["rss_mb"] > 50 and row["drain_s"] is not None, row
        # The appliance's own tgwebhook_forward_lag_seconds saw the row's deliveries too.
        assert 0 < row["metric_lag_p50_ms"] <= row["metric_lag_p99_ms"], row
    paced = appliance[0]
    assert paced["order_violations"] == 0 and paced["errors"] == 0
    assert paced["lag_p50_ms"] is not None  # negative is possible: delivered before the 200 read
    assert paced["lag_p50_ms"] <= paced["lag_p99_ms"] <= paced["lag_max_ms"]
    table = (tmp_path / "smoke.md").read_text()
    assert "| fast | appliance | 500 | 100 |" in table and "| forwarding to fast bot |" in table
