"""An unmodified grammY (Node) polling bot behind the appliance, the simulator as Telegram: its
only change is `apiRoot`, pointed at the appliance's ops listener (tests/helpers/grammy_bot)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.proxy_kit import PollStack, handled, inject_chats, poll_stack, served_all
from tests.helpers.support import ROOT, stop_process, wait_until

BOT_DIR = ROOT / "tests" / "helpers" / "grammy_bot"
NODE = shutil.which("node")
# .ci/run installs Node and sets this: there a missing Node fails the test instead of skipping.
NODE_REQUIRED = os.environ.get("TGWEBHOOK_REQUIRE_NODE") == "1"

pytestmark = pytest.mark.skipif(
    NODE is None and not NODE_REQUIRED,
    reason="node is not installed here (.ci/run installs it, and CI fails instead of skipping)",
)


@pytest.fixture(scope="module")
def grammy() -> Path:
    """The bot's folder with grammY installed (npm ci from the lock file if it is not)."""
    assert NODE is not None, "node is not installed: .ci/run installs nodejs and npm"
    if not (BOT_DIR / "node_modules" / "grammy").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "npm is not installed: .ci/run installs it"
        command = [npm, "ci", "--no-audit", "--no-fund"]
        done = subprocess.run(command, cwd=BOT_DIR, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return BOT_DIR


def start_bot(stack: PollStack, log: Path, slow: float = 0.0) -> subprocess.Popen:
    assert NODE is not None
    command = [NODE, "bot.js", stack.api_base, stack.token, str(log), str(slow)]
    output = open(log.with_suffix(".out"), "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command, cwd=BOT_DIR, stdout=output, stderr=subprocess.STDOUT)


def test_every_update_is_handled_once_in_chat_order_and_replies_reach_telegram(
    grammy, sim, serve, token, tmp_path
):
    stack = poll_stack(sim, serve, token)
    sim.admin.clear_calls(token)
    log = tmp_path / "handled.log"
    bot = start_bot(stack, log)
    try:
        sent = inject_chats(stack, 10, (11, 12, 13))
        wait_until(lambda: len(handled(log)) >= 30, timeout=30, what="30 updates handled")
        replies = lambda: len(sim.admin.calls(token, method="sendMessage")) >= 30  # noqa: E731
        wait_until(replies, timeout=15, what="30 replies at the simulator")
    finally:
        stop_process(bot)
    rows = handled(log)
    assert Counter(u for u, _, _ in rows) == Counter(u["update_id"] for u in sent)
    for chat in (11, 12, 13):
        assert [t for _, c, t in rows if c == chat] == [f"m{i}" for i in range(10)]
    methods = Counter(call["method"] for call in sim.admin.calls(token))
    # grammY's bot.start() calls deleteWebhook first: the appliance answers it locally.
    assert methods["getUpdates"] == methods["deleteWebhook"] == methods["setWebhook"] == 0
    replies_sent = sim.admin.calls(token, method="sendMessage")
    assert sorted(c["params"]["text"] for c in replies_sent) == sorted(
        f"echo {t}" for *_, t in rows
    )
    assert sim.admin.webhook_info(token)["url"].endswith("/webhook/default")


def test_kill_9_between_fetch_and_handling_loses_nothing(grammy, sim, serve, token, tmp_path):
    stack = poll_stack(sim, serve, token)
    log = tmp_path / "handled.log"
    slow = start_bot(stack, log, slow=30)
    try:
        sent = inject_chats(stack, 3, (21, 22))
        wait_until(lambda: served_all(stack, sent), timeout=20, what="the batch fetched")
    finally:
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(timeout=10)
    assert handled(log) == []
    bot = start_bot(stack, log)
    try:
        wait_until(lambda: len(handled(log)) >= 6, timeout=30, what="6 updates handled")
    finally:
        stop_process(bot)
    assert sorted(u for u, _, _ in handled(log)) == sorted(u["update_id"] for u in sent)
