"""Webhook delivery conformance end to end: real simulator, real receivers on loopback."""

from __future__ import annotations

import json
import ssl
import threading
import time

import pytest
import requests
import trustme

from core.telegram import SECRET_HEADER
from simulator import make_token


def inject_chats(sim, token, chats, per_chat):
    """Interleave `per_chat` messages over `chats` chats; returns the queued updates."""
    specs = [{"text": f"m{i}", "chat_id": 100 + c} for i in range(per_chat) for c in range(chats)]
    return sim.admin.inject(token, *specs)


def test_update_is_posted_as_json_with_the_secret_header(sim, api, token, make_receiver):
    receiver = make_receiver()
    api("setWebhook", url=receiver.url, secret_token="s3cr3t_-X")
    (update,) = sim.admin.inject(token, text="/start", chat_id=5)
    (hit,) = receiver.wait_for(1)
    assert hit.update == update
    assert hit.headers[SECRET_HEADER] == "s3cr3t_-X"
    assert hit.headers["Content-Type"] == "application/json"
    assert "User-Agent" not in hit.headers
    assert next(iter(hit.update)) == "update_id"


def test_no_secret_header_without_a_secret_token(sim, api, token, make_receiver):
    receiver = make_receiver()
    api("setWebhook", url=receiver.url)
    sim.admin.inject(token, text="hi", chat_id=5)
    assert SECRET_HEADER not in receiver.wait_for(1)[0].headers


def test_update_ids_increase_by_one_from_a_random_start(sim, token, make_api):
    first = sim.admin.inject(token, *[{"text": str(i), "chat_id": 1} for i in range(5)])
    ids = [u["update_id"] for u in first]
    assert ids == list(range(ids[0], ids[0] + 5)) and ids[0] > 1000
    other = sim.admin.inject(make_token(999), text="x", chat_id=1)[0]["update_id"]
    assert other != ids[0]


def test_updates_of_one_chat_arrive_in_order_one_at_a_time(sim, api, token, make_receiver):
    receiver = make_receiver(delay=0.02)
    api("setWebhook", url=receiver.url)
    sent = inject_chats(sim, token, chats=3, per_chat=6)
    hits = receiver.wait_for(len(sent))
    for chat in {h.chat_id for h in hits}:
        mine = [h for h in hits if h.chat_id == chat]
        assert [h.update_id for h in mine] == sorted(h.update_id for h in mine)
        # never two in flight for one chat: each starts after the previous one finished
        assert all(b.started >= a.finished for a, b in zip(mine, mine[1:], strict=False))


def test_chats_are_delivered_in_parallel(sim, api, token, make_receiver):
    receiver = make_receiver(delay=0.3)
    api("setWebhook", url=receiver.url)
    started = time.monotonic()
    inject_chats(sim, token, chats=10, per_chat=1)
    receiver.wait_for(10)
    sim.admin.wait_delivered(token, 10)
    assert time.monotonic() - started < 1.5  # one by one would take 3 s
    assert receiver.max_in_flight >= 5


@pytest.mark.parametrize("max_connections", [1, 3])
def test_concurrency_never_exceeds_max_connections(sim, api, token, make_receiver, max_connections):
    receiver = make_receiver(delay=0.05)
    api("setWebhook", url=receiver.url, max_connections=max_connections)
    inject_chats(sim, token, chats=8, per_chat=2)
    receiver.wait_for(16)
    assert receiver.max_in_flight == max_connections


def test_failing_receiver_sees_immediate_retry_then_doubling_gaps(
    make_sim, make_api, make_receiver
):
    sim = make_sim(time_factor=0.1)
    token = make_token(1)
    receiver = make_receiver(fail_first=4, fail_status=503)
    make_api(sim, token)("setWebhook", url=receiver.url)
    sim.admin.inject(token, text="retry me", chat_id=5)
    hits = receiver.wait_for(5)
    assert len({h.update_id for h in hits}) == 1
    gaps = [b.started - a.finished for a, b in zip(hits, hits[1:], strict=False)]
    # Telegram: 0, then 2, 4, 8 s (x time_factor 0.1 = 0, 0.2, 0.4, 0.8 s); the upper
    # bounds leave room for a busy machine, the lower ones are what the schedule promises.
    assert gaps[0] < 0.1
    for gap, expected in zip(gaps[1:], (0.2, 0.4, 0.8), strict=True):
        assert expected * 0.9 <= gap <= expected + 0.3
    outcomes = [d["outcome"] for d in sim.admin.deliveries(token)]
    assert outcomes == ["failed"] * 4 + ["delivered"]


def test_retry_after_from_the_receiver_is_honoured(make_sim, make_api, make_receiver):
    sim = make_sim(time_factor=0.05)
    token = make_token(1)
    receiver = make_receiver(fail_first=1, fail_status=429, fail_headers={"Retry-After": "6"})
    make_api(sim, token)("setWebhook", url=receiver.url)
    sim.admin.inject(token, text="later", chat_id=5)
    first, second = receiver.wait_for(2)
    assert second.started - first.finished >= 6 * 0.05 * 0.9  # instead of retrying at once


