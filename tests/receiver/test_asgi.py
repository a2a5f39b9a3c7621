"""The status policy through what `serve` really runs: gunicorn, uvicorn workers, the ASGI
adapter (the Flask test client only reaches the WSGI one)."""

from __future__ import annotations

import json

import requests

from tests.helpers.support import SECRET, make_update, scrape

JSON = "application/json"


def post(
    base: str,
    body: bytes,
    bot: str = "default",
    secret: str | None = SECRET,
    content_type: str = JSON,
    headers: dict | None = None,
    chunked: bool = False,
) -> int:
    sent = {"Content-Type": content_type, **(headers or {})}
    if secret is not None:
        sent["X-Telegram-Bot-Api-Secret-Token"] = secret
    data = iter([body[:10], body[10:]]) if chunked else body
    return requests.post(f"{base}/webhook/{bot}", data=data, headers=sent, timeout=10).status_code


def test_status_policy_through_the_served_asgi_adapter(serve):
    served = serve(env={"MAX_BODY_BYTES": 4096})
    base, valid = served.base_url, json.dumps(make_update(1)).encode()
    big = json.dumps(make_update(2, text="x" * 8000)).encode()
    table = [
        ("valid", post(base, valid), 200),
        ("duplicate", post(base, valid), 200),
        ("valid, chunked", post(base, json.dumps(make_update(3)).encode(), chunked=True), 200),
        ("wrong secret", post(base, valid, secret="nope"), 401),
        ("missing secret", post(base, valid, secret=None), 401),
        ("text/plain", post(base, valid, content_type="text/plain"), 415),
        (
            "charset allowed",
            post(base, json.dumps(make_update(4)).encode(), content_type=JSON + "; charset=utf-8"),
            200,
        ),
        ("too large", post(base, big), 413),
        ("too large, chunked", post(base, big, chunked=True), 413),
        ("not json", post(base, b"{nope"), 400),
        ("no update_id", post(base, b'{"message": {}}'), 400),
        ("unknown bot", post(base, valid, bot="other"), 404),
        ("GET", requests.get(f"{base}/webhook/default", timeout=10).status_code, 405),
    ]
    assert [(case, got) for case, got, _ in table] == [(case, want) for case, _, want in table]
    metrics = scrape(base)
    assert metrics[("tgwebhook_requests_total", (("bot", "default"), ("outcome", "accepted")))] == 3
    assert metrics[("tgwebhook_duplicates_total", (("bot", "default"),))] == 1


def test_allowlist_behind_a_trusted_proxy_through_the_served_adapter(serve):
    served = serve(env={"IP_ALLOWLIST": "true", "TRUSTED_PROXIES": "127.0.0.1/32"})
    body = json.dumps(make_update(1)).encode()
    assert post(served.base_url, body, headers={"X-Forwarded-For": "149.154.167.220"}) == 200
    assert post(served.base_url, body, headers={"X-Forwarded-For": "203.0.113.9"}) == 403
    assert post(served.base_url, body) == 403  # the proxy itself is not Telegram
