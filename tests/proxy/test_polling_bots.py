"""Unmodified aiogram 3 and python-telegram-bot 22 polling bots behind the appliance (the
simulator as Telegram): only their API base URL points at the appliance's ops listener."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.fault_kit import live_group_members
from tests.helpers.proxy_kit import PollStack, handled, inject_chats, poll_stack, served_all
from tests.helpers.support import ROOT, stop_process, wait_until

FRAMEWORKS = ["aiogram", "ptb"]


def start_bot(framework: str, stack: PollStack, log: Path, slow: float = 0.0) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.helpers.polling_bot", framework]
    command += [stack.api_base, stack.token, str(log), str(slow)]
    output = open(log.with_suffix(".out"), "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_update_is_handled_once_in_chat_order_and_replies_reach_telegram(
    framework, sim, serve, token, tmp_path
):
    stack = poll_stack(sim, serve, token)
    sim.admin.clear_calls(token)
    bot = start_bot(framework, stack, tmp_path / "handled.log")
    try:
        sent = inject_chats(stack, 10, (11, 12, 13))
        wait_until(lambda: len(handled(tmp_path / "handled.log")) >= 30, timeout=30)
        wait_until(lambda: len(sim.admin.calls(token, method="sendMessage")) >= 30, timeout=15)
    finally:
        stop_process(bot)
    rows = handled(tmp_path / "handled.log")
    assert Counter(u for u, _, _ in rows) == Counter(u["update_id"] for u in sent)
    for chat in (11, 12, 13):
        assert [t for _, c, t in rows if c == chat] == [f"m{i}" for i in range(10)]
    methods = Counter(call["method"] for call in sim.admin.calls(token))
    assert methods["getUpdates"] == methods["deleteWebhook"] == methods["setWebhook"] == 0
    assert sim.admin.webhook_info(token)["url"].endswith("/webhook/default")


# PTB (and aiogram by default) confirm a batch with their next poll right after the fetch,
# before handling it, exactly as they do with Telegram: that loss is the bot's own offset.
@pytest.mark.parametrize("framework", ["aiogram"])
def test_kill_9_between_fetch_and_handling_loses_nothing(framework, sim, serve, token, tmp_path):
    stack = poll_stack(sim, serve, token)
    log = tmp_path / "handled.log"
    slow = start_bot(framework, stack, log, slow=30)
    try:
        wait_until(lambda: stack.call("getWebhookInfo").ok, timeout=10)
        sent = inject_chats(stack, 3, (21, 22))
        wait_until(lambda: served_all(stack, sent), timeout=15)  # fetched by the slow bot
    finally:
        os.kill(slow.pid, signal.SIGKILL)
        slow.wait(timeout=10)
    assert handled(log) == []
    bot = start_bot(framework, stack, log)
    try:
        wait_until(lambda: len(handled(log)) >= 6, timeout=30)
    finally:
        stop_process(bot)
    assert sorted(u for u, _, _ in handled(log)) == sorted(u["update_id"] for u in sent)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_rolling_deploy_skips_nothing_and_the_loser_gets_409(
    framework, sim, serve, token, tmp_path
):
    stack = poll_stack(sim, serve, token)
    old = start_bot(framework, stack, tmp_path / "old.log")
    new = None
    try:
        first = inject_chats(stack, 5, (31, 32))
        wait_until(lambda: len(handled(tmp_path / "old.log")) >= 10, timeout=30)
        new = start_bot(framework, stack, tmp_path / "new.log")
        second = inject_chats(stack, 5, (31, 32))  # while both poll
        wait_until(lambda: conflict_seen(tmp_path), timeout=30)
    finally:
        stop_process(old)
    try:
        third = inject_chats(stack, 5, (31, 32))
        everything = {u["update_id"] for u in first + second + third}
        both = lambda: handled(tmp_path / "old.log") + handled(tmp_path / "new.log")  # noqa: E731
        wait_until(lambda: {u for u, _, _ in both()} >= everything, timeout=30)
    finally:
        stop_process(new)
    assert Counter(u for u, _, _ in handled(tmp_path / "new.log"))[third[0]["update_id"]] == 1


def conflict_seen(tmp_path: Path) -> bool:
    text = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.out"))
    return "terminated by other getUpdates request" in text


def test_kill_9_of_the_appliance_loses_no_acknowledged_update(sim, serve, token, tmp_path):
    stack = poll_stack(sim, serve, token)
    first = inject_chats(stack, 5, (41, 42))
    sim.admin.wait_delivered(token, 10, timeout=15)  # acknowledged to Telegram
    got = stack.call("getUpdates", limit=4).json()["result"]
    confirmed = {u["update_id"] for u in got}
    stack.call("getUpdates", offset=got[-1]["update_id"] + 1, limit=1)  # confirms those 4
    os.killpg(stack.served.process.pid, signal.SIGKILL)  # serve started its own session
    stack.served.process.wait(timeout=10)
    wait_until(lambda: not live_group_members(stack.served.process.pid), timeout=10)
    # The same store and port: the bot's API base URL does not change across the restart.
    listen = stack.served.env["TGWEBHOOK_LISTEN"]
    again = poll_stack(sim, serve, token, DB=stack.served.db, LISTEN=listen)
    bot = start_bot("aiogram", again, tmp_path / "handled.log")
    try:
        second = inject_chats(again, 2, (41, 42))
        expected = Counter(
            u["update_id"] for u in first + second if u["update_id"] not in confirmed
        )
        wait_until(lambda: len(handled(tmp_path / "handled.log")) >= sum(expected.values()))
    finally:
        stop_process(bot)
    rows = handled(tmp_path / "handled.log")
    assert Counter(u for u, _, _ in rows) == expected  # each once, none of the confirmed
    for chat in (41, 42):  # in each chat, in the order Telegram sent them
        ids = [u for u, c, _ in rows if c == chat]
        assert ids == sorted(ids)