def test_last_error_persists_after_a_later_success(sim, api, token, make_receiver):
    receiver = make_receiver(fail_first=1, fail_status=503)
    api("setWebhook", url=receiver.url)
    sim.admin.inject(token, text="hi", chat_id=5)
    sim.admin.wait_delivered(token, 1)
    info = api("getWebhookInfo")["result"]
    assert info["pending_update_count"] == 0
    assert info["last_error_message"] == "Wrong response from the webhook: 503 Service Unavailable"
    assert abs(info["last_error_date"] - time.time()) < 5
    # Only a new webhook clears it.
    time.sleep(0.02)
    api("setWebhook", url=receiver.url + "?v=2")
    assert "last_error_date" not in api("getWebhookInfo")["result"]


@pytest.mark.parametrize(
    ("receiver_options", "expected"),
    [
        (
            {"fail_first": 99, "fail_status": 500},
            "Wrong response from the webhook: 500 Internal Server Error",
        ),
        ({"fail_first": 99, "fail_status": 404}, "Wrong response from the webhook: 404 Not Found"),
        ({"delay": 1.0}, "Read timeout expired"),
        (None, "Connection refused"),
    ],
)
def test_delivery_errors_use_telegram_texts(
    make_sim, make_api, make_receiver, closed_port_url, receiver_options, expected
):
    # A short timeout only where a timeout is the point; elsewhere a slow first answer on a
    # busy machine would turn the expected text into "Read timeout expired".
    slow = bool(receiver_options and "delay" in receiver_options)
    sim = make_sim(webhook_timeout=0.3 if slow else 10)
    token = make_token(1)
    url = make_receiver(**receiver_options).url if receiver_options else closed_port_url
    make_api(sim, token)("setWebhook", url=url)
    sim.admin.inject(token, text="hi", chat_id=5)
    sim.admin.wait_for(lambda: "last_error_message" in sim.admin.webhook_info(token))
    assert sim.admin.webhook_info(token)["last_error_message"] == expected


def test_pending_count_is_queued_plus_in_flight(sim, api, token, make_receiver):
    gate = threading.Event()
    receiver = make_receiver(gate=gate)
    sim.admin.inject(token, *[{"text": str(i), "chat_id": 5} for i in range(3)])
    assert api("getWebhookInfo")["result"]["pending_update_count"] == 3  # no webhook: they wait
    api("setWebhook", url=receiver.url)
    receiver.wait_for(1)
    info = sim.admin.webhook_info(token)
    assert (info["pending_update_count"], info["in_flight"]) == (3, 1)
    gate.set()
    receiver.wait_for(3)
    assert sim.admin.wait_idle(token)["pending_update_count"] == 0


@pytest.mark.parametrize(
    ("spec", "expires"),
    [
        ({"query": "cats", "user_id": 5}, True),  # inline_query: 30 s
        ({"data": "btn", "chat_id": 5}, True),  # callback_query: 150 s
        ({"text": "hi", "chat_id": 5}, False),  # message: 24 h
    ],
)
def test_undeliverable_updates_expire_by_type(make_sim, make_api, make_receiver, spec, expires):
    sim = make_sim(time_factor=0.001)  # 30 s -> 30 ms, 150 s -> 150 ms, 24 h -> 86 s
    token = make_token(1)
    make_api(sim, token)("setWebhook", url=make_receiver(fail_first=10**6, fail_status=500).url)
    sim.admin.inject(token, spec)
    if expires:  # expiry is found by a failing attempt, so it may take a few attempts
        sim.admin.wait_for(lambda: sim.admin.webhook_info(token)["pending_update_count"] == 0)
    else:
        time.sleep(0.4)
        assert sim.admin.webhook_info(token)["pending_update_count"] == 1
    assert any(d["outcome"] == "expired" for d in sim.admin.deliveries(token)) is expires


def test_updates_expire_while_no_webhook_is_set(make_sim, token):
    sim = make_sim(time_factor=0.001)
    sim.admin.inject(token, {"query": "q", "user_id": 1}, {"text": "stays", "chat_id": 1})
    time.sleep(0.1)
    assert sim.admin.webhook_info(token)["pending_update_count"] == 1


def test_queued_updates_are_delivered_once_a_webhook_is_set(sim, api, token, make_receiver):
    sent = inject_chats(sim, token, chats=2, per_chat=2)
    receiver = make_receiver()
    api("setWebhook", url=receiver.url)
    assert sorted(h.update_id for h in receiver.wait_for(4)) == [u["update_id"] for u in sent]


