"""`doctor` fails when the public URL serves /metrics: ops paths belong on the ops listener."""

from __future__ import annotations

import json

import trustme

import app
from tests.helpers.monitor_kit import LivezHandler, TlsSite
from tests.helpers.support import SECRET

CHECK = "ops paths not served through the URL"


class OpenMetricsHandler(LivezHandler):
    """A public URL that also serves /metrics, as one listener for everything did."""

    def do_GET(self) -> None:
        status = 200 if self.path in ("/livez", "/metrics") else 404
        self.send_response(status)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")


def ops_check(capsys, ca_file: str) -> dict:
    app.main(["doctor", "--json", "--allow-private", "--any-port", "--ca-file", ca_file])
    report = json.loads(capsys.readouterr().out)
    return next(c for c in report["bots"]["default"] if c["name"] == CHECK)


def test_metrics_through_the_public_url_fails_and_404_passes(env, capsys, tmp_path):
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    site = TlsSite(authority.issue_cert("localhost"))
    try:
        env(public_url=site.url(), secret_token=SECRET)
        assert ops_check(capsys, str(ca_file))["status"] == "pass"  # /metrics is 404 there
        site.server.RequestHandlerClass = OpenMetricsHandler
        check = ops_check(capsys, str(ca_file))
        assert check["status"] == "fail" and "answered 200, expected 404" in check["detail"]
        assert "TGWEBHOOK_OPS_LISTEN" in check["fix"]
    finally:
        site.stop()
