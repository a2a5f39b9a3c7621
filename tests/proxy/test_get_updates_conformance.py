"""One table of getUpdates rules, run against the proxy (a real `serve` in poll mode) and
against the simulator's own getUpdates (Telegram-faithful): both must answer alike. The
updates are of one chat, which Telegram delivers one at a time, so the appliance commits them
in update_id order (across chats its queue order is commit order; see docs/proxy.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.helpers.proxy_kit import poll_stack, text_message
from tests.helpers.support import wait_until

# (name, params built from the injected ids, expected ids as indexes into the injected ones)
CASES: list[tuple[str, Callable[[list[int]], dict], list[int]]] = [
    ("no offset: all", lambda ids: {}, [0, 1, 2]),
    ("limit 0 clamps to 1", lambda ids: {"limit": 0}, [0]),
    ("limit 500 clamps to 100", lambda ids: {"limit": 500}, [0, 1, 2]),
    ("malformed limit reads as 0, clamps to 1", lambda ids: {"limit": "abc"}, [0]),
    ("malformed timeout reads as 0", lambda ids: {"timeout": "soon"}, [0, 1, 2]),
    ("offset confirms below it", lambda ids: {"offset": ids[1]}, [1, 2]),
    ("offset past the newest confirms all", lambda ids: {"offset": ids[2] + 1}, []),
    ("negative offset keeps the newest", lambda ids: {"offset": -1}, [2]),
    ("offset far in the future forgets nothing", lambda ids: {"offset": ids[2] + 1000}, [0, 1, 2]),
]


def via_proxy(sim, serve, token):
    stack = poll_stack(sim, serve, token)
    ids = [u["update_id"] for u in stack.inject(*(text_message(1, f"x{i}") for i in range(3)))]
    info = lambda: stack.call("getWebhookInfo").json()["result"]["pending_update_count"]  # noqa: E731
    wait_until(lambda: info() == 3, timeout=10)
    return stack.call, ids


def via_simulator(sim, serve, token):
    def call(method, **params):
        return requests.post(sim.api_url(token, method), json=params, timeout=60)

    ids = [
        u["update_id"]
        for u in sim.admin.inject(token, *(text_message(1, f"x{i}") for i in range(3)))
    ]
    return call, ids


@pytest.mark.parametrize("target", [via_proxy, via_simulator], ids=["proxy", "simulator"])
@pytest.mark.parametrize(("name", "params", "expected"), CASES, ids=[c[0] for c in CASES])
def test_get_updates(target, name, params, expected, sim, serve, token):
    call, ids = target(sim, serve, token)
    if params(ids).get("offset", 0) > 0:
        call("getUpdates")  # a bot fetches before it confirms (see "served" in docs/proxy.md)
    answer = call("getUpdates", **params(ids))
    assert answer.status_code == 200, answer.text
    assert [u["update_id"] for u in answer.json()["result"]] == [ids[i] for i in expected]


@pytest.mark.parametrize("target", [via_proxy, via_simulator], ids=["proxy", "simulator"])
def test_a_confirmed_update_is_never_served_again(target, sim, serve, token):
    call, ids = target(sim, serve, token)
    call("getUpdates")
    call("getUpdates", offset=ids[0] + 1)
    again = call("getUpdates", offset=0)
    assert [u["update_id"] for u in again.json()["result"]] == ids[1:]