def test_drop_pending_updates_discards_the_queue(sim, api, token, make_receiver):
    sim.admin.inject(token, text="old", chat_id=5)
    receiver = make_receiver()
    api("setWebhook", url=receiver.url, drop_pending_updates=True)
    (fresh,) = sim.admin.inject(token, text="new", chat_id=5)
    assert [h.update_id for h in receiver.wait_for(1)] == [fresh["update_id"]]
    time.sleep(0.05)
    assert len(receiver.hits) == 1


def test_method_in_the_webhook_answer_is_executed(sim, api, token, make_receiver):
    reply = {"method": "sendMessage", "chat_id": 5, "text": "pong"}
    receiver = make_receiver(reply=reply)
    api("setWebhook", url=receiver.url)
    sim.admin.inject(token, text="ping", chat_id=5)
    receiver.wait_for(1)
    (call,) = sim.admin.wait_for(lambda: sim.admin.calls(token, source="webhook_reply"))
    assert (call["method"], call["params"], call["ok"]) == (
        "sendMessage",
        {"chat_id": 5, "text": "pong"},
        True,
    )


def test_redelivered_update_arrives_again_with_the_same_id(sim, api, token, make_receiver):
    receiver = make_receiver()
    api("setWebhook", url=receiver.url)
    (update,) = sim.admin.inject(token, text="once", chat_id=5)
    receiver.wait_for(1)
    sim.admin.wait_delivered(token, 1)
    sim.admin.redeliver(token, update["update_id"])
    first, second = receiver.wait_for(2)
    assert first.update == second.update == update


def test_answer_lost_to_delete_webhook_is_delivered_again(sim, api, token, make_receiver):
    gate = threading.Event()
    receiver = make_receiver(gate=gate)
    api("setWebhook", url=receiver.url)
    (update,) = sim.admin.inject(token, text="in flight", chat_id=5)
    receiver.wait_for(1)
    api("deleteWebhook")  # the in-flight answer is lost
    gate.set()
    time.sleep(0.02)  # past the (scaled) one-per-second setWebhook limit
    assert api("setWebhook", url=receiver.url + "?again")["ok"]
    hits = receiver.wait_for(2)
    assert hits[0].update_id == hits[1].update_id == update["update_id"]


def test_traffic_generator_sends_realistic_types_with_duplicates(sim, api, token, make_receiver):
    receiver = make_receiver()
    api("setWebhook", url=receiver.url)
    sim.admin.start_traffic(token, rate=300, chats=6, duplicates=0.2)
    receiver.wait_for(120)
    status = sim.admin.stop_traffic(token)
    assert status["generated"] > 0 and status["duplicated"] > 0
    hits = receiver.hits
    kinds = {next(k for k in h.update if k != "update_id") for h in hits}
    assert "message" in kinds and len(kinds) >= 3
    ids = [h.update_id for h in hits]
    assert len(set(ids)) < len(ids)  # some update_ids came twice
    assert len({h.chat_id for h in hits if "message" in h.update}) <= 6
    assert all(json.dumps(h.update) for h in hits)


@pytest.fixture
def tls_receiver(make_receiver):
    """An https receiver with a certificate from a private CA; returns (receiver, CA PEM)."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    return make_receiver(ssl_context=server_ctx), ca.cert_pem.bytes()


def test_untrusted_certificate_is_an_ssl_error(sim, api, token, tls_receiver):
    receiver, _ = tls_receiver
    api("setWebhook", url=receiver.url)
    sim.admin.inject(token, text="hi", chat_id=5)
    info = sim.admin.wait_for(lambda: api("getWebhookInfo")["result"].get("last_error_message"))
    assert info == "SSL error {error:0A000086:SSL routines::certificate verify failed}"
    assert receiver.hits == []


def test_uploaded_certificate_is_trusted_for_delivery(sim, token, tls_receiver):
    receiver, pem = tls_receiver
    resp = requests.post(
        sim.api_url(token, "setWebhook"),
        data={"url": receiver.url},
        files={"certificate": ("cert.pem", pem)},
        timeout=10,
    )
    assert resp.json()["description"] == "Webhook was set"
    assert sim.admin.webhook_info(token)["has_custom_certificate"] is True
    (update,) = sim.admin.inject(token, text="over tls", chat_id=5)
    assert receiver.wait_for(1)[0].update == update


def test_webhook_answering_410_gone_for_23_hours_is_removed(make_sim, make_api, make_receiver):
    sim = make_sim(time_factor=0.00001)  # 23 h -> 0.83 s
    token = make_token(1)
    api = make_api(sim, token)
    api("setWebhook", url=make_receiver(fail_first=10**9, fail_status=410).url)
    sim.admin.inject(token, text="gone", chat_id=5)
    sim.admin.wait_for(lambda: api("getWebhookInfo")["result"]["url"] == "")
    info = api("getWebhookInfo")["result"]
    assert "last_error_message" not in info  # closing the webhook forgets its errors
    assert info["pending_update_count"] == 1  # the update itself stays queued
