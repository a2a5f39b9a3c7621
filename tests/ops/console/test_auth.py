"""Who may do what on the console: loopback without credentials is open (operator); otherwise
every console path needs the ops token or a user's password, and only operators act."""

from __future__ import annotations

import pytest

from core.storage import DeadFilter
from tests.ops.console.conftest import OPERATOR, OPS_TOKEN, VIEWER, basic, csrf, make_dead

CREDENTIALS = {
    "none": {},
    "bad password": basic((OPERATOR[0], OPERATOR[1] + "x")),
    "unknown user": basic(("mallory", OPERATOR[1])),
    "viewer": basic(VIEWER),
    "operator": basic(OPERATOR),
    "token": {"Authorization": f"Bearer {OPS_TOKEN}"},
}
# (page, API read, action) per credential, where credentials are configured.
GUARDED = {
    "none": (401, 401, 401),
    "bad password": (401, 401, 401),
    "unknown user": (401, 401, 401),
    "viewer": (200, 200, 403),
    "operator": (200, 200, 200),
    "token": (200, 200, 200),
}
LISTENERS = {
    # loopback with nothing configured: open, as /metrics always was
    "loopback, open": (True, False, dict.fromkeys(CREDENTIALS, (200, 200, 200))),
    "loopback, credentials set": (True, True, GUARDED),
    "non-loopback": (False, True, GUARDED),
}


@pytest.mark.parametrize("who", list(CREDENTIALS))
@pytest.mark.parametrize("listener", list(LISTENERS))
def test_the_auth_matrix(make_console, listener, who):
    loopback, configured, expected = LISTENERS[listener]
    client, store = make_console(loopback=loopback, credentials=configured)
    ids = make_dead(store, 1)
    headers = CREDENTIALS[who]
    token = csrf(client, basic(OPERATOR))
    page = client.get("/", headers=headers)
    read = client.get("/api/dead-letters", headers=headers)
    act = client.post(
        "/api/dead-letters/replay",
        json={"ids": ids},
        headers={**headers, "X-CSRF-Token": token},
    )
    assert (page.status_code, read.status_code, act.status_code) == expected[who]
    assert store.count_dead(DeadFilter()) == (0 if expected[who][2] == 200 else 1)
    if page.status_code == 401:
        assert page.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert OPS_TOKEN not in page.get_data(as_text=True)


def test_a_viewer_sees_no_action_buttons_and_an_operator_does(make_console):
    client, store = make_console(credentials=True)
    make_dead(store, 1)
    viewer = client.get("/dead-letters", headers=basic(VIEWER)).get_data(as_text=True)
    operator = client.get("/dead-letters", headers=basic(OPERATOR)).get_data(as_text=True)
    for hook in ('data-action="replay"', 'data-action="bulk-replay"', 'class="select-row"'):
        assert hook not in viewer and hook in operator


def test_console_responses_carry_the_security_headers(make_console):
    client, _ = make_console()
    for path in ("/", "/dead-letters", "/api/overview", "/console/static/console.js"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        if "static" not in path:  # pages and data are never cached; our own JS may be
            assert headers["Cache-Control"] == "no-store"


def test_a_page_has_no_inline_script(make_console):
    client, store = make_console()
    make_dead(store, 2)
    for path in ("/", "/dead-letters", "/alerts", "/updates", "/audit"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "<script " in page and " on" + "click=" not in page
