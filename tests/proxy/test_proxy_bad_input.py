"""Bad input at the proxy gets Telegram's answer (the simulator's, where it models one) and
changes nothing: a body over the limit, a cut-off multipart body, a body that is not JSON."""

from __future__ import annotations

import pytest
import requests

from tests.helpers.proxy_kit import PollStack, poll_stack, text_message
from tests.helpers.support import wait_until

BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
TOO_LARGE = {"ok": False, "error_code": 413, "description": "Request Entity Too Large"}


def multipart(fields: dict[str, str]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def pending(stack: PollStack) -> int:
    return stack.call("getWebhookInfo").json()["result"]["pending_update_count"]


@pytest.fixture
def stack(sim, serve, token) -> PollStack:
    stack = poll_stack(sim, serve, token)
    stack.inject(text_message(1, "a"), text_message(1, "b"))
    wait_until(lambda: pending(stack) == 2)
    return stack


def post(stack: PollStack, method: str, body: bytes, content_type: str) -> requests.Response:
    url = f"{stack.api_base}/bot{stack.token}/{method}"
    return requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=30)


def test_a_body_over_the_limit_is_413_and_confirms_nothing(stack):
    answer = post(stack, "getUpdates", b'{"offset": 999999999' + b" " * (2 << 20) + b"}", "json")
    assert (answer.status_code, answer.json()) == (413, TOO_LARGE)
    assert pending(stack) == 2


@pytest.mark.parametrize("cut", [7, 30], ids=["closing-boundary", "mid-part"])
def test_a_cut_off_multipart_body_is_400_and_confirms_nothing(stack, cut):
    whole = multipart({"offset": "999999999", "limit": "1"})
    answer = post(stack, "getUpdates", whole[:-cut], MULTIPART)
    assert answer.status_code == 400
    assert answer.json()["description"].startswith("Bad Request: ")
    assert pending(stack) == 2
    served = post(stack, "getUpdates", multipart({"limit": "1"}), MULTIPART).json()
    assert len(served["result"]) == 1  # the same request whole is read


def test_a_body_that_is_not_json_gets_the_answer_telegram_gives(stack, sim):
    body, kind = b"{offset: 5", "text/plain"  # Telegram reads any non-form body as JSON
    through = post(stack, "getUpdates", body, kind)
    direct = requests.post(
        sim.api_url(stack.token, "getMe"), data=body, headers={"Content-Type": kind}, timeout=10
    )
    assert (through.status_code, through.json()) == (direct.status_code, direct.json())
    assert through.json()["description"] == "Bad Request: can't parse JSON object"
    assert pending(stack) == 2


def test_a_cut_off_upload_of_another_method_gets_telegrams_own_answer(stack, sim):
    body = multipart({"chat_id": "5", "text": "hi"})[:-7]
    through = post(stack, "sendMessage", body, MULTIPART)
    direct = requests.post(
        sim.api_url(stack.token, "sendMessage"),
        data=body,
        headers={"Content-Type": MULTIPART},
        timeout=10,
    )
    assert (through.status_code, through.content) == (direct.status_code, direct.content)
    assert through.status_code == 400
