"""Security headers on every response; no-store on every authenticated one (R28, R43)."""

from __future__ import annotations

from flask import Response, current_app, g
from flask_login import current_user

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; "
       "form-action 'self'")


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
