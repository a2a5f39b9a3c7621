"""Table tests of the simulator's pure logic: retry schedule, expiry, queue keys, error texts."""

from __future__ import annotations

import errno

import aiohttp
import pytest

from simulator import policy, tokens, webhook_errors, webhook_settings
from simulator.envelope import ApiError
from simulator.faults import parse_fault
from simulator.params import Params


@pytest.mark.parametrize(
    ("fail_count", "delay", "retry_after", "cap", "expected"),
    [
        (0, 1, 0, 60, (0, 1)),  # first failure: retry at once
        (1, 1, 0, 60, (2, 2)),  # then double
        (2, 2, 0, 60, (4, 4)),
        (6, 32, 0, 60, (60, 60)),  # capped
        (6, 32, 0, 120, (64, 64)),
        (9, 60, 0, 90, (90, 90)),
        (0, 1, 7, 60, (7, 1)),  # Retry-After replaces the wait, base unchanged
        (4, 8, 3, 60, (3, 8)),
        (2, 2, 99999, 60, (3600, 2)),  # Retry-After clamped to an hour
        (2, 2, -5, 60, (4, 4)),
    ],
)
def test_next_retry_follows_telegram_backoff(fail_count, delay, retry_after, cap, expected):
    assert policy.next_retry(fail_count, delay, retry_after, cap) == expected


def test_retry_schedule_is_immediate_then_doubling_up_to_the_cap():
    assert policy.retry_schedule(9) == [0, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.retry_schedule(8, cap=120) == [0, 2, 4, 8, 16, 32, 64, 120]


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("inline_query", {}, 30),
        ("callback_query", {}, 150),
        ("pre_checkout_query", {}, 150),
        ("chosen_inline_result", {}, 600),
        ("message", {"date": 1_000_000}, 86400),
        ("message", {"date": 1_000_000 - 3600}, 86400 - 3600),  # counted from the message date
        ("edited_message", {"date": 1, "edit_date": 1_000_000 - 60}, 86400 - 60),
        ("poll", {}, 86400),
        ("some_future_type", {}, 86400),
    ],
)
def test_ttl_per_update_type(kind, body, expected):
    assert policy.ttl_seconds(kind, body, now_unix=1_000_000) == expected


@pytest.mark.parametrize(
    ("now", "wait", "expires_at", "expired"),
    [(100.0, 0.0, 100.0, False), (100.0, 0.5, 100.0, True), (99.0, 1.0, 100.0, False)],
)
def test_update_expires_when_next_attempt_would_be_late(now, wait, expires_at, expired):
    assert policy.is_expired(now, wait, expires_at) is expired


@pytest.mark.parametrize(
    ("kind", "body", "key"),
    [
        ("message", {"chat": {"id": -100}}, "chat:-100"),
        ("edited_message", {"chat": {"id": -100}}, "chat:-100"),  # same queue as messages
        ("channel_post", {"chat": {"id": -1001}}, "chat:-1001"),
        ("callback_query", {"from": {"id": 7}, "message": {"chat": {"id": 9}}}, "callback:7"),
        ("inline_query", {"from": {"id": 7}}, "inline:7"),
        ("my_chat_member", {"chat": {"id": 9}}, "my_member:9"),
        ("chat_member", {"chat": {"id": 9}, "new_chat_member": {"user": {"id": 3}}}, "member:3"),
        ("poll_answer", {"poll_id": "p1"}, "poll:p1"),
        ("brand_new_type", {"chat": {"id": 1}}, None),  # own queue, no ordering
    ],
)
def test_queue_key_groups_updates_like_telegram(kind, body, key):
    assert policy.queue_key(kind, body) == key


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (None, None),
        ([], None),
        ("message", None),
        ([1, 2], None),
        (["MESSAGE", "callback_query"], frozenset({"message", "callback_query"})),
        (["nonsense"], policy.DEFAULT_ALLOWED),
    ],
)
def test_allowed_updates_are_read_like_telegram(names, expected):
    assert policy.normalize_allowed_updates(names) == expected


def test_default_allowed_updates_exclude_the_opt_in_types():
    assert {"chat_member", "message_reaction", "message_reaction_count"}.isdisjoint(
        policy.DEFAULT_ALLOWED
    )
    assert policy.is_allowed("brand_new_type", frozenset({"message"}))


