"""What the dashboards and rules contain, and the real servers the tests run them against:
a real Prometheus (Debian's 2.42, as in CI) and small local HTTP/TLS servers."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.helpers.support import stop_process, wait_until

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
PROMETHEUS_DIR = GRAFANA / "prometheus"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
WAIT = 30.0  # upper bound of any single wait on Prometheus
# Grafana variables and their values in the live test.
RATE_INTERVAL = "1m"
# Metrics Prometheus itself makes; everything else must be declared in core/metrics.SPECS.
PROMETHEUS_METRICS = frozenset({"up"})
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


# -- what the dashboards and rules contain ---------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a panel target or an alert rule, with where it came from."""

    where: str  # "overview / Queue depth [A]" or "alert TgwebhookQueueStuck"
    expr: str


def load_dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARD_FILES}


def panels(dashboard: dict) -> Iterator[dict]:
    for item in dashboard["panels"]:
        if item["type"] == "row":
            yield from item.get("panels", [])
        else:
            yield item


def panel_queries() -> list[Query]:
    return [
        Query(f"{dash['title']} / {p['title']} [{t['refId']}]", t["expr"])
        for dash in load_dashboards().values()
        for p in panels(dash)
        for t in p.get("targets", [])
    ]


def load_rules() -> list[dict]:
    document = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def rule_queries() -> list[Query]:
    return [Query(f"alert {rule['alert']}", rule["expr"]) for rule in load_rules()]


METRIC = re.compile(r"\b(tgwebhook_[a-z_]+|up)\b(?!\s*\()")
SELECTOR = re.compile(r"\b(tgwebhook_[a-z_]+|up)(\{[^}]*\})?(?!\s*\()")


def metric_names(expr: str, histograms: frozenset[str] = frozenset()) -> set[str]:
    """Metric names in an expression; series of the given histograms folded into their name."""
    names = set()
    for name in METRIC.findall(expr):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.removesuffix(suffix) in histograms:
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def selectors(expr: str) -> list[str]:
    """Every vector selector (`name{matchers}`) in an expression."""
    return sorted({name + (matchers or "") for name, matchers in SELECTOR.findall(expr)})


def substitute(expr: str, values: dict[str, str]) -> str:
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("$" + name, value).replace("${" + name + "}", value)
    return expr


def run_tool(*argv: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)


# -- a real Prometheus -----------------------------------------------------------------------


@dataclass
class Prometheus:
    process: subprocess.Popen
    url: str
    log: Path

    def api(self, path: str, **params: Any) -> Any:
        answer = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = answer.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), data["resultType"]
        return data["result"] if data["resultType"] == "vector" else [{"value": data["result"]}]

    def wait_for(self, expr: str, timeout: float = WAIT) -> list[dict]:
        return wait(lambda: self.query(expr), timeout, f"no series for {expr}")

    def alerts(self) -> dict[str, str]:
        """Alert name -> state (pending or firing) of the alerts active now."""
        return {a["labels"]["alertname"]: a["state"] for a in self.api("alerts")["alerts"]}

    def stop(self) -> None:
        stop_process(self.process)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    return wait_until(probe, timeout, interval, what)


def start_prometheus(workdir: Path, port: int, target: str, rules: Path) -> Prometheus:
    """Scrape `target` every second as job tgwebhook and evaluate `rules` every second."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "tgwebhook", "static_configs": [{"targets": [target]}]}],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = workdir / "prometheus.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Prometheus(process, f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{server.output()}")
        try:
            return requests.get(server.url + "/-/ready", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait(ready, WAIT, "prometheus not ready")
    except BaseException:
        server.stop()
        raise
    return server


# -- small local servers ---------------------------------------------------------------------


@dataclass
class Sink:
    """A local HTTP(S) server answering every request with `status(body)`."""

    server: ThreadingHTTPServer
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_sink(status: Callable[[bytes], int], context: ssl.SSLContext | None = None) -> Sink:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status(body))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if context else "http"
    threading.Thread(target=server.serve_forever, daemon=True, name="sink").start()
    return Sink(server, f"{scheme}://127.0.0.1:{server.server_address[1]}")
