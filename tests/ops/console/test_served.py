"""The console behind a real `serve` with a reachable (non-loopback) ops listener: the ASGI
front door and the console agree on credentials and roles."""

from __future__ import annotations

import requests

from tests.helpers.support import free_port, ops_url
from tests.ops.console.conftest import OPERATOR, OPS_TOKEN, VIEWER, users_file


def test_a_reachable_console_needs_credentials_and_a_viewer_cannot_act(serve, tmp_path):
    port = free_port()
    env = {
        "OPS_LISTEN": f"0.0.0.0:{port}",
        "OPS_TOKEN": OPS_TOKEN,
        "OPS_USERS_FILE": str(users_file(tmp_path / "users")),
    }
    served = serve(env=env, public_host="0.0.0.0", workers=1)
    ops = ops_url(served)
    for path in ("/", "/dead-letters", "/api/overview", "/console/static/console.js"):
        refused = requests.get(ops + path, timeout=10)
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        wrong = requests.get(ops + path, auth=(OPERATOR[0], "nope"), timeout=10)
        assert wrong.status_code == 401, path
        assert requests.get(ops + path, auth=VIEWER, timeout=10).status_code == 200, path
        assert requests.get(served.base_url + path, auth=VIEWER, timeout=10).status_code == 404
    viewer = requests.Session()
    viewer.auth = VIEWER
    token = viewer.get(ops + "/api/session", timeout=10).json()["csrf_token"]
    act = viewer.post(
        ops + "/api/dead-letters/replay", json={"ids": [1]}, headers={"X-CSRF-Token": token}
    )
    assert act.status_code == 403
    operator = requests.Session()
    operator.headers["Authorization"] = f"Bearer {OPS_TOKEN}"
    token = operator.get(ops + "/api/session", timeout=10).json()["csrf_token"]
    missing = operator.post(
        ops + "/api/dead-letters/replay", json={"ids": [1]}, headers={"X-CSRF-Token": token}
    )
    assert missing.status_code == 404  # authorised, but there is no such dead letter
    assert served.stop() == 0
    assert OPS_TOKEN not in served.output() and OPERATOR[1] not in served.output()