@pytest.mark.parametrize(
    ("status", "reason", "text"),
    [
        (503, "Service Unavailable", "Wrong response from the webhook: 503 Service Unavailable"),
        (500, "", "Wrong response from the webhook: 500 Internal Server Error"),
        (404, "Nope", "Wrong response from the webhook: 404 Nope"),
        (599, None, "Wrong response from the webhook: 599"),
    ],
)
def test_wrong_response_text_has_status_and_reason(status, reason, text):
    assert webhook_errors.wrong_response(status, reason) == text


@pytest.mark.parametrize(
    ("header", "seconds"), [(None, 0), ("", 0), ("5", 5), (" 12 ", 12), ("-3", 0), ("soon", 0)]
)
def test_retry_after_header_is_read_as_integer_seconds(header, seconds):
    assert webhook_errors.parse_retry_after(header) == seconds


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "Connection refused"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "Connection reset by peer"),
        (TimeoutError(), "Read timeout expired"),
        (aiohttp.SocketTimeoutError(), "Read timeout expired"),
        (aiohttp.ConnectionTimeoutError(), "Connection timed out"),
        (aiohttp.ServerDisconnectedError(), "Webhook connection closed"),
    ],
)
def test_transport_failures_map_to_telegram_texts(exc, text):
    assert webhook_errors.error_text(exc) == text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bot.example.com/hook", ("https", "bot.example.com", 443)),
        ("bot.example.com:8443/hook", ("https", "bot.example.com", 8443)),  # no scheme = https
        ("http://127.0.0.1:8080/x", ("http", "127.0.0.1", 8080)),
        ("HTTP://Example.com", ("http", "example.com", 80)),
    ],
)
def test_webhook_urls_parse_like_telegram(url, expected):
    assert webhook_settings.parse_url(url)[:3] == expected


@pytest.mark.parametrize("url", ["ftp://example.com/x", "https://", "https://host:99999/"])
def test_unparsable_webhook_urls_are_refused(url):
    with pytest.raises(ApiError, match="invalid webhook URL specified"):
        webhook_settings.parse_url(url)


@pytest.mark.parametrize(
    ("ip", "local", "problem"),
    [
        ("149.154.167.220", False, None),
        ("127.0.0.1", False, "IP address 127.0.0.1 is reserved"),
        ("10.1.2.3", False, "IP address 10.1.2.3 is reserved"),
        ("2001:db8::1", False, "IPv6-only addresses are not allowed"),
        ("127.0.0.1", True, None),
        ("not-an-ip", True, "Invalid IP address specified"),
    ],
)
def test_webhook_ip_rules(ip, local, problem):
    assert webhook_settings.ip_error(ip, local) == problem


@pytest.mark.parametrize(
    ("given", "expected"), [(None, 40), ("0", 1), ("-5", 1), ("7", 7), ("100", 100), ("500", 100)]
)
def test_max_connections_is_clamped_not_rejected(given, expected):
    values = {"url": "https://example.com/hook"}
    if given is not None:
        values["max_connections"] = given
    assert webhook_settings.parse(Params(values), local=False).max_connections == expected


@pytest.mark.parametrize("n", [0, 1, 42, 10**6])
def test_make_token_gives_valid_distinct_tokens(n):
    token = tokens.make_token(n)
    assert tokens.bot_id(token) == 7_000_000_000 + n
    assert token != tokens.make_token(n + 1)


@pytest.mark.parametrize(
    "token",
    ["123:short", "abc:" + "A" * 35, "0123:" + "A" * 35, "123" + "A" * 35, "123:" + "A" * 34 + "!"],
)
def test_malformed_tokens_name_no_bot(token):
    assert tokens.bot_id(token) is None


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"method": "sendMessage"}, "needs error_code"),
        ({"error_code": 200}, "400..599"),
        ({"error_code": 500, "times": 0}, "times must be >= 1"),
        ({"delay": -1}, "delay must be >= 0"),
        ({"error_code": 500, "colour": "red"}, "unknown fault fields"),
    ],
)
def test_invalid_fault_specs_are_refused(spec, error):
    with pytest.raises(ValueError, match=error):
        parse_fault(spec, 1)


def test_429_fault_defaults_retry_after_and_envelope():
    fault = parse_fault({"method": "SendMessage", "error_code": 429}, 1)
    assert fault.method == "sendmessage"
    assert fault.error().body() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
