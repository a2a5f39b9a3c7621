"""`make run` (python app.py demo): the first line printed is the console's URL, and the console
there shows the demo's bot without any login (a loopback listener)."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading

import requests

from tests.helpers.support import ROOT, free_port, stop_process


def test_the_demo_prints_the_console_url_first_and_serves_it():
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "app.py", "demo", "--port", str(port), "--duration", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in demo.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=60)
        url = f"http://127.0.0.1:{port}/"
        assert first.startswith(f"console: {url}")
        page = requests.get(url, timeout=10)
        assert page.status_code == 200
        assert '<article class="bot-card" data-bot="default"' in page.text
        assert requests.get(url + "api/overview", timeout=10).json()["cards"][0]["bot"] == "default"
    finally:
        stop_process(demo, timeout=60)
    assert demo.returncode == 0
