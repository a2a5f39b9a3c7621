"""`python -m simulator.ctl`: fault injection and the rest of the admin API from a shell."""

from __future__ import annotations

import json
import subprocess
import sys

from simulator import ctl
from tests.helpers.support import ROOT


def run(capsys, sim, *argv: str) -> tuple[int, object]:
    code = ctl.main(["--url", sim.base_url, *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else None


def test_a_rate_limit_fault_answers_429_with_retry_after_until_cleared(capsys, sim, api, token):
    code, fault = run(
        capsys,
        sim,
        "fault",
        "sendMessage",
        "--error-code",
        "429",
        "--retry-after",
        "7",
        "--token",
        token,
    )
    assert code == 0 and fault["method"].lower() == "sendmessage"
    refused = api("sendMessage", chat_id=5, text="hi")
    assert (refused["error_code"], refused["parameters"]["retry_after"]) == (429, 7)
    assert refused["description"] == "Too Many Requests: retry after 7"
    assert run(capsys, sim, "faults")[1] == [fault]
    assert run(capsys, sim, "clear-faults", "--token", token) == (0, 1)
    assert api("sendMessage", chat_id=5, text="hi")["ok"]


def test_a_fault_for_a_few_calls_then_passes(capsys, sim, api):
    run(capsys, sim, "fault", "*", "--error-code", "500", "--times", "2")
    codes = [api("getMe").get("error_code") for _ in range(3)]
    assert codes == [500, 500, None]


def test_revoke_makes_every_call_of_the_bot_unauthorized_until_unrevoked(capsys, sim, api, token):
    assert run(capsys, sim, "revoke", token) == (0, {"revoked": token})
    assert api("getWebhookInfo") == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    run(capsys, sim, "unrevoke", token)
    assert api("getWebhookInfo")["ok"]


def test_injected_updates_wait_at_telegram_without_a_webhook(capsys, sim, token):
    code, updates = run(capsys, sim, "inject", token, "--text", "hello", "--count", "3")
    assert code == 0 and [u["message"]["text"] for u in updates] == ["hello"] * 3
    assert run(capsys, sim, "webhook-info", token)[1]["pending_update_count"] == 3


def test_a_refused_request_exits_1_and_says_why(capsys, sim):
    assert ctl.main(["--url", sim.base_url, "fault", "getMe", "--error-code", "200"]) == 1
    assert "simulator refused" in capsys.readouterr().err


def test_an_unreachable_simulator_exits_2(closed_port_url):
    base = closed_port_url.removesuffix("/hook")
    done = subprocess.run(
        [sys.executable, "-m", "simulator.ctl", "--url", base, "faults"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "cannot reach the simulator" in done.stderr
