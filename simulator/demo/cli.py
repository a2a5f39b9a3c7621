"""`python app.py demo`: the whole appliance on the simulator, with traffic and incidents.

Starts the fake Bot API, a demo echo bot, `python app.py serve` (web + monitor + forwarder on
SQLite), registers the webhook with `python app.py set-webhook` (the normal code path), drives
traffic, prints a live summary, and with `--scenario` plays an incident so an alert fires and
resolves. Nothing here talks to api.telegram.org, and no token is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from simulator.demo.bot import DemoBot
from simulator.demo.watch import AlertInbox, Summary, read_metrics
from simulator.harness import Simulator, start_simulator
from simulator.tokens import make_token

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Scenario:
    alert: str  # the alert that must fire and then resolve
    start: Callable[[Demo], None]
    stop: Callable[[Demo], None]
    hold: float  # seconds the incident lasts


def wrong_secret(demo: Demo) -> None:
    # As if someone rotated the secret at Telegram only: every delivery now gets a 401.
    requests.post(
        demo.sim.api_url(demo.token, "setWebhook"),
        timeout=10,
        json={"url": demo.public_url + "/webhook/default", "secret_token": "rotated-elsewhere"},
    )


def set_delay(seconds: float) -> Callable[[Demo], None]:
    def act(demo: Demo) -> None:
        demo.bot.delay = seconds

    return act


SCENARIOS = {
    "bot-down": Scenario("queue_backlog", lambda d: d.bot.down(), lambda d: d.bot.up(), 25),
    "slow-bot": Scenario("queue_backlog", set_delay(8.0), set_delay(0), 25),
    "revoked-token": Scenario(
        "poll_failing",
        lambda d: d.sim.admin.revoke(d.token),
        lambda d: d.sim.admin.unrevoke(d.token),
        15,
    ),
    # Telegram cannot deliver (a secret rotated elsewhere), so updates pile up on its side.
    "backlog": Scenario("backlog", wrong_secret, lambda d: d.register(), 20),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    token: str
    bot: DemoBot

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        if not args.port:  # --port 0: any free port, as servers usually read it
            args.port = free_port()
        self.args, self.workdir = args, workdir
        self.token = make_token(1)
        self.secret = secrets.token_urlsafe(24)
        self.public_url = f"http://127.0.0.1:{args.port}"
        self.sim: Simulator = start_simulator(time_factor=0.05, local=True)
        self.bot = DemoBot(free_port(), secrets.token_urlsafe(16))
        self.inbox = AlertInbox(free_port())
        self.serve: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        values = {
            "DB": self.workdir / "demo.db",
            "LISTEN": f"127.0.0.1:{self.args.port}",
            "SECRET_TOKEN": self.secret,
            "BOT_TOKEN": self.token,
            "API_BASE": self.sim.base_url,
            "PUBLIC_URL": self.public_url,
            "FORWARD_URL": self.bot.url,
            "FORWARD_SECRET_TOKEN": self.bot.secret,
            "ALERT_WEBHOOK_URL": self.inbox.url,
            "POLL_INTERVAL_SECONDS": self.args.poll_interval,
            "SAMPLE_INTERVAL_SECONDS": 5,  # the console's charts fill within a demo's minutes
            "QUEUE_AGE_THRESHOLD_SECONDS": 8,
            "BACKLOG_THRESHOLD": 20,
            "POLL_FAILURES_THRESHOLD": 2,
            "FORWARD_BACKOFF_CAP_SECONDS": 1,
            "WORKERS": 2,
            "LOG_LEVEL": "WARNING",
        }
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("TGWEBHOOK_", "PROMETHEUS"))
        }
        return clean | {f"TGWEBHOOK_{k}": str(v) for k, v in values.items()}

    def start(self) -> None:
        self.bot.up()
        self.inbox.start()
        self.register()  # before the monitor's first poll, so no webhook_missing alert at start
        log = open(self.workdir / "serve.log", "wb")  # noqa: SIM115 (kept open for the child)
        self.serve = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(timeout=30)
        self.sim.admin.start_traffic(self.token, rate=self.args.rate, chats=20, duplicates=0.1)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.serve is None or self.serve.poll() is not None:
                raise RuntimeError(f"the appliance exited; see {self.workdir / 'serve.log'}")
            try:
                if requests.get(self.public_url + "/readyz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the appliance was not ready within {timeout} s")

    def register(self) -> None:
        subprocess.run(
            [sys.executable, "app.py", "set-webhook"],
            cwd=ROOT,
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # shutting down: the simulator may be gone already
            self.sim.admin.stop_traffic()
        if self.serve is not None and self.serve.poll() is None:
            self.serve.terminate()
            try:
                self.serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.serve.kill()
        self.bot.down()
        self.inbox.stop()
        self.sim.stop()


def banner(demo: Demo) -> str:
    url = demo.public_url
    return (
        f"console: {url}/  (open it in a browser; loopback, so no login)\n"
        f"tgwebhook demo on {url}  (fake Bot API {demo.sim.base_url}, no real token)\n"
        f"  health:  {url}/health\n  metrics: {url}/metrics\n"
        f"  alerts:  TGWEBHOOK_DB={demo.workdir / 'demo.db'} python app.py alerts\n"
        f"  dashboards: grafana/dashboards/ (see docs/dashboards.md)\n  Ctrl-C stops everything."
    )


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as cleanly as Ctrl-C does


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, interrupt)
    workdir = Path(args.data_dir or tempfile.mkdtemp(prefix="tgwebhook-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    demo = Demo(args, workdir)
    scenario = SCENARIOS.get(args.scenario) if args.scenario else None
    try:
        demo.start()
        print(banner(demo), flush=True)
        return play(demo, scenario, args)
    except KeyboardInterrupt:
        return 0
    finally:
        demo.stop()
        if not args.data_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def play(demo: Demo, scenario: Scenario | None, args: argparse.Namespace) -> int:
    started = time.monotonic()
    summary = Summary(sys.stdout.isatty())
    incident: dict[str, float | None] = {"on": None, "off": None}
    while args.duration is None or time.monotonic() - started < args.duration:
        elapsed = time.monotonic() - started
        if scenario and incident["on"] is None and elapsed >= args.incident_after:
            print(f"[{elapsed:5.1f}s] scenario {args.scenario}: incident starts", flush=True)
            scenario.start(demo)
            incident["on"] = elapsed
        if (
            scenario
            and incident["on"] is not None
            and incident["off"] is None
            and elapsed >= incident["on"] + scenario.hold
        ):
            print(f"[{elapsed:5.1f}s] scenario {args.scenario}: incident ends", flush=True)
            scenario.stop(demo)
            incident["off"] = elapsed
        summary.show(elapsed, read_metrics(demo.public_url), demo.inbox.drain())
        if scenario and demo.inbox.resolved(scenario.alert):
            break
        time.sleep(1.0)
    return verdict(demo, scenario, args)


def verdict(demo: Demo, scenario: Scenario | None, args: argparse.Namespace) -> int:
    if scenario is None:
        return 0
    fired, resolved = demo.inbox.fired(scenario.alert), demo.inbox.resolved(scenario.alert)
    print(
        f"scenario {args.scenario}: alert {scenario.alert} "
        f"{'fired' if fired else 'did NOT fire'} and "
        f"{'resolved' if resolved else 'did NOT resolve'}",
        flush=True,
    )
    return 0 if fired and resolved else 1


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo", help="the appliance on the built-in simulator, no token needed"
    )
    demo.add_argument(
        "--port", type=int, default=8080, help="where the appliance listens (0: any free port)"
    )
    demo.add_argument("--rate", type=float, default=5.0, help="synthetic updates per second")
    demo.add_argument("--scenario", choices=sorted(SCENARIOS), help="play an incident")
    demo.add_argument("--incident-after", type=float, default=8.0, help="seconds before it starts")
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.add_argument("--data-dir", default=None, help="keep the demo's database here")
    demo.add_argument(
        "--poll-interval", type=float, default=2.0, help="getWebhookInfo interval (s)"
    )
    demo.set_defaults(handler=run)
