"""The console's door: who is asking (ops/access.py), CSRF on every mutating request, and the
security headers of every console response.

CSRF is a double-submit token: a random cookie (SameSite=Strict, HttpOnly) that each form
repeats in a hidden field and each script or API client in an `X-CSRF-Token` header. It needs
no server-side state, so every worker process accepts every other's tokens.
"""

from __future__ import annotations

import hmac
import json
import secrets

from flask import Response, g, request

from ops.access import Access, Principal

COOKIE = "console_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# No inline script or style anywhere: everything the pages run is served from /console/static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Guard:
    def __init__(self, access: Access) -> None:
        self.access = access

    def admit(self) -> Response | None:
        """Flask before_request: a 401 or 403 answer, or None to go on (g.principal is set)."""
        header = request.headers.get("Authorization")
        principal = self.access.principal(header.encode("latin-1") if header else None)
        if principal is None:
            return self.unauthorized()
        g.principal = principal
        if request.method not in SAFE_METHODS and not csrf_matches():
            return refusal(403, "CSRF token missing or wrong: reload the page and try again")
        return None

    def unauthorized(self) -> Response:
        response = refusal(401, "unauthorized: send the ops token or a console user's password")
        response.headers["WWW-Authenticate"] = f'{self.access.scheme} realm="tgwebhook ops"'
        return response


def principal() -> Principal:
    return g.principal


def csrf_token() -> str:
    """This browser's token (a new one is set as a cookie with the response)."""
    if "csrf" not in g:
        offered = request.cookies.get(COOKIE, "")
        g.csrf_new = len(offered) != 43
        g.csrf = secrets.token_urlsafe(32) if g.csrf_new else offered
    return g.csrf


def csrf_matches() -> bool:
    cookie = request.cookies.get(COOKIE, "")
    offered = request.headers.get(HEADER) or request.form.get(FIELD, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), offered.encode())


def finish(response: Response) -> Response:
    """Flask after_request: security headers, and the CSRF cookie when it is new."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("csrf_new"):
        response.set_cookie(
            COOKIE, g.csrf, httponly=True, samesite="Strict", secure=request.is_secure, path="/"
        )
    return response


def refusal(status: int, message: str) -> Response:
    """Refusals are JSON for the API and plain text for pages; both carry no request input."""
    if request.path.startswith("/api/"):
        return Response(json.dumps({"error": message}), status, mimetype="application/json")
    return Response(message + "\n", status, mimetype="text/plain")
