"""`bench/ingest.py` still runs end to end (wrk against a real `serve`), so `make bench` does not
rot between benchmark days. A smoke run: one second per row, figures not judged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.helpers.support import ROOT


def test_ingest_bench_measures_the_appliance_on_an_empty_and_a_prefilled_store(tmp_path):
    assert shutil.which("wrk"), "wrk is missing: apt-get install wrk (.ci/run does)"
    done = subprocess.run(
        [
            sys.executable,
            "bench/ingest.py",
            "--targets",
            "tgwebhook",
            "--connections",
            "4",
            "--duration",
            "1",
            "--prefill",
            "0,2000",
            "--dup",
            "0,50",
            "--out",
            str(tmp_path),
            "--name",
            "smoke",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = json.loads((tmp_path / "smoke.json").read_text())
    assert [(r["retained"], r["dup_percent"]) for r in rows] == [
        (0, 0),
        (0, 50),
        (2000, 0),
        (2000, 50),
    ]
    for row in rows:
        assert row["updates_per_s"] > 0 and row["errors"] == 0 and row["peak_rss_mb"] > 0
    table = (tmp_path / "smoke.md").read_text().splitlines()
    assert table[0].startswith("| target | retained ids |") and len(table) == 2 + len(rows)
