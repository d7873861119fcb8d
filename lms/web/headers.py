"""Security headers on every response; no-store on every authenticated one (R28, R43)."""

from __future__ import annotations

from flask import Response, abort, current_app, g, redirect, request
from flask_login import current_user

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; "
       "form-action 'self'")


def require_https():  # noqa: ANN201 - a redirect or None
    """Production serves HTTPS only (R07): a plain-HTTP request is sent to the HTTPS URL.
    Behind nginx, ProxyFix (TRUSTED_PROXIES) makes ``request.is_secure`` reflect the client side."""
    if current_app.config.get("PROFILE") == "production" and not request.is_secure:
        if request.method in ("GET", "HEAD"):
            return redirect(request.url.replace("http://", "https://", 1), code=301)
        abort(400)
    return None


def add_security_headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "SAMEORIGIN")
    if current_app.config.get("PROFILE") == "production":
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if getattr(g, "request_id", None):
        h["X-Request-Id"] = g.request_id
    if current_user and current_user.is_authenticated:
        h["Cache-Control"] = "no-store"
    return response
