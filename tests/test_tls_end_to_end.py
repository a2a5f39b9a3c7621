"""Issue 17's path for a bare server with only an IP address, end to end: `tls self-signed
--host 127.0.0.1` -> `serve` terminating TLS -> `set-webhook --certificate` at the simulator ->
the simulator delivers over TLS, verifying against the uploaded certificate -> 200, stored."""

from __future__ import annotations

import subprocess
import sys

import app
from tests.helpers.support import ROOT, SECRET, wait_until
from tests.test_serve import stored_rows


def test_self_signed_ip_certificate_from_tls_command_to_a_stored_update(
    serve, sim, token, tmp_path, capsys
):
    folder = tmp_path / "tls"
    assert app.main(["tls", "self-signed", "--host", "127.0.0.1", "--out", str(folder)]) == 0
    assert "set-webhook --certificate" in capsys.readouterr().out
    cert, key = folder / "cert.pem", folder / "key.pem"
    tls = {"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key)}
    served = serve(env=tls, public_host="0.0.0.0", workers=1)
    public_url = served.base_url.replace("http://", "https://")
    env = {
        **served.env,
        "TGWEBHOOK_BOT_TOKEN": token,
        "TGWEBHOOK_API_BASE": sim.base_url,
        "TGWEBHOOK_PUBLIC_URL": public_url,
    }
    done = subprocess.run(
        [sys.executable, "app.py", "set-webhook", "--certificate", str(cert), "--any-port"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    webhook = sim.admin.webhook_info(token)
    assert webhook["url"] == f"{public_url}/webhook/default" and webhook["secret_token"] == SECRET
    assert webhook["has_custom_certificate"] is True
    sim.admin.inject(token, text="over self-signed TLS", chat_id=42)
    wait_until(lambda: stored_rows(served.db) == 1, timeout=10, interval=0.05)
    wait_until(lambda: sim.admin.webhook_info(token)["pending_update_count"] == 0, timeout=10)
    assert "last_error_message" not in sim.admin.webhook_info(token)
