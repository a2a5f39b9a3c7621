"""The simulator's flood model: Telegram's per-chat and overall limits, per-(method, chat)
penalties and forced floods, as a pure model and over real HTTP."""

from __future__ import annotations

import json
import time

import pytest
import requests

from simulator import ctl
from simulator.flood import FloodLimits, FloodModel, early_sends, parse_limits

ON = FloodLimits(enabled=True)
PRIVATE, OTHER_PRIVATE, GROUP, CHANNEL = 42, 43, -100123, "@news"


def run(limits: FloodLimits, calls: list[tuple[float, str, object]]) -> list[str]:
    """Each call's outcome: "ok" or "429/<retry_after>/<reason>"."""
    model = FloodModel(limits)
    outcomes = []
    for now, method, chat in calls:
        refusal = model.check(method, chat, now)
        outcomes.append("ok" if refusal is None else f"429/{refusal.retry_after}/{refusal.reason}")
    return outcomes


def burst(count: int, chat: object, now: float = 0.0, method: str = "sendMessage") -> list:
    return [(now, method, chat)] * count


LIMIT_TABLE = [
    pytest.param(ON, burst(3, PRIVATE), ["ok"] * 3, id="private burst of 3 tolerated"),
    pytest.param(
        ON, burst(4, PRIVATE), ["ok"] * 3 + ["429/1/private"], id="private 4th at once refused"
    ),
    pytest.param(
        ON,
        burst(3, PRIVATE) + [(1.0, "sendMessage", PRIVATE)],
        ["ok"] * 4,
        id="private refills 1 per second",
    ),
    pytest.param(
        ON,
        [(t * 1.0, "sendMessage", PRIVATE) for t in range(10)],
        ["ok"] * 10,
        id="private steady 1/s never refused",
    ),
    pytest.param(
        ON,
        burst(4, PRIVATE) + burst(1, OTHER_PRIVATE),
        ["ok"] * 3 + ["429/1/private", "ok"],
        id="another private chat is not affected",
    ),
    pytest.param(ON, burst(21, GROUP), ["ok"] * 20 + ["429/3/group"], id="group 20 per minute"),
    pytest.param(
        ON, burst(21, CHANNEL), ["ok"] * 20 + ["429/3/group"], id="@channel counts as a group"
    ),
    pytest.param(
        FloodLimits(enabled=True, group_per_minute=6, group_burst=1),
        burst(2, GROUP),
        ["ok", "429/10/group"],
        id="configured group rate sets retry_after",
    ),
    pytest.param(
        FloodLimits(enabled=True, global_per_second=2, global_burst=2),
        [(0.0, "sendMessage", chat) for chat in (1, 2, 3)],
        ["ok", "ok", "429/1/global"],
        id="overall limit across chats",
    ),
    pytest.param(
        ON,
        [(0.0, method, PRIVATE) for method in ("sendPhoto", "forwardMessage", "copyMessage")]
        + [(0.0, "sendDocument", PRIVATE)],
        ["ok"] * 3 + ["429/1/private"],
        id="send, forward and copy share the chat's rate",
    ),
    pytest.param(
        ON,
        burst(10, PRIVATE, method="sendChatAction") + burst(10, PRIVATE, method="getMe"),
        ["ok"] * 20,
        id="chat actions and reads are not counted",
    ),
    pytest.param(FloodLimits(), burst(50, PRIVATE), ["ok"] * 50, id="off unless enabled"),
    pytest.param(ON, burst(5, None), ["ok"] * 5, id="a call without chat_id is not counted"),
]


@pytest.mark.parametrize(("limits", "calls", "expected"), LIMIT_TABLE)
def test_limits_table(limits, calls, expected):
    assert run(limits, calls) == expected


def test_a_refused_key_answers_429_until_its_retry_after_then_passes():
    calls = burst(4, GROUP) + [
        (1.2, "sendMessage", GROUP),
        (2.9, "sendMessage", GROUP),
        (3.0, "sendMessage", GROUP),
    ]
    limits = FloodLimits(enabled=True, group_burst=3)
    assert run(limits, calls) == ["ok"] * 3 + [
        "429/3/group",
        "429/2/penalty",
        "429/1/penalty",
        "ok",
    ]


def test_a_penalty_holds_only_its_method_in_its_chat():
    model = FloodModel(ON)
    model.force(PRIVATE, "sendContact", retry_after=100)
    assert model.check("sendContact", PRIVATE, 0.0).retry_after == 100
    assert model.check("sendMessage", PRIVATE, 0.0) is None
    assert model.check("sendContact", OTHER_PRIVATE, 0.0) is None
    assert model.check("sendContact", PRIVATE, 99.5).reason == "penalty"
    assert model.check("sendContact", PRIVATE, 100.0) is None


def test_forced_flood_applies_even_when_the_model_is_off_and_is_used_up():
    model = FloodModel()
    model.force(str(PRIVATE), None, retry_after=2, times=1)
    first = model.check("sendMessage", PRIVATE, 0.0)
    assert (first.retry_after, first.reason) == (2, "forced")
    assert model.check("sendMessage", PRIVATE, 2.0) is None  # penalty over, force used up
    assert model.forced == []


def test_counters_and_view():
    model = FloodModel(FloodLimits(enabled=True, private_burst=1))
    outcomes = [model.check("sendMessage", chat, 0.0) for chat in (1, 1, 1, 2)]
    assert [o.reason if o else None for o in outcomes] == [None, "private", "penalty", None]
    view = model.view(0.5)
    assert (view["passed"], view["answered_429"]) == (2, 2)
    assert view["by_reason"] == {"private": 1, "penalty": 1}
    assert view["by_chat"] == {"1": 2}
    assert view["penalties"] == [{"method": "sendmessage", "chat_id": "1", "seconds_left": 0.5}]
    model.clear()
    assert model.view(0.5)["answered_429"] == 0 and model.view(0.5)["penalties"] == []


