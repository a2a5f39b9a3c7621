"""The architecture checker can fail: each rule reports a forbidden sample and passes its
allowed twin (the same text where the rule allows it)."""

from __future__ import annotations

import pytest

from tests.test_architecture import RULES, read

FORBIDDEN = [
    ("imports", "core/config.py", "from receiver.security import is_secret_valid\n"),
    ("imports", "core/storage/model.py", "import serve\n"),
    ("imports", "receiver/pipeline.py", "def f():\n    from forwarder import transport\n"),
    ("imports", "monitor/commands/cli.py", "from ...simulator import server\n"),
    ("imports", "ops/views.py", "import importlib\nimportlib.import_module('monitor.jobs')\n"),
    ("imports", "grafana/panels.py", "from simulator.demo import cli\n"),
    ("imports", "simulator/server.py", "import app\n"),
    ("imports", "newpart/thing.py", "import os\n"),
    ("storage_seam", "forwarder/courier.py", "from core.storage.queue import Outcome\n"),
    ("storage_seam", "app.py", "from core.storage.sqlite.store import SqliteStore\n"),
    ("sql", "receiver/pipeline.py", 'Q = "SELECT id FROM updates WHERE bot = ?"\n'),
    ("sql", "forwarder/courier.py", 'def f(t):\n    return f"UPDATE {t} SET state = 1"\n'),
    ("sql", "ops/views.py", 'conn.execute("DELETE FROM updates")\n'),
    ("sql", "monitor/jobs.py", 'S = """\nCREATE TABLE x (id INTEGER)\n"""\n'),
    ("sql", "monitor/jobs.py", "import sqlite3\n"),
    ("outbound", "receiver/pipeline.py", "import requests\n"),
    ("outbound", "ops/views.py", "from urllib.request import urlopen\n"),
    ("outbound", "monitor/jobs.py", "import aiohttp\ns = aiohttp.ClientSession()\n"),
    ("outbound", "forwarder/courier.py", "from http import client\n"),
    ("outbound", "core/config.py", "import smtplib\n"),
    (
        "outbound",
        "receiver/pipeline.py",
        "async def f(loop):\n    await loop.create_connection(P, h, 80)\n",
    ),
    (
        "outbound",
        "ops/views.py",
        "import asyncio\nasync def f():\n    await asyncio.open_connection(h, 80)\n",
    ),
    ("secret_header", "receiver/pipeline.py", 'H = "X-Telegram-Bot-Api-Secret-Token"\n'),
    ("secret_header", "receiver/asgi.py", 'H = b"x-telegram-bot-api-secret-token"\n'),
    ("secret_header", "receiver/wsgi.py", 'H = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"\n'),
    ("metric_names", "receiver/pipeline.py", 'N = "tgwebhook_made_up_total"\n'),
    (
        "metric_names",
        "ops/views.py",
        "from prometheus_client import Counter\nC = Counter('x', 'h')\n",
    ),
    ("env_prefix", "monitor/jobs.py", 'import os\nv = os.environ.get("TGWEBHOOK_DB")\n'),
    ("env_prefix", "receiver/pipeline.py", 'import os\nv = os.getenv("TGWEBHOOK_LISTEN", "")\n'),
    ("env_prefix", "forwarder/cli.py", 'import os\nv = os.environ["TGWEBHOOK_DB"]\n'),
    ("env_prefix", "ops/views.py", 'PREFIX = "TGWEBHOOK_"\n'),
    ("module_size", "receiver/pipeline.py", "x = 1\n" * 301),
]

ALLOWED = [
    ("imports", "app.py", "from receiver.security import is_secret_valid\nimport monitor\n"),
    ("imports", "receiver/pipeline.py", "from core.storage import StoreError\nimport json\n"),
    ("storage_seam", "forwarder/courier.py", "from core.storage import Outcome\n"),
    ("storage_seam", "core/storage/sqlite/store.py", "from core.storage.queue import QueueVerbs\n"),
    ("imports", "monitor/commands/cli.py", "from ..rules import evaluate\nimport gunicorn\n"),
    ("imports", "bench/e2e.py", "from simulator.demo import cli\n"),
    ("sql", "core/storage/queue.py", 'Q = "SELECT id FROM updates WHERE bot = ?"\n'),
    ("sql", "core/storage/sqlite/store.py", "import sqlite3\n"),
    ("sql", "receiver/pipeline.py", '"""Claims with INSERT INTO ... ON CONFLICT."""\n'),
    ("sql", "receiver/pipeline.py", 'm = "update %s of bot %s deviates from the spec"\n'),
    ("sql", "forwarder/cli.py", 'h = "select updates to replay from the dead letters"\n'),
    ("outbound", "core/telegram.py", "import requests\n"),
    ("outbound", "monitor/notifiers/email.py", "import smtplib\n"),
    (
        "outbound",
        "forwarder/connection.py",
        "async def f(loop):\n    await loop.create_connection(P, h, 80)\n",
    ),
    ("outbound", "simulator/delivery.py", "import aiohttp\ns = aiohttp.ClientSession()\n"),
    ("outbound", "simulator/server.py", "from aiohttp import web\n"),
    ("outbound", "core/identity.py", "import socket\nh = socket.gethostname()\n"),
    ("secret_header", "core/telegram.py", 'SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"\n'),
    ("secret_header", "core/settings_table.py", 'h = "sent in X-Telegram-Bot-Api-Secret-Token"\n'),
    ("metric_names", "core/metrics.py", 'N = "tgwebhook_made_up_total"\n'),
    ("metric_names", "grafana/generate.py", 'q = f"rate(tgwebhook_requests_total{{{s}}}[5m])"\n'),
    ("metric_names", "grafana/generate.py", 'q = "tgwebhook_request_duration_seconds_bucket"\n'),
    ("metric_names", "simulator/demo/cli.py", "class Summary:\n    pass\ns = Summary()\n"),
    (
        "env_prefix",
        "core/config.py",
        'import os\nPREFIX = "TGWEBHOOK_"\nv = os.getenv("TGWEBHOOK_DB")\n',
    ),
    ("env_prefix", "serve.py", 'import os\nenv = {**os.environ, "TGWEBHOOK_DB": "x"}\n'),
    ("module_size", "receiver/pipeline.py", "x = 1\n" * 300),
]


def case_id(case: tuple[str, str, str]) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize("case", FORBIDDEN, ids=case_id)
def test_the_checker_reports_a_forbidden_sample(case):
    rule, path, source = case
    assert RULES[rule](source, path) != []


@pytest.mark.parametrize("case", ALLOWED, ids=case_id)
def test_the_checker_passes_the_allowed_twin(case):
    rule, path, source = case
    assert RULES[rule](source, path) == []


INJECTED = [
    ("imports", "receiver/pipeline.py", "\ndef later():\n    from forwarder import transport\n"),
    ("imports", "core/config.py", "\nimport monitor.rules\n"),
    ("sql", "ops/views.py", '\nSTALE = "DELETE FROM updates WHERE bot = ?"\n'),
    ("outbound", "monitor/jobs.py", "\nimport requests\n"),
]


@pytest.mark.parametrize("case", INJECTED, ids=case_id)
def test_a_real_module_passes_until_a_violation_is_added(case):
    rule, path, added = case
    source = read(path)
    assert RULES[rule](source, path) == []
    assert len(RULES[rule](source + added, path)) == 1
