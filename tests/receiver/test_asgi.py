"""The status policy through what `serve` really runs: gunicorn, uvicorn workers, the ASGI
adapter; and that adapter called in-process, as create_asgi_app returns it."""

from __future__ import annotations

import asyncio
import json

import requests

from app import create_asgi_app
from core.telegram import SECRET_HEADER
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
        sent[SECRET_HEADER] = secret
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


def call(app, body_parts: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One POST /webhook/default straight into the ASGI app, the body in `body_parts`."""
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(body_parts) - 1}
        for i, part in enumerate(body_parts)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/webhook/default", "headers": headers}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=10))
    return sent[0]["status"], sent[1]["body"]


def test_the_asgi_app_reads_a_body_in_parts_and_stops_past_the_limit(make_settings):
    app = create_asgi_app(make_settings(max_body_bytes=1024))
    headers = [(SECRET_HEADER.lower().encode(), SECRET.encode()), (b"content-type", JSON.encode())]
    body = json.dumps(make_update(5)).encode()
    try:
        assert call(app, [body[:7], body[7:]], headers) == (200, b'{"ok":true}')
        assert call(app, [body[:7], body[7:]], headers)[0] == 200  # duplicate
        assert call(app, [b"{" + b" " * 600, b" " * 600, b"}"], headers)[0] == 413
        assert call(app, [body[:7]], headers)[0] == 400  # not whole: not JSON
        assert app.pipeline.store.count_updates() == 1
    finally:
        app.pipeline.store.close()


def test_a_client_gone_before_its_body_is_400_and_nothing_stored(make_settings):
    app = create_asgi_app(make_settings())
    headers = [(SECRET_HEADER.lower().encode(), SECRET.encode()), (b"content-type", JSON.encode())]
    try:
        assert call(app, [], headers)[0] == 400
        assert app.pipeline.store.count_updates() == 0
    finally:
        app.pipeline.store.close()