@pytest.mark.parametrize(
    "spec",
    [{"private_per_second": 0}, {"group_burst": -1}, {"bogus": 1}, {"global_per_second": "x"}],
)
def test_bad_limits_are_refused(spec):
    with pytest.raises((ValueError, TypeError)):
        parse_limits(spec, FloodLimits())


def test_limits_are_typed_and_merged():
    limits = parse_limits({"enabled": 1, "private_burst": "5"}, FloodLimits())
    assert limits == FloodLimits(enabled=True, private_burst=5)


def call(at: float, chat: object, method: str = "sendMessage", retry_after: int | None = None):
    entry = {"method": method, "params": {"chat_id": chat}, "time": at}
    if retry_after is not None:
        entry |= {"error_code": 429, "retry_after": retry_after}
    return entry


def test_early_sends_are_those_before_the_retry_after_of_their_key():
    calls = [
        call(100.0, 1, retry_after=2),
        call(100.5, 2),  # another chat
        call(100.5, 1, "sendPhoto"),  # another method
        call(101.9, 1),  # early
        call(102.0, 1),  # on time
    ]
    assert early_sends(calls) == [calls[3]]
    assert early_sends(calls, slack=0.2) == []


# -- over HTTP ----------------------------------------------------------------------------


def send(sim, token, chat_id, method="sendMessage", session=requests):
    params = {"chat_id": chat_id, "text": "hi"}
    return session.post(sim.api_url(token, method), json=params, timeout=10)


def test_429_has_telegrams_shape_header_and_is_recorded(sim, token):
    sim.admin.enable_flood(token, private_burst=1)
    assert send(sim, token, PRIVATE).status_code == 200
    before = time.time()
    resp = send(sim, token, PRIVATE)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert resp.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    last = sim.admin.calls(token, method="sendMessage")[-1]
    assert last["error_code"] == 429 and last["retry_after"] == 1 and last["flood"] == "private"
    assert before <= last["time"] <= time.time()
    assert sim.admin.flood(token)["by_chat"] == {str(PRIVATE): 1}


def test_forced_flood_for_chat_a_leaves_chat_b_and_other_methods_through(sim, token):
    sim.admin.force_flood(token, PRIVATE, retry_after=30, method="sendContact")
    assert send(sim, token, PRIVATE, "sendContact").status_code == 429
    assert send(sim, token, PRIVATE, "sendContact").json()["parameters"]["retry_after"] in (29, 30)
    assert send(sim, token, PRIVATE).status_code == 200  # sendMessage: another key
    assert send(sim, token, OTHER_PRIVATE, "sendContact").status_code != 429
    view = sim.admin.flood(token)
    assert view["by_reason"] == {"forced": 1, "penalty": 1}
    sim.admin.clear_flood(token)
    assert send(sim, token, PRIVATE, "sendContact").status_code != 429


def test_admin_client_lists_sends_made_before_the_retry_after(sim, token):
    sim.admin.force_flood(token, PRIVATE, retry_after=1)
    assert send(sim, token, PRIVATE).status_code == 429
    assert send(sim, token, PRIVATE).status_code == 429  # too early: still held
    time.sleep(1.05)
    assert send(sim, token, PRIVATE).status_code == 200
    calls = sim.admin.calls(token, method="sendMessage")
    assert [c["flood"] for c in calls[:2]] == ["forced", "penalty"]
    assert sim.admin.early_sends(token) == [calls[1]]


def test_flood_model_is_off_by_default(sim, token):
    with requests.Session() as session:
        statuses = {send(sim, token, PRIVATE, session=session).status_code for _ in range(10)}
    assert statuses == {200}


def paced_sends(sim, token, chats: int, rate: float, seconds: float) -> list[int]:
    """Send at a steady `rate` round-robin over `chats` private chats; the statuses."""
    statuses = []
    start = time.monotonic()
    with requests.Session() as session:
        for n in range(int(rate * seconds)):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            statuses.append(send(sim, token, 1000 + n % chats, session=session).status_code)
    return statuses


def test_steady_rate_under_the_limits_gets_zero_429s(sim, token):
    sim.admin.enable_flood(token)
    # 25 sends/s over 30 chats: each chat every 1.2 s, overall under 30/s.
    assert set(paced_sends(sim, token, chats=30, rate=25, seconds=2.4)) == {200}
    assert sim.admin.flood(token)["answered_429"] == 0


def test_the_same_pace_over_too_few_chats_is_refused(sim, token):
    sim.admin.enable_flood(token)
    # 25 sends/s over 5 chats is 5/s per chat: the check above can fail.
    assert 429 in paced_sends(sim, token, chats=5, rate=25, seconds=1.0)
    assert sim.admin.flood(token)["by_reason"]["private"] >= 1


def test_ctl_enables_forces_and_reads_the_flood_model(capsys, sim, token):
    def run(*argv: str) -> object:
        assert ctl.main(["--url", sim.base_url, *argv]) == 0
        return json.loads(capsys.readouterr().out)

    limits = run("enable-flood", token, "--private-burst", "1")["limits"]
    assert limits["enabled"] is True and limits["private_burst"] == 1
    run("force-flood", token, "--chat-id", "-100123", "--retry-after", "5", "--method", "sendPhoto")
    assert send(sim, token, GROUP, "sendPhoto").json()["parameters"]["retry_after"] == 5
    assert run("flood", token)["by_reason"] == {"forced": 1}
    assert run("enable-flood", token, "--off")["limits"]["enabled"] is False
