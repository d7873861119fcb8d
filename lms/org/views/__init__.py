"""Org tree, people, imports and staffing quota pages (one blueprint, one module per area)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("org", __name__, url_prefix="/org", template_folder="../templates")

from lms.org.views import imports, people, posts, quota, units  # noqa: E402,F401
