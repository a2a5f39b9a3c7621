"""`bench/console.py` still runs end to end (prefill, a real `serve`, every row measured), so the
console's figure can be taken again on benchmark day. A smoke run: small store, figures not
judged."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.support import ROOT


def test_console_bench_measures_every_row_on_a_prefilled_store(tmp_path):
    done = subprocess.run(
        [sys.executable, "bench/console.py", "--updates", "5000", "--dead", "50"]
        + ["--requests", "3", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    table = (tmp_path / "console.md").read_text()
    for path in ("/livez", "/", "/api/overview", "/dead-letters", "/api/dead-letters/count"):
        assert f"| `GET {path}` |" in table
    assert "5,000 updates" in table and "50 of them dead letters" in table
