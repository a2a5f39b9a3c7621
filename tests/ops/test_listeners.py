"""A real `serve` with its public listener on all addresses: ops paths exist only on the ops
listener, which answers only with its bearer token when one is set."""

from __future__ import annotations

import json

import requests

from core.telegram import SECRET_HEADER
from tests.helpers.support import SECRET, free_port, make_update, ops_url, wait_until

OPS_TOKEN = "ops-T0ken_for-this-test"
OPS_PATHS = ("/metrics", "/health", "/readyz", "/", "/admin", "/api/dead-letters")


def post(base_url: str, update: dict) -> requests.Response:
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    return requests.post(
        f"{base_url}/webhook/default", data=json.dumps(update), headers=headers, timeout=10
    )


def test_the_public_listener_serves_the_webhook_and_livez_only(serve):
    served = serve(public_host="0.0.0.0")
    ops = ops_url(served)
    assert ops != served.base_url
    for path in OPS_PATHS:
        assert requests.get(served.base_url + path, timeout=5).status_code == 404, path
    assert requests.get(served.base_url + "/livez", timeout=5).status_code == 200
    assert post(served.base_url, make_update(1)).status_code == 200
    # The loopback ops listener needs no token; it has the update the public one stored.
    assert requests.get(ops + "/readyz", timeout=5).status_code == 200
    metrics = requests.get(ops + "/metrics", timeout=5)
    assert metrics.status_code == 200 and "tgwebhook_updates_total" in metrics.text
    assert requests.get(ops + "/health", timeout=5).status_code == 200


def test_a_reachable_ops_listener_answers_only_with_its_token(serve):
    port = free_port()
    env = {"OPS_LISTEN": f"0.0.0.0:{port}", "OPS_TOKEN": OPS_TOKEN, "LOG_LEVEL": "DEBUG"}
    served = serve(env=env, public_host="0.0.0.0")
    ops = ops_url(served)
    for path in ("/metrics", "/health", "/readyz"):
        refused = requests.get(ops + path, timeout=5)
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = {"Authorization": "Bearer " + OPS_TOKEN[:-1]}
        assert requests.get(ops + path, headers=wrong, timeout=5).status_code == 401, path
        good = {"Authorization": "Bearer " + OPS_TOKEN}
        assert requests.get(ops + path, headers=good, timeout=5).status_code == 200, path
        assert requests.get(served.base_url + path, headers=good, timeout=5).status_code == 404
    assert requests.get(ops + "/livez", timeout=5).status_code == 200  # probes need no token
    assert post(served.base_url, make_update(7)).status_code == 200
    assert served.stop() == 0
    wait_until(lambda: "serving on" in served.output(), timeout=5)
    assert OPS_TOKEN not in served.output()


def test_serve_refuses_to_start_with_an_unguarded_reachable_ops_listener(serve):
    env = {"OPS_LISTEN": f"0.0.0.0:{free_port()}"}
    served = serve(env=env, public_host="0.0.0.0", wait_ready=False)
    assert served.process.wait(timeout=30) != 0
    assert "TGWEBHOOK_OPS_LISTEN" in served.output() and "TGWEBHOOK_OPS_TOKEN" in served.output()
